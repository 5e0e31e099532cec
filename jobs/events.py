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

from bot import delivery
from bot.i18n import Formatter, in_language
from bot.settings import Settings
from bot.text import fits_caption
from handlers.events import views
from jobs.tasks import task_handler
from services import events, outbox, tasks
from services.outbox import Attachment
from storage.delivery import Broadcast
from storage.events import Event
from storage.models import Person, Village, utcnow

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

    def __call__(self, person: Person) -> Any:
        return self.of(person.language)

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


@task_handler(NOTICES_TASK)
async def announce_in_background(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    await announce(app, int(payload["event_id"]), progress_chat_id=payload.get("progress_chat_id"))


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
        subject = f"event:{event.id}"
        broadcast_id = await session.scalar(select(Broadcast.id).where(Broadcast.kind == "event.notice",
                                                                       Broadcast.subject == subject))
        if broadcast_id is None:  # a task run again after a stop reuses its broadcast
            broadcast_id = await outbox.create_broadcast(
                session, kind="event.notice", subject=subject, created_by=event.created_by, title=event.topic,
                progress_chat_id=progress_chat_id, ready=False)
    await events.invite_recipients(app.db, event, chunk=chunk)
    link = await deep_link(app.bot, event.id)

    def render(fmt: Formatter) -> tuple[str, dict[str, Any], Attachment, str]:
        text = views.notice_text(event, villages, fmt, link)
        markup = views.rsvp_keyboard(event.id).model_dump(exclude_none=True)
        calendar = events.ics(event, summary=views.calendar_summary(event), location=event.place,
                              description=event.agenda, url=link)
        return text, markup, Attachment("document", f"event-{event.id}.ics", calendar), views.calendar_caption()

    rendered = _Renderer(i18n, settings, render)

    def notice(language: str | None, _village: int | None) -> outbox.Notice:
        text, markup, calendar, _caption = rendered.of(language)
        # One message when the text fits: the notice is the calendar file's caption.
        return outbox.Notice(text=text, reply_markup=markup, attachment=calendar if fits_caption(text) else None)

    def calendar_file(language: str | None, _village: int | None) -> outbox.Notice | None:
        text, _markup, calendar, caption = rendered.of(language)
        return None if fits_caption(text) else outbox.Notice(text=caption, attachment=calendar)

    people = events.invited_condition(event.id)
    prefix = f"event:{event.id}:v{event.version}"
    queued = await outbox.enqueue_to_people(app.db, broadcast_id=broadcast_id, people=people, render=notice,
                                            dedupe_prefix=f"{prefix}:notice:", chunk=chunk)
    # After each person's notice (one chat's messages go in the order they were queued).
    queued += await outbox.enqueue_to_people(app.db, broadcast_id=None, people=people, render=calendar_file,
                                             dedupe_prefix=f"{prefix}:ics:", chunk=chunk)
    for number, document in enumerate(documents, start=1):
        queued += await outbox.enqueue_to_people(
            app.db, broadcast_id=None, people=people, dedupe_prefix=f"{prefix}:doc{number}:", chunk=chunk,
            render=lambda _language, _village, document=document: outbox.Notice(text="", attachment=document))
    log.info("event %s: %s messages queued", event.id, queued)
    return queued


async def follow_up(session: AsyncSession, *, bot: Bot, i18n: I18n, settings: Settings, event: Event,
                    progress_chat_id: int | None) -> int:
    """A change or the cancellation, to everybody the notice went to, referring to the first notice."""
    people = await events.invited_people(session, event)
    villages = await _villages(session, event)
    cancelled = event.status == "cancelled"
    link = None if cancelled else await deep_link(bot, event.id)

    def render(fmt: Formatter) -> tuple[str, dict[str, Any] | None, Attachment]:
        if cancelled:
            text, markup = views.cancel_text(event, fmt), None
        else:
            text = views.change_text(event, villages, fmt)
            markup = views.rsvp_keyboard(event.id)
        calendar = events.ics(event, summary=views.calendar_summary(event), location=event.place,
                              description=event.agenda, url=link)
        return text, markup, Attachment("document", f"event-{event.id}.ics", calendar)

    rendered = _Renderer(i18n, settings, render)
    kind = "event.cancel" if cancelled else "event.change"
    broadcast_id = await outbox.create_broadcast(
        session, kind=kind, subject=f"event:{event.id}", created_by=event.created_by, title=event.topic,
        progress_chat_id=progress_chat_id)
    prefix = f"event:{event.id}:v{event.version}"
    for person in people:
        assert person.telegram_id is not None
        text, markup, calendar = rendered(person)
        # The calendar file again: same UID, higher SEQUENCE, so calendars update (or drop) the entry. One
        # message when the text fits its caption.
        if fits_caption(text):
            await delivery.notify(session, person.telegram_id, text, person_id=person.id, buttons=markup,
                                  document=calendar, dedupe_key=f"{prefix}:{kind}:{person.id}",
                                  broadcast_id=broadcast_id)
            continue
        await delivery.notify(session, person.telegram_id, text, person_id=person.id, buttons=markup,
                              dedupe_key=f"{prefix}:{kind}:{person.id}", broadcast_id=broadcast_id)
        await delivery.notify(session, person.telegram_id, "" if cancelled else views.calendar_caption(),
                              person_id=person.id, document=calendar, dedupe_key=f"{prefix}:ics:{person.id}")
    return broadcast_id


async def publish_outcome(session: AsyncSession, *, i18n: I18n, settings: Settings, event: Event,
                          progress_chat_id: int | None,
                          protocol: Callable[[str], Attachment] | None = None) -> int:
    """The outcome (attendance, decisions, proposals, minutes) to the same villagers, with the protocol."""
    people = await events.invited_people(session, event)

    def render(fmt: Formatter) -> tuple[str, Attachment | None]:
        return views.outcome_text(event, fmt), protocol(fmt.language) if protocol else None

    rendered = _Renderer(i18n, settings, render)
    broadcast_id = await outbox.create_broadcast(
        session, kind="event.outcome", subject=f"event:{event.id}", created_by=event.created_by,
        title=event.topic, progress_chat_id=progress_chat_id)
    for person in people:
        assert person.telegram_id is not None
        text, document = rendered(person)
        await delivery.notify(session, person.telegram_id, text, person_id=person.id,
                              dedupe_key=f"event:{event.id}:outcome:{person.id}", broadcast_id=broadcast_id)
        if document is not None:
            await delivery.notify(session, person.telegram_id, "", person_id=person.id, document=document,
                                  dedupe_key=f"event:{event.id}:protocol:{person.id}")
    return broadcast_id


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
        people = await events.invited_people(session, event, skip_declined=True)
        rendered = _Renderer(app.i18n, app.settings, lambda fmt: (
            views.reminder_text(event, minutes, fmt), views.rsvp_keyboard(event.id)))
        stamp = int(event.starts_at.timestamp())
        for person in people:
            assert person.telegram_id is not None
            text, markup = rendered(person)
            await delivery.notify(session, person.telegram_id, text, person_id=person.id, buttons=markup,
                                  dedupe_key=f"event:{event.id}:reminder:{minutes}:{stamp}:{person.id}")
        log.info("event %s: reminder %s min before queued for %s people", event.id, minutes, len(people))
