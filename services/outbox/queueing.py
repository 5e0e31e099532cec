"""Queuing: broadcasts, one message, a notice to many people (set-based, in chunks), withdrawing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    String,
    Text,
    and_,
    cast,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from services.channels import reach
from services.outbox.common import ANALYZE_AFTER, ATTACHMENT_KINDS, MAX_CAPTION, MAX_TEXT, Attachment
from storage import db
from storage.channels import ChannelIdentity
from storage.db import Database
from storage.delivery import (
    CANCELLED,
    PENDING,
    Broadcast,
    OutboxFile,
    OutboxMessage,
)
from storage.models import Person, UTCDateTime, utcnow


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
