"""Joint action plans: activities with status and budget by source, monitoring answers with their photos,
overdue items, satisfaction results, and the report files (so far, or the last twelve months)."""

from __future__ import annotations

import io
import logging
import mimetypes

from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiohttp import web

from bot.dashboard.common import DOCX, XLSX, db_session, download, int_arg, jamaat, language, render, settings, viewer
from bot.dashboard.labels import place_name
from services import dashboard as dash
from services import plan as plans
from services import plan_report
from storage.models import utcnow
from storage.plan import MonitoringAnswer, Plan

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


async def _plan(request: web.Request) -> Plan:
    plan_id = int_arg(request.match_info["plan_id"])
    plan = await plans.get_plan(db_session(request), plan_id) if plan_id is not None else None
    if plan is None or not dash.may_see(viewer(request).roles, plan.aiyl_aimak_id):
        raise dash.DashboardError("not_found")
    return plan


async def _report(request: web.Request, plan: Plan) -> plan_report.PlanReport:
    zone = settings(request).zone
    ending = None
    if request.query.get("year") == "1":
        ending = plans.local_day(utcnow(), zone)
    return await plan_report.gather(db_session(request), plan, zone=zone, year_ending=ending)


@routes.get("/plans")
async def plan_list(request: web.Request) -> web.StreamResponse:
    session = db_session(request)
    aimaks = await dash.visible_aimaks(session, viewer(request).roles)
    found = await plans.plans_of(session, [a.id for a in aimaks])
    progress = {p.id: plans.plan_progress(await plans.activities_of(session, p.id)) for p in found}
    return render(request, "plans.html", {"plans": found, "progress": progress,
                                          "aimaks": {a.id: place_name(a, language(request)) for a in aimaks}})


@routes.get("/plans/{plan_id}")
async def plan_card(request: web.Request) -> web.StreamResponse:
    plan = await _plan(request)
    lang = language(request)
    report = await plan_report.gather(db_session(request), plan, zone=settings(request).zone)
    parts = plan_report.tables(report, gettext=_, language=lang, zone=settings(request).zone)
    overdue = [a for a in report.activities if plans.is_overdue(a, report.today)]
    titles = {a.id: a.title for a in report.activities}
    photos = [a for a in report.answers if a.photo_file_id]
    return render(request, "plan.html", {
        "plan": plan, "aimak": place_name(report.aiyl_aimak, lang), "report": report, "tables": parts,
        "overdue": overdue, "photos": photos, "titles": titles,
        "status_label": lambda s: plan_report.status_label(s, _),
        "summary": plan_report.summary_lines(report, gettext=_, language=lang, ngettext=ngettext)})


@routes.get("/plans/{plan_id}/chart.png")
async def chart(request: web.Request) -> web.StreamResponse:
    plan = await _plan(request)
    report = await plan_report.gather(db_session(request), plan, zone=settings(request).zone)
    image = plan_report.chart_png(report, gettext=_, language=language(request))
    return web.Response(body=image, content_type="image/png", headers={"Cache-Control": "no-store"})


@routes.get("/plans/{plan_id}/report.{kind:(xlsx|docx)}")
async def report_file(request: web.Request) -> web.StreamResponse:
    plan = await _plan(request)
    lang, zone = language(request), settings(request).zone
    report = await _report(request, plan)
    stem = plan_report.file_stem(report)
    if request.match_info["kind"] == "xlsx":
        return download(plan_report.xlsx(report, gettext=_, language=lang, zone=zone), f"{stem}.xlsx", XLSX)
    chart = plan_report.chart_png(report, gettext=_, language=lang)
    document = plan_report.to_docx(report, gettext=_, language=lang, zone=zone, chart=chart, ngettext=ngettext)
    return download(document, f"{stem}.docx", DOCX)


@routes.get("/plans/{plan_id}/photo/{answer_id}")
async def photo(request: web.Request) -> web.StreamResponse:
    """A monitoring photo, fetched from Telegram by the bot (getFile) for a reader who may see the plan."""
    plan = await _plan(request)
    session = db_session(request)
    answer = await session.get(MonitoringAnswer, int_arg(request.match_info["answer_id"]) or 0)
    activity = await plans.get_activity(session, answer.activity_id) if answer is not None else None
    if answer is None or activity is None or activity.plan_id != plan.id or not answer.photo_file_id:
        raise dash.DashboardError("not_found")
    bot = jamaat(request).bot
    try:
        file = await bot.get_file(answer.photo_file_id)
        buffer = io.BytesIO()
        await bot.download_file(file.file_path or "", buffer)
    except TelegramAPIError as exc:
        log.warning("dashboard: photo of monitoring answer %s not available: %s", answer.id, exc)
        raise web.HTTPNotFound() from exc
    kind = mimetypes.guess_type(file.file_path or "")[0] or "image/jpeg"
    return web.Response(body=buffer.getvalue(), content_type=kind,
                        headers={"Cache-Control": "private, max-age=3600"})
