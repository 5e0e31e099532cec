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
(130429) and the pair rate to one user (131056). Its clock can be moved (``advance(hours=30)``)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

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


class WhatsAppServer:
    """The state of one business number's world and the aiohttp app serving the Graph API."""

    def __init__(self, *, token: str = "wa-test-token", phone_number_id: str = "100200300400",
                 app_secret: str = "wa-app-secret", webhook_url: str | None = None,
                 limits: WhatsAppLimits | None = None, version: str = "v23.0",
                 templates: dict[str, dict[str, Any]] | None = None) -> None:
        self.token = token
        self.phone_number_id = phone_number_id
        self.app_secret = app_secret
        self.webhook_url = webhook_url
        self.limits = limits or WhatsAppLimits()
        self.version = version
        # Approved templates, {name: {"languages": {...}, "params": n, "buttons": [...]}}; None accepts any.
        self.templates = templates
        self.users: dict[str, WaUserState] = {}
        self.media: dict[str, StoredMedia] = {}
        self.by_id: dict[str, tuple[WaUserState, WaMessage]] = {}
        self.offset = timedelta()
        self.stats: Counter[str] = Counter()
        self.webhook_posts: list[tuple[int, dict[str, Any]]] = []
        self._ids = itertools.count(1)
        self._instance = uuid.uuid4().hex[:6].upper()
        self._number_sent: list[float] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port = 0
        self._changed = asyncio.Event()
        self.inflight = 0
        self.app_hooks: list[Callable[[web.Application], None]] = []  # more routes (the demo's web chat)

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_post("/{version}/{number}/messages", self._handle_messages)
        app.router.add_post("/{version}/{number}/media", self._handle_upload)
        app.router.add_get("/{version}/{media_id}", self._handle_media_info)
        app.router.add_get("/download/{media_id}", self._handle_download)
        for hook in self.app_hooks:
            hook(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._runner = web.AppRunner(self.make_app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ----------------------------------------------------------------- clock and people

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        """Move the emulator's clock (the 24-hour window, message timestamps) forward."""
        self.offset += timedelta(**delta)

    def ensure_user(self, wa_id: str | None, name: str = "Villager", *, bsuid: str | None = None,
                    phone_hidden: bool = False) -> WaUserState:
        key = bsuid if phone_hidden else wa_id
        assert key, "a WhatsApp user needs a number or a business-scoped id"
        user = self.users.get(key)
        if user is None:
            user = WaUserState(wa_id=wa_id, name=name, bsuid=bsuid or f"KG.{abs(hash(key)) % 10**12}",
                               phone_hidden=phone_hidden)
            self.users[key] = user
            if wa_id:
                self.users.setdefault(wa_id, user)
            self.users.setdefault(user.bsuid or "", user)
        return user

    def _recipient(self, payload: dict[str, Any]) -> WaUserState:
        address = payload.get("to") or payload.get("recipient")
        if not address:
            raise GraphError(100, "(#100) The parameter to is required.")
        user = self.users.get(str(address).lstrip("+"))
        if user is None:
            raise GraphError(131026, "Message Undeliverable", "The number is not on WhatsApp")
        return user

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_change(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            pass

    def _new_id(self, prefix: str = "wamid") -> str:
        return f"{prefix}.EMU{self._instance}{next(self._ids):08d}"  # unique across emulators on one database

    # ----------------------------------------------------------------- Graph API

    def _authorised(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise GraphError(190, "Invalid OAuth access token.", status=401)

    async def _guard(self, request: web.Request, handler: Callable[[], Any]) -> web.Response:
        self.inflight += 1
        try:
            self._authorised(request)
            if request.match_info.get("number", self.phone_number_id) != self.phone_number_id:
                raise GraphError(100, "Unsupported post request: unknown phone number id")
            result = await handler()
            self.stats["ok"] += 1
            return web.json_response(result)
        except GraphError as exc:
            self.stats[str(exc.code)] += 1
            return web.json_response(exc.body(), status=exc.status)
        finally:
            self.inflight -= 1
            self._notify()

    async def _handle_messages(self, request: web.Request) -> web.Response:
        async def handle() -> dict[str, Any]:
            return self.accept(await request.json())

        return await self._guard(request, handle)

    def _throttle(self, user: WaUserState) -> None:
        now = time.monotonic()
        limits = self.limits
        if limits.per_second:
            self._number_sent = [t for t in self._number_sent if now - t < 1.0]
            if len(self._number_sent) >= limits.per_second:
                raise GraphError(130429, "(#130429) Rate limit hit", "Cloud API message throughput has been reached.",
                                 status=429 if limits.http_429 else 400)
            self._number_sent.append(now)
        if limits.pair_burst:
            user.pair_sent = [t for t in user.pair_sent if now - t < limits.pair_seconds * limits.pair_burst]
            if len(user.pair_sent) >= limits.pair_burst:
                raise GraphError(131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                                 "Too many messages sent from this phone number to the same phone number.")
            user.pair_sent.append(now)

    def accept(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Check and store one message the bot sends; returns the Cloud API answer."""
        if payload.get("messaging_product") != "whatsapp":
            raise GraphError(100, "(#100) The parameter messaging_product is required.")
        user = self._recipient(payload)
        kind = payload.get("type", "text")
        raw = {k: v for k, v in payload.items() if k not in ("messaging_product", "recipient_type", "to",
                                                             "recipient")}
        raw["type"] = kind
        if kind == "text":
            body = str(payload.get("text", {}).get("body") or "")
            if not body or len(body) > MAX_TEXT:
                raise invalid(f"text.body must be 1 to {MAX_TEXT} characters")
        elif kind == "interactive":
            self._check_interactive(payload.get("interactive") or {})
        elif kind == "template":
            raw["_rendered"], raw["_buttons"] = self._check_template(payload.get("template") or {})
        elif kind in ("image", "document", "audio", "video"):
            media = payload.get(kind) or {}
            if media.get("id") not in self.media and not media.get("link"):
                raise invalid(f"{kind}.id is not a media id of this number")
        else:
            raise GraphError(100, f"(#100) Unsupported message type {kind}")
        if kind != "template" and (user.last_inbound is None or self.now() - user.last_inbound >= WINDOW):
            raise GraphError(131047, "Re-engagement message", "Message failed to send because more than 24 hours "
                             "have passed since the customer last replied to this number.")
        if user.unreachable:
            raise GraphError(131026, "Message Undeliverable", "The recipient cannot receive WhatsApp messages")
        self._throttle(user)
        message = WaMessage(self._new_id(), True, raw, self.now())
        user.messages.append(message)
        self.by_id[message.id] = (user, message)
        self.stats["messages"] += 1
        return {"messaging_product": "whatsapp",
                "contacts": [{"input": user.address, "wa_id": user.wa_id or "", "user_id": user.bsuid}],
                "messages": [{"id": message.id}]}

    def _check_interactive(self, interactive: dict[str, Any]) -> None:
        kind = interactive.get("type")
        body = (interactive.get("body") or {}).get("text") or ""
        if kind != "request_contact_info" and (not body or len(body) > MAX_BODY):
            raise invalid(f"interactive.body.text must be 1 to {MAX_BODY} characters")
        action = interactive.get("action") or {}
        if kind == "button":
            buttons = action.get("buttons") or []
            if not 1 <= len(buttons) <= MAX_BUTTONS:
                raise invalid(f"buttons: 1 to {MAX_BUTTONS}")
            titles = [b.get("reply", {}).get("title") or "" for b in buttons]
            ids = [b.get("reply", {}).get("id") or "" for b in buttons]
            if any(not t or len(t) > BUTTON_TITLE for t in titles):
                raise invalid(f"button title must be 1 to {BUTTON_TITLE} characters")
            if any(not i or len(i) > 256 for i in ids) or len(set(ids)) != len(ids) or len(set(titles)) != len(
                    titles):
                raise invalid("button ids and titles must be unique and at most 256 characters")
        elif kind == "list":
            label = action.get("button") or ""
            if not label or len(label) > LIST_BUTTON:
                raise invalid(f"list button must be 1 to {LIST_BUTTON} characters")
            rows = [row for section in action.get("sections") or [] for row in section.get("rows") or []]
            if not 1 <= len(rows) <= MAX_ROWS:
                raise invalid(f"a list has 1 to {MAX_ROWS} rows")
            if any(not r.get("title") or len(r["title"]) > ROW_TITLE for r in rows):
                raise invalid(f"row title must be 1 to {ROW_TITLE} characters")
            if any(len(r.get("description") or "") > ROW_DESCRIPTION for r in rows):
                raise invalid(f"row description must be at most {ROW_DESCRIPTION} characters")
            ids = [r.get("id") or "" for r in rows]
            if len(set(ids)) != len(ids) or any(not i or len(i) > 200 for i in ids):
                raise invalid("row ids must be unique and at most 200 characters")
        elif kind == "request_contact_info":
            pass
        else:
            raise GraphError(100, f"(#100) Unsupported interactive type {kind}")

    def _check_template(self, template: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
        name = template.get("name")
        language = (template.get("language") or {}).get("code")
        components = template.get("components") or []
        params = [p.get("text", "") for c in components if c.get("type") == "body" for p in c.get("parameters", [])]
        buttons = [{"text": str(c.get("_text") or c.get("parameters", [{}])[0].get("payload", "")),
                    "payload": c.get("parameters", [{}])[0].get("payload", "")}
                   for c in components if c.get("type") == "button"]
        if self.templates is not None:
            known = self.templates.get(str(name))
            if known is None or language not in known.get("languages", {}):
                raise GraphError(132001, "(#132001) Template name does not exist in the translation",
                                 f"template name ({name}) does not exist in {language}")
            if len(params) != known.get("params", 0):
                raise GraphError(132000, "(#132000) Number of parameters does not match the expected number of "
                                 "params")
            body = known["languages"][language]
            for index, value in enumerate(params, start=1):
                body = body.replace("{{" + str(index) + "}}", value)
            labels = known.get("buttons", {}).get(language, [])
            for button, label in zip(buttons, labels, strict=False):
                button["text"] = label
            return body, buttons
        return f"[{name}/{language}] " + " | ".join(params), buttons

    async def _handle_upload(self, request: web.Request) -> web.Response:
        async def handle() -> dict[str, Any]:
            form = await request.post()
            upload = form.get("file")
            if not isinstance(upload, web.FileField) or form.get("messaging_product") != "whatsapp":
                raise GraphError(100, "(#100) file and messaging_product are required")
            media_id = str(next(self._ids) + 900_000_000)
            self.media[media_id] = StoredMedia(media_id, upload.file.read(), str(form.get("type") or
                                                                                  upload.content_type),
                                               upload.filename)
            return {"id": media_id}

        return await self._guard(request, handle)

    async def _handle_media_info(self, request: web.Request) -> web.Response:
        async def handle() -> dict[str, Any]:
            media = self.media.get(request.match_info["media_id"])
            if media is None:
                raise GraphError(100, "(#100) Unsupported get request: unknown media id")
            return {"messaging_product": "whatsapp", "url": f"{self.base_url}/download/{media.id}",
                    "mime_type": media.mime_type, "sha256": hashlib.sha256(media.data).hexdigest(),
                    "file_size": len(media.data), "id": media.id}

        return await self._guard(request, handle)

    async def _handle_download(self, request: web.Request) -> web.Response:
        try:
            self._authorised(request)
        except GraphError as exc:
            return web.json_response(exc.body(), status=exc.status)
        media = self.media.get(request.match_info["media_id"])
        if media is None:
            return web.Response(status=404)
        return web.Response(body=media.data, content_type=media.mime_type.split(";")[0])

    # ----------------------------------------------------------------- webhooks to the bot

    def sign(self, body: bytes, secret: str | None = None) -> str:
        key = (secret or self.app_secret).encode()
        return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()

    def _envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        value = {"messaging_product": "whatsapp",
                 "metadata": {"display_phone_number": "996312000000", "phone_number_id": self.phone_number_id},
                 **value}
        return {"object": "whatsapp_business_account",
                "entry": [{"id": "WABA-EMULATOR", "changes": [{"field": "messages", "value": value}]}]}

    def inbound(self, user: WaUserState, content: dict[str, Any], *, context: str | None = None) -> dict[str, Any]:
        """A message from ``user`` as the webhook body that carries it; opens the user's 24-hour window."""
        now = self.now()
        message: dict[str, Any] = {"id": self._new_id(), "timestamp": str(int(now.timestamp())), **content}
        if user.wa_id and not user.phone_hidden:
            message["from"] = user.wa_id
        message["from_user_id"] = user.bsuid
        if context is not None:
            message["context"] = {"from": "996312000000", "id": context}
        contact: dict[str, Any] = {"profile": {"name": user.name}, "user_id": user.bsuid}
        if user.wa_id and not user.phone_hidden:
            contact["wa_id"] = user.wa_id
        user.last_inbound = now
        user.unreachable = False
        user.messages.append(WaMessage(message["id"], False, message, now))
        return self._envelope({"contacts": [contact], "messages": [message]})

    def status(self, message_id: str, status: str, *, error: int | None = None) -> dict[str, Any]:
        """A delivery status of a bot message as the webhook body that carries it."""
        user, message = self.by_id[message_id]
        message.status = status
        entry: dict[str, Any] = {"id": message_id, "status": status, "timestamp": str(int(self.now().timestamp())),
                                 "recipient_id": user.wa_id or "", "recipient_user_id": user.bsuid}
        if error is not None:
            entry["errors"] = [{"code": error, "title": "emulated failure"}]
        return self._envelope({"statuses": [entry]})

    async def post(self, body: dict[str, Any] | bytes, *, signature: str | None = None) -> int:
        """POST a webhook to the bot (signed with the app secret unless ``signature`` is given)."""
        assert self.webhook_url is not None and self._session is not None, "no webhook URL set"
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": signature if signature is not None else self.sign(raw)}
        async with self._session.post(self.webhook_url, data=raw, headers=headers) as response:
            await response.read()
            parsed = json.loads(raw) if isinstance(body, bytes) else body
            self.webhook_posts.append((response.status, parsed))
            self._notify()
            return response.status


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
