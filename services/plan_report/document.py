"""The document read out at a gathering (DOCX) and its summary lines."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from services import plan as plans
from services.plan_report.gathering import PlanReport
from services.plan_report.labels import (
    Gettext,
    Ngettext,
    place,
    responsible_text,
    service_label,
    source_label,
    status_label,
)
from services.plan_report.sheets import _name
from services.voting_results import plural_of
from storage.plan import PlanActivity


def summary_lines(report: PlanReport, *, gettext: Gettext, language: str,
                  ngettext: Ngettext | None = None) -> list[str]:
    """The report in plain sentences: what is done, what is late, where the money went, who monitored
    (``ngettext``: the reader's plurals; without it, English's)."""
    ngettext = plural_of(gettext, ngettext)
    number = lambda value: format_decimal(value, locale=language)  # noqa: E731
    share = lambda value: format_percent(value, locale=language) if value is not None else "—"  # noqa: E731
    counts = {s: sum(1 for a in report.activities if a.status == s) for s in plans.STATUSES}
    total = report.total_money()
    group = report.composition
    lines = [
        ngettext("The plan has {count} activity: {done} done, {in_progress} in progress, {planned} planned, "
               "{stalled} stalled, {cancelled} cancelled. Progress of the plan: {progress}.",
               "The plan has {count} activities: {done} done, {in_progress} in progress, {planned} planned, "
               "{stalled} stalled, {cancelled} cancelled. Progress of the plan: {progress}.",
               len(report.activities)).format(
            count=number(len(report.activities)), done=number(counts["done"]),
            in_progress=number(counts["in_progress"]), planned=number(counts["planned"]),
            stalled=number(counts["stalled"]), cancelled=number(counts["cancelled"]), progress=share(report.progress)),
        gettext("Money: {planned} som planned, {spent} som spent ({share}).").format(
            planned=number(total.planned), spent=number(total.spent),
            share=share(total.spent / total.planned if total.planned else None)),
    ]
    late = [a for a in report.activities if plans.is_overdue(a, report.today)]
    if late:
        lines.append(gettext("Past the due date and not done: {titles}.").format(
            titles="; ".join(a.title for a in late)))
    lines.append(" ".join([
        ngettext("The monitoring group has {members} member, of them women {women} ({share}).",
               "The monitoring group has {members} members, of them women {women} ({share}).", group.members).format(
            members=number(group.members), women=number(group.women), share=share(group.women_share)),
        ngettext("It gave {answers} monitoring answer.", "It gave {answers} monitoring answers.",
               len(report.answers)).format(answers=number(len(report.answers)))]))
    if group.members and not group.balanced:
        lines.append(gettext("The method advises that the smaller sex makes up at least 30 % of the group."))
    return lines


def to_docx(report: PlanReport, *, gettext: Gettext, language: str, zone: ZoneInfo,
            chart: bytes | None = None, ngettext: Ngettext | None = None) -> bytes:
    """A short document in plain words, to read out at a gathering or hearing and put on the notice board."""
    ngettext = plural_of(gettext, ngettext)
    from docx import Document
    from docx.shared import Cm

    plan = report.plan
    number = lambda value: format_decimal(value, locale=language)  # noqa: E731
    document = Document()
    document.add_heading(gettext("Monitoring report of the joint action plan"), level=0)
    document.add_paragraph(gettext("{aimak}: {plan}").format(aimak=place(report.aiyl_aimak, language),
                                                             plan=plan.title))
    if plan.council_approved_on:
        document.add_paragraph(gettext("Approved by the local council on {day} {decision}").format(
            day=format_date(plan.council_approved_on, "long", locale=language),
            decision=plan.council_decision or "").strip())
    period = (gettext("Period: {start} – {end}").format(start=format_date(report.period_start, "long", locale=language),
                                                         end=format_date(report.period_end, "long", locale=language))
              if report.period_start else gettext("As of {day}").format(
                  day=format_date(report.period_end, "long", locale=language)))
    document.add_paragraph(period)
    document.add_heading(gettext("In short"), level=1)
    for line in summary_lines(report, gettext=gettext, language=language, ngettext=ngettext):
        document.add_paragraph(line, style="List Bullet")

    document.add_heading(gettext("Activities by priority"), level=1)
    by_priority: dict[int | None, list[PlanActivity]] = {}
    for activity in report.activities:
        by_priority.setdefault(activity.priority_id, []).append(activity)
    for priority in [*report.priorities, None]:
        items = by_priority.get(priority.id if priority else None, [])
        if not items:
            continue
        title = plans.priority_title(priority, language) if priority else gettext("Other activities")
        document.add_heading(title, level=2)
        for activity in items:
            money = report.activity_money(activity)
            progress = 100 if activity.status == "done" else activity.progress
            text = gettext("{title}: {status}, {progress} done; due {due}; responsible: {responsible}; "
                           "{planned} som planned, {spent} som spent.").format(
                title=activity.title, status=status_label(activity.status, gettext),
                progress=format_percent(progress / 100, locale=language),
                due=format_date(activity.due_on, "long", locale=language),
                responsible=responsible_text(activity, report.people.get(activity.responsible_person_id or 0),
                                             gettext),
                planned=number(money.planned), spent=number(money.spent))
            document.add_paragraph(text, style="List Bullet")
            if activity.expected_result:
                document.add_paragraph(gettext("Expected result: {result}").format(result=activity.expected_result))

    document.add_heading(gettext("Money by source"), level=1)
    table = document.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, [gettext("Source"), gettext("Planned, som"), gettext("Spent, som")],
                          strict=True):
        cell.text = text
    for source, amount in report.money().items():
        cells = table.add_row().cells
        cells[0].text, cells[1].text, cells[2].text = (source_label(source, gettext), number(amount.planned),
                                                       number(amount.spent))
    total = report.total_money()
    cells = table.add_row().cells
    cells[0].text, cells[1].text, cells[2].text = gettext("Total"), number(total.planned), number(total.spent)

    if report.answers:
        document.add_heading(gettext("What the monitoring group saw"), level=1)
        titles = {a.id: a.title for a in report.activities}
        for answer in report.answers[-30:]:
            line = gettext("{when}, {member}, on “{activity}”: {status}, {progress}.").format(
                when=format_date(answer.answered_at.astimezone(zone).date(), "long", locale=language),
                member=_name(report.people.get(answer.person_id or 0), gettext),
                activity=titles.get(answer.activity_id, ""), status=status_label(answer.status, gettext),
                progress=format_percent(answer.percent / 100, locale=language))
            if answer.comment:
                line += " " + answer.comment
            document.add_paragraph(line, style="List Bullet")

    if report.surveys:
        document.add_heading(gettext("Satisfaction with municipal services"), level=1)
        for results in report.surveys:
            mean = results.overall.mean
            document.add_paragraph(ngettext(
                "{service}: {answers} answer, mean score {mean} of 5.",
                "{service}: {answers} answers, mean score {mean} of 5.", results.overall.answers).format(
                service=service_label(results.survey.service, gettext), answers=number(results.overall.answers),
                mean=format_decimal(round(mean, 1), locale=language) if mean else "—"), style="List Bullet")
    if chart:
        document.add_picture(io.BytesIO(chart), width=Cm(16))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
