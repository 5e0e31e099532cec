"""The start page, people by village, sex and age group, and the audit trail."""

from __future__ import annotations

from datetime import timedelta

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.dashboard.common import db_session, int_arg, language, render, settings, viewer
from bot.dashboard.labels import place_name, sex_label
from services import dashboard as dash
from services import events as event_service
from services import helpdesk as desk
from services import plan as plans
from services import voting
from storage.models import utcnow

routes = web.RouteTableDef()


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    session = db_session(request)
    roles = viewer(request).roles
    aimaks = []
    for aimak in await dash.visible_aimaks(session, roles):
        people = await dash.people_counts(session, aimak.id)
        aimaks.append({"id": aimak.id, "name": place_name(aimak, language(request)),
                       "rounds": len(await voting.rounds_of(session, [aimak.id])),
                       "events": len(await event_service.events_of(session, {aimak.id}, limit=1000)),
                       "plans": len(await plans.plans_of(session, [aimak.id])), "people": people.total()})
    queue_size = await desk.queue_size(session) if dash.may_see_helpdesk(roles) else 0
    return render(request, "home.html", {"aimaks": aimaks, "queue_size": queue_size})


@routes.get("/people")
async def people(request: web.Request) -> web.StreamResponse:
    session = db_session(request)
    roles = viewer(request).roles
    aimaks = await dash.visible_aimaks(session, roles)
    wanted = int_arg(request.query.get("aimak"))
    if wanted is not None:
        aimak = await dash.aimak_for(session, roles, wanted)
    elif aimaks:
        aimak = aimaks[0]
    else:
        raise dash.DashboardError("not_found")
    counts = await dash.people_counts(session, aimak.id)
    bands = [*settings(request).age_bands, None]
    return render(request, "people.html", {
        "aimak": aimak, "aimaks": [(a.id, place_name(a, language(request))) for a in aimaks],
        "name": place_name(aimak, language(request)), "counts": counts, "bands": bands, "sexes": ["f", "m", None],
        "sex_label": sex_label, "band_label": lambda b: b or _("not given"),
        "village_name": {v.id: place_name(v, language(request)) for v in counts.villages},
    })


@routes.get("/audit")
async def audit(request: web.Request) -> web.StreamResponse:
    roles = viewer(request).roles
    group = request.query.get("group") or None
    actor = int_arg(request.query.get("actor"))
    days = int_arg(request.query.get("days"))
    since = utcnow() - timedelta(days=days) if days else None
    entries = await dash.audit_entries(db_session(request), roles, group=group, actor=actor, since=since)
    groups = [("", _("everything")), ("roles", _("roles granted and taken")), ("merges", _("merged problems")),
              ("dates", _("changed dates and phases")), ("results", _("results and outcomes")),
              ("helpdesk", _("helpdesk members"))]
    if not roles.admin:
        groups = [g for g in groups if g[0] not in ("roles", "helpdesk")]
    return render(request, "audit.html", {"entries": entries, "groups": groups, "group": group or "",
                                          "actor": actor, "days": days or ""})
