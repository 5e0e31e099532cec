"""What the WhatsApp channel sends (``Outgoing``), its bookkeeping, and plain conversions to and from the Bot API."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.types import Chat, Message, User
from aiogram.utils.i18n import I18n

from bot.i18n import in_language
from bot.whatsapp.client import WhatsAppError
from bot.whatsapp.render import Choice
from services import channels
from storage.channels import ChannelIdentity

_quiet: contextvars.ContextVar[bool] = contextvars.ContextVar("jamaat_whatsapp_quiet", default=False)
@contextmanager
def quiet_edits(quiet: bool = True) -> Iterator[None]:
    """Edits in this block are recorded, not sent: of several numbers typed at once ("2 5 7"), each toggles
    the ballot, and only the last new menu needs to reach the phone."""
    token = _quiet.set(quiet)
    try:
        yield
    finally:
        _quiet.reset(token)


@dataclass
class Outgoing:
    """One message for a WhatsApp chat, channel-neutral until it is rendered."""

    text: str = ""
    choices: list[Choice] | None = None
    media: dict[str, str] | None = None  # {"kind": "document"|"image"|"audio", "id", "filename", "mime"}

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "choices": self.choices, "media": self.media}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Outgoing:
        return cls(text=raw.get("text") or "", choices=raw.get("choices"), media=raw.get("media"))


@dataclass
class Delivered:
    message_id: int
    external_id: str | None
    kind: str


@dataclass
class ChannelState:
    """In-process bookkeeping of the adapter."""

    callbacks: dict[str, int] = field(default_factory=dict)  # callback query id → chat id (for its answer)
    contact_answers: set[int] = field(default_factory=set)  # chats whose contact request the adapter answers
    uploads: dict[str, str] = field(default_factory=dict)  # sha256 of a file → media id already uploaded
    identities: dict[int, tuple[float, ChannelIdentity]] = field(default_factory=dict)  # chat id → (seen, identity)


def _detached(identity: ChannelIdentity) -> ChannelIdentity:
    """A plain copy, safe outside its session."""
    return ChannelIdentity(id=identity.id, channel=identity.channel, chat_id=identity.chat_id, wa_id=identity.wa_id,
                           bsuid=identity.bsuid, name=identity.name, person_id=identity.person_id,
                           last_inbound_at=identity.last_inbound_at)


def chat_of(method: TelegramMethod[Any]) -> Any:
    chat_id = getattr(method, "chat_id", None)
    if chat_id is None:
        scope = getattr(method, "scope", None)
        chat_id = getattr(scope, "chat_id", None)
    if chat_id is None and isinstance(method, AnswerCallbackQuery) and method.callback_query_id.startswith("wa"):
        return channels.WHATSAPP_BASE  # answered on the chat the query came from
    return chat_id


def _parse_mode(bot: Bot, value: Any) -> str | None:
    if isinstance(value, Default):
        return bot.default[value.name] if bot.default else None
    return value


def _address(identity: ChannelIdentity) -> tuple[str, bool]:
    if identity.wa_id:
        return identity.wa_id, False
    assert identity.bsuid is not None
    return identity.bsuid, True


def _as_telegram(method: TelegramMethod[Any], exc: WhatsAppError) -> Exception:
    if exc.unreachable:
        return TelegramForbiddenError(method=method, message=f"Forbidden: cannot receive WhatsApp messages "
                                                             f"({exc.code})")
    if exc.throttled:
        return TelegramRetryAfter(method=method, message=f"Too Many Requests: WhatsApp {exc.code}", retry_after=5)
    return TelegramBadRequest(method=method, message=f"Bad Request: WhatsApp {exc.code}: {exc.message}")


def _message(bot: Bot, chat_id: int, message_id: int, outgoing: Outgoing) -> Message:
    """What Telegram would have answered: the message as sent (the flows keep its id). A file in it is not
    described: its WhatsApp media id must not be remembered as a Telegram file id (the outbox does)."""
    me = User(id=bot.id, is_bot=True, first_name="Jamaat")
    return Message(message_id=message_id, date=datetime.now(UTC), chat=Chat(id=chat_id, type="private"),
                   from_user=me, text=outgoing.text or "…").as_(bot)


def translate(i18n: I18n, language: str | None, text: Any) -> str:
    with in_language(i18n, language or i18n.default_locale):
        return str(text)
