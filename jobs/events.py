"""Event notices, follow-ups, reminders and outcomes: rendered per reader's language and queued in the outbox.

Dedupe keys name the event, its version and the person, so nothing reaches anybody twice however often a
handler or task runs; a changed event (new version) may reach them again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.utils.i18n import I18n
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Formatter, in_language
from bot.settings import Settings
from bot.text import fits_caption
from handlers.events import views
from jobs.tasks import task_handler
from services import events, outbox, tasks
from services.outbox import Attachment
from storage.delivery import Broadcast
from storage.events import Event
from storage.models import AiylAimak, Village, utcnow

if TYPE_CHECKING:
    from bot.runtime import App

log = logging.getLogger(__name__)
NOTICES_TASK = "event.notices"
NOTICES_GRACE = timedelta(days=1)


async def deep_link(bot: Bot, event_id: int) -> str | None:
    """t.me/<bot>?start=event_<id>: opens the event in the bot."""
    try:
        me = await bot.me()
    except Exception:  # noqa: BLE001 - the notice goes out without the link rather than not at all
        log.warning("could not read the bot's username for event links")
        return None
    return f"https://t.me/{me.username}?start=event_{event_id}" if me.username else None


async def _villages(session: AsyncSession, event: Event) -> list[Village]:
    query = select(Village).where(Village.id.in_(event.village_ids)).order_by(Village.name_ky)
    return list((await session.scalars(query)).all())


class _Renderer:
    """Renders once per language, not once per person."""

    def __init__(self, i18n: I18n, settings: Settings, render: Callable[[Formatter], Any]) -> None:
        self.i18n, self.settings, self.render = i18n, settings, render
        self.cache: dict[str, Any] = {}

    def of(self, language: str | None) -> Any:
        language = language or self.settings.default_language
        if language not in self.cache:
            with in_language(self.i18n, language):
                self.cache[language] = self.render(Formatter(language, self.settings.zone))
        return self.cache[language]


def _grace(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.event_reminder_grace_minutes)


async def schedule_announcement(session: AsyncSession, event: Event, *, settings: Settings,
                                progress_chat_id: int | None) -> int:
    """Announce a new event as background work: its reminders scheduled, and a durable task, committed with the
    caller's transaction, that invites the villagers and queues their notices (``announce``) within a second, so
    the organiser's update answers at once however many villagers there are; a stop before or during the task
    leaves it to run (again) after the restart. Returns how many villagers will be invited."""
    await events.schedule_reminders(session, event, grace=_grace(settings))
    count = await events.count_recipients(session, event)
    if count:
        await tasks.schedule(session, kind=NOTICES_TASK, key=f"event:{event.id}:notices:v{event.version}",
                             run_at=utcnow(), payload={"event_id": event.id, "progress_chat_id": progress_chat_id},
                             grace=NOTICES_GRACE)
    return count


async def schedule_follow_up(session: AsyncSession, event: Event, *, progress_chat_id: int | None) -> int:
    """The change or cancellation just made (``events.change``, ``events.cancel``: a new version) as background
    work, like ``schedule_announcement``: a durable task committed with the organiser's update queues the
    notices (``follow_up``). Returns how many will get it (those who got the notice)."""
    what = "cancel" if event.status == "cancelled" else "change"
    return await _schedule(session, event, key=f"event:{event.id}:{what}:v{event.version}",
                           progress_chat_id=progress_chat_id, payload={"what": what, "version": event.version})


async def schedule_outcome(session: AsyncSession, event: Event, *, progress_chat_id: int | None) -> int:
    """The outcome just recorded (``events.record_outcome``), with its protocol, as background work
    (``publish_outcome``). Returns how many will get it."""
    return await _schedule(session, event, key=f"event:{event.id}:outcome", progress_chat_id=progress_chat_id,
                           payload={"what": "outcome"})


async def _schedule(session: AsyncSession, event: Event, *, key: str, progress_chat_id: int | None,
                    payload: dict[str, Any]) -> int:
    count = await events.count_invited(session, event.id)
    if count:
        await tasks.schedule(session, kind=NOTICES_TASK, key=key, run_at=utcnow(), grace=NOTICES_GRACE,
                             payload={"event_id": event.id, "progress_chat_id": progress_chat_id, **payload})
    return count


@task_handler(NOTICES_TASK)
async def announce_in_background(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    event_id, progress_chat_id = int(payload["event_id"]), payload.get("progress_chat_id")
    what = payload.get("what", "notice")
    if what == "outcome":
        await publish_outcome(app, event_id, progress_chat_id=progress_chat_id)
    elif what in ("change", "cancel"):
        await follow_up(app, event_id, version=int(payload["version"]), progress_chat_id=progress_chat_id)
    else:
        await announce(app, event_id, progress_chat_id=progress_chat_id)


async def _broadcast(session: AsyncSession, event: Event, *, kind: str, subject: str,
                     progress_chat_id: int | None) -> int:
    """The broadcast of a fan-out: a task run again after a stop reuses the one it made."""
    found = await session.scalar(select(Broadcast.id).where(Broadcast.kind == kind, Broadcast.subject == subject))
    if found is not None:
        return found
    return await outbox.create_broadcast(session, kind=kind, subject=subject, created_by=event.created_by,
                                         title=event.topic, progress_chat_id=progress_chat_id, ready=False)


async def announce(app: App, event_id: int, *, progress_chat_id: int | None, chunk: int = 5000) -> int:
    """Invite the registered villagers of the event's places and queue the notice, its calendar file and
    documents for each, in their language: rendered once per language, queued set-based in committed chunks
    (``outbox.enqueue_to_people``), so it holds nobody in memory. Running it again (after a stop) invites and
    queues nobody twice. Returns how many notices were queued."""
    i18n, settings = app.i18n, app.settings
    async with app.db.session() as session:
        event = await events.get_event(session, event_id)
        if event is None or event.status != "announced":
            return 0
        villages = await _villages(session, event)
        documents = [Attachment(d.kind, d.filename, d.data) for d in event.documents]
        broadcast_id = await _broadcast(session, event, kind="event.notice", subject=f"event:{event.id}",
                                        progress_chat_id=progress_chat_id)
    await events.invite_recipients(app.db, event, chunk=chunk)
    link = await deep_link(app.bot, event.id)

    def render(fmt: Formatter) -> tuple[str, dict[str, Any], Attachment, str]:
        text = views.notice_text(event, villages, fmt, link)
        markup = views.rsvp_keyboard(event.id).model_dump(exclude_none=True)
        calendar = events.ics(event, summary=views.calendar_summary(event), location=event.place,
                              description=event.agenda, url=link)
        return text, markup, Attachment("document", f"event-{event.id}.ics", calendar), views.calendar_caption()

    people = events.invited_condition(event.id)
    prefix = f"event:{event.id}:v{event.version}"
    queued = await _queue_with_calendar(app, _Renderer(i18n, settings, render), people, broadcast_id=broadcast_id,
                                        prefix=prefix, kind="notice", chunk=chunk)
    for number, document in enumerate(documents, start=1):
        queued += await outbox.enqueue_to_people(
            app.db, broadcast_id=None, people=people, dedupe_prefix=f"{prefix}:doc{number}:", chunk=chunk,
            render=lambda _language, _village, document=document: outbox.Notice(text="", attachment=document))
    log.info("event %s: %s messages queued", event.id, queued)
    return queued


async def _queue_with_calendar(app: App, rendered: _Renderer, people: Any, *, broadcast_id: int | None,
                               prefix: str, kind: str, chunk: int) -> int:
    """Each person's notice, then (when the text is too long to be the file's caption) the calendar file, queued
    set-based; ``rendered.of(language)`` gives (text, keyboard, calendar file, caption). Dedupe keys
    ``{prefix}:{kind}:`` and ``{prefix}:ics:``."""

    def notice(language: str | None, _village: int | None) -> outbox.Notice:
        text, markup, calendar, _caption = rendered.of(language)
        # One message when the text fits: the notice is the calendar file's caption.
        return outbox.Notice(text=text, reply_markup=markup, attachment=calendar if fits_caption(text) else None)

    def calendar_file(language: str | None, _village: int | None) -> outbox.Notice | None:
        text, _markup, calendar, caption = rendered.of(language)
        return None if fits_caption(text) else outbox.Notice(text=caption, attachment=calendar)

    queued = await outbox.enqueue_to_people(app.db, broadcast_id=broadcast_id, people=people, render=notice,
                                            dedupe_prefix=f"{prefix}:{kind}:", chunk=chunk)
    # After each person's notice (one chat's messages go in the order they were queued).
    return queued + await outbox.enqueue_to_people(app.db, broadcast_id=None, people=people, render=calendar_file,
                                                   dedupe_prefix=f"{prefix}:ics:", chunk=chunk)


async def follow_up(app: App, event_id: int, *, version: int, progress_chat_id: int | None,
                    chunk: int = 5000) -> int:
    """The change or cancellation of ``version``, to everybody the notice went to, referring to the first notice,
    with the calendar file again (same UID, higher SEQUENCE, so calendars update or drop the entry): rendered
    once per language, queued set-based in committed chunks. A task made for an older version (the event moved
    again, or was cancelled, since) sends nothing: the newer one tells. Running it again queues nobody twice.
    Returns how many messages were queued."""
    async with app.db.session() as session:
        event = await events.get_event(session, event_id)
        if event is None or event.version != version or event.status not in ("announced", "cancelled"):
            return 0
        cancelled = event.status == "cancelled"
        kind = "event.cancel" if cancelled else "event.change"
        villages = await _villages(session, event)
        broadcast_id = await _broadcast(session, event, kind=kind, subject=f"event:{event.id}:v{version}",
                                        progress_chat_id=progress_chat_id)
    link = None if cancelled else await deep_link(app.bot, event.id)

    def render(fmt: Formatter) -> tuple[str, dict[str, Any] | None, Attachment, str]:
        if cancelled:
            text, markup = views.cancel_text(event, fmt), None
        else:
            text = views.change_text(event, villages, fmt)
            markup = views.rsvp_keyboard(event.id).model_dump(exclude_none=True)
        calendar = events.ics(event, summary=views.calendar_summary(event), location=event.place,
                              description=event.agenda, url=link)
        caption = "" if cancelled else views.calendar_caption()
        return text, markup, Attachment("document", f"event-{event.id}.ics", calendar), caption

    queued = await _queue_with_calendar(app, _Renderer(app.i18n, app.settings, render), events.invited(event.id),
                                        broadcast_id=broadcast_id, prefix=f"event:{event.id}:v{version}", kind=kind,
                                        chunk=chunk)
    log.info("event %s: %s v%s: %s messages queued", event.id, kind, version, queued)
    return queued


async def publish_outcome(app: App, event_id: int, *, progress_chat_id: int | None, chunk: int = 5000) -> int:
    """The outcome (attendance, decisions, proposals, minutes) to the same villagers, with the protocol in their
    language: each rendered once per language, queued set-based in committed chunks. Running it again queues
    nobody twice. Returns how many messages were queued."""
    i18n, settings = app.i18n, app.settings
    async with app.db.session() as session:
        event = await events.get_event(session, event_id)
        if event is None or event.status != "held":
            return 0
        villages = await _villages(session, event)
        aimak = await session.get(AiylAimak, event.aiyl_aimak_id)
        broadcast_id = await _broadcast(session, event, kind="event.outcome", subject=f"event:{event.id}",
                                        progress_chat_id=progress_chat_id)
    rendered = _Renderer(i18n, settings, lambda fmt: views.outcome_text(event, fmt))
    protocols: dict[str, Attachment] = {}

    def protocol(language: str | None, _village: int | None) -> outbox.Notice:
        language = language or settings.default_language
        if language not in protocols:
            protocols[language] = Attachment("document", f"protocol-{event.id}-{language}.docx",
                                             views.event_protocol_docx(event, villages, aimak, language, settings,
                                                                       i18n))
        return outbox.Notice(text="", attachment=protocols[language])

    people = events.invited(event.id)
    queued = await outbox.enqueue_to_people(
        app.db, broadcast_id=broadcast_id, people=people, dedupe_prefix=f"event:{event.id}:outcome:", chunk=chunk,
        render=lambda language, _village: outbox.Notice(text=rendered.of(language)))
    queued += await outbox.enqueue_to_people(app.db, broadcast_id=None, people=people, render=protocol,
                                             dedupe_prefix=f"event:{event.id}:protocol:", chunk=chunk)
    log.info("event %s: outcome: %s messages queued", event.id, queued)
    return queued


@task_handler(events.REMINDER_TASK)
async def remind(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    """Remind those who will come and those who did not answer (not those who declined). A reminder made for
    another start time (the event moved) is dropped."""
    async with app.db.session() as session:
        event = await events.get_event(session, int(payload["event_id"]))
        if event is None or event.status != "announced":
            log.info("reminder %s: the event is gone or not announced any more", payload)
            return
        if event.starts_at.isoformat() != payload.get("starts_at"):
            log.warning("reminder for event %s was made for %s, the event is now at %s: dropped", event.id,
                        payload.get("starts_at"), event.starts_at.isoformat())
            return
        if event.starts_at <= now:
            log.warning("reminder for event %s comes after its start: dropped", event.id)
            return
        minutes = int(payload["minutes"])
    rendered = _Renderer(app.i18n, app.settings, lambda fmt: (
        views.reminder_text(event, minutes, fmt), views.rsvp_keyboard(event.id).model_dump(exclude_none=True)))

    def notice(language: str | None, _village: int | None) -> outbox.Notice:
        text, markup = rendered.of(language)
        return outbox.Notice(text=text, reply_markup=markup)

    # Set-based, in committed chunks: a reminder to 100,000 holds neither them in memory nor the database.
    queued = await outbox.enqueue_to_people(
        app.db, broadcast_id=None, people=events.invited(event.id, skip_declined=True), render=notice,
        dedupe_prefix=f"event:{event.id}:reminder:{minutes}:{int(event.starts_at.timestamp())}:")
    log.info("event %s: reminder %s min before queued for %s people", event.id, minutes, queued)
