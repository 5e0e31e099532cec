"""The report's chart (PNG): each activity's progress and the money by source."""

from __future__ import annotations

from babel.numbers import format_decimal, format_percent

from services import charts
from services.plan_report.gathering import PlanReport
from services.plan_report.labels import Gettext, place, source_label, status_label


def chart_png(report: PlanReport, *, gettext: Gettext, language: str) -> bytes:
    """Two panels: progress of each activity, and money planned and spent by source."""
    from matplotlib.ticker import FuncFormatter

    activities = list(reversed(report.activities))  # the first on top
    money = report.money()
    rows = max(len(activities), 1)
    with charts.figure(1, 2, figsize=(12, 1.6 + 0.45 * rows), dpi=100,
                       gridspec_kw={"width_ratios": [3, 2]}) as (figure, (left, right)):
        colours = {"planned": "#90a4ae", "in_progress": "#f9a825", "done": "#2e7d32", "stalled": "#c62828",
                   "cancelled": "#bdbdbd"}
        values = [100 if a.status == "done" else a.progress for a in activities]
        positions = list(range(len(activities)))
        left.barh(positions, values, color=[colours.get(a.status, "#90a4ae") for a in activities])
        left.set_yticks(positions, [charts.short(a.title) for a in activities])
        left.set_xlim(0, 115)
        left.set_xlabel(gettext("Progress, %"))
        left.set_title(gettext("Activities: {place}").format(place=place(report.aiyl_aimak, language)))
        for y, (value, activity) in enumerate(zip(values, activities, strict=True)):
            left.text(value, y, f" {format_percent(value / 100, locale=language)} · "
                                f"{status_label(activity.status, gettext)}", va="center", fontsize=8)
        sources = list(money)
        xs = list(range(len(sources)))
        width = 0.4
        right.bar([x - width / 2 for x in xs], [money[s].planned for s in sources], width, color="#90a4ae",
                  label=gettext("planned"))
        right.bar([x + width / 2 for x in xs], [money[s].spent for s in sources], width, color="#2e7d32",
                  label=gettext("spent"))
        right.set_xticks(xs, [charts.short(source_label(s, gettext), 18) for s in sources], rotation=20, ha="right")
        right.set_ylabel(gettext("som"))
        right.set_title(gettext("Money by source"))
        right.yaxis.set_major_formatter(FuncFormatter(
            lambda value, _pos: format_decimal(int(value), locale=language)))
        if sources:
            right.legend()
        return charts.png(figure)
