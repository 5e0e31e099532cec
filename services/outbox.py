"""The persistent outbox: every notice to many people is queued here and sent by ``jobs.sender``.

Callers render each message in its reader's language and ``enqueue`` it with a ``dedupe_key`` that names what
it is to whom (``event:12:notice:person:345``): queuing the same key again is a no-op, so a handler or task that
runs twice never messages anybody twice. Queue a broadcast's messages in the same transaction as
``create_broadcast``, so the sender never sees half a broadcast and reports it finished early.

The claim/mark functions below are the sender's side: a worker claims due rows with a lease, marks a row
``sending`` just before the Bot API call and ``sent`` right after the answer."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    String,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from services.channels import WHATSAPP_BASE, reach
from services.people import mark_unreachable
from storage import db
from storage.channels import ChannelIdentity
from storage.db import Database
from storage.delivery import (
    CANCELLED,
    FAILED,
    OPEN_STATES,
    PENDING,
    SENDING,
    SENT,
    UNREACHABLE,
    Broadcast,
    OutboxFile,
    OutboxMessage,
)
from storage.models import Person, UTCDateTime, utcnow

log = logging.getLogger(__name__)

MAX_TEXT = 4096
ANALYZE_AFTER = 10_000  # messages queued at once after which the outbox's statistics are refreshed
MAX_CAPTION = 1024
ATTACHMENT_KINDS = ("document", "photo")


@dataclass(frozen=True)
class Attachment:
    """A file sent with sendDocument / sendPhoto; the message text becomes its caption (1024 characters)."""

    kind: str  # "document" | "photo"
    filename: str
    data: bytes


@dataclass(frozen=True)
class Progress:
    total: int = 0
    sent: int = 0
    pending: int = 0  # waiting, being sent or waiting for a retry
    failed: int = 0
    unreachable: int = 0  # blocked the bot or left Telegram
    cancelled: int = 0  # the person asked to be forgotten before it went out
    throttled: int = 0  # messages the messenger slowed down (throttling answers, retried)

    @property
    def done(self) -> bool:
        return self.pending == 0




# Throttling answers the messenger gave while the sender sent one message: the sender sets a counter, a channel's
# client adds to it (``count_throttle``), and a message slowed down is marked so the broadcast report counts it.
THROTTLES: ContextVar[list[int] | None] = ContextVar("jamaat_throttles", default=None)
THROTTLED_NOTE = "throttled"


def count_throttle() -> None:
    box = THROTTLES.get()
    if box is not None:
        box[0] += 1


async def create_broadcast(session: AsyncSession, *, kind: str, subject: str, created_by: int | None, title: str,
                           progress_chat_id: int | None = None, ready: bool = True) -> int:
    """A new broadcast; with ``progress_chat_id`` the sender keeps one message there edited with its progress
    and sends a final report. Returns the broadcast id to pass to ``enqueue``. ``ready=False``: its messages
    are queued in several transactions (``enqueue_to_people``), and it is not finished before they all are."""
    broadcast = Broadcast(kind=kind[:32], subject=subject[:64], created_by=created_by, title=title[:300],
                          progress_chat_id=progress_chat_id, ready_at=utcnow() if ready else None)
    session.add(broadcast)
    await session.flush()
    return broadcast.id


async def _file_id(session: AsyncSession, attachment: Attachment) -> int:
    if attachment.kind not in ATTACHMENT_KINDS:
        raise ValueError(f"attachment kind must be one of {ATTACHMENT_KINDS}, not {attachment.kind!r}")
    digest = hashlib.sha256(
        attachment.kind.encode() + b"\0" + attachment.filename.encode() + b"\0" + attachment.data
    ).hexdigest()
    cache: dict[str, int] = session.info.setdefault("outbox_files", {})
    if digest in cache:
        return cache[digest]
    table = OutboxFile.__table__
    await session.execute(
        db.insert(session, table)
        .values(digest=digest, kind=attachment.kind, filename=attachment.filename[:255], data=attachment.data,
                created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["digest"])
    )
    file_id = await session.scalar(select(OutboxFile.id).where(OutboxFile.digest == digest))
    assert file_id is not None
    cache[digest] = file_id
    return file_id


async def enqueue(session: AsyncSession, *, chat_id: int, text: str, dedupe_key: str, person_id: int | None = None,
                  reply_markup: dict[str, Any] | None = None, parse_mode: str | None = "HTML",
                  attachment: Attachment | None = None, broadcast_id: int | None = None,
                  not_before: datetime | None = None) -> bool:
    """Queue one message. False when ``dedupe_key`` was already queued (a UNIQUE constraint decides, so two
    processes queuing the same thing at once still queue it once).

    ``reply_markup`` is the Bot API JSON object (e.g. ``markup.model_dump(exclude_none=True)``)."""
    limit = MAX_CAPTION if attachment is not None else MAX_TEXT
    if len(text) > limit:
        raise ValueError(f"text of {len(text)} characters is over the limit of {limit}")
    if attachment is None and not text.strip():
        raise ValueError("empty text")
    if len(dedupe_key) > 200:
        raise ValueError("dedupe_key is longer than 200 characters")
    file_id = await _file_id(session, attachment) if attachment is not None else None
    table = OutboxMessage.__table__
    statement = (
        db.insert(session, table)
        .values(dedupe_key=dedupe_key, chat_id=chat_id, person_id=person_id, broadcast_id=broadcast_id, text=text,
                parse_mode=parse_mode, reply_markup=reply_markup, file_id=file_id, status=PENDING, attempts=0,
                not_before=not_before, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )
    return (await session.execute(statement)).first() is not None


@dataclass(frozen=True)
class Notice:
    """One rendering of a notice, sent to everybody of one language and village."""

    text: str
    reply_markup: dict[str, Any] | None = None
    parse_mode: str | None = "HTML"
    attachment: Attachment | None = None


Render = Callable[[str | None, int | None], Notice | None]  # (language, village id) → their notice (None: none)


async def enqueue_to_people(database: Database, *, broadcast_id: int | None, dedupe_prefix: str, people: Any,
                            render: Render, chunk: int = 5000) -> int:
    """Queue a notice to many people without holding them in memory: rendered once per language and village,
    queued with set-based ``INSERT … SELECT`` in committed chunks of ``chunk`` people. ``people`` is a condition
    on ``Person`` (best: each chunk then reads only its range of people) or a SELECT of ``Person.id``; each
    gets ``dedupe_key = dedupe_prefix + person id`` (queuing again is a no-op, so a task that stops half-way
    can simply run again). A broadcast created with ``ready=False`` is marked ready at the end: until then
    the sender does not report it finished. Returns how many messages were queued."""
    table = OutboxMessage.__table__
    if people is None:
        recipients = true()
    elif isinstance(people, Select):
        recipients = Person.id.in_(people)
    else:  # a condition on Person: each chunk then reads only its own range of people
        recipients = people
    async with database.session() as session:
        groups = (await session.execute(select(Person.language, Person.village_id).where(recipients)
                                        .distinct())).all()
    queued = 0
    for language, village_id in groups:
        notice = render(language, village_id)
        if notice is None:
            continue
        limit = MAX_CAPTION if notice.attachment is not None else MAX_TEXT
        if len(notice.text) > limit:
            raise ValueError(f"text of {len(notice.text)} characters is over the limit of {limit}")
        file_id = None
        if notice.attachment is not None:
            async with database.session() as session:
                file_id = await _file_id(session, notice.attachment)
        group = and_(recipients, Person.telegram_id.is_not(None),
                     Person.language.is_(None) if language is None else Person.language == language,
                     Person.village_id.is_(None) if village_id is None else Person.village_id == village_id)
        after = 0
        while True:
            async with database.session() as session:
                window = select(Person.id).where(group, Person.id > after).order_by(Person.id).limit(chunk)
                upto = await session.scalar(select(func.max(window.subquery().c.id)))
                if upto is None:
                    break
                rows = select(
                    literal(dedupe_prefix) + cast(Person.id, String), Person.telegram_id, Person.id,
                    literal(broadcast_id, Integer), literal(notice.text, Text), literal(notice.parse_mode, String),
                    literal(notice.reply_markup, JSON), literal(file_id, Integer), literal(PENDING, String),
                    literal(0, Integer), literal(utcnow(), UTCDateTime()),
                ).where(group, Person.id > after, Person.id <= upto)
                result = await session.execute(
                    db.insert(session, table)
                    .from_select(["dedupe_key", "chat_id", "person_id", "broadcast_id", "text", "parse_mode",
                                  "reply_markup", "file_id", "status", "attempts", "created_at"], rows)
                    .on_conflict_do_nothing(index_elements=["dedupe_key"])
                )
                queued += max(int(result.rowcount or 0), 0)
                await _reach_linked(session, dedupe_prefix, and_(group, Person.id > after, Person.id <= upto))
            after = upto
    if queued >= ANALYZE_AFTER:
        # Fresh statistics: planned with the old ones (an empty queue), the sender's claim would sort the whole
        # queue on every batch instead of walking the open rows' index.
        async with database.session() as session:
            await session.execute(sql_text("ANALYZE outbox_message"))
    if broadcast_id is not None:
        async with database.session() as session:
            await session.execute(update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.ready_at.is_(None))
                                  .values(ready_at=utcnow()).execution_options(synchronize_session=False))
    return queued


async def _reach_linked(session: AsyncSession, dedupe_prefix: str, people: Any) -> None:
    """People linked across channels get their notice where they wrote last (``channels.reach``), as
    ``bot.delivery.notify`` does: the few such rows of a chunk are moved to that chat."""
    linked = select(ChannelIdentity.person_id).where(ChannelIdentity.person_id.is_not(None),
                                                     ChannelIdentity.chat_id.is_not(None))
    ids = list((await session.scalars(select(Person.id).where(people, Person.id.in_(linked)))).all())
    for person_id, chat_id in (await reach(session, ids)).items():
        await session.execute(update(OutboxMessage).where(OutboxMessage.dedupe_key == f"{dedupe_prefix}{person_id}",
                                                          OutboxMessage.status == PENDING)
                              .values(chat_id=chat_id).execution_options(synchronize_session=False))


async def broadcast_progress(session: AsyncSession, broadcast_id: int) -> Progress:
    rows = (await session.execute(
        select(OutboxMessage.status, func.count()).where(OutboxMessage.broadcast_id == broadcast_id)
        .group_by(OutboxMessage.status)
    )).all()
    counts = {status: int(n) for status, n in rows}
    throttled = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.last_error.startswith(THROTTLED_NOTE)))
    return Progress(
        throttled=int(throttled or 0),
        total=sum(counts.values()),
        sent=counts.get(SENT, 0),
        pending=counts.get(PENDING, 0) + counts.get(SENDING, 0),
        failed=counts.get(FAILED, 0),
        unreachable=counts.get(UNREACHABLE, 0),
        cancelled=counts.get(CANCELLED, 0),
    )


async def cancel_pending(session: AsyncSession, *, broadcast_id: int | None = None,
                         dedupe_prefix: str | None = None) -> int:
    """Withdraw messages not sent yet (of a broadcast, or whose key starts with a prefix)."""
    query = update(OutboxMessage).where(OutboxMessage.status == PENDING)
    if broadcast_id is not None:
        query = query.where(OutboxMessage.broadcast_id == broadcast_id)
    if dedupe_prefix is not None:
        query = query.where(OutboxMessage.dedupe_key.startswith(dedupe_prefix, autoescape=True))
    if broadcast_id is None and dedupe_prefix is None:
        raise ValueError("say what to cancel")
    result = await session.execute(query.values(status=CANCELLED, claimed_by=None, claimed_until=None)
                                   .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


# --------------------------------------------------------------------------- the sender's side


@dataclass(frozen=True)
class FileRef:
    id: int
    kind: str
    filename: str
    telegram_file_id: str | None


@dataclass(frozen=True)
class Claimed:
    """A message this worker holds the lease on."""

    id: int
    chat_id: int
    person_id: int | None
    broadcast_id: int | None
    text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    file: FileRef | None
    attempts: int
    in_doubt: bool  # a worker died between the Bot API call and recording its answer


# Open rows, as a literal the partial index ix_outbox_message_open is defined with (SQLite uses a partial index
# only when the query names its condition word for word); sent rows leave it, so the claim's cost does not grow
# with everything sent before.
OPEN_ROWS = sql_text("outbox_message.status IN ('pending', 'sending')")


def _claimable(now: datetime, chat_interval: float) -> Any:
    row = OutboxMessage
    earlier = aliased(OutboxMessage)
    conditions = [
        OPEN_ROWS,
        or_(row.status == PENDING, and_(row.status == SENDING, row.claimed_until < now)),
        or_(row.not_before.is_(None), row.not_before <= now),
        or_(row.claimed_until.is_(None), row.claimed_until < now),
        # One chat's messages go in the order they were queued: not while an earlier one is still open…
        ~exists().where(earlier.chat_id == row.chat_id, earlier.id < row.id, earlier.status.in_(OPEN_STATES)),
    ]
    if chat_interval > 0:
        # …nor sooner than the per-chat interval after the last one (across processes: it is in the database).
        conditions.append(~exists().where(earlier.chat_id == row.chat_id, earlier.status == SENT,
                                          earlier.sent_at > now - timedelta(seconds=chat_interval)))
    return and_(*conditions)


async def claim(session: AsyncSession, *, worker: str, now: datetime, limit: int, lease: timedelta,
                chat_interval: float = 0.0, whatsapp: bool | None = None) -> list[Claimed]:
    """Claim up to ``limit`` due messages for ``worker`` until ``now + lease``, in one UPDATE (``whatsapp``: only
    messages to WhatsApp chats, or only to the others, so each channel is claimed at its own pace).

    PostgreSQL: the rows are chosen with SELECT … FOR UPDATE SKIP LOCKED, so concurrent workers take different
    rows. SQLite: the transaction holds the database's write lock (BEGIN IMMEDIATE), so nobody else claims in
    between. Messages to people who are unreachable or forgotten are closed here without a call."""
    row = OutboxMessage
    until = now + lease
    candidates = select(row.id).where(_claimable(now, chat_interval)).order_by(row.id).limit(limit)
    if whatsapp is not None:
        candidates = candidates.where(row.chat_id >= WHATSAPP_BASE if whatsapp else row.chat_id < WHATSAPP_BASE)
    if db.dialect(session) == "postgresql":
        # = ANY(ARRAY(…)): the candidates are found first (index order, locked rows skipped), then updated by
        # primary key; an IN (subquery) lets the planner hash-join the whole table instead.
        chosen = row.id == any_(func.array(candidates.with_for_update(skip_locked=True, of=row).scalar_subquery()))
    else:
        chosen = row.id.in_(candidates.scalar_subquery())
    ids = list((await session.scalars(
        update(row).where(chosen).values(claimed_by=worker, claimed_until=until)
        .returning(row.id).execution_options(synchronize_session=False)
    )).all())
    if not ids:
        return []
    query = (
        select(row.id, row.chat_id, row.person_id, row.broadcast_id, row.text, row.parse_mode, row.reply_markup,
               row.attempts, row.status, OutboxFile.id, OutboxFile.kind, OutboxFile.filename,
               OutboxFile.telegram_file_id, Person.unreachable_at, Person.forgotten_at)
        .outerjoin(OutboxFile, OutboxFile.id == row.file_id)
        .outerjoin(Person, Person.id == row.person_id)
        .where(row.id.in_(ids))
        .order_by(row.id)
    )
    claimed: list[Claimed] = []
    closed: dict[str, list[int]] = {UNREACHABLE: [], CANCELLED: []}
    for (id_, chat_id, person_id, broadcast_id, text, parse_mode, markup, attempts, status, file_pk, kind,
         filename, telegram_file_id, unreachable_at, forgotten_at) in (await session.execute(query)).all():
        if forgotten_at is not None:
            closed[CANCELLED].append(id_)
            continue
        if unreachable_at is not None:
            closed[UNREACHABLE].append(id_)
            continue
        file = FileRef(file_pk, kind, filename, telegram_file_id) if file_pk is not None else None
        claimed.append(Claimed(id_, chat_id, person_id, broadcast_id, text, parse_mode, markup, file, attempts,
                               in_doubt=status == SENDING))
    for status, closed_ids in closed.items():
        if closed_ids:
            await session.execute(update(row).where(row.id.in_(closed_ids))
                                  .values(status=status, claimed_by=None, claimed_until=None)
                                  .execution_options(synchronize_session=False))
    for message in claimed:
        if message.in_doubt:
            log.warning("outbox message %s to chat %s was being sent when its worker stopped; Telegram may or may "
                        "not have it: sending again", message.id, message.chat_id)
    return claimed


async def start_sending(session: AsyncSession, message_id: int, *, worker: str, now: datetime,
                        lease: timedelta) -> bool:
    """Just before the Bot API call: still ours? Then ``sending`` (a crash from here on leaves it in doubt)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker,
               OutboxMessage.status.in_(OPEN_STATES))
        .values(status=SENDING, claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def start_sending_many(session: AsyncSession, ids: list[int], *, worker: str, now: datetime,
                             lease: timedelta) -> set[int]:
    """``start_sending`` for a batch in one statement; returns the ids still ours (now ``sending``)."""
    if not ids:
        return set()
    result = await session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker, OutboxMessage.status.in_(OPEN_STATES))
        .values(status=SENDING, claimed_until=now + lease)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.all())


_OUTBOX = OutboxMessage.__table__
_MARK_SENT = (
    update(_OUTBOX).where(_OUTBOX.c.id == bindparam("message_id"))
    .values(status=SENT, sent_at=bindparam("sent_at"), telegram_message_id=bindparam("telegram_message_id"),
            claimed_by=None, claimed_until=None,
            # a message the messenger slowed down (now, or on an earlier attempt) keeps a note of it
            last_error=func.coalesce(bindparam("note", type_=Text),
                                     case((_OUTBOX.c.last_error.startswith(THROTTLED_NOTE), _OUTBOX.c.last_error),
                                          else_=None)))
)


def _throttled_note(throttled: int) -> str | None:
    return f"{THROTTLED_NOTE} {throttled}×" if throttled else None


async def mark_sent_many(session: AsyncSession, sent: list[tuple[int, int | None, int]], *, now: datetime) -> None:
    """``mark_sent`` for a batch of (message id, the messenger's message id, throttling answers on the way) in one
    executemany."""
    if sent:
        await session.execute(_MARK_SENT, [{"message_id": message_id, "sent_at": now, "telegram_message_id": tg,
                                            "note": _throttled_note(throttled)} for message_id, tg, throttled in sent])


async def mark_sent(session: AsyncSession, message_id: int, *, now: datetime, telegram_message_id: int | None,
                    throttled: int = 0) -> None:
    """Sent; a message the messenger slowed down on the way (now or on an earlier attempt) keeps a note of it."""
    note: Any = (f"{THROTTLED_NOTE} {throttled}×" if throttled else
                 case((OutboxMessage.last_error.startswith(THROTTLED_NOTE), OutboxMessage.last_error), else_=None))
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id)
        .values(status=SENT, sent_at=now, telegram_message_id=telegram_message_id, claimed_by=None,
                claimed_until=None, last_error=note)
        .execution_options(synchronize_session=False)
    )


async def retry_later(session: AsyncSession, message_id: int, *, not_before: datetime, error: str | None,
                      failed_attempt: bool, max_attempts: int) -> str:
    """Back to the queue until ``not_before``; a failed attempt counts, and the last allowed one fails the row.
    Returns the new status."""
    attempts = await session.scalar(select(OutboxMessage.attempts).where(OutboxMessage.id == message_id)) or 0
    if failed_attempt:
        attempts += 1
    status = FAILED if failed_attempt and attempts >= max_attempts else PENDING
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id)
        .values(status=status, attempts=attempts, not_before=not_before, claimed_by=None, claimed_until=None,
                last_error=(error or "")[:500] or None)
        .execution_options(synchronize_session=False)
    )
    return status


async def mark_failed(session: AsyncSession, message_id: int, error: str) -> None:
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id)
        .values(status=FAILED, claimed_by=None, claimed_until=None, last_error=error[:500],
                attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )


async def mark_chat_unreachable(session: AsyncSession, chat_id: int, person_id: int | None, error: str) -> int:
    """The person blocked the bot (or left Telegram): mark them unreachable and close every open message to
    the chat. Returns how many messages were closed. They become reachable again when they write."""
    person = await session.get(Person, person_id) if person_id is not None else None
    if person is None and chat_id > 0:
        person = await session.scalar(select(Person).where(Person.telegram_id == chat_id))
    if person is not None:
        mark_unreachable(person)
    result = await session.execute(
        update(OutboxMessage).where(OutboxMessage.chat_id == chat_id, OutboxMessage.status.in_(OPEN_STATES))
        .values(status=UNREACHABLE, claimed_by=None, claimed_until=None, last_error=error[:500])
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def release(session: AsyncSession, ids: list[int], *, worker: str) -> None:
    """Give back claimed messages that were not tried (a stop, a 429 pause); one marked ``sending`` whose call
    was never made is pending again."""
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker,
                   OutboxMessage.status.in_(OPEN_STATES))
            .values(status=PENDING, claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )


async def file_data(session: AsyncSession, file_pk: int) -> bytes:
    data = await session.scalar(select(OutboxFile.data).where(OutboxFile.id == file_pk))
    return data or b""


async def remember_file_id(session: AsyncSession, file_pk: int, telegram_file_id: str) -> None:
    await session.execute(update(OutboxFile).where(OutboxFile.id == file_pk, OutboxFile.telegram_file_id.is_(None))
                          .values(telegram_file_id=telegram_file_id).execution_options(synchronize_session=False))


async def open_broadcasts(session: AsyncSession, limit: int = 50) -> list[Broadcast]:
    """Broadcasts whose final report is not out yet, oldest first."""
    query = select(Broadcast).where(Broadcast.finished_at.is_(None)).order_by(Broadcast.id).limit(limit)
    return list((await session.scalars(query)).all())


async def claim_progress(session: AsyncSession, broadcast_id: int, *, now: datetime, every: timedelta) -> bool:
    """One worker at a time updates a broadcast's progress message, at most once per ``every``."""
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.finished_at.is_(None),
               or_(Broadcast.progress_at.is_(None), Broadcast.progress_at <= now - every))
        .values(progress_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def finish_broadcast(session: AsyncSession, broadcast_id: int, *, now: datetime) -> bool:
    """Claim the final report of a broadcast, once all its messages are queued (True for exactly one caller)."""
    result = await session.execute(
        update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.finished_at.is_(None),
                                Broadcast.ready_at.is_not(None))
        .values(finished_at=now).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def progress_message(session: AsyncSession, broadcast_id: int) -> int | None:
    """The progress message to edit; None when the caller is the one to send it (placeholder 0 set for it)."""
    result = await session.execute(
        update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.progress_message_id.is_(None))
        .values(progress_message_id=0).execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        return None
    return await session.scalar(select(Broadcast.progress_message_id).where(Broadcast.id == broadcast_id)) or 0


async def set_progress_message(session: AsyncSession, broadcast_id: int, message_id: int) -> None:
    await session.execute(update(Broadcast).where(Broadcast.id == broadcast_id)
                          .values(progress_message_id=message_id).execution_options(synchronize_session=False))


def now_or_utc(now: datetime | None) -> datetime:
    return now if now is not None else utcnow()
