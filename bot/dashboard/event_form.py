"""Preparing a hearing or gathering from the dashboard: the same rules as /event in chat (``events.create_event``),
a preview in Kyrgyz and Russian, then the chat's own broadcast (``jobs.events.announce``: invitations, the notice
rendered by the events flow's views, the calendar file, the reminders)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.dashboard.common import db_session, int_arg, jamaat, language, redirect, render, settings, url, viewer
from bot.dashboard.labels import kind_label, place_name, rule_text
from bot.i18n import Formatter, in_language
from services import dashboard as dash
from services import events as event_service
from services.events import EVENT_KINDS, EventError
from services.places import list_villages
from storage.events import Event
from storage.models import Village, utcnow

routes = web.RouteTableDef()
RULES = ("present+chair", "present", "cast+chair", "cast")


def event_refusal(code: str) -> str:
    return {
        "not_organiser": _("Only organisers of this aiyl aimak can do this."),
        "past": _("This moment has passed. Please give a date and time in the future."),
        "bad_date": _("Please write the date and time like 25.12.2026 15:00."),
        "bad_lead_times": _("Please write the reminder times like “1d, 2h” (days, hours, minutes), at most "
                            "five, or 0 for no reminders."),
        "bad_villages": _("Please choose at least one village of this aiyl aimak."),
        "empty": _("Please fill in the topic and the place."),
    }.get(code, _("This cannot be done: {reason}.").format(reason=code))


def _require_organiser(request: web.Request) -> None:
    if not viewer(request).roles.organiser:
        raise dash.DashboardError("forbidden")


async def _choices(request: web.Request) -> dict[str, Any]:
    session = db_session(request)
    lang = language(request)
    aimaks = [a for a in await dash.visible_aimaks(session, viewer(request).roles)
              if viewer(request).roles.may_organise(a.id)]
    villages = {a.id: [(v.id, place_name(v, lang)) for v in await list_villages(session, a.id)] for a in aimaks}
    return {"aimaks": [(a.id, place_name(a, lang)) for a in aimaks], "villages": villages,
            "kinds": [(k, kind_label(k)) for k in EVENT_KINDS], "rules": [(r, rule_text(r)) for r in RULES]}


def _parse(form: Any, zone: Any) -> dict[str, Any]:
    """The form's fields, checked as the chat checks what organisers type."""
    try:
        local = datetime.fromisoformat(str(form.get("starts_at") or "").strip())
    except ValueError:
        raise EventError("bad_date") from None
    starts_at = local.replace(tzinfo=zone).astimezone(UTC)
    if starts_at <= utcnow():
        raise EventError("past")
    topic, place = str(form.get("topic") or "").strip(), str(form.get("place") or "").strip()
    if not topic or not place:
        raise EventError("empty")
    reminders = str(form.get("reminders") or "").strip()
    return {
        "aiyl_aimak_id": int_arg(str(form.get("aimak") or "")) or 0, "kind": str(form.get("kind") or ""),
        "topic": topic, "agenda": str(form.get("agenda") or ""), "starts_at": starts_at, "place": place,
        "whole_aimak": form.get("whole") == "1",
        "village_ids": [n for n in (int_arg(str(v)) for v in form.getall("village", [])) if n is not None],
        "reminder_minutes": event_service.parse_lead_times(reminders) if reminders else [],
        "decision_rule": str(form.get("rule") or RULES[0]),
    }


@routes.get("/events/new")
async def new_event(request: web.Request) -> web.StreamResponse:
    _require_organiser(request)
    minutes = settings(request).event_reminder_minutes
    values = {"reminders": ", ".join(f"{m // 60}h" if m % 60 == 0 else f"{m}m" for m in minutes), "whole": "1"}
    return render(request, "event_form.html", {**await _choices(request), "values": values, "chosen": [],
                                               "error": None, "preview": None})


@routes.post("/events/new")
async def new_event_post(request: web.Request) -> web.StreamResponse:
    _require_organiser(request)
    form = await request.post()
    session = db_session(request)
    app = jamaat(request)
    values = {key: str(value) for key, value in form.items() if key != "village"}
    chosen = [str(v) for v in form.getall("village", [])]
    context = {**await _choices(request), "values": values, "chosen": chosen, "preview": None}
    try:
        data = _parse(form, settings(request).zone)
        if form.get("send") != "1":
            # The preview: the rules checked on a draft that is not kept, the notice in the villagers' languages.
            async with session.begin_nested() as draft:
                event = await event_service.create_event(session, roles=viewer(request).roles, **data)
                count = await event_service.count_recipients(session, event)
                texts = _notices(app, event, await _villages(session, event))
                await draft.rollback()
            context["preview"] = {"count": count, "texts": texts}
            return render(request, "event_form.html", {**context, "error": None})
        event = await event_service.create_event(session, roles=viewer(request).roles, **data)
    except EventError as error:
        return render(request, "event_form.html", {**context, "error": event_refusal(error.code)}, status=400)
    # The chat's broadcast (invitations, notices, calendar file, reminders), as background work.
    from jobs.events import schedule_announcement

    await schedule_announcement(session, event, settings=app.settings, progress_chat_id=None)
    return redirect(url(f"/events/{event.id}?sent=1"))


async def _villages(session: Any, event: Event) -> list[Village]:
    from sqlalchemy import select

    query = select(Village).where(Village.id.in_(event.village_ids)).order_by(Village.name_ky)
    return list((await session.scalars(query)).all())


def _notices(app: Any, event: Event, villages: list[Village]) -> list[dict[str, str]]:
    """What the notice says, in Kyrgyz and Russian: the villagers get these facts in their language."""
    out = []
    for lang in ("ky", "ru"):
        with in_language(app.i18n, lang):
            out.append({
                "lang": lang, "kind": kind_label(event.kind), "topic": event.topic, "place": event.place,
                "when": Formatter(lang, app.settings.zone).datetime(event.starts_at), "agenda": event.agenda,
                "for": _("the whole aiyl aimak") if event.whole_aimak else ", ".join(
                    place_name(v, lang) for v in villages),
                "for_label": _("For whom"), "agenda_label": _("Agenda"),
            })
    return out
