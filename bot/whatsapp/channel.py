"""Outbound: Bot API calls addressed to a WhatsApp chat become Cloud API messages.

``bot.whatsapp.session.ChannelSession`` sits where aiogram's HTTP session is: a call whose chat id is a WhatsApp
identity's synthetic id (``services.channels``) comes to ``WhatsAppChannel.call``; every other call goes on to
Telegram unchanged (a WhatsApp media id in it, ``wa:<id>``, is fetched and uploaded first: a villager's voice
note reaches the lawyer on Telegram). So the flows stay free of ``if channel == ...``.

What changes on the way:
- HTML becomes WhatsApp formatting; inline keyboards become reply buttons, a list or a numbered menu
  (``render``); a message can only offer what it offered: the choices are kept with it.
- WhatsApp has no edits: an edited text (or keyboard) arrives as a new message; removing a keyboard is a no-op.
- Documents and photos are uploaded (once per content) and sent by media id.
- The registration's contact request is answered by the adapter itself with the number WhatsApp gave
  (``wa_id``); a person known only by a business-scoped id gets WhatsApp's contact request instead.
- Outside the 24-hour window the message is held and a template says something is waiting (``templates``).
- 131026 (cannot receive WhatsApp) is a 403 to the caller; throttling after every retry is a 429.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import mimetypes
import time
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    DeleteMyCommands,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    SendAudio,
    SendChatAction,
    SendDocument,
    SendMessage,
    SendPhoto,
    SendVoice,
    SetChatMenuButton,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.types import BufferedInputFile, InputFile, Message
from aiogram.utils.i18n import I18n

from bot.settings import Settings
from bot.whatsapp import templates
from bot.whatsapp.client import CloudApi, WhatsAppError
from bot.whatsapp.outgoing import (
    ChannelState,
    Delivered,
    Outgoing,
    _address,
    _as_telegram,
    _detached,
    _message,
    _parse_mode,
    _quiet,
    chat_of,
)
from bot.whatsapp.render import Choice, choices_of, html_to_whatsapp, render
from services import channels
from services.people import person_by_telegram_id
from storage.channels import ChannelIdentity
from storage.db import Database
from storage.models import utcnow

log = logging.getLogger(__name__)
MEDIA_PREFIX = "wa:"
IDENTITY_TTL = 30.0  # seconds an identity read for sending is reused (another process may have seen a message)
TEMPLATE_QUIET = timedelta(minutes=10)  # held messages this close together share one template
_KIND_MIME = {"image": "image/jpeg", "audio": "audio/ogg", "document": "application/octet-stream"}


class WhatsAppChannel:
    """Sends to WhatsApp chats on behalf of the flows."""

    def __init__(self, settings: Settings, db: Database, i18n: I18n, api: CloudApi | None = None) -> None:
        self.settings = settings
        self.db = db
        self.i18n = i18n
        assert settings.whatsapp_token is not None and settings.whatsapp_phone_number_id is not None
        self.api = api or CloudApi(
            token=settings.whatsapp_token.get_secret_value(), phone_number_id=settings.whatsapp_phone_number_id,
            base_url=settings.whatsapp_api_base_url, version=settings.whatsapp_api_version,
            per_second=settings.whatsapp_per_second, max_retries=settings.whatsapp_max_retries,
            retry_seconds=settings.whatsapp_retry_seconds)
        self.state = ChannelState()
        self._callback_ids = itertools.count(1)

    async def close(self) -> None:
        await self.api.close()

    def new_callback_id(self, chat_id: int) -> str:
        query_id = f"wa{next(self._callback_ids)}"
        self.state.callbacks[query_id] = chat_id
        if len(self.state.callbacks) > 10_000:
            self.state.callbacks.pop(next(iter(self.state.callbacks)))
        return query_id

    # ----------------------------------------------------------------- the Bot API side

    async def call(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        """Answer a Bot API call addressed to a WhatsApp chat, as Telegram would."""
        chat_id = chat_of(method)
        if isinstance(method, SendMessage | EditMessageText):
            choices, contact, links = choices_of(method.reply_markup)
            text = html_to_whatsapp(method.text, _parse_mode(bot, method.parse_mode))
            if links:
                text += "\n\n" + "\n".join(links)
            if contact:
                return await self._contact_request(bot, method, chat_id, text)
            if isinstance(method, EditMessageText) and _quiet.get():
                kind, _payload = render(text, choices or None)
                delivered = await self._record(chat_id, kind, Outgoing(text, choices or None), choices or None, None)
                return _message(bot, chat_id, delivered.message_id, Outgoing(text))
            return await self._message(bot, method, chat_id, Outgoing(text, choices or None))
        if isinstance(method, EditMessageReplyMarkup):
            choices, _, _ = choices_of(method.reply_markup)
            if not choices:
                return True  # WhatsApp cannot take buttons back; the flows refuse stale ones
            async with self.db.current_or_new_session() as session:
                row = await channels.outbound(session, chat_id=chat_id, message_id=method.message_id)
            return await self._message(bot, method, chat_id, Outgoing(row.text if row and row.text else "…", choices))
        if isinstance(method, EditMessageCaption):
            text = html_to_whatsapp(method.caption, _parse_mode(bot, method.parse_mode))
            choices, _, _ = choices_of(method.reply_markup)
            return await self._message(bot, method, chat_id, Outgoing(text or "…", choices or None))
        if isinstance(method, SendDocument | SendPhoto | SendAudio | SendVoice):
            return await self._media(bot, method, chat_id)
        if isinstance(method, AnswerCallbackQuery):
            target = self.state.callbacks.get(method.callback_query_id)
            if method.text and target is not None:
                await self._message(bot, method, target, Outgoing(method.text))
            return True
        if isinstance(method, SendChatAction | DeleteMessage | SetMyCommands | DeleteMyCommands | SetChatMenuButton):
            return True
        log.warning("Bot API call %s to WhatsApp chat %s is not supported", type(method).__name__, chat_id)
        raise TelegramBadRequest(method=method, message=f"Bad Request: {type(method).__name__} is not supported on "
                                                        "WhatsApp")

    async def _identity(self, method: TelegramMethod[Any], chat_id: int) -> ChannelIdentity:
        """The identity behind a chat (cached for a few seconds: a broadcast asks for thousands)."""
        cached = self.state.identities.get(chat_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < IDENTITY_TTL:
            return cached[1]
        async with self.db.current_or_new_session() as session:
            identity = await channels.identity_by_chat(session, chat_id)
        if identity is None:
            raise TelegramBadRequest(method=method, message="Bad Request: chat not found")
        self.remember(identity)
        return identity

    def remember(self, identity: ChannelIdentity) -> None:
        """Keep an identity seen just now (its window, its address) for the sends that follow."""
        if identity.chat_id is None:
            return
        if len(self.state.identities) > 50_000:
            self.state.identities.clear()
        self.state.identities[identity.chat_id] = (time.monotonic(), _detached(identity))

    def forget_identity(self, chat_id: int) -> None:
        self.state.identities.pop(chat_id, None)

    async def _language(self, chat_id: int) -> str | None:
        async with self.db.current_or_new_session() as session:
            person = await person_by_telegram_id(session, chat_id)
            return person.language if person is not None else None

    async def _message(self, bot: Bot, method: TelegramMethod[Any], chat_id: int, outgoing: Outgoing,
                       *, held: bool = False) -> Message:
        identity = await self._identity(method, chat_id)
        if not held and not channels.window_open(identity):
            return await self._hold(bot, method, identity, await self._language(chat_id), outgoing)
        try:
            delivered = await self.deliver(identity, outgoing)
        except WhatsAppError as exc:
            if exc.window_closed and not held:
                self.forget_identity(chat_id)
                return await self._hold(bot, method, identity, await self._language(chat_id), outgoing)
            raise _as_telegram(method, exc) from exc
        return _message(bot, chat_id, delivered.message_id, outgoing)

    async def deliver(self, identity: ChannelIdentity, outgoing: Outgoing) -> Delivered:
        """Send now (the window is taken as open) and record what was sent with its choices."""
        assert identity.chat_id is not None
        to, bsuid = _address(identity)
        messages: list[tuple[str, dict[str, Any], list[Choice] | None]] = []
        if outgoing.media is not None:
            media = outgoing.media
            body: dict[str, Any] = {"id": media["id"]}
            if media["kind"] == "document":
                body["filename"] = media.get("filename") or "file"
            if outgoing.text and media["kind"] != "audio" and not outgoing.choices:
                body["caption"] = outgoing.text[:1024]
            messages.append(("media", {"type": media["kind"], media["kind"]: body}, None))
            if outgoing.choices:
                kind, payload = render(outgoing.text or "…", outgoing.choices)
                messages.append((kind, payload, outgoing.choices))
        else:
            kind, payload = render(outgoing.text, outgoing.choices)
            messages.append((kind, payload, outgoing.choices))
        last: Delivered | None = None
        for kind, payload, choices in messages:
            external_id = await self.api.send(to, payload, bsuid=bsuid)
            last = await self._record(identity.chat_id, kind, outgoing, choices, external_id)
        assert last is not None
        return last

    async def _record(self, chat_id: int, kind: str, outgoing: Outgoing, choices: list[Choice] | None,
                      external_id: str | None) -> Delivered:
        async with self.db.current_or_new_session() as session:
            row = await channels.record_outbound(session, chat_id, kind, outgoing.text, choices)
            row.call = outgoing.as_json() if kind != "template" else None
            if external_id is not None:
                await channels.sent(session, row.id, external_id)
            return Delivered(row.id, external_id, kind)

    async def _hold(self, bot: Bot, method: TelegramMethod[Any], identity: ChannelIdentity, language: str | None,
                    outgoing: Outgoing) -> Message:
        """The window is closed: keep the message for the person's next message and send a template."""
        assert identity.chat_id is not None
        async with self.db.current_or_new_session() as session:
            # A notice and its calendar file get one template, not two.
            told = await channels.has_held(session, identity.chat_id, since=utcnow() - TEMPLATE_QUIET)
            await channels.hold(session, identity.chat_id, outgoing.as_json())
        if told:
            async with self.db.current_or_new_session() as session:
                row = await channels.record_outbound(session, identity.chat_id, "held", outgoing.text, None)
                return _message(bot, identity.chat_id, row.id, outgoing)
        try:
            delivered = await self.send_template(identity, language, outgoing)
        except WhatsAppError as exc:
            raise _as_telegram(method, exc) from exc
        return _message(bot, identity.chat_id, delivered.message_id, outgoing)

    async def send_template(self, identity: ChannelIdentity, language: str | None, outgoing: Outgoing) -> Delivered:
        """The template of the kind being sent (``templates.sending``) saying a held message is waiting."""
        assert identity.chat_id is not None
        payload = templates.payload(self.settings, templates.current_kind(), language, outgoing.text)
        to, bsuid = _address(identity)
        external_id = await self.api.send(to, payload, bsuid=bsuid)
        return await self._record(identity.chat_id, "template", outgoing, [["Read", templates.READ_PAYLOAD]],
                                  external_id)

    async def deliver_held(self, identity: ChannelIdentity) -> int:
        """The person wrote again: send what waited for them, oldest first. Returns how many."""
        assert identity.chat_id is not None
        async with self.db.current_or_new_session() as session:
            calls = await channels.take_held(session, identity.chat_id)
        for raw in calls:
            try:
                await self.deliver(identity, Outgoing.from_json(raw))
            except WhatsAppError as exc:
                log.warning("held message to WhatsApp chat %s: %s", identity.chat_id, exc)
        return len(calls)

    async def _contact_request(self, bot: Bot, method: TelegramMethod[Any], chat_id: int, text: str) -> Message:
        identity = await self._identity(method, chat_id)
        if identity.wa_id:
            # WhatsApp told us the number: the adapter answers the request itself (see inbound).
            self.state.contact_answers.add(chat_id)
            delivered = await self._record(chat_id, "contact", Outgoing(text), None, None)
            return _message(bot, chat_id, delivered.message_id, Outgoing(text))
        to, bsuid = _address(identity)
        payload = {"type": "interactive", "interactive": {
            "type": "request_contact_info", "body": {"text": text[:1024] or "…"},
            "action": {"name": "request_contact_info"}}}
        try:
            external_id = await self.api.send(to, payload, bsuid=bsuid)
        except WhatsAppError as exc:
            raise _as_telegram(method, exc) from exc
        delivered = await self._record(chat_id, "contact", Outgoing(text), None, external_id)
        return _message(bot, chat_id, delivered.message_id, Outgoing(text))

    async def _media(self, bot: Bot, method: Any, chat_id: int) -> Message:
        if isinstance(method, SendPhoto):
            source, kind, name = method.photo, "image", "photo.jpg"
        elif isinstance(method, SendDocument):
            source, kind, name = method.document, "document", "file"
        elif isinstance(method, SendVoice):
            source, kind, name = method.voice, "audio", "voice.ogg"
        else:
            source, kind, name = method.audio, "audio", "audio.mp3"
        if isinstance(source, str) and source.startswith(MEDIA_PREFIX):  # a villager's file, passed on
            media_id, filename, mime = source[len(MEDIA_PREFIX):], name, _KIND_MIME.get(kind, "application/pdf")
        else:
            data, filename, mime = await self._file_bytes(bot, source, name)
            try:
                media_id = await self._upload(data, mime, filename)
            except WhatsAppError as exc:
                raise _as_telegram(method, exc) from exc
        if kind == "image" and not mime.startswith("image/"):
            kind = "document"
        caption = html_to_whatsapp(getattr(method, "caption", None), _parse_mode(bot, getattr(method, "parse_mode",
                                                                                            None)))
        choices, _, _ = choices_of(getattr(method, "reply_markup", None))
        outgoing = Outgoing(caption, choices or None, {"kind": kind, "id": media_id, "filename": filename,
                                                       "mime": mime})
        return await self._message(bot, method, chat_id, outgoing)

    async def _upload(self, data: bytes, mime: str, filename: str) -> str:
        digest = hashlib.sha256(data + filename.encode()).hexdigest()
        known = self.state.uploads.get(digest)
        if known is None:
            known = self.state.uploads[digest] = await self.api.upload(data, mime, filename)
        return known

    async def _file_bytes(self, bot: Bot, source: Any, default_name: str) -> tuple[bytes, str, str]:
        """Bytes, file name and MIME type of what a send method carries: an upload, a WhatsApp media id, or a
        Telegram file id (downloaded from Telegram)."""
        if isinstance(source, InputFile):
            chunks = [chunk async for chunk in source.read(bot)]
            filename = source.filename or default_name
            return b"".join(chunks), filename, mimetypes.guess_type(filename)[0] or "application/octet-stream"
        file_id = str(source)
        if file_id.startswith(MEDIA_PREFIX):
            data, mime = await self.api.download(file_id[len(MEDIA_PREFIX):])
            return data, default_name, mime
        file = await bot.get_file(file_id)
        assert file.file_path is not None
        buffer = await bot.download_file(file.file_path)
        assert buffer is not None
        filename = file.file_path.rsplit("/", 1)[-1] or default_name
        return buffer.read(), filename, mimetypes.guess_type(filename)[0] or "application/octet-stream"

    async def telegram_bound(self, bot: Bot, method: TelegramMethod[Any]) -> TelegramMethod[Any]:
        """A call to a Telegram chat that carries a WhatsApp media id gets the file itself instead."""
        for name in ("photo", "document", "voice", "audio"):
            value = getattr(method, name, None)
            if isinstance(value, str) and value.startswith(MEDIA_PREFIX):
                data, mime = await self.api.download(value[len(MEDIA_PREFIX):])
                extension = mimetypes.guess_extension(mime.split(";")[0].strip()) or ""
                filename = {"photo": "photo", "voice": "voice", "audio": "audio"}.get(name, "file") + extension
                method = method.model_copy(update={name: BufferedInputFile(data, filename)})
        return method
