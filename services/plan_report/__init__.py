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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Each name is imported from its module on first use (PEP 562): the chat needs only the labels at start-up, and a
# bot process that never makes a report does not hold the report's modules (and services.voting_report).
_WHERE = {
    "chart_png": "services.plan_report.chart", "summary_lines": "services.plan_report.document",
    "to_docx": "services.plan_report.document", "Files": "services.plan_report.files",
    "file_stem": "services.plan_report.files", "render": "services.plan_report.files",
    "PlanReport": "services.plan_report.gathering", "gather": "services.plan_report.gathering",
    **dict.fromkeys(("Gettext", "Ngettext", "place", "responsible_label", "responsible_text", "service_label",
                     "source_label", "status_label"), "services.plan_report.labels"),
    "tables": "services.plan_report.sheets", "xlsx": "services.plan_report.sheets",
    "to_xlsx": "services.voting_report",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


__all__ = [
    "Files", "Gettext", "Ngettext", "PlanReport", "chart_png", "file_stem", "gather", "place", "render",
    "responsible_label", "responsible_text", "service_label", "source_label", "status_label", "summary_lines", "tables",
    "to_docx", "to_xlsx", "xlsx",
]
