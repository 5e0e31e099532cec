"""Channels beyond Telegram: one person, one vote, whichever channel they write from.

A WhatsApp account is a ``ChannelIdentity`` with a synthetic chat id (``WHATSAPP_BASE`` + its row id). The flows
use that id like a Telegram chat id; the adapter at the edge turns it back into a WhatsApp address. The person is
the keyed phone hash: an identity whose number (``wa_id``) is already registered, on Telegram say, is linked to
that person, so it has the same village, ballot and questions, and the ballot constraint keeps one vote.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.phone import InvalidPhone, phone_hash
from storage.channels import ChannelHeld, ChannelIdentity, ChannelInbound, ChannelOutbound
from storage.models import Person, utcnow

WHATSAPP = "whatsapp"
# A Telegram account linked to a person is a ``ChannelIdentity`` too (``chat_id`` = the Telegram id): its
# ``last_inbound_at`` says when the person last wrote from Telegram, so they are reached where they wrote last.
TELEGRAM = "telegram"
# Telegram user ids have at most 52 significant bits; synthetic ids start above them and stay below 2**53, so
# they survive JSON and JavaScript.
WHATSAPP_BASE = 5_000_000_000_000_000
# Update ids made for WhatsApp messages start far above Telegram's (32-bit) update ids.
INBOUND_UPDATE_BASE = 1_000_000_000_000
WINDOW = timedelta(hours=24)  # free-form messages only within 24 hours of the person's last message
STATUS_ORDER = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3}


def is_whatsapp_chat(chat_id: int | str | None) -> bool:
    return isinstance(chat_id, int) and chat_id >= WHATSAPP_BASE


@dataclass(frozen=True)
class Seen:
    """The identity a webhook message came from; ``new`` on first contact, ``linked`` when this message made it
    the same person as an earlier registration (on another channel)."""

    identity: ChannelIdentity
    new: bool
    linked: bool


async def identity_by_chat(session: AsyncSession, chat_id: int) -> ChannelIdentity | None:
    return await session.scalar(select(ChannelIdentity).where(ChannelIdentity.chat_id == chat_id))


async def _find(session: AsyncSession, wa_id: str | None, bsuid: str | None) -> ChannelIdentity | None:
    conditions = []
    if wa_id:
        conditions.append(ChannelIdentity.wa_id == wa_id)
    if bsuid:
        conditions.append(ChannelIdentity.bsuid == bsuid)
    if not conditions:
        raise ValueError("a WhatsApp identity needs a wa_id or a business-scoped user id")
    found = (await session.scalars(select(ChannelIdentity).where(
        ChannelIdentity.channel == WHATSAPP, or_(*conditions)).order_by(ChannelIdentity.id))).all()
    return found[0] if found else None


async def identify(session: AsyncSession, *, wa_id: str | None, bsuid: str | None, name: str | None,
                   key: str, now: datetime | None = None) -> Seen:
    """The identity behind a webhook message, created on first contact (at most once: unique keys), its window
    opened by this message, and linked to the person already registered with its phone number."""
    identity = await _find(session, wa_id, bsuid)
    new = False
    if identity is None:
        try:
            async with session.begin_nested():
                identity = ChannelIdentity(channel=WHATSAPP, wa_id=wa_id or None, bsuid=bsuid or None,
                                           name=(name or "")[:200] or None)
                session.add(identity)
                await session.flush()
                identity.chat_id = WHATSAPP_BASE + identity.id
                await session.flush()
            new = True
        except IntegrityError:  # the same person's other message, handled at the same moment elsewhere
            identity = await _find(session, wa_id, bsuid)
            assert identity is not None
    if bsuid and identity.bsuid is None:
        identity.bsuid = bsuid
    if name and identity.name != name[:200]:
        identity.name = name[:200]
    linked = False
    if wa_id and identity.wa_id != wa_id:
        identity.wa_id = wa_id
    if identity.wa_id and identity.person_id is None:
        linked = await link_by_phone(session, identity, key)
    identity.last_inbound_at = now or utcnow()
    await session.flush()
    return Seen(identity, new, linked)


async def link_by_phone(session: AsyncSession, identity: ChannelIdentity, key: str) -> bool:
    """Link the identity to the person registered with its phone number elsewhere; True if it was linked now."""
    if identity.wa_id is None or identity.person_id is not None:
        return False
    try:
        hashed = phone_hash(key, "+" + identity.wa_id.lstrip("+"))
    except InvalidPhone:
        return False
    owner = await session.scalar(select(Person).where(Person.phone_hash == hashed))
    if owner is None or owner.telegram_id == identity.chat_id or owner.forgotten_at is not None:
        return False
    identity.person_id = owner.id
    await session.flush()
    return True


async def learn_phone(session: AsyncSession, identity: ChannelIdentity, wa_id: str, key: str) -> bool:
    """A business-scoped identity shared its number (WhatsApp's contact request); True if that linked it to an
    earlier registration."""
    if identity.wa_id is None:
        taken = await session.scalar(select(ChannelIdentity.id).where(
            ChannelIdentity.channel == WHATSAPP, ChannelIdentity.wa_id == wa_id, ChannelIdentity.id != identity.id))
        if taken is None:
            identity.wa_id = wa_id
    await session.flush()
    if identity.wa_id != wa_id:
        return False
    return await link_by_phone(session, identity, key)


async def linked_person(session: AsyncSession, chat_id: int) -> Person | None:
    """The person an identity was linked to by phone number (None for a WhatsApp-only person)."""
    return await session.scalar(
        select(Person).join(ChannelIdentity, ChannelIdentity.person_id == Person.id)
        .where(ChannelIdentity.chat_id == chat_id))


async def reach(session: AsyncSession, person_ids: Iterable[int]) -> dict[int, int]:
    """For people linked across channels: person id → the chat id that notices and answers go to (the one
    they wrote from last). People not in the answer are reached at ``person.telegram_id``."""
    ids = list(person_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(ChannelIdentity.person_id, ChannelIdentity.chat_id)
        .where(ChannelIdentity.person_id.in_(ids), ChannelIdentity.chat_id.is_not(None))
        .order_by(ChannelIdentity.last_inbound_at))
    return {int(person): int(chat) for person, chat in rows.all() if person is not None and chat is not None}


async def reach_chat(session: AsyncSession, person_id: int, default: int | None) -> int | None:
    """The chat a person is reached at: for a person linked across channels, the chat they wrote from last,
    else ``default`` (their ``telegram_id``). The few linked identities are read once per session."""
    cache = session.info.get("jamaat_reach")
    if cache is None:
        rows = await session.execute(
            select(ChannelIdentity.person_id, ChannelIdentity.chat_id)
            .where(ChannelIdentity.person_id.is_not(None), ChannelIdentity.chat_id.is_not(None))
            .order_by(ChannelIdentity.last_inbound_at))
        cache = session.info["jamaat_reach"] = {int(p): int(c) for p, c in rows.all()}
    return cache.get(person_id, default)


async def seen_on_telegram(session: AsyncSession, person_id: int, telegram_id: int,
                           now: datetime | None = None) -> None:
    """A person wrote from Telegram: if they are linked to another channel, from now on they are reached on
    Telegram (until they write from there again). One indexed read per update; a write only on a switch."""
    rows = (await session.scalars(select(ChannelIdentity).where(ChannelIdentity.person_id == person_id))).all()
    if not rows:
        return  # not linked to another channel: reached at person.telegram_id anyway
    now = now or utcnow()
    own = next((r for r in rows if r.chat_id == telegram_id), None)
    others = [r.last_inbound_at for r in rows if r is not own and r.last_inbound_at is not None]
    if own is not None and own.last_inbound_at is not None and all(own.last_inbound_at >= t for t in others):
        return  # already reached here
    if own is None:
        try:
            async with session.begin_nested():
                own = ChannelIdentity(channel=TELEGRAM, chat_id=telegram_id, person_id=person_id)
                session.add(own)
                await session.flush()
        except IntegrityError:  # the same person's other update, at the same moment
            own = await identity_by_chat(session, telegram_id)
            if own is None:
                return
    own.last_inbound_at = now
    await session.flush()
    cache = session.info.get("jamaat_reach")
    if cache is not None:
        cache[person_id] = telegram_id


async def link_telegram(session: AsyncSession, stub: Person, key: str, raw_phone: str,
                        now: datetime | None = None) -> Person | None:
    """A Telegram account shared a number registered first on WhatsApp: the account becomes that person (a
    linked Telegram identity), and the half-made Telegram person (``stub``) gives up its Telegram id. Returns
    the person, or None when the number belongs to another Telegram account (then nothing changes)."""
    owner = await session.scalar(select(Person).where(Person.phone_hash == phone_hash(key, raw_phone)))
    telegram_id = stub.telegram_id
    if (owner is None or owner.id == stub.id or owner.forgotten_at is not None or telegram_id is None
            or not is_whatsapp_chat(owner.telegram_id)):
        return None
    stub.telegram_id = None  # the account is the WhatsApp person's now; the stub holds nothing of note
    await session.flush()
    identity = await identity_by_chat(session, telegram_id)
    if identity is None:
        identity = ChannelIdentity(channel=TELEGRAM, chat_id=telegram_id)
        session.add(identity)
    identity.person_id, identity.last_inbound_at = owner.id, now or utcnow()
    await session.flush()
    if stub.language is not None:  # the language just chosen on Telegram is the person's (one language)
        owner.language = stub.language
    session.info.pop("jamaat_reach", None)
    return owner


async def forget(session: AsyncSession, person_id: int, telegram_id: int | None) -> None:
    """The right to be forgotten: the WhatsApp identities of the person go with the rest."""
    conditions = [ChannelIdentity.person_id == person_id]
    if telegram_id is not None:
        conditions.append(ChannelIdentity.chat_id == telegram_id)
    chats = list(await session.scalars(select(ChannelIdentity.chat_id).where(or_(*conditions))))
    await session.execute(delete(ChannelIdentity).where(or_(*conditions)))
    if chats:
        await session.execute(delete(ChannelHeld).where(ChannelHeld.chat_id.in_(chats)))


def window_open(identity: ChannelIdentity, now: datetime | None = None) -> bool:
    """May a free-form message go out now (within 24 hours of the person's last message)?"""
    last = identity.last_inbound_at
    return last is not None and (now or utcnow()) - last < WINDOW


async def claim_inbound(session: AsyncSession, external_id: str, chat_id: int) -> int | None:
    """Claim a WhatsApp message id once; returns the update id to handle it under, None when it came before."""
    try:
        async with session.begin_nested():
            row = ChannelInbound(channel=WHATSAPP, external_id=external_id, chat_id=chat_id)
            session.add(row)
            await session.flush()
    except IntegrityError:
        return None
    return INBOUND_UPDATE_BASE + row.id * 16  # room for the updates of one message (numbers typed)


async def record_outbound(session: AsyncSession, chat_id: int, kind: str, text: str | None,
                          choices: list[list[str]] | None = None) -> ChannelOutbound:
    """A message about to be sent; its id is the message id the flows see."""
    row = ChannelOutbound(channel=WHATSAPP, chat_id=chat_id, kind=kind, text=text, choices=choices)
    session.add(row)
    await session.flush()
    return row


async def sent(session: AsyncSession, row_id: int, external_id: str) -> None:
    await session.execute(update(ChannelOutbound).where(ChannelOutbound.id == row_id).values(
        external_id=external_id))


async def outbound(session: AsyncSession, *, chat_id: int, external_id: str | None = None,
                   message_id: int | None = None) -> ChannelOutbound | None:
    """A message sent to this chat, by WhatsApp's id or by the message id the flows saw."""
    query = select(ChannelOutbound).where(ChannelOutbound.chat_id == chat_id)
    if external_id is not None:
        query = query.where(ChannelOutbound.external_id == external_id)
    elif message_id is not None:
        query = query.where(ChannelOutbound.id == message_id)
    else:
        return None
    return await session.scalar(query)


async def latest_menu(session: AsyncSession, chat_id: int) -> ChannelOutbound | None:
    """The last message to this chat that offered numbered choices (numbers typed as an answer refer to it)."""
    return await session.scalar(
        select(ChannelOutbound).where(ChannelOutbound.chat_id == chat_id, ChannelOutbound.kind == "menu")
        .order_by(ChannelOutbound.id.desc()).limit(1))


async def latest_with_choices(session: AsyncSession, chat_id: int) -> ChannelOutbound | None:
    return await session.scalar(
        select(ChannelOutbound).where(ChannelOutbound.chat_id == chat_id, ChannelOutbound.choices.is_not(None),
                                      ChannelOutbound.kind.in_(("buttons", "list", "menu", "template")))
        .order_by(ChannelOutbound.id.desc()).limit(1))


async def record_status(session: AsyncSession, external_id: str, status: str, *, error_code: int | None = None,
                        at: datetime | None = None) -> ChannelOutbound | None:
    """A delivery status from WhatsApp's webhook. Statuses only move forward (sent → delivered → read; a late
    "delivered" does not undo "read"); "failed" is kept with its error code."""
    row = await session.scalar(select(ChannelOutbound).where(ChannelOutbound.external_id == external_id))
    if row is None:
        return None
    if status == "failed":
        row.status, row.error_code = "failed", error_code
    elif row.status != "failed" and STATUS_ORDER.get(status, -1) > STATUS_ORDER.get(row.status, -1):
        row.status = status
    row.status_at = at or utcnow()
    await session.flush()
    return row


async def hold(session: AsyncSession, chat_id: int, call: dict[str, Any]) -> None:
    """Keep a free-form message for when the person writes again (their window is closed)."""
    session.add(ChannelHeld(chat_id=chat_id, call=call))
    await session.flush()


async def take_held(session: AsyncSession, chat_id: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """The held messages of a chat, oldest first, each taken once (an atomic claim per row)."""
    rows = (await session.scalars(select(ChannelHeld).where(
        ChannelHeld.chat_id == chat_id, ChannelHeld.delivered_at.is_(None)).order_by(ChannelHeld.id))).all()
    taken = []
    for row in rows:
        result = await session.execute(update(ChannelHeld).where(
            ChannelHeld.id == row.id, ChannelHeld.delivered_at.is_(None)).values(delivered_at=now or utcnow()))
        if result.rowcount == 1:  # type: ignore[attr-defined]
            taken.append(row.call)
    return taken


async def has_held(session: AsyncSession, chat_id: int, since: datetime | None = None) -> bool:
    """Is a message waiting for this chat (held since ``since``, if given)?"""
    query = select(ChannelHeld.id).where(ChannelHeld.chat_id == chat_id, ChannelHeld.delivered_at.is_(None))
    if since is not None:
        query = query.where(ChannelHeld.created_at >= since)
    return await session.scalar(query.limit(1)) is not None


async def broadcast_statuses(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    """WhatsApp delivery statuses of a broadcast's messages (the outbox row's ``telegram_message_id`` is the
    id of the message sent): {"sent": n, "delivered": n, "read": n, "failed": n}."""
    from storage.delivery import OutboxMessage

    rows = await session.execute(
        select(ChannelOutbound.status, func.count()).join(
            OutboxMessage, (OutboxMessage.chat_id == ChannelOutbound.chat_id)
            & (OutboxMessage.telegram_message_id == ChannelOutbound.id))
        .where(OutboxMessage.broadcast_id == broadcast_id).group_by(ChannelOutbound.status))
    counts = {"sent": 0, "delivered": 0, "read": 0, "failed": 0}
    for status, count in rows.all():
        counts["sent" if status == "accepted" else status] = counts.get(status, 0) + int(count)
    return counts
