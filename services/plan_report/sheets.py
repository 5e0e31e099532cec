"""The report as tables (XLSX)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from services import plan as plans
from services.plan_report.gathering import PlanReport
from services.plan_report.labels import (
    Gettext,
    place,
    responsible_text,
    service_label,
    source_label,
    status_label,
)
from services.voting_report import Share, Table, to_xlsx
from storage.models import Person


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
