"""Hearings, gatherings, kurultais and council sessions: upcoming and past, answers with women's share,
questions, the outcome and decisions, the protocol to print."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiohttp import web
from sqlalchemy import select

from bot.dashboard.common import DOCX, db_session, download, int_arg, language, render, settings, viewer
from bot.dashboard.labels import event_status_label, kind_label, place_name, rule_text
from services import dashboard as dash
from services import events as event_service
from services.protocol import protocol_docx
from storage.events import Event
from storage.models import AiylAimak, Village, utcnow

routes = web.RouteTableDef()


async def _event(request: web.Request) -> Event:
    event_id = int_arg(request.match_info["event_id"])
    event = await event_service.get_event(db_session(request), event_id) if event_id is not None else None
    if event is None or not dash.may_see(viewer(request).roles, event.aiyl_aimak_id):
        raise dash.DashboardError("not_found")
    return event


async def _villages(request: web.Request, event: Event) -> list[Village]:
    query = select(Village).where(Village.id.in_(event.village_ids)).order_by(Village.name_ky)
    return list((await db_session(request).scalars(query)).all())


@routes.get("/events")
async def event_list(request: web.Request) -> web.StreamResponse:
    session = db_session(request)
    aimaks = await dash.visible_aimaks(session, viewer(request).roles)
    found = await event_service.events_of(session, {a.id for a in aimaks}, limit=200)
    now = utcnow()
    upcoming = sorted((e for e in found if e.starts_at >= now), key=lambda e: e.starts_at)
    past = [e for e in found if e.starts_at < now]
    answers = {e.id: await event_service.answers(session, e) for e in found}
    return render(request, "events.html", {
        "upcoming": upcoming, "past": past, "answers": answers, "kind_label": kind_label,
        "status_label": event_status_label, "aimaks": {a.id: place_name(a, language(request)) for a in aimaks}})


@routes.get("/events/{event_id}")
async def event_card(request: web.Request) -> web.StreamResponse:
    event = await _event(request)
    session = db_session(request)
    lang = language(request)
    villages = await _villages(request, event)
    aimak = await session.get(AiylAimak, event.aiyl_aimak_id)
    answers = await event_service.answers(session, event)
    # The announcement is background work (jobs.events.announce): until it has invited anybody, say how many it
    # is being queued for rather than "Invited: 0".
    queuing = (await event_service.count_recipients(session, event)
               if event.status == "announced" and not answers.invited else 0)
    return render(request, "event.html", {
        "event": event, "kind": kind_label(event.kind), "status": event_status_label(event.status),
        "aimak": place_name(aimak, lang),
        "places": _("the whole aiyl aimak") if event.whole_aimak else ", ".join(place_name(v, lang)
                                                                              for v in villages),
        "answers": answers, "queuing": queuing, "rsvp": await dash.rsvp_women(session, event.id),
        "questions": await event_service.questions(session, event), "rule": rule_text(event.decision_rule),
        "sent": request.query.get("sent") == "1",
    })


@routes.get("/events/{event_id}/protocol.docx")
async def protocol(request: web.Request) -> web.StreamResponse:
    event = await _event(request)
    lang = language(request)
    aimak = await db_session(request).get(AiylAimak, event.aiyl_aimak_id)
    data = protocol_docx(event, villages=await _villages(request, event), aimak_name=place_name(aimak, lang),
                         kind_label=kind_label(event.kind), rule_label=rule_text(event.decision_rule), language=lang,
                         zone=settings(request).zone, _=_)
    return download(data, f"protocol-{event.id}.docx", DOCX)
