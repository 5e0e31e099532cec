"""A local Telegram Bot API emulator: the state of one bot's world and the aiohttp app serving it.

``BotApiServer`` holds the state, serves the HTTP app and dispatches Bot API methods (getMe, commands and the
menu button are here); the rest comes from one mixin per concern: ``users`` (what users do), ``messages``
(sending and editing), ``files`` (files and media), ``updates`` (getUpdates and webhooks), ``webchat`` (the
web chat page). ``api``, ``limits``, ``entities`` and ``state`` hold what they share."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web

from .api import (
    CAPTION_TOO_LONG,
    MAX_CAPTION,
    MAX_TEXT,
    NOT_MODIFIED,
    POLL_CONFLICT,
    QUERY_TOO_OLD,
    WEBHOOK_CONFLICT,
    WRONG_FILE,
    ApiError,
    _int,
    _json,
    _str,
    bad_request,
)
from .entities import parse_html, utf16_len
from .files import FilesMixin
from .limits import COUNTED_METHODS, Limits, Stats, _SlidingWindow, _TokenBucket
from .messages import MessagesMixin
from .state import (
    CallbackAnswer,
    ChatState,
    Delivery,
    Handler,
    Persona,
    StoredFile,
    StoredMessage,
    Upload,
    UserState,
    find_reply_button,
    image_size,
    iter_buttons,
)
from .updates import UpdatesMixin
from .users import UsersMixin
from .webchat import STATIC_DIR, WebChatMixin

log = logging.getLogger("jamaat.emulator")


class BotApiServer(UsersMixin, MessagesMixin, FilesMixin, UpdatesMixin, WebChatMixin):
    """One bot's Telegram: users, chats, files, the update queue and the HTTP API."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_id: int = 7000000001,
        username: str = "jamaat_bot",
        first_name: str = "Jamaat",
        limits: Limits | None = None,
    ) -> None:
        self.token = token
        self.bot_user = {"id": bot_id, "is_bot": True, "first_name": first_name, "username": username}
        self.limits = limits
        # Seconds each call but getUpdates waits before it is answered: the network between a bot and Telegram
        # (~0.1 s from Central Asia), for measuring how many round trips a bot's answer waits for.
        self.latency = 0.0
        self.stats = Stats()
        self.users: dict[int, UserState] = {}
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, StoredFile] = {}
        self.personas: dict[int, Persona] = {}
        self.links: list[dict[str, str]] = []  # extra links the web chat shows in its header (the demo's dashboard)
        self.command_sets: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self.queue: list[Delivery] = []
        self.webhook: dict[str, Any] | None = None
        self.webhook_error: tuple[int, str] | None = None
        self.unknown_methods: Counter[str] = Counter()
        self.host = "127.0.0.1"
        self.port = 0
        self._update_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._version = 0
        self._open_queries: dict[str, int] = {}
        self._allowed_updates: list[str] | None = None
        self._poller: object | None = None
        self._inflight = 0
        self._injected: list[list[Any]] = []  # [count left, error factory, chat id or None]
        self._held: dict[str, asyncio.Event] = {}  # method (lower case) → calls wait until it is set (users.hold)
        self._global_bucket: _TokenBucket | None = None
        self._chat_limiters: dict[int, _TokenBucket | _SlidingWindow] = {}
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_posts: set[asyncio.Task[None]] = set()
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "setChatMenuButton": self._set_chat_menu_button,
                "getChatMenuButton": self._get_chat_menu_button,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "sendVoice": self._send_voice,
                "sendChatAction": self._send_chat_action,
                "getFile": self._get_file,
                "getChat": self._get_chat,
                "close": self._true,
                "logOut": self._true,
            }.items()
        }

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_get("/", self._handle_page)
        app.router.add_get("/chat", self._handle_page)
        app.router.add_static("/static", STATIC_DIR)
        app.router.add_get("/_emu/personas", self._emu_personas)
        app.router.add_get("/_emu/chats/{chat_id:-?[0-9]+}", self._emu_poll)
        app.router.add_post("/_emu/chats/{user_id:[0-9]+}/message", self._emu_message)
        app.router.add_post("/_emu/chats/{user_id:[0-9]+}/callback", self._emu_callback)
        app.router.add_post("/_emu/chats/{user_id:[0-9]+}/press", self._emu_press)
        app.router.add_post("/_emu/chats/{user_id:[0-9]+}/contact", self._emu_contact)
        app.router.add_post("/_emu/chats/{user_id:[0-9]+}/upload", self._emu_upload)
        app.router.add_get("/_emu/files/{file_id}", self._emu_file)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on ``host:port`` (port 0 picks a free one) in the running loop."""
        self._changed = asyncio.Event()
        self._runner = web.AppRunner(self.make_app(), handler_cancellation=True, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.host, self.port = host, int(self._runner.addresses[0][1])
        self._client = aiohttp.ClientSession()
        log.info("Bot API emulator listening on %s", self.base_url)

    async def stop(self) -> None:
        self._poller = None
        self._stop_webhook_worker()
        for task in list(self._webhook_posts):
            task.cancel()
        await asyncio.gather(*self._webhook_posts, return_exceptions=True)
        self._notify()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _bump(self) -> int:
        self._version += 1
        self._notify()
        return self._version

    async def _wait_change(self, timeout: float) -> None:
        """Return on the next state change, or after ``timeout`` seconds."""
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), max(timeout, 0))
        except TimeoutError:
            pass

    @property
    def polling(self) -> bool:
        """Whether a getUpdates long poll is waiting now."""
        return self._poller is not None

    @property
    def inflight(self) -> int:
        """Bot API requests being served now, long polls aside."""
        return self._inflight + len(self._webhook_posts)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.body_exists:
            return params
        content_type = request.content_type
        self.stats.bodies[request.match_info.get("method", "")][content_type] += 1
        if content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    params[key] = Upload(value.file.read(), value.filename, value.content_type)
                else:
                    params[key] = value
        return params

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            self.stats.record(method, 401)
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        status, body = await self.call(method, await self._read_params(request))
        return web.json_response(body, status=status)

    async def call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run one Bot API method; the HTTP status and Telegram's JSON answer."""
        entry = self._methods.get(method.lower())
        if entry is None:
            log.warning("Bot API emulator: unknown method %s", method)
            self.unknown_methods[method] += 1
            self.stats.record(method, 404)
            return 404, ApiError(404, "Not Found").body()
        name, handler = entry
        counted = name != "getUpdates"
        if counted:
            self._inflight += 1
        try:
            gate = self._held.get(name.lower())
            if gate is not None:
                await gate.wait()
            if self.latency and counted:
                await asyncio.sleep(self.latency)
            result = await handler(params)
        except ApiError as error:
            self.stats.record(name, error.code)
            log.debug("%s -> %s %s", name, error.code, error.description)
            return error.code, error.body()
        finally:
            if counted:
                self._inflight -= 1
                self._notify()
        self.stats.record(name, 200)
        return 200, {"ok": True, "result": result}

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        path = request.match_info["path"]
        stored = next((f for f in self.files.values() if f.file_path == path), None)
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(body=stored.data, content_type=stored.mime_type)

    async def _true(self, params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = _json(params, "commands")
        if not isinstance(commands, list):
            raise bad_request("commands must be an array")
        for command in commands:
            name = str(command.get("command", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.command_sets[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.command_sets.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.command_sets.pop(self._commands_key(params), None)
        return True

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = _json(params, "scope") or {"type": "default"}
        scope_key = str(scope.get("type", "default"))
        for extra in ("chat_id", "user_id"):
            if extra in scope:
                scope_key += f":{scope[extra]}"
        return scope_key, _str(params, "language_code") or ""

    async def _set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        self.menu_buttons[_int(params, "chat_id")] = _json(params, "menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.menu_buttons.get(_int(params, "chat_id"), {"type": "commands"})


# The names this module had before it was split, for ``from bot.emulator.server import ...``.
__all__ = [
    "ApiError", "BotApiServer", "CAPTION_TOO_LONG", "COUNTED_METHODS", "CallbackAnswer", "ChatState", "Delivery",
    "Handler", "Limits", "MAX_CAPTION", "MAX_TEXT", "NOT_MODIFIED", "POLL_CONFLICT", "Persona", "QUERY_TOO_OLD",
    "STATIC_DIR", "Stats", "StoredFile", "StoredMessage", "Upload", "UserState", "WEBHOOK_CONFLICT", "WRONG_FILE",
    "bad_request", "find_reply_button", "image_size", "iter_buttons", "parse_html", "utf16_len",
]
