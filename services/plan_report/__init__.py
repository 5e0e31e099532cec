"""The monitoring report of a joint action plan, yearly and on demand: activities with status and progress,
money planned and spent by source, monitoring answers, the monitoring group's composition (women counted) and
satisfaction scores; as tables (XLSX), a chart (PNG) and a document to read out at a gathering (DOCX).

No aiogram here: callers pass ``gettext`` (the reader's language already chosen); the labels (``labels``) are also
what the chat shows, so one msgid names one thing everywhere.

The package by concern (each module imports only those before it; callers use ``services.plan_report`` as one):
``labels`` (status, source, responsible and service labels, place names), ``gathering`` (``PlanReport``,
``gather``), ``sheets`` (tables, XLSX), ``chart`` (PNG), ``document`` (DOCX, summary lines), ``files`` (the three
files at once, their name)."""

from __future__ import annotations

from services.plan_report.chart import chart_png
from services.plan_report.document import summary_lines, to_docx
from services.plan_report.files import Files, file_stem, render
from services.plan_report.gathering import PlanReport, gather
from services.plan_report.labels import (
    Gettext,
    Ngettext,
    place,
    responsible_label,
    responsible_text,
    service_label,
    source_label,
    status_label,
)
from services.plan_report.sheets import tables, xlsx
from services.voting_report import to_xlsx

__all__ = [
    "Files", "Gettext", "Ngettext", "PlanReport", "chart_png", "file_stem", "gather", "place", "render",
    "responsible_label", "responsible_text", "service_label", "source_label", "status_label", "summary_lines", "tables",
    "to_docx", "to_xlsx", "xlsx",
]
