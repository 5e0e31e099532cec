"""Inbound: WhatsApp's webhook, turned into the Telegram updates the flows already understand.

- GET: the verification handshake (``hub.mode=subscribe``, ``hub.verify_token``, ``hub.challenge``).
- POST: the ``X-Hub-Signature-256`` HMAC-SHA256 of the raw body with the app secret, compared in constant
  time; anything else is refused (401). The answer is quick: messages are handled in the background (tests
  handle them before answering, so a test knows when the bot is done).
- Each WhatsApp message id is claimed once (``services.channels.claim_inbound``): a redelivery does nothing.
- A message becomes an aiogram ``Update`` from the identity's synthetic private chat: text → message (the
  very first one → ``/start``, so writing to the number starts registration); a reply button or list row →
  a callback query with the payload as data on the message it answers, refused unless that message offered
  it; numbers typed after a numbered menu ("2 5 7") → one callback query per number; image → photo; document
  and voice notes → document (the flows take files as documents; the lawyer hears the audio); a shared
  contact → contact (the person's own only through WhatsApp's contact request or their own number).
- Delivery statuses are recorded against the sent message (``channel_outbound``), so against the outbox row
  whose ``telegram_message_id`` it is; 131047 arriving late holds the message, 131026 marks the chat
  unreachable like a Telegram 403.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import CallbackQuery, Chat, Contact, Document, Message, PhotoSize, Update, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __
from aiohttp import web

from bot.settings import Settings
from bot.whatsapp.channel import MEDIA_PREFIX, WhatsAppChannel
from bot.whatsapp.client import UNREACHABLE, WINDOW_CLOSED
from bot.whatsapp.outgoing import Outgoing, quiet_edits, translate
from bot.whatsapp.render import TEXT_PAYLOAD, parse_numbers
from bot.whatsapp.templates import READ_PAYLOAD
from services import channels, outbox
from services.people import mark_unreachable, person_by_telegram_id
from services.places import LINK_PREFIX, place_name
from storage.channels import ChannelIdentity, ChannelOutbound
from storage.db import Database

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/whatsapp/webhook"

SAME_PERSON = __("This WhatsApp number is already registered in {village}. It is the same person: the same "
                 "village, ballot and questions, and a vote counts once whichever app it comes from.")
NOT_A_CHOICE = __("There is no choice {number} here. Please send a number from the list.")
STALE = __("This button is no longer active.")
MAX_NUMBERS = 14  # numbers taken from one typed answer (update ids of one message are 16 apart)


@dataclass(frozen=True)
class Pick:
    """The n-th choice of the numbered menu the bot sent last (resolved when its turn comes: a ballot's menu
    changes with every toggle, its order does not)."""

    number: int
    offset: int


@dataclass(frozen=True)
class Say:
    """A refusal the adapter answers itself, in the person's language."""

    text: Any
    params: dict[str, Any] = field(default_factory=dict)


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex>`` of the raw body, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


class WhatsAppInbound:
    """Webhook handlers of one business number, feeding the bot's dispatcher."""

    def __init__(self, settings: Settings, db: Database, i18n: I18n, bot: Bot, dispatcher: Dispatcher,
                 channel: WhatsAppChannel, *, handle_in_background: bool = True) -> None:
        self.settings = settings
        self.db = db
        self.i18n = i18n
        self.bot = bot
        self.dispatcher = dispatcher
        self.channel = channel
        self.handle_in_background = handle_in_background
        self.tasks: set[asyncio.Task[None]] = set()
        self.locks: dict[str, asyncio.Lock] = {}

    def register(self, app: web.Application, path: str = WEBHOOK_PATH) -> None:
        app.router.add_get(path, self.verify)
        app.router.add_post(path, self.receive)

    async def verify(self, request: web.Request) -> web.Response:
        token = self.settings.whatsapp_verify_token
        given = request.query.get("hub.verify_token", "")
        if (request.query.get("hub.mode") == "subscribe" and token is not None
                and hmac.compare_digest(given.encode(), token.get_secret_value().encode())):
            return web.Response(text=request.query.get("hub.challenge", ""))
        return web.Response(status=403, text="verification failed")

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        secret = self.settings.whatsapp_app_secret
        if secret is None or not verify_signature(secret.get_secret_value(), body,
                                                  request.headers.get("X-Hub-Signature-256")):
            log.warning("WhatsApp webhook with a wrong or missing signature refused")
            return web.Response(status=401, text="bad signature")
        try:
            payload = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="not JSON")
        if self.handle_in_background:
            task = asyncio.create_task(self._logged(payload))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        else:
            await self.process(payload)
        return web.Response(text="ok")

    async def _logged(self, payload: dict[str, Any]) -> None:
        try:
            await self.process(payload)
        except Exception:  # noqa: BLE001 - one bad message must not stop the others
            log.exception("WhatsApp webhook")

    async def close(self) -> None:
        if self.tasks:
            await asyncio.wait(set(self.tasks))

    async def process(self, payload: dict[str, Any]) -> None:
        for entry in payload.get("entry") or []:
            for change in entry.get("changes") or []:
                if change.get("field") != "messages":
                    continue
                value = change.get("value") or {}
                names = {}
                for contact in value.get("contacts") or []:
                    name = (contact.get("profile") or {}).get("name")
                    for key in (contact.get("wa_id"), contact.get("user_id")):
                        if key:
                            names[key] = name
                for message in value.get("messages") or []:
                    await self.handle_message(message, names)
                for status in value.get("statuses") or []:
                    await self.handle_status(status)

    # ----------------------------------------------------------------- messages

    async def handle_message(self, message: dict[str, Any], names: dict[str, str | None]) -> None:
        """One person's messages one at a time, in order, in this process (they may arrive together)."""
        sender = str(message.get("from") or message.get("from_user_id") or "")
        lock = self.locks.setdefault(sender, asyncio.Lock())
        try:
            async with lock:
                await self._handle_message(message, names)
        finally:
            if not lock.locked() and not getattr(lock, "_waiters", None):
                self.locks.pop(sender, None)

    async def _handle_message(self, message: dict[str, Any], names: dict[str, str | None]) -> None:
        wa_id, bsuid = message.get("from"), message.get("from_user_id")
        if not (wa_id or bsuid) or not message.get("id"):
            return
        at = _timestamp(message.get("timestamp"))
        assert self.settings.phone_hash_key is not None
        key = self.settings.phone_hash_key.get_secret_value()
        async with self.db.session() as session:
            seen = await channels.identify(session, wa_id=wa_id, bsuid=bsuid, name=names.get(wa_id or bsuid or ""),
                                           key=key, now=max(at, datetime.now(UTC)))
            identity = seen.identity
            assert identity.chat_id is not None
            self.channel.remember(identity)
            update_id = await channels.claim_inbound(session, str(message["id"]), identity.chat_id)
            if update_id is None:
                log.info("WhatsApp message %s delivered again: skipped", message["id"])
                return
            linked_now = False
            if message.get("type") == "contacts":
                linked_now = await self._learn_phone(session, identity, message, key)
            updates = await self._updates(session, identity, seen.new, message, update_id, at)
            person = await person_by_telegram_id(session, identity.chat_id)
            language = person.language if person is not None else None
            village = place_name(person.village, language or self.settings.default_language) if (
                person is not None and person.village is not None) else None
        await self.channel.deliver_held(identity)
        if (seen.linked or linked_now) and village is not None:
            await self._say(identity, translate(self.i18n, language, SAME_PERSON).format(village=village))
        for index, item in enumerate(updates):
            if isinstance(item, Pick):
                resolved = await self._pick(identity, item, update_id, at)
                if resolved is None:
                    item = Say(NOT_A_CHOICE, {"number": item.number})
                else:
                    with quiet_edits(index < len(updates) - 1):  # only the last pick's new menu is shown
                        await self.dispatcher.feed_update(self.bot, resolved)
                    continue
            if isinstance(item, Say):
                await self._say(identity, translate(self.i18n, language, item.text).format(**item.params))
                continue
            await self.dispatcher.feed_update(self.bot, item)
            await self._answer_contact_request(identity, update_id)

    async def _pick(self, identity: ChannelIdentity, pick: Pick, update_id: int, at: datetime) -> Update | None:
        async with self.db.session() as session:
            menu = await _last_outbound(session, identity)
        choices = (menu.choices or []) if menu is not None and menu.kind == "menu" else []
        if menu is None or not 1 <= pick.number <= len(choices):
            return None
        user, chat = _user(identity), _chat(identity)

        def as_message(**content: Any) -> Update:
            return Update(update_id=update_id, message=Message(message_id=update_id, date=at, chat=chat,
                                                               from_user=user, **content))

        return self._choice(menu, choices[pick.number - 1][1], update_id, as_message, offset=pick.offset)

    async def _say(self, identity: ChannelIdentity, text: str) -> None:
        await self.channel.deliver(identity, Outgoing(text))

    async def _learn_phone(self, session: Any, identity: ChannelIdentity, message: dict[str, Any], key: str) -> bool:
        contact = (message.get("contacts") or [{}])[0]
        if contact.get("origin") != "contact_request":
            return False
        phones = contact.get("phones") or []
        number = next((p.get("wa_id") for p in phones if p.get("wa_id")), None)
        if not number:
            return False
        return await channels.learn_phone(session, identity, str(number), key)

    async def _answer_contact_request(self, identity: ChannelIdentity, update_id: int) -> None:
        """The flow asked for the phone number, and WhatsApp gave it: answer with the person's own contact."""
        chat_id = identity.chat_id
        assert chat_id is not None
        if chat_id not in self.channel.state.contact_answers or not identity.wa_id:
            return
        self.channel.state.contact_answers.discard(chat_id)
        user = _user(identity)
        contact = Contact(phone_number="+" + identity.wa_id, first_name=identity.name or "WhatsApp", user_id=chat_id)
        message = Message(message_id=0, date=datetime.now(UTC), chat=_chat(identity), from_user=user, contact=contact)
        await self.dispatcher.feed_update(self.bot, Update(update_id=update_id + 15, message=message))

    async def _updates(self, session: Any, identity: ChannelIdentity, new: bool, message: dict[str, Any],
                       update_id: int, at: datetime) -> list[Update | Say | Pick]:
        """The updates (or refusals to say) one WhatsApp message stands for."""
        kind = message.get("type")
        user, chat = _user(identity), _chat(identity)

        def as_message(**content: Any) -> Update:
            return Update(update_id=update_id, message=Message(message_id=update_id, date=at, chat=chat,
                                                               from_user=user, **content))

        if kind == "text":
            text = str((message.get("text") or {}).get("body") or "")
            if new and not text.startswith("/start"):
                # A village's link (wa.me/<number>?text=v-<code>) registers straight into that village.
                link = text.strip().lower()
                village = link.startswith(LINK_PREFIX) and link[len(LINK_PREFIX):].isalnum()
                return [as_message(text=f"/start {link}" if village else "/start")]
            numbers = parse_numbers(text)
            if numbers is not None:
                menu = await _last_outbound(session, identity)
                if menu is not None and menu.kind == "menu" and menu.choices:
                    return [Pick(number, offset) for offset, number in enumerate(numbers[:MAX_NUMBERS])]
            return [as_message(text=text)]
        if kind in ("interactive", "button"):
            if kind == "button":
                payload = str((message.get("button") or {}).get("payload") or "")
                if payload == READ_PAYLOAD:
                    return []  # "Read": the held messages were delivered
            else:
                interactive = message.get("interactive") or {}
                reply = interactive.get(interactive.get("type") or "") or {}
                payload = str(reply.get("id") or "")
            context = (message.get("context") or {}).get("id")
            row = await channels.outbound(session, chat_id=identity.chat_id or 0, external_id=context) if context \
                else None
            if row is None or not any(choice[1] == payload for choice in row.choices or []):
                log.warning("refused WhatsApp reply %r from chat %s (not offered by %s)", payload, identity.chat_id,
                            context)
                return [Say(STALE)]
            return [self._choice(row, payload, update_id, as_message)]
        if kind == "image":
            image = message.get("image") or {}
            photo = PhotoSize(file_id=MEDIA_PREFIX + str(image.get("id")), file_unique_id=str(image.get("id")),
                              width=1, height=1)
            return [as_message(photo=[photo], caption=image.get("caption"))]
        if kind in ("document", "audio", "voice", "video"):
            media = message.get(kind) or {}
            mime = str(media.get("mime_type") or "application/octet-stream").split(";")[0].strip()
            filename = media.get("filename") or ("voice.ogg" if kind in ("audio", "voice") else f"{kind}.bin")
            document = Document(file_id=MEDIA_PREFIX + str(media.get("id")), file_unique_id=str(media.get("id")),
                                file_name=filename, mime_type=mime)
            return [as_message(document=document, caption=media.get("caption"))]
        if kind == "contacts":
            contact = (message.get("contacts") or [{}])[0]
            phones = contact.get("phones") or []
            number = next((p.get("wa_id") or p.get("phone") for p in phones if p.get("wa_id") or p.get("phone")), "")
            own = contact.get("origin") == "contact_request" or (identity.wa_id and number == identity.wa_id)
            name = (contact.get("name") or {}).get("formatted_name") or "?"
            shared = Contact(phone_number="+" + str(number).lstrip("+"), first_name=name,
                             user_id=identity.chat_id if own else None)
            return [as_message(contact=shared)]
        log.info("WhatsApp message of type %s from chat %s not handled", kind, identity.chat_id)
        return []

    def _choice(self, row: ChannelOutbound, payload: str, update_id: int, as_message: Any, offset: int = 0) -> Update:
        if payload.startswith(TEXT_PAYLOAD):
            update = as_message(text=payload[len(TEXT_PAYLOAD):])
            return update.model_copy(update={"update_id": update_id + offset})
        chat_id = row.chat_id
        identity_user = as_message(text="-").message.from_user
        answered = Message(message_id=row.id, date=row.created_at, chat=Chat(id=chat_id, type="private"),
                           text=row.text or "…", from_user=User(id=self.bot.id, is_bot=True, first_name="Jamaat"))
        query = CallbackQuery(id=self.channel.new_callback_id(chat_id), from_user=identity_user,
                              chat_instance=str(chat_id), message=answered, data=payload)
        return Update(update_id=update_id + offset, callback_query=query)

    # ----------------------------------------------------------------- statuses

    async def handle_status(self, status: dict[str, Any]) -> None:
        external_id, state = status.get("id"), status.get("status")
        if not external_id or not state:
            return
        errors = status.get("errors") or []
        code = int(errors[0]["code"]) if errors and errors[0].get("code") is not None else None
        held: tuple[ChannelIdentity, str | None, Outgoing] | None = None
        async with self.db.session() as session:
            row = await channels.record_status(session, str(external_id), str(state), error_code=code,
                                               at=_timestamp(status.get("timestamp")))
            if row is None or state != "failed":
                return
            identity = await channels.identity_by_chat(session, row.chat_id)
            person = await person_by_telegram_id(session, row.chat_id)
            if code in UNREACHABLE:
                if person is not None:
                    mark_unreachable(person)
                await outbox.mark_chat_unreachable(session, row.chat_id, person.id if person else None,
                                                   f"WhatsApp {code}")
            elif code == WINDOW_CLOSED and row.call is not None and identity is not None:
                await channels.hold(session, row.chat_id, row.call)
                held = (identity, person.language if person else None, Outgoing.from_json(row.call))
        if held is not None:
            await self.channel.send_template(*held)


async def _last_outbound(session: Any, identity: ChannelIdentity) -> ChannelOutbound | None:
    from sqlalchemy import select

    return await session.scalar(select(ChannelOutbound).where(ChannelOutbound.chat_id == identity.chat_id,
                                                              ChannelOutbound.kind != "template")
                                .order_by(ChannelOutbound.id.desc()).limit(1))


def _user(identity: ChannelIdentity) -> User:
    assert identity.chat_id is not None
    return User(id=identity.chat_id, is_bot=False, first_name=identity.name or "WhatsApp")


def _chat(identity: ChannelIdentity) -> Chat:
    assert identity.chat_id is not None
    return Chat(id=identity.chat_id, type="private", first_name=identity.name or "WhatsApp")


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)
