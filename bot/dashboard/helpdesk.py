"""The legal helpdesk for lawyers and admins: the queue with ages against the targets, the month's statistics
(median and 90th percentile, ratings) with a chart and files, and the FAQ entries to review and correct."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.dashboard.common import XLSX, db_session, download, int_arg, language, redirect, render, settings, url, viewer
from bot.dashboard.labels import place_name, question_status_label, topic_label
from services import dashboard as dash
from services import helpdesk as desk
from services import helpdesk_stats as stats_service
from services.charts import short
from services.helpdesk import HelpdeskConfig
from services.helpdesk_stats import month_bounds
from services.places import list_aiyl_aimaks

routes = web.RouteTableDef()


def _require(request: web.Request) -> None:
    if not dash.may_see_helpdesk(viewer(request).roles):
        raise dash.DashboardError("forbidden")


@routes.get("/helpdesk")
async def queue(request: web.Request) -> web.StreamResponse:
    _require(request)
    session = db_session(request)
    config = HelpdeskConfig.from_settings(settings(request))
    now = datetime.now(UTC)
    rows = []
    for question in await desk.queue(session, limit=200):
        hours = desk.elapsed(question, config, now) / 3600
        target = config.answer_target(question.topic) / 3600
        rows.append({"q": question, "hours": hours, "target": target, "late": hours > target,
                     "due": desk.due_at(question, config)})
    return render(request, "helpdesk.html", {
        "rows": rows, "topic_label": topic_label, "status_label": question_status_label,
        "place": lambda q: place_name(q.aiyl_aimak, language(request))})


def _month(request: web.Request) -> tuple[datetime, datetime, str]:
    try:
        return month_bounds(request.query.get("month") or None, settings(request).zone)
    except ValueError:
        return month_bounds(None, settings(request).zone)


async def _stats(request: web.Request) -> tuple[stats_service.HelpdeskStats, str]:
    _require(request)
    start, end, label = _month(request)
    config = HelpdeskConfig.from_settings(settings(request))
    return await stats_service.compute(db_session(request), start, end, config, datetime.now(UTC)), label


@routes.get("/helpdesk/stats")
async def stats(request: web.Request) -> web.StreamResponse:
    figures, label = await _stats(request)
    lang = language(request)
    start, end, _label = _month(request)
    topics, places = await dash.helpdesk_groups(db_session(request), start, end)
    aimaks = {a.id: place_name(a, lang) for a in await list_aiyl_aimaks(db_session(request))}
    return render(request, "helpdesk_stats.html", {
        "s": figures, "month": label, "topic_label": topic_label, "topics": topics, "places": places,
        "place_of": lambda aimak_id: aimaks.get(aimak_id, "—")})


@routes.get("/helpdesk/stats.{kind:(csv|xlsx|png)}")
async def stats_file(request: web.Request) -> web.StreamResponse:
    figures, label = await _stats(request)
    kind = request.match_info["kind"]
    if kind == "png":
        labels = {topic: short(topic_label(topic), 32) for topic in desk.TOPICS}
        image = stats_service.chart_png(figures, labels, _("Questions by topic, {month}").format(month=label))
        return web.Response(body=image, content_type="image/png", headers={"Cache-Control": "no-store"})
    if kind == "csv":
        return download(stats_service.to_csv(figures), f"helpdesk-{label}.csv", "text/csv")
    return download(stats_service.to_xlsx(figures), f"helpdesk-{label}.xlsx", XLSX)


@routes.get("/helpdesk/faq")
async def faq(request: web.Request) -> web.StreamResponse:
    _require(request)
    topic = request.query.get("topic") or None
    entries = await dash.faq_entries(db_session(request), topic=topic if topic in desk.TOPICS else None)
    return render(request, "faq.html", {"entries": entries, "topics": desk.TOPICS, "topic": topic or "",
                                        "topic_label": topic_label, "edit": int_arg(request.query.get("edit")),
                                        "saved": request.query.get("saved") == "1"})


@routes.post("/helpdesk/faq/{entry_id}")
async def faq_save(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    entry_id = int_arg(request.match_info["entry_id"]) or 0
    try:
        await dash.edit_faq_entry(db_session(request), viewer(request).roles, entry_id,
                                  question=str(form.get("question") or ""), answer=str(form.get("answer") or ""),
                                  law_refs=str(form.get("law_refs") or ""), by=viewer(request).telegram_id)
    except dash.DashboardError as error:
        if error.code != "faq_empty":
            raise
        return redirect(url(f"/helpdesk/faq?edit={entry_id}"))
    return redirect(url(f"/helpdesk/faq?saved=1#faq-{entry_id}"))

