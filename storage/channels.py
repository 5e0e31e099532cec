"""Channels other than Telegram (WhatsApp): who writes from where, what arrived once, what was sent.

A WhatsApp identity gets a synthetic chat id (``services.channels.WHATSAPP_BASE`` + row id) that the flows use
as if it were a Telegram chat id; the channel adapter at the edge (``bot/whatsapp``) turns it back into the
WhatsApp address. The person behind an identity is the keyed phone hash (``person.phone_hash``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UTCDateTime, utcnow


class ChannelIdentity(Base):
    """One WhatsApp account writing to the municipality's number."""

    __tablename__ = "channel_identity"
    __table_args__ = (
        UniqueConstraint("channel", "wa_id", name="uq_channel_identity_wa_id"),
        UniqueConstraint("channel", "bsuid", name="uq_channel_identity_bsuid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # "whatsapp"
    chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # synthetic, set right after insert
    wa_id: Mapped[str | None] = mapped_column(String(32))  # phone digits, when WhatsApp tells them
    bsuid: Mapped[str | None] = mapped_column(String(160))  # business-scoped user id (may come alone)
    name: Mapped[str | None] = mapped_column(String(200))  # WhatsApp profile name
    # The person this identity was linked to because an earlier registration (e.g. on Telegram) has the same
    # phone number; None for a WhatsApp-only person, whose ``person.telegram_id`` is the synthetic chat id.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # opens the 24-hour window
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ChannelInbound(Base):
    """A WhatsApp message id handled once (webhooks are redelivered); the row id makes the update id."""

    __tablename__ = "channel_inbound"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ChannelOutbound(Base):
    """A message sent to a WhatsApp chat. Its id is the ``message_id`` the flows see (so an outbox row's
    ``telegram_message_id`` points here); ``choices`` are the [label, payload] pairs it offered, so a reply
    can only pick one of them; statuses from WhatsApp's webhook are recorded here."""

    __tablename__ = "channel_outbound"
    __table_args__ = (Index("ix_channel_outbound_chat", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)  # WhatsApp's message id (wamid)
    kind: Mapped[str] = mapped_column(String(16))  # text | buttons | list | menu | template | media | contact
    text: Mapped[str | None] = mapped_column(Text)
    choices: Mapped[list[Any] | None] = mapped_column(JSON)
    call: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the free-form call, to hold it if it fails late
    status: Mapped[str] = mapped_column(String(16), default="accepted")  # accepted|sent|delivered|read|failed
    error_code: Mapped[int | None] = mapped_column(Integer)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ChannelHeld(Base):
    """A free-form message that could not go out because the 24-hour window was closed: a template told the
    person something is waiting, and this is delivered when they write again."""

    __tablename__ = "channel_held"
    __table_args__ = (Index("ix_channel_held_chat", "chat_id", "delivered_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    call: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"method": "sendMessage", "params": {...}}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
