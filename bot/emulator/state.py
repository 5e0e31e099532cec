"""What the emulated Telegram holds: users, chats and their messages, files, callback answers, queued
updates; and helpers over messages and keyboards."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import clone


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    filename: str
    mime_type: str
    kind: str
    width: int | None = None
    height: int | None = None

    @property
    def file_path(self) -> str:
        suffix = Path(self.filename).suffix
        return f"{self.kind}/file_{self.file_unique_id}{suffix}"


@dataclass
class Upload:
    """A file part of a request (multipart upload or webhook reply)."""

    data: bytes
    filename: str
    content_type: str | None = None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (segment,) = struct.unpack(">H", data[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + segment
    return None


@dataclass
class UserState:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    phone: str | None = None
    blocked: bool = False

    def as_user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                user[key] = value
        return user


@dataclass
class StoredMessage:
    """One message in a chat; ``raw`` is what the Bot API returns, edited in place."""

    raw: dict[str, Any]
    outgoing: bool
    version: int
    keyboard: dict[str, Any] | None = None
    parse_mode: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    touched: int = 0

    @property
    def message_id(self) -> int:
        return int(self.raw["message_id"])


@dataclass
class ChatState:
    chat: dict[str, Any]
    messages: list[StoredMessage] = field(default_factory=list)
    by_id: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: dict[str, Any] | None = None
    action: str | None = None

    @property
    def id(self) -> int:
        return int(self.chat["id"])


@dataclass
class CallbackAnswer:
    user_id: int
    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    version: int


@dataclass
class Delivery:
    """One update on its way to the bot; ``done`` once the bot has handled (or dropped) it."""

    update: dict[str, Any]
    duplicate: bool = False
    delivered: bool = False
    in_flight: bool = False
    retry_at: float = 0.0
    error: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def kind(self) -> str:
        return next(key for key in self.update if key != "update_id")


@dataclass
class Persona:
    user_id: int
    name: str
    role: str


Handler = Callable[[dict[str, Any]], Awaitable[Any]]


def find_reply_button(keyboard: dict[str, Any] | None, text: str) -> dict[str, Any] | None:
    """The reply-keyboard button with exactly this text (buttons may be bare strings)."""
    if not keyboard:
        return None
    for row in keyboard.get("keyboard", []):
        for button in row:
            button = {"text": button} if isinstance(button, str) else button
            if button.get("text") == text:
                return dict(button)
    return None


def _without_reply(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: clone(v) for k, v in raw.items() if k != "reply_to_message"}


def _document(stored: StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_name": stored.filename,
        "mime_type": stored.mime_type,
        "file_size": len(stored.data),
    }


def _photo_entry(stored: StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "width": stored.width or 1,
        "height": stored.height or 1,
        "file_size": len(stored.data),
    }


def iter_buttons(markup: dict[str, Any] | None) -> Iterable[dict[str, Any]]:
    """Every button of an inline keyboard, row by row."""
    for row in (markup or {}).get("inline_keyboard", []):
        yield from row
