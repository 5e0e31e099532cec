"""Helpdesk figures for a period: questions by municipality and topic, how many municipalities asked, times to
the first answer and to closing (working hours, pauses for the asker's details left out), ratings, backlog;
exported as CSV, XLSX and a chart.

Percentiles interpolate linearly between the closest ranks (``p`` of n sorted values sits at position
``p·(n−1)``): the median of 2, 4, 6, 10 is 5 and the 90th percentile is 8.8."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk import OPEN, TOPICS, HelpdeskConfig, due_at
from storage.helpdesk import Question
from storage.models import AiylAimak, Person


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class HelpdeskStats:
    start: datetime
    end: datetime
    asked: int = 0
    by_municipality: dict[str, int] = field(default_factory=dict)  # aiyl aimak code → questions
    municipality_names: dict[str, tuple[str, str]] = field(default_factory=dict)  # code → (ky, ru)
    by_topic: dict[str, int] = field(default_factory=dict)
    answered: int = 0
    closed: int = 0
    first_answer_hours: list[float] = field(default_factory=list)
    close_hours: list[float] = field(default_factory=list)
    ratings: dict[int, int] = field(default_factory=dict)
    helped: int = 0
    backlog: dict[str, int] = field(default_factory=dict)  # open questions now, by status
    overdue: int = 0
    # The people who asked in the period, women counted separately; those who did not say their sex apart.
    askers: int = 0
    askers_women: int = 0
    askers_not_said: int = 0

    @property
    def askers_women_share(self) -> float | None:
        said = self.askers - self.askers_not_said
        return self.askers_women / said if said > 0 else None

    @property
    def municipalities(self) -> int:
        return len([code for code in self.by_municipality if code])

    @property
    def median_first_answer(self) -> float | None:
        return percentile(self.first_answer_hours, 0.5)

    @property
    def p90_first_answer(self) -> float | None:
        return percentile(self.first_answer_hours, 0.9)

    @property
    def median_close(self) -> float | None:
        return percentile(self.close_hours, 0.5)

    @property
    def p90_close(self) -> float | None:
        return percentile(self.close_hours, 0.9)

    @property
    def rated(self) -> int:
        return sum(self.ratings.values())

    @property
    def average_rating(self) -> float | None:
        return sum(r * n for r, n in self.ratings.items()) / self.rated if self.rated else None

    @property
    def open_total(self) -> int:
        return sum(self.backlog.values())


async def compute(session: AsyncSession, start: datetime, end: datetime, config: HelpdeskConfig,
                  now: datetime) -> HelpdeskStats:
    """Questions asked in [start, end); the backlog and overdue count as of ``now``."""
    stats = HelpdeskStats(start=start, end=end)
    rows = (await session.execute(
        select(Question, AiylAimak.code, AiylAimak.name_ky, AiylAimak.name_ru)
        .outerjoin(AiylAimak, AiylAimak.id == Question.aiyl_aimak_id)
        .where(Question.created_at >= start, Question.created_at < end)
        .order_by(Question.id)
    )).unique().all()
    municipalities: Counter[str] = Counter()
    topics: Counter[str] = Counter({topic: 0 for topic in TOPICS})
    ratings: Counter[int] = Counter()
    for question, code, name_ky, name_ru in rows:
        stats.asked += 1
        municipalities[code or ""] += 1
        if code:
            stats.municipality_names[code] = (name_ky, name_ru)
        topics[question.topic] += 1
        if question.first_answer_seconds is not None:
            stats.answered += 1
            stats.first_answer_hours.append(question.first_answer_seconds / 3600)
        if question.closed_at is not None:
            stats.closed += 1
            if question.close_seconds is not None:
                stats.close_hours.append(question.close_seconds / 3600)
        if question.rating is not None:
            ratings[question.rating] += 1
        if question.helped:
            stats.helped += 1
    asker_ids = {question.asker_id for question, *_rest in rows if question.asker_id is not None}
    sexes = dict((await session.execute(select(Person.id, Person.sex).where(Person.id.in_(asker_ids)))).all()) \
        if asker_ids else {}
    stats.askers = len(asker_ids)
    stats.askers_women = sum(1 for a in asker_ids if sexes.get(a) == "f")
    stats.askers_not_said = sum(1 for a in asker_ids if sexes.get(a) not in ("f", "m"))
    stats.by_municipality = dict(sorted(municipalities.items(), key=lambda item: (-item[1], item[0])))
    stats.by_topic = dict(topics)
    stats.ratings = {r: ratings.get(r, 0) for r in range(1, 6)}
    backlog = await session.execute(select(Question.status, func.count(Question.id))
                                    .where(Question.status.in_(OPEN)).group_by(Question.status))
    stats.backlog = {status: 0 for status in OPEN} | {status: int(n) for status, n in backlog.all()}
    open_questions = (await session.scalars(select(Question).where(Question.status.in_(("waiting", "taken")),
                                                                   Question.first_answer_at.is_(None)))).unique()
    stats.overdue = sum(1 for q in open_questions if (due := due_at(q, config)) is not None and due <= now)
    return stats


def _hours(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def table(stats: HelpdeskStats) -> list[tuple[str, str, Any]]:
    """(section, key, value) rows: the one layout behind the CSV and the XLSX summary."""
    rows: list[tuple[str, str, Any]] = [
        ("period", "start", stats.start.isoformat()),
        ("period", "end", stats.end.isoformat()),
        ("questions", "asked", stats.asked),
        ("questions", "answered", stats.answered),
        ("questions", "closed", stats.closed),
        ("questions", "municipalities", stats.municipalities),
        ("askers", "people", stats.askers),
        ("askers", "women", stats.askers_women),
        ("askers", "not_said", stats.askers_not_said),
        ("askers", "women_share", "" if stats.askers_women_share is None else f"{stats.askers_women_share:.2f}"),
        ("hours", "first_answer_median", _hours(stats.median_first_answer)),
        ("hours", "first_answer_p90", _hours(stats.p90_first_answer)),
        ("hours", "close_median", _hours(stats.median_close)),
        ("hours", "close_p90", _hours(stats.p90_close)),
        ("ratings", "count", stats.rated),
        ("ratings", "average", "" if stats.average_rating is None else f"{stats.average_rating:.2f}"),
        ("ratings", "helped", stats.helped),
    ]
    rows += [("rating", str(r), n) for r, n in stats.ratings.items()]
    rows += [("topic", topic, n) for topic, n in stats.by_topic.items()]
    rows += [("municipality", code or "-", n) for code, n in stats.by_municipality.items()]
    rows += [("backlog", status, n) for status, n in stats.backlog.items()]
    rows.append(("backlog", "overdue", stats.overdue))
    return rows


def to_csv(stats: HelpdeskStats) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "key", "value"])
    writer.writerows(table(stats))
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(stats: HelpdeskStats) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "summary"
    sheet.append(["section", "key", "value"])
    for row in table(stats):
        sheet.append(list(row))
    by_place = book.create_sheet("municipalities")
    by_place.append(["code", "name_ky", "name_ru", "questions"])
    for code, count in stats.by_municipality.items():
        name_ky, name_ru = stats.municipality_names.get(code, ("", ""))
        by_place.append([code or "-", name_ky, name_ru, count])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def chart_png(stats: HelpdeskStats, labels: dict[str, str], title: str) -> bytes:
    """Questions by topic as horizontal bars; ``labels`` are the topic names in the reader's language."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4), dpi=100)
    axes = figure.add_subplot()
    topics = list(stats.by_topic)
    axes.barh([labels.get(t, t) for t in topics][::-1], [stats.by_topic[t] for t in topics][::-1], color="#2e7d32")
    axes.set_title(title)
    axes.xaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def month_bounds(month: str | None, zone: ZoneInfo) -> tuple[datetime, datetime, str]:
    """[start, end) of a calendar month in the time zone (this month by default), in UTC."""
    today = datetime.now(zone)
    year, number = today.year, today.month
    if month:
        year_text, _sep, month_text = month.partition("-")
        year, number = int(year_text), int(month_text)
        if not 1 <= number <= 12:
            raise ValueError(month)
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC), f"{year:04d}-{number:02d}"
