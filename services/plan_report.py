"""The monitoring report of a joint action plan, yearly and on demand: activities with status and progress,
money planned and spent by source, monitoring answers, the monitoring group's composition (women counted) and
satisfaction scores; as tables (XLSX), a chart (PNG) and a document to read out at a gathering (DOCX).

No aiogram here: callers pass ``gettext`` (the reader's language already chosen); the labels below are also
what the chat shows, so one msgid names one thing everywhere."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from sqlalchemy.ext.asyncio import AsyncSession

from services import charts
from services import plan as plans
from services.plan import Composition, Money, SurveyResults
from services.voting_report import Share, Table, to_xlsx
from services.voting_results import plural_of
from storage.models import AiylAimak, Person, Village, utcnow
from storage.plan import MonitoringAnswer, Plan, PlanActivity, PlanFunding, PlanGroup, PlanPriority

Gettext = Callable[[str], str]
Ngettext = Callable[[str, str, int], str]

__all__ = ["PlanReport", "gather", "tables", "to_xlsx", "chart_png", "to_docx", "status_label", "source_label",
           "responsible_label", "service_label"]


# --------------------------------------------------------------------------- labels


def status_label(status: str, gettext: Gettext) -> str:
    return {
        "planned": gettext("planned"),
        "in_progress": gettext("in progress"),
        "done": gettext("done"),
        "stalled": gettext("stalled"),
        "cancelled": gettext("cancelled"),
    }.get(status, status)


def source_label(source: str, gettext: Gettext) -> str:
    return {
        "local_budget": gettext("local budget"),
        "grant": gettext("donor grant"),
        "community": gettext("community contribution"),
        "sponsor": gettext("sponsor"),
        "other": gettext("other source"),
    }.get(source, source)


def responsible_label(kind: str, gettext: Gettext) -> str:
    return {
        "aiyl_okmotu": gettext("aiyl okmotu"),
        "council": gettext("local council"),
        "initiative_group": gettext("initiative group"),
        "person": gettext("a named person"),
    }.get(kind, kind)


def service_label(service: str, gettext: Gettext) -> str:
    return {
        "water": gettext("drinking water"),
        "school": gettext("school"),
        "health_post": gettext("health post"),
        "roads": gettext("roads"),
    }.get(service, service)


def responsible_text(activity: PlanActivity, person: Person | None, gettext: Gettext) -> str:
    if activity.responsible_kind == "person":
        return activity.responsible_name or (person.first_name if person and person.first_name else "—")
    label = responsible_label(activity.responsible_kind, gettext)
    return f"{label} ({activity.responsible_name})" if activity.responsible_name else label


def place(place_: AiylAimak | Village | None, language: str) -> str:
    if place_ is None:
        return "—"
    return place_.name_ru if language in ("ru", "uz") else place_.name_ky


# --------------------------------------------------------------------------- gathering


@dataclass
class PlanReport:
    plan: Plan
    aiyl_aimak: AiylAimak
    villages: dict[int, Village]
    priorities: list[PlanPriority]
    activities: list[PlanActivity]
    funding: dict[int, list[PlanFunding]]
    answers: list[MonitoringAnswer]  # within the period
    people: dict[int, Person]  # authors, members and responsible persons
    monitoring: PlanGroup | None
    members: list[Person]
    surveys: list[SurveyResults]
    period_start: date | None
    period_end: date  # inclusive
    today: date

    @property
    def composition(self) -> Composition:
        return plans.composition(self.members)

    @property
    def progress(self) -> float | None:
        return plans.plan_progress(self.activities)

    def money(self, activity_ids: Sequence[int] | None = None) -> dict[str, Money]:
        return plans.money_by_source(self.funding, activity_ids)

    def total_money(self) -> Money:
        return sum(self.money().values(), Money())

    def activity_money(self, activity: PlanActivity) -> Money:
        return sum((Money(r.planned_som, r.spent_som) for r in self.funding.get(activity.id, [])), Money())

    def priority(self, activity: PlanActivity) -> PlanPriority | None:
        return next((p for p in self.priorities if p.id == activity.priority_id), None)


async def gather(session: AsyncSession, plan: Plan, *, zone: ZoneInfo, year_ending: date | None = None,
                 now: datetime | None = None) -> PlanReport:
    """Everything the report needs, read once. ``year_ending``: the yearly report of the year up to that day
    (monitoring answers of that year); otherwise everything so far."""
    now = now or utcnow()
    today = plans.local_day(now, zone)
    aimak = await session.get(AiylAimak, plan.aiyl_aimak_id)
    assert aimak is not None
    activities = await plans.activities_of(session, plan.id)
    ids = [a.id for a in activities]
    start = None
    end = year_ending or today
    answers = await plans.answers_of(session, ids)
    if year_ending is not None:
        start = plans.add_months(year_ending, -12) + timedelta(days=1)
        answers = [a for a in answers if start <= plans.local_day(a.answered_at, zone) <= end]
    monitoring = await plans.monitoring_group(session, plan.id)
    members = await plans.members_of(session, monitoring.id) if monitoring is not None else []
    wanted = {a.person_id for a in answers if a.person_id} | {a.responsible_person_id for a in activities
                                                               if a.responsible_person_id}
    people = {p.id: p for p in members}
    for person_id in wanted - set(people):
        person = await session.get(Person, person_id)
        if person is not None:
            people[person_id] = person
    surveys = [await plans.survey_results(session, s) for s in await plans.surveys_of(session, plan.id)]
    return PlanReport(
        plan=plan, aiyl_aimak=aimak, villages={v.id: v for v in await plans.villages_of(session, aimak.id)},
        priorities=await plans.priorities_of(session, plan.id), activities=activities,
        funding=await plans.funding_of(session, ids), answers=answers, people=people, monitoring=monitoring,
        members=members, surveys=surveys, period_start=start, period_end=end, today=today,
    )


# --------------------------------------------------------------------------- tables


def _date(day: date | None, language: str) -> str:
    return format_date(day, "short", locale=language) if day else ""


def _when(moment: datetime, zone: ZoneInfo, language: str) -> str:
    return format_datetime(moment.astimezone(zone), "d MMMM y, HH:mm", locale=language)


def _band(band: str | None, gettext: Gettext) -> str:
    return band.replace("-", "–") if band else gettext("not given")


def _sex(sex: str | None, gettext: Gettext) -> str:
    return {"f": gettext("women"), "m": gettext("men")}.get(sex or "", gettext("not given"))


def _name(person: Person | None, gettext: Gettext) -> str:
    if person is None or person.forgotten_at is not None:
        return gettext("a former member")
    return person.first_name or f"#{person.id}"


def tables(report: PlanReport, *, gettext: Gettext, language: str, zone: ZoneInfo) -> list[Table]:
    plan = report.plan
    out: list[Table] = []
    progress = report.progress
    general = Table(gettext("General information"), [gettext("Item"), gettext("Value")], [
        [gettext("Aiyl aimak"), place(report.aiyl_aimak, language)],
        [gettext("Joint action plan"), plan.title],
        [gettext("Approved by the local council"),
         " ".join(filter(None, [_date(plan.council_approved_on, language), plan.council_decision or ""]))
         or gettext("not yet")],
        [gettext("Period"), f"{_date(report.period_start, language)} – {_date(report.period_end, language)}"
         if report.period_start else gettext("from the start to {day}").format(day=_date(report.period_end, language))],
        [gettext("Activities"), len(report.activities)],
        [gettext("Progress of the plan"), Share(progress)],
    ])
    out.append(general)

    activities = Table(gettext("Activities"), [
        gettext("No."), gettext("Priority"), gettext("Activity"), gettext("Responsible"), gettext("Start"),
        gettext("Due"), gettext("Status"), gettext("Progress"), gettext("Planned, som"), gettext("Spent, som"),
        gettext("Expected result"), gettext("Indicators"), gettext("Overdue"),
    ], [])
    for number, activity in enumerate(report.activities, start=1):
        priority = report.priority(activity)
        money = report.activity_money(activity)
        activities.rows.append([
            number, plans.priority_title(priority, language) if priority else "", activity.title,
            responsible_text(activity, report.people.get(activity.responsible_person_id or 0), gettext),
            _date(activity.starts_on, language), _date(activity.due_on, language),
            status_label(activity.status, gettext),
            Share((100 if activity.status == "done" else activity.progress) / 100),
            money.planned, money.spent, activity.expected_result, activity.indicators,
            gettext("yes") if plans.is_overdue(activity, report.today) else "",
        ])
    out.append(activities)

    money = Table(gettext("Money by source"), [
        gettext("Source"), gettext("Planned, som"), gettext("Spent, som"), gettext("Spent of planned"),
    ], [])
    for source, amount in report.money().items():
        money.rows.append([source_label(source, gettext), amount.planned, amount.spent,
                           Share(amount.spent / amount.planned if amount.planned else None)])
    total = report.total_money()
    money.rows.append([gettext("Total"), total.planned, total.spent,
                       Share(total.spent / total.planned if total.planned else None)])
    out.append(money)

    titles = {a.id: a.title for a in report.activities}
    answers = Table(gettext("Monitoring answers"), [
        gettext("Answered"), gettext("Activity"), gettext("Member"), gettext("Status"), gettext("Progress"),
        gettext("Comment"), gettext("Photo"),
    ], [])
    for answer in report.answers:
        answers.rows.append([_when(answer.answered_at, zone, language), titles.get(answer.activity_id, ""),
                             _name(report.people.get(answer.person_id or 0), gettext),
                             status_label(answer.status, gettext), Share(answer.percent / 100), answer.comment,
                             gettext("yes") if answer.photo_file_id else ""])
    out.append(answers)

    group = report.composition
    mandate = report.monitoring.mandate_ref if report.monitoring and report.monitoring.mandate_ref else ""
    if report.monitoring and report.monitoring.mandate_on:
        mandate = f"{mandate} ({_date(report.monitoring.mandate_on, language)})"
    team = Table(gettext("Monitoring group"), [gettext("Item"), gettext("Value")], [
        [gettext("Mandate (order of the head of the aiyl okmotu)"), mandate or gettext("not recorded")],
        [gettext("Members"), group.members],
        [gettext("Women"), group.women],
        [gettext("Men"), group.men],
        [gettext("Sex not given"), group.sex_not_given],
        [gettext("Women's share"), Share(group.women_share)],
        [gettext("Minority sex at least 30 %"), gettext("yes") if group.balanced else gettext("no")],
    ])
    for band, count in sorted(group.by_band.items(), key=lambda item: item[0] or "~"):
        team.rows.append([gettext("Age group {band}").format(band=_band(band, gettext)), count])
    for village_id, count in sorted(group.by_village.items(), key=lambda item: place(
            report.villages.get(item[0] or 0), language)):
        team.rows.append([gettext("Village {village}").format(village=place(report.villages.get(village_id or 0),
                                                                            language)), count])
    out.append(team)

    survey = Table(gettext("Satisfaction with municipal services"), [
        gettext("Service"), gettext("Group"), gettext("Answers"), gettext("Mean score (1–5)"),
    ], [])
    for results in report.surveys:
        label = service_label(results.survey.service, gettext)
        rows: list[tuple[str, plans.Scores]] = [(gettext("All"), results.overall)]
        rows += [(place(report.villages.get(v or 0), language), s) for v, s in results.by_village.items()]
        rows += [(_sex(sex, gettext), s) for sex, s in results.by_sex.items()]
        rows += [(gettext("Age group {band}").format(band=_band(b, gettext)), s) for b, s in results.by_band.items()]
        for name, scores in rows:
            survey.rows.append([label, name, scores.answers, round(scores.mean, 2) if scores.mean else None])
    out.append(survey)
    return out


def xlsx(report: PlanReport, *, gettext: Gettext, language: str, zone: ZoneInfo) -> bytes:
    return to_xlsx(tables(report, gettext=gettext, language=language, zone=zone), language=language)


# --------------------------------------------------------------------------- chart


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




# --------------------------------------------------------------------------- the document read out at a gathering


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


@dataclass(frozen=True)
class Files:
    chart: bytes
    xlsx: bytes
    docx: bytes


def render(report: PlanReport, *, gettext: Gettext, language: str, zone: ZoneInfo,
           ngettext: Ngettext | None = None) -> Files:
    chart = chart_png(report, gettext=gettext, language=language)
    return Files(chart=chart, xlsx=xlsx(report, gettext=gettext, language=language, zone=zone),
                 docx=to_docx(report, gettext=gettext, language=language, zone=zone, chart=chart, ngettext=ngettext))


def file_stem(report: PlanReport) -> str:
    code: Any = getattr(report.aiyl_aimak, "code", "plan")
    return f"plan-{code}-{report.period_end.isoformat()}"
