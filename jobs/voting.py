"""Voting notices and durable tasks: notices when collection and voting open, reminders to those who have not
voted at the hours the organiser set, closing at the end time, results to villagers. Messages go through the
outbox, each with a dedupe key, so a task that runs twice sends nothing twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.i18n import Formatter, in_language
from bot.settings import Settings
from bot.text import escape
from handlers.voting import views
from jobs.tasks import task_handler
from services import outbox, tasks, voting
from services.outbox import Attachment
from storage.delivery import Broadcast
from storage.models import Person, Village, utcnow
from storage.voting import VotingRound

if TYPE_CHECKING:
    from bot.runtime import App

log = logging.getLogger(__name__)
CLOSE_TASK = "voting.close"
REMIND_TASK = "voting.remind"
NOTICES_TASK = "voting.notices"
NOTICES_GRACE = timedelta(days=1)
CLOSE_GRACE = timedelta(days=30)  # closing late is still closing
REMIND_GRACE = timedelta(hours=1)


async def schedule_notices(session: AsyncSession, rnd: VotingRound, kind: str, *, by: int | None,
                           progress_chat_id: int | None = None) -> int:
    """Queue the notices of ``kind`` (collect, ballot, dates or results) as background work: a durable task,
    committed with the caller's transaction, queues them (``queue_notices``) within a second, so an organiser's
    update answers at once however many villagers there are. Returns how many will get it (none in a
    sessions-only round)."""
    if not voting.messages_villagers(rnd):
        return 0
    people = voting.recipients(rnd.id, non_voters=kind == "dates", reachable=kind != "results")
    count = int(await session.scalar(select(func.count(Person.id)).where(people)) or 0)
    key = f"voting:{rnd.id}:notices:{kind}"
    if kind == "dates":  # each change of the end time is its own notice
        key += f":{int((rnd.vote_ends_at or rnd.collect_ends_at or utcnow()).timestamp())}"
    if count:
        await tasks.schedule(session, kind=NOTICES_TASK, key=key, run_at=utcnow(),
                             payload={"round_id": rnd.id, "kind": kind, "by": by,
                                      "progress_chat_id": progress_chat_id}, grace=NOTICES_GRACE)
    return count


async def _organiser_language(session: AsyncSession, telegram_id: int | None, settings: Settings) -> str:
    from services.people import person_by_telegram_id

    person = await person_by_telegram_id(session, telegram_id) if telegram_id is not None else None
    return (person.language if person is not None else None) or settings.default_language


async def queue_notices(app: App, round_id: int, kind: str, *, by: int | None, progress_chat_id: int | None = None,
                        hours: int | None = None) -> int:
    """Queue one message per eligible villager in their language: rendered once per language and village, queued
    set-based in committed chunks (``outbox.enqueue_to_people``). ``kind``: collect, ballot, remind (those who have
    not voted), dates (the end time moved; those who have not voted) or results. Nobody in a sessions-only round;
    nobody who said they took part in their village's session is asked to vote. Running it again queues nothing
    twice. Returns how many were queued."""
    from services.voting_report import chart_png

    i18n, settings = app.i18n, app.settings
    async with app.db.session() as session:
        rnd = await voting.get_round(session, round_id)
        if rnd is None or not voting.messages_villagers(rnd):
            return 0
        suffix = f":{hours}" if kind == "remind" else ""
        if kind == "dates":  # each change of the end time is its own notice
            suffix = f":{int((rnd.vote_ends_at or rnd.collect_ends_at or utcnow()).timestamp())}"
        people = voting.recipients(rnd.id, non_voters=kind in ("remind", "dates"), reachable=kind != "results")
        if await session.scalar(select(Person.id).where(people).limit(1)) is None:
            return 0
        broadcast_kind, subject = f"voting.{kind}{suffix}"[:32], f"voting_round:{rnd.id}"
        broadcast = await session.scalar(select(Broadcast.id).where(Broadcast.kind == broadcast_kind,
                                                                     Broadcast.subject == subject))
        if broadcast is None:  # a task run again after a stop reuses its broadcast
            # The broadcast's name, in the language of the organiser who reads its delivery report.
            with in_language(i18n, await _organiser_language(session, by or rnd.created_by, settings)):
                title = views.broadcast_title(kind, rnd, hours)
            broadcast = await outbox.create_broadcast(session, kind=broadcast_kind, subject=subject, created_by=by,
                                                      title=title, progress_chat_id=progress_chat_id, ready=False)
        results = await voting.results(session, rnd) if kind == "results" else None
        villages = {v.id: v for v in await voting.round_villages(session, rnd.id)}

    def render(language: str | None, village_id: int | None) -> outbox.Notice:
        language = language or settings.default_language
        village: Village = villages[village_id] if village_id is not None else None  # type: ignore[assignment]
        fmt = Formatter(language, settings.zone)
        with in_language(i18n, language):
            text, markup = views.round_notice(kind, rnd, village, language, fmt, results)
            attachment = None
            if kind == "results":
                assert results is not None and village_id is not None
                attachment = Attachment(kind="photo", filename="results.png",
                                        data=chart_png(results, gettext=_, language=language, village_id=village_id))
                if len(text) > outbox.MAX_CAPTION:
                    text = text[: outbox.MAX_CAPTION - 1] + "…"
        return outbox.Notice(text=text, attachment=attachment,
                             reply_markup=markup.model_dump(exclude_none=True) if markup is not None else None)

    queued = await outbox.enqueue_to_people(app.db, broadcast_id=broadcast, people=people, render=render,
                                            dedupe_prefix=f"voting:{rnd.id}:{kind}{suffix}:person:")
    log.info("voting: round %s: %s queued %s messages", rnd.id, kind, queued)
    return queued


@task_handler(NOTICES_TASK)
async def queue_scheduled_notices(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    await queue_notices(app, int(payload["round_id"]), str(payload["kind"]), by=payload.get("by"),
                        progress_chat_id=payload.get("progress_chat_id"))


async def schedule_round_tasks(session: AsyncSession, rnd: VotingRound, now: datetime | None = None) -> None:
    """Close at the end time; remind at the hours before it that are still ahead."""
    now = now or utcnow()
    if rnd.vote_ends_at is None:
        return
    await tasks.schedule(session, kind=CLOSE_TASK, key=f"voting:{rnd.id}:close", run_at=rnd.vote_ends_at,
                         payload={"round_id": rnd.id}, grace=CLOSE_GRACE)
    await tasks.cancel_prefix(session, f"voting:{rnd.id}:remind:")
    for hours in rnd.reminder_hours or []:
        run_at = rnd.vote_ends_at - timedelta(hours=hours)
        if run_at > now:
            await tasks.schedule(session, kind=REMIND_TASK, key=f"voting:{rnd.id}:remind:{hours}", run_at=run_at,
                                 payload={"round_id": rnd.id, "hours": hours}, grace=REMIND_GRACE)


async def cancel_round_tasks(session: AsyncSession, rnd: VotingRound) -> None:
    await tasks.cancel_prefix(session, f"voting:{rnd.id}:")


async def notify_closed(session: AsyncSession, i18n: I18n, settings: Settings, rnd: VotingRound) -> None:
    """Tell the organiser who created the round that it closed at its end time."""
    from services.people import person_by_telegram_id

    if rnd.created_by is None:
        return
    person = await person_by_telegram_id(session, rnd.created_by)
    language = person.language if person is not None and person.language else settings.default_language
    with in_language(i18n, language):
        text = _("Voting in “{title}” closed at its end time. Send /rounds to see the results and publish them.") \
            .format(title=escape(rnd.title))
    await delivery.notify(session, rnd.created_by, text, dedupe_key=f"voting:{rnd.id}:closed")


@task_handler(CLOSE_TASK)
async def close_at_end_time(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    async with app.db.session() as session:
        rnd = await voting.get_round(session, int(payload["round_id"]))
        if rnd is None or rnd.phase != "voting" or rnd.vote_ends_at is None or rnd.vote_ends_at > now:
            return
        if await voting.close_round(session, rnd, by=None, now=now):
            await notify_closed(session, app.i18n, app.settings, rnd)


@task_handler(REMIND_TASK)
async def remind_non_voters(app: App, payload: dict[str, Any], *, run_at: datetime, now: datetime) -> None:
    async with app.db.session() as session:
        rnd = await voting.get_round(session, int(payload["round_id"]))
        if rnd is None or rnd.phase != "voting" or (rnd.vote_ends_at is not None and rnd.vote_ends_at <= now):
            return
    await queue_notices(app, rnd.id, "remind", by=None, hours=int(payload["hours"]))


async def close_due_rounds(app: App, now: datetime | None = None) -> int:
    """A sweep behind the close tasks: any round past its end time is closed (safe in several processes)."""
    now = now or utcnow()
    closed = 0
    async with app.db.session() as session:
        for round_id in await voting.due_to_close(session, now):
            rnd = await voting.get_round(session, round_id)
            if rnd is not None and await voting.close_round(session, rnd, by=None, now=now):
                await notify_closed(session, app.i18n, app.settings, rnd)
                closed += 1
    return closed
