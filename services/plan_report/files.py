"""The report's three files at once, and their name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from services.plan_report.chart import chart_png
from services.plan_report.document import to_docx
from services.plan_report.gathering import PlanReport
from services.plan_report.labels import Gettext, Ngettext
from services.plan_report.sheets import xlsx


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
