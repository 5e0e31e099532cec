"""What a test sees of a chat message (``BotMessage``, a live view; ``FileView``, a file in it) and what it
sends with (``tiny_png``, ``OWN``)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .server import BotApiServer, StoredFile, StoredMessage, iter_buttons


def tiny_png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (46, 125, 50)) -> bytes:
    """A valid PNG image of one colour."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


class _Own(Enum):
    OWN = "own"


#: ``share_contact(user_id=OWN)``: the contact is the user's own.
OWN = _Own.OWN


@dataclass(frozen=True)
class FileView:
    """A file in a message, with its bytes."""

    file_id: str
    data: bytes
    filename: str
    mime_type: str
    width: int | None = None
    height: int | None = None

    @classmethod
    def of(cls, stored: StoredFile) -> FileView:
        return cls(stored.file_id, stored.data, stored.filename, stored.mime_type, stored.width, stored.height)


class BotMessage:
    """A live view of one chat message (usually the bot's): edits show through."""

    def __init__(self, emu: BotApiServer, stored: StoredMessage) -> None:
        self._emu = emu
        self._stored = stored

    @property
    def raw(self) -> dict[str, Any]:
        return self._stored.raw

    @property
    def message_id(self) -> int:
        return self._stored.message_id

    @property
    def chat_id(self) -> int:
        return int(self.raw["chat"]["id"])

    @property
    def from_bot(self) -> bool:
        return self._stored.outgoing

    @property
    def text(self) -> str | None:
        """The text, or the caption of a photo or document."""
        return self.raw.get("text", self.raw.get("caption"))

    @property
    def caption(self) -> str | None:
        return self.raw.get("caption")

    @property
    def entities(self) -> list[dict[str, Any]]:
        return list(self.raw.get("entities") or self.raw.get("caption_entities") or [])

    @property
    def parse_mode(self) -> str | None:
        return self._stored.parse_mode

    @property
    def edited(self) -> bool:
        return bool(self._stored.edits)

    @property
    def edits(self) -> list[dict[str, Any]]:
        """Earlier versions of the message, oldest first."""
        return list(self._stored.edits)

    @property
    def deleted(self) -> bool:
        return self._stored.deleted

    @property
    def inline_buttons(self) -> list[dict[str, Any]]:
        return list(iter_buttons(self.raw.get("reply_markup")))

    @property
    def buttons(self) -> list[list[str]]:
        """Texts of the inline keyboard, row by row."""
        rows = (self.raw.get("reply_markup") or {}).get("inline_keyboard", [])
        return [[button["text"] for button in row] for row in rows]

    def button(self, text: str) -> dict[str, Any]:
        for button in self.inline_buttons:
            if button["text"] == text:
                return button
        raise AssertionError(f"no inline button {text!r} on {self!r}; buttons: {self.buttons}")

    def callback_data(self, text: str) -> str:
        """The callback_data of the inline button with this text."""
        return str(self.button(text)["callback_data"])

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Texts of the reply keyboard sent with this message, if any."""
        keyboard = self._stored.keyboard
        if not keyboard or "keyboard" not in keyboard:
            return None
        return [[b if isinstance(b, str) else b["text"] for b in row] for row in keyboard["keyboard"]]

    @property
    def keyboard_removed(self) -> bool:
        return bool(self._stored.keyboard and self._stored.keyboard.get("remove_keyboard"))

    @property
    def force_reply(self) -> bool:
        return bool(self._stored.keyboard and self._stored.keyboard.get("force_reply"))

    @property
    def photo(self) -> FileView | None:
        """The largest size of the photo."""
        sizes = self.raw.get("photo")
        return FileView.of(self._emu.files[sizes[-1]["file_id"]]) if sizes else None

    @property
    def document(self) -> FileView | None:
        document = self.raw.get("document")
        return FileView.of(self._emu.files[document["file_id"]]) if document else None

    @property
    def voice(self) -> FileView | None:
        voice = self.raw.get("voice")
        return FileView.of(self._emu.files[voice["file_id"]]) if voice else None

    def describe(self) -> str:
        """One line for transcripts."""
        arrow = "←" if self.from_bot else "→"
        raw = self.raw
        if "text" in raw or "caption" in raw:
            body = repr(self.text)
        else:
            body = next((f"<{key}>" for key in _CONTENT_KEYS if key in raw), "<message>")
            if "contact" in raw:
                body = f"<contact {raw['contact'].get('phone_number')} user_id={raw['contact'].get('user_id')}>"
        flags = "".join(
            (" (edited)" if self.edited else "", " (deleted)" if self.deleted else "")
        )
        line = f"{arrow} [{self.message_id}] {body}{flags}"
        if self.buttons:
            line += "  " + " ".join("[" + " | ".join(row) + "]" for row in self.buttons)
        if self.reply_keyboard:
            line += "  keyboard: " + " ".join("[" + " | ".join(row) + "]" for row in self.reply_keyboard)
        if self.keyboard_removed:
            line += "  (keyboard removed)"
        return line

    def __repr__(self) -> str:
        return f"BotMessage({self.describe()})"


_CONTENT_KEYS = ("photo", "document", "sticker", "voice", "location", "contact")
