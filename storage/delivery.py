"""Delivery: the persistent outbox (messages to send within Telegram's limits) and durable scheduled tasks.

Both tables are claimed by workers with a lease (``claimed_by`` / ``claimed_until``), so several bot processes
can drain them against one database and each row is handled by exactly one of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UTCDateTime, postgresql_index, utcnow

# Outbox row states. ``sending`` is written just before the Bot API call: a row left ``sending`` after its
# lease ran out belongs to a worker that died between the call and recording its answer (in doubt).
PENDING, SENDING, SENT, FAILED, UNREACHABLE, CANCELLED = "pending", "sending", "sent", "failed", "unreachable", \
    "cancelled"
OPEN_STATES = (PENDING, SENDING)


class Broadcast(Base):
    """One mass sending (a notice to the villagers of an event, say), with its progress message."""

    __tablename__ = "broadcast"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # e.g. "event.notice"
    subject: Mapped[str] = mapped_column(String(64))  # e.g. "event:12"
    title: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[int | None] = mapped_column(BigInteger)  # Telegram id of the person who sent it
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last progress update (a claim)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When all its messages were queued (at once, or the last of several chunks): not finished before.
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class OutboxFile(Base):
    """A file attached to outbox messages, kept once however many people get it; after the first upload
    Telegram's file_id is reused."""

    __tablename__ = "outbox_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(80), unique=True)  # sha256 of kind, name and bytes
    kind: Mapped[str] = mapped_column(String(16))  # document | photo
    filename: Mapped[str] = mapped_column(String(255))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    telegram_file_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboxMessage(Base):
    """One message to one chat. ``dedupe_key`` is unique: the same notice is never queued twice."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_due", "status", "not_before"),
        Index("ix_outbox_message_chat", "chat_id", "status"),
        Index("ix_outbox_message_broadcast", "broadcast_id", "status"),
        # Open rows in queue order: the sender's claim walks this (migration 0015); sent rows leave it.
        postgresql_index(Index("ix_outbox_message_open", "id", sqlite_where=text("status IN ('pending', 'sending')")),
                         where=text("status IN ('pending', 'sending')")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcast.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    parse_mode: Mapped[str | None] = mapped_column(String(16))
    reply_markup: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_file.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed attempts (429 answers not counted)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(500))


# Scheduled task states.
TASK_PENDING, TASK_RUNNING, TASK_DONE, TASK_DROPPED, TASK_FAILED, TASK_CANCELLED = (
    "pending", "running", "done", "dropped", "failed", "cancelled")


class ScheduledTask(Base):
    """Work to do once at a time (a reminder, say). ``key`` is unique: scheduling it again moves it."""

    __tablename__ = "scheduled_task"
    __table_args__ = (Index("ix_scheduled_task_due", "status", "run_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    grace_seconds: Mapped[int | None] = mapped_column(Integer)  # None: the default grace of the settings
    status: Mapped[str] = mapped_column(String(16), default=TASK_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
