"""The sender's records: sent, retried, failed, unreachable, given back; the files' Telegram ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Text,
    bindparam,
    case,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.outbox.common import THROTTLED_NOTE
from services.people import mark_unreachable
from storage.delivery import (
    FAILED,
    OPEN_STATES,
    PENDING,
    SENT,
    UNREACHABLE,
    OutboxFile,
    OutboxMessage,
)
from storage.models import Person

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
