"""A local WhatsApp Cloud API emulator, and phones that talk to the bot through it.

    async with WhatsAppEmulator(webhook_url=..., app_secret=...) as wa:
        villager = wa.user("996700100001", "Aibek")
        await villager.send("salam")          # a signed webhook POST, returns once the bot answered it
        await villager.tap("English")         # a reply button, a list row, a template button or a menu line
        await villager.choose("2 5 7")        # numbers typed as the answer to a numbered menu
        villager.last.text

It accepts the Graph API calls the bot makes (messages: text, interactive buttons and lists, templates, media by
id, contact requests; media upload and download), checks them like the real API (3 buttons of 20 characters,
10 list rows of 24 characters, the 24-hour window: 131047), and, when asked, the throughput of the number
(130429) and the pair rate to one user (131056). Its clock can be moved (``advance(hours=30)``).

Here: the phones (``WaPhone``) and the emulator with its driver (``WhatsAppEmulator``); the server is in
``whatsapp_server.py``, what it holds in ``whatsapp_state.py``."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from .whatsapp_server import WhatsAppServer
from .whatsapp_state import (
    BUTTON_TITLE,
    LIST_BUTTON,
    MAX_BODY,
    MAX_BUTTONS,
    MAX_ROWS,
    MAX_TEXT,
    ROW_DESCRIPTION,
    ROW_TITLE,
    WINDOW,
    GraphError,
    StoredMedia,
    WaMessage,
    WaUserState,
    WhatsAppLimits,
    invalid,
)


class WaPhone:
    """A villager's WhatsApp: what they see of the bot and what they can do."""

    __test__ = False

    def __init__(self, emu: WhatsAppEmulator, state: WaUserState) -> None:
        self.emu = emu
        self.state = state

    def __repr__(self) -> str:
        return f"WaPhone({self.state.address}, {self.state.name!r})"

    @property
    def wa_id(self) -> str | None:
        return self.state.wa_id

    @property
    def history(self) -> list[WaMessage]:
        return list(self.state.messages)

    @property
    def messages(self) -> list[WaMessage]:
        """The bot's messages in order."""
        return [m for m in self.state.messages if m.outgoing]

    @property
    def texts(self) -> list[str | None]:
        return [m.text for m in self.messages]

    @property
    def last(self) -> WaMessage:
        if not self.messages:
            raise AssertionError(f"the bot has sent nothing to {self!r}\n{self.dump()}")
        return self.messages[-1]

    def newest(self, predicate: Callable[[WaMessage], bool]) -> WaMessage:
        """The newest bot message that satisfies ``predicate``; fails with the chat's transcript when there is none
        (a bare ``next()`` raises StopIteration, which a test coroutine turns into a RuntimeError saying nothing)."""
        found = next((m for m in reversed(self.messages) if predicate(m)), None)
        if found is None:
            raise AssertionError(f"no matching bot message in {self!r}\n{self.dump()}")
        return found

    def dump(self, last: int = 20) -> str:
        lines = [f"WhatsApp chat with {self.state.name} ({self.state.address}):"]
        lines += ["  " + m.describe() for m in self.history[-last:]]
        return "\n".join(lines)

    async def _deliver(self, content: dict[str, Any], context: str | None = None) -> dict[str, Any]:
        body = self.emu.inbound(self.state, content, context=context)
        status = await self.emu.post(body)
        if status != 200:
            raise AssertionError(f"the bot answered the webhook with HTTP {status}\n{self.dump()}")
        await self.emu.settle()
        return body

    async def send(self, text: str) -> dict[str, Any]:
        """Type and send a text; returns the webhook body once the bot has handled it."""
        return await self._deliver({"type": "text", "text": {"body": text}})

    async def choose(self, numbers: str) -> dict[str, Any]:
        """Answer a numbered menu by typing its numbers ("2 5 7")."""
        return await self.send(numbers)

    def _with_choices(self) -> WaMessage | None:
        for message in reversed(self.messages):
            if message.buttons or message.rows or message.menu:
                return message
        return None

    async def tap(self, title: str | None = None, *, contains: str | None = None) -> dict[str, Any]:
        """Press a reply button, pick a list row or a template's quick reply, or type a menu line's number, by
        its label (or a unique part of it) on the newest bot message that offers choices."""
        message = self._with_choices()
        if message is None:
            raise AssertionError(f"nothing to tap\n{self.dump()}")

        def matches(label: str) -> bool:
            return label == title if title is not None else contains is not None and contains in label

        if message.type == "interactive" and message.raw["interactive"]["type"] == "button":
            for button in message.raw["interactive"]["action"]["buttons"]:
                if matches(button["reply"]["title"]):
                    reply = {"type": "button_reply", "button_reply": dict(button["reply"])}
                    return await self._deliver({"type": "interactive", "interactive": reply}, message.id)
        for row in message.rows:
            if matches(row["title"]) or matches(row.get("description") or ""):
                reply = {"type": "list_reply", "list_reply": {k: row[k] for k in ("id", "title", "description")
                                                              if k in row}}
                return await self._deliver({"type": "interactive", "interactive": reply}, message.id)
        if message.type == "template":
            for button in message.raw.get("_buttons", []):
                if matches(button["text"]):
                    return await self._deliver({"type": "button", "button": {"payload": button["payload"],
                                                                              "text": button["text"]}}, message.id)
        for number, label in message.menu.items():
            if matches(label):
                return await self.send(str(number))
        raise AssertionError(f"no choice {title or contains!r} on {message.describe()}\n{self.dump()}")

    async def reply_id(self, reply_id: str, title: str = "?", *, context: str | None = None) -> dict[str, Any]:
        """An interactive reply with any id (a forged or stale button)."""
        target = context or (self._with_choices() or self.last).id
        reply = {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}}
        return await self._deliver({"type": "interactive", "interactive": reply}, target)

    async def _media(self, kind: str, data: bytes, mime_type: str, **extra: Any) -> dict[str, Any]:
        media_id = str(next(self.emu._ids) + 800_000_000)
        self.emu.media[media_id] = StoredMedia(media_id, data, mime_type, extra.get("filename"))
        content = {"id": media_id, "mime_type": mime_type, "sha256": hashlib.sha256(data).hexdigest(), **extra}
        return await self._deliver({"type": kind, kind: content})

    async def send_image(self, data: bytes, *, caption: str | None = None) -> dict[str, Any]:
        return await self._media("image", data, "image/png", **({"caption": caption} if caption else {}))

    async def send_document(self, data: bytes, filename: str = "document.pdf", *,
                            mime_type: str = "application/pdf", caption: str | None = None) -> dict[str, Any]:
        extra: dict[str, Any] = {"filename": filename}
        if caption:
            extra["caption"] = caption
        return await self._media("document", data, mime_type, **extra)

    async def send_voice(self, data: bytes = b"OggS\x00voice", *, mime_type: str = "audio/ogg; codecs=opus"
                         ) -> dict[str, Any]:
        return await self._media("audio", data, mime_type, voice=True)

    async def share_contact(self, wa_id: str | None = None) -> dict[str, Any]:
        """Answer WhatsApp's contact request with the own number (or another one)."""
        number = wa_id or self.state.wa_id
        assert number, "this user has no number to share"
        contact = {"origin": "contact_request", "name": {"formatted_name": self.state.name},
                   "phones": [{"phone": "+" + number, "wa_id": number, "type": "CELL"}]}
        return await self._deliver({"type": "contacts", "contacts": [contact]})

    def media_of(self, message: WaMessage) -> StoredMedia:
        return self.emu.media[message.raw[message.type]["id"]]


class WhatsAppEmulator(WhatsAppServer):
    """The Cloud API emulator with the driver: ``wa.user("996700100001")``, ``await wa.settle()``."""

    def __init__(self, *, timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout = timeout

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def user(self, wa_id: str | None, name: str = "Villager", *, bsuid: str | None = None,
             phone_hidden: bool = False) -> WaPhone:
        """The WhatsApp user with this number (or, with ``phone_hidden``, known only by ``bsuid``)."""
        return WaPhone(self, self.ensure_user(wa_id, name, bsuid=bsuid, phone_hidden=phone_hidden))

    async def settle(self, timeout: float | None = None) -> None:
        """Wait until no Graph API request is being served."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while self.inflight:
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the bot's Graph API calls")
            await self.wait_change(0.05)


# The names this module had before it was split, for ``from bot.emulator.whatsapp import ...``.
__all__ = [
    "BUTTON_TITLE", "GraphError", "LIST_BUTTON", "MAX_BODY", "MAX_BUTTONS", "MAX_ROWS", "MAX_TEXT",
    "ROW_DESCRIPTION", "ROW_TITLE", "StoredMedia", "WINDOW", "WaMessage", "WaPhone", "WaUserState",
    "WhatsAppEmulator", "WhatsAppLimits", "WhatsAppServer", "invalid",
]
