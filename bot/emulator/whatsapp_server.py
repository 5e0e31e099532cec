"""The WhatsApp Cloud API emulator's server: one business number's world, the Graph API calls the bot
makes (checked like the real API) and the signed webhooks it posts to the bot."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

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
