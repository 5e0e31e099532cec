"""The protocol (minutes) of an event as DOCX, and its figures as CSV.

Labels come translated through ``_`` (a gettext function for the reader's language), so services stay free of
aiogram; msgids are still found by the catalog tool."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from storage.events import Event
from storage.models import Village

Translate = Callable[[str], str]


def _when(moment: datetime, zone: ZoneInfo, language: str) -> str:
    return format_datetime(moment.astimezone(zone), "d MMMM y, HH:mm", tzinfo=zone, locale=language)


def _result(adopted: bool, _: Translate) -> str:
    return _("adopted") if adopted else _("not adopted")


def protocol_docx(event: Event, *, villages: list[Village], aimak_name: str, kind_label: str, rule_label: str,
                  language: str, zone: ZoneInfo, _: Translate) -> bytes:
    """A protocol to print and sign: heading, attendance with women counted separately, agenda, decisions
    with for / against / abstained and the rule, accepted proposals, minutes, signature lines."""
    from docx import Document  # python-docx only when a protocol is made

    document = Document()
    document.add_heading(_("Protocol"), level=0)
    document.add_paragraph(f"{kind_label}: {event.topic}")
    details = document.add_table(rows=0, cols=2)
    details.style = "Table Grid"
    attended = event.attended or 0
    women = event.attended_women or 0
    share = f"{round(100 * women / attended)} %" if attended else "—"
    names = ", ".join((v.name_ru if language in ("ru", "uz") else v.name_ky) for v in villages)
    for label, value in (
        (_("Aiyl aimak"), aimak_name),
        (_("Villages"), _("the whole aiyl aimak") if event.whole_aimak else names),
        (_("Date and time"), _when(event.starts_at, zone, language)),
        (_("Place"), event.place),
        (_("Attended"), str(attended)),
        (_("of them women"), f"{women} ({share})"),
        (_("Decision rule"), rule_label),
    ):
        cells = details.add_row().cells
        cells[0].text, cells[1].text = label, value
    if event.agenda:
        document.add_heading(_("Agenda"), level=1)
        for line in event.agenda.splitlines():
            if line.strip():
                document.add_paragraph(line.strip())
    document.add_heading(_("Decisions"), level=1)
    if event.decisions:
        table = document.add_table(rows=1, cols=6)
        table.style = "Table Grid"
        for cell, label in zip(table.rows[0].cells, (_("No."), _("Decision"), _("For"), _("Against"),
                                                      _("Abstained"), _("Result")), strict=True):
            cell.text = label
        for decision in event.decisions:
            result = _result(decision.adopted, _)
            if decision.chair_vote:
                result += " (" + _("tie decided by the chair") + ")"
            values = (str(decision.position), decision.text, str(decision.votes_for), str(decision.votes_against),
                      str(decision.abstained), result)
            for cell, value in zip(table.add_row().cells, values, strict=True):
                cell.text = value
    else:
        document.add_paragraph(_("No decisions were put to the vote."))
    if event.accepted_proposals:
        document.add_heading(_("Proposals accepted"), level=1)
        for proposal in event.accepted_proposals:
            document.add_paragraph(proposal, style="List Bullet")
    if event.minutes:
        document.add_heading(_("Minutes"), level=1)
        for paragraph in event.minutes.split("\n\n"):
            document.add_paragraph(paragraph.strip())
    document.add_paragraph()
    document.add_paragraph(_("Chair: ____________________"))
    document.add_paragraph(_("Secretary: ____________________"))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def protocol_csv(event: Event, *, kind_label: str, rule_label: str, language: str, zone: ZoneInfo,
                 _: Translate) -> bytes:
    """One row per decision with the event's figures on every row (UTF-8 with BOM, so spreadsheets read
    Cyrillic right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Event"), _("Kind"), _("Date and time"), _("Place"), _("Attended"), _("of them women"),
                     _("Decision rule"), _("No."), _("Decision"), _("For"), _("Against"), _("Abstained"),
                     _("Chair's vote"), _("Result")])
    head = [event.topic, kind_label, _when(event.starts_at, zone, language), event.place, event.attended or 0,
            event.attended_women or 0, rule_label]
    for decision in event.decisions:
        writer.writerow(head + [decision.position, decision.text, decision.votes_for, decision.votes_against,
                                decision.abstained, decision.chair_vote or "", _result(decision.adopted, _)])
    if not event.decisions:
        writer.writerow(head + ["", "", "", "", "", "", ""])
    return ("\ufeff" + buffer.getvalue()).encode()
