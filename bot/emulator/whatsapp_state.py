"""What the WhatsApp Cloud API emulator holds and answers: its limits on messages, Graph API errors
(``GraphError``), throughput limits (``WhatsAppLimits``), messages, users and media."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

WINDOW = timedelta(hours=24)
MAX_BUTTONS, BUTTON_TITLE = 3, 20
MAX_ROWS, ROW_TITLE, ROW_DESCRIPTION, LIST_BUTTON = 10, 24, 72, 20
MAX_TEXT, MAX_BODY = 4096, 1024


class GraphError(Exception):
    """A Graph API error answer: ``{"error": {"message", "type", "code", "error_data", "fbtrace_id"}}``."""

    def __init__(self, code: int, message: str, details: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.details, self.status = code, message, details, status

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": "OAuthException", "code": self.code,
                          "error_data": {"messaging_product": "whatsapp", "details": self.details or self.message},
                          "fbtrace_id": "emulator"}}


def invalid(details: str) -> GraphError:
    return GraphError(131009, "(#131009) Parameter value is not valid", details)


@dataclass(frozen=True)
class WhatsAppLimits:
    """Limits like the Cloud API's, off unless asked: ``per_second`` of the business number (130429), and the
    pair rate to one user: ``pair_burst`` messages, then one per ``pair_seconds`` (131056)."""

    per_second: float | None = None
    pair_burst: int | None = None
    pair_seconds: float = 6.0
    http_429: bool = False  # answer throughput errors with HTTP 429 instead of 400


@dataclass
class WaMessage:
    """One message in a chat, the bot's (``outgoing``) or the person's, as Cloud API JSON."""

    id: str
    outgoing: bool
    raw: dict[str, Any]
    at: datetime
    status: str = "sent"

    @property
    def type(self) -> str:
        return str(self.raw.get("type"))

    @property
    def text(self) -> str | None:
        raw = self.raw
        kind = raw.get("type")
        if kind == "text":
            return raw["text"]["body"]
        if kind == "interactive":
            return raw["interactive"].get("body", {}).get("text")
        if kind == "template":
            return raw.get("_rendered")
        if kind in ("image", "document", "audio", "video"):
            return raw[kind].get("caption")
        if kind == "contacts":
            return None
        return None

    @property
    def buttons(self) -> list[str]:
        """Titles of reply buttons (or a template's quick replies)."""
        if self.type == "interactive" and self.raw["interactive"]["type"] == "button":
            return [b["reply"]["title"] for b in self.raw["interactive"]["action"]["buttons"]]
        if self.type == "template":
            return [b["text"] for b in self.raw.get("_buttons", [])]
        return []

    @property
    def rows(self) -> list[dict[str, Any]]:
        if self.type == "interactive" and self.raw["interactive"]["type"] == "list":
            return [row for section in self.raw["interactive"]["action"]["sections"] for row in section["rows"]]
        return []

    @property
    def menu(self) -> dict[int, str]:
        """A numbered menu in the text: {number: label} from lines like "12. Roads"."""
        found: dict[int, str] = {}
        for line in (self.text or "").splitlines():
            match = re.match(r"^\s*(\d{1,3})[.)]\s+(.+)$", line)
            if match:
                found[int(match.group(1))] = match.group(2).strip()
        return found

    @property
    def contact_request(self) -> bool:
        return self.type == "interactive" and self.raw["interactive"]["type"] == "request_contact_info"

    def describe(self) -> str:
        arrow = "←" if self.outgoing else "→"
        kind = self.type
        body = repr(self.text) if self.text is not None else f"<{kind}>"
        if kind == "interactive" and not self.outgoing:
            reply = self.raw["interactive"]
            body = f"<{reply['type']} {reply.get(reply['type'], {}).get('id')!r}>"
        extra = ""
        if self.buttons:
            extra = "  [" + " | ".join(self.buttons) + "]"
        elif self.rows:
            extra = "  list: " + " | ".join(row["title"] for row in self.rows)
        return f"{arrow} {body}{extra} ({self.status})"


@dataclass
class WaUserState:
    wa_id: str | None
    name: str
    bsuid: str | None = None
    phone_hidden: bool = False  # a username user: webhooks carry only the business-scoped id
    last_inbound: datetime | None = None
    messages: list[WaMessage] = field(default_factory=list)
    pair_sent: list[float] = field(default_factory=list)
    unreachable: bool = False

    @property
    def address(self) -> str:
        return self.wa_id if self.wa_id and not self.phone_hidden else str(self.bsuid)


@dataclass
class StoredMedia:
    id: str
    data: bytes
    mime_type: str
    filename: str | None = None
