"""The sender's claim: due messages taken with a lease in one statement, then marked ``sending``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    any_,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.channels import WHATSAPP_BASE
from storage import db
from storage.delivery import (
    CANCELLED,
    OPEN_STATES,
    PENDING,
    SENDING,
    SENT,
    UNREACHABLE,
    OutboxFile,
    OutboxMessage,
)
from storage.models import Person

log = logging.getLogger("services.outbox")  # the name it always had


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


# The same chat's other messages. Made once: a new alias builds its column collection again in every claim (~0.7
# ms of the ~1 ms it took to build the claim's conditions, each drain and each batch of a broadcast).
_EARLIER = aliased(OutboxMessage)


def _claimable(now: datetime, chat_interval: float) -> Any:
    row = OutboxMessage
    earlier = _EARLIER
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
