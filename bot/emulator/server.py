"""A local Telegram Bot API emulator: the state of one bot's world and the aiohttp app serving it."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
import math
import mimetypes
import re
import struct
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

log = logging.getLogger("jamaat.emulator")

STATIC_DIR = Path(__file__).with_name("static")

#: Methods that Telegram's flood control counts (sending or changing a message).
COUNTED_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active;"
    " use deleteWebhook to delete the webhook first"
)
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"

MAX_TEXT = 4096
MAX_CAPTION = 1024
CAPTION_TOO_LONG = "message caption is too long"
_BUTTON_ACTIONS = (
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


# --------------------------------------------------------------------------- limits and stats


@dataclass(frozen=True)
class Limits:
    """Flood limits like Telegram's; ``None`` switches one limit off."""

    global_per_second: float | None = 30.0
    global_burst: int | None = None
    private_per_second: float | None = 1.0
    private_burst: int = 3
    group_per_minute: int | None = 20
    methods: frozenset[str] = COUNTED_METHODS


class _TokenBucket:
    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = time.monotonic()

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class _SlidingWindow:
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.events: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        while self.events and self.events[0] <= now - self.window:
            self.events.popleft()
        return 0.0 if len(self.events) < self.limit else self.events[0] + self.window - now

    def take(self) -> None:
        self.events.append(time.monotonic())


class Stats:
    """Answers per method and outcome: ``ok``, ``429``, ``403``, ``4xx`` (other client errors)."""

    def __init__(self) -> None:
        self.by_method: dict[str, Counter[str]] = defaultdict(Counter)

    def record(self, method: str, status: int) -> None:
        if 200 <= status < 300:
            outcome = "ok"
        elif status in (403, 429):
            outcome = str(status)
        elif 400 <= status < 500:
            outcome = "4xx"
        else:
            outcome = "5xx"
        self.by_method[method][outcome] += 1

    def count(self, outcome: str, method: str | None = None) -> int:
        if method is not None:
            return self.by_method.get(method, Counter())[outcome]
        return sum(counter[outcome] for counter in self.by_method.values())

    @property
    def ok(self) -> int:
        return self.count("ok")

    @property
    def rate_limited(self) -> int:
        return self.count("429")

    @property
    def forbidden(self) -> int:
        return self.count("403")

    @property
    def client_errors(self) -> int:
        return self.count("4xx")

    def reset(self) -> None:
        self.by_method.clear()

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {method: dict(counter) for method, counter in self.by_method.items()}

    def __repr__(self) -> str:
        return f"Stats({self.as_dict()!r})"


# --------------------------------------------------------------------------- HTML entities

_ALLOWED_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_ATTR_RE = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_CHAR_REF_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of an HTML-formatted message, with Telegram's parse errors."""
    out: list[str] = []
    length = 0
    stack: list[tuple[str, int, dict[str, Any]]] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "<":
            match = _TAG_RE.match(source, i)
            if match is None:
                where = _byte_offset(source, i)
                if ">" not in source[i:]:
                    raise bad_request(f"can't parse entities: Unclosed start tag at byte offset {where}")
                raise bad_request(f'can\'t parse entities: Unsupported start tag "" at byte offset {where}')
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if closing:
                if not stack or stack[-1][0] != name:
                    where = _byte_offset(source, i)
                    raise bad_request(f"can't parse entities: Unexpected end tag at byte offset {where}")
                _, start, entity = stack.pop()
                if entity and length > start:
                    entities.append({**entity, "offset": start, "length": length - start})
            else:
                stack.append((name, length, _open_tag(source, i, name, attrs, stack)))
            i = match.end()
        elif char == "&":
            ref = _CHAR_REF_RE.match(source, i)
            if ref is None:
                where = _byte_offset(source, i)
                raise bad_request(
                    f"can't parse entities: Can't find end of the entity starting at byte offset {where}"
                )
            name = ref.group(1)
            decoded = _NAMED_REFS.get(name) or chr(
                int(name[2:], 16) if name[1:2] in "xX" else int(name[1:])
            )
            out.append(decoded)
            length += utf16_len(decoded)
            i = ref.end()
        else:
            out.append(char)
            length += utf16_len(char)
            i += 1
    if stack:
        raise bad_request(
            f'can\'t parse entities: Can\'t find end tag corresponding to start tag "{stack[-1][0]}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _open_tag(
    source: str, index: int, name: str, attrs: str, stack: list[tuple[str, int, dict[str, Any]]]
) -> dict[str, Any]:
    """The entity a start tag opens ({} when it opens none)."""
    if name not in _ALLOWED_TAGS:
        where = _byte_offset(source, index)
        raise bad_request(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {where}')
    values = {
        m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _ATTR_RE.finditer(attrs)
    }
    kind = _ALLOWED_TAGS[name]
    if name == "span" and values.get("class") != "tg-spoiler":
        raise bad_request('can\'t parse entities: Tag "span" must have class "tg-spoiler"')
    if name == "a":
        return {"type": "text_link", "url": values["href"]} if "href" in values else {}
    if name == "tg-emoji":
        return {"type": kind, "custom_emoji_id": values.get("emoji-id", "")}
    if name == "blockquote" and "expandable" in attrs:
        return {"type": "expandable_blockquote"}
    if name == "code" and stack and stack[-1][0] == "pre":
        language = values.get("class", "")
        if language.startswith("language-"):
            stack[-1][2]["language"] = language.removeprefix("language-")
            return {}
    return {"type": kind}


# --------------------------------------------------------------------------- files


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


# --------------------------------------------------------------------------- chats and messages


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


# --------------------------------------------------------------------------- parameters


def _param(params: dict[str, Any], name: str, default: Any = None) -> Any:
    value = params.get(name)
    return default if value is None or value == "" else value


def _int(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = _param(params, name)
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


def _bool(params: dict[str, Any], name: str) -> bool:
    value = _param(params, name, False)
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def _json(params: dict[str, Any], name: str) -> Any:
    value = _param(params, name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise bad_request(f"can't parse {name} JSON object") from None
    return value


def _str(params: dict[str, Any], name: str) -> str | None:
    value = _param(params, name)
    return None if value is None else str(value)


# --------------------------------------------------------------------------- the server


class BotApiServer:
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

    # ----------------------------------------------------------------- lifecycle

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

    # ----------------------------------------------------------------- change notification

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

    # ----------------------------------------------------------------- users, chats, control

    def ensure_user(self, user_id: int, first_name: str | None = None, **fields: Any) -> UserState:
        user = self.users.get(user_id)
        if user is None:
            persona = self.personas.get(user_id)
            name = first_name or (persona.name if persona else f"User {user_id}")
            user = UserState(id=user_id, first_name=name)
            self.users[user_id] = user
        if first_name is not None:
            user.first_name = first_name
        for key, value in fields.items():
            setattr(user, key, value)
        names = {k: v for k, v in user.as_user().items() if k in ("first_name", "last_name", "username")}
        chat = {"id": user_id, "type": "private", **names}
        if user_id in self.chats:
            self.chats[user_id].chat = chat
        else:
            self.chats[user_id] = ChatState(chat=chat)
        return user

    def ensure_group(self, chat_id: int, title: str, kind: str = "group") -> ChatState:
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = {"id": chat_id, "type": kind, "title": title}
        if chat_id in self.chats:
            self.chats[chat_id].chat = chat
        else:
            self.chats[chat_id] = ChatState(chat=chat)
        return self.chats[chat_id]

    def add_persona(self, user_id: int, name: str, role: str = "", **fields: Any) -> UserState:
        """A user the web chat page offers to play."""
        self.personas[user_id] = Persona(user_id=user_id, name=name, role=role)
        return self.ensure_user(user_id, first_name=name, **fields)

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends to them answer 403."""
        self.ensure_user(user_id).blocked = True

    def unblock(self, user_id: int) -> None:
        self.ensure_user(user_id).blocked = False

    def inject_429(self, n: int, retry_after: int = 1, chat_id: int | None = None) -> None:
        """The next ``n`` counted sends (to ``chat_id`` only, if given) answer 429."""
        self._injected.append([n, lambda: _too_many(retry_after), chat_id])

    def inject_error(self, n: int, code: int = 502, description: str = "Bad Gateway",
                     chat_id: int | None = None) -> None:
        """The next ``n`` counted sends (to ``chat_id`` only, if given) fail with this error (a 5xx by default)."""
        self._injected.append([n, lambda: ApiError(code, description), chat_id])

    def webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": sum(1 for d in self.queue if not d.done.is_set()),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        if self.webhook_error:
            info["last_error_date"], info["last_error_message"] = self.webhook_error
        return info

    # ----------------------------------------------------------------- updates from users

    def enqueue(self, kind: str, payload: dict[str, Any]) -> Delivery:
        """Queue a new update ``{"update_id": ..., kind: payload}`` for the bot."""
        delivery = Delivery(update={"update_id": next(self._update_ids), kind: payload})
        self.queue.append(delivery)
        self._notify()
        return delivery

    def enqueue_again(self, update: dict[str, Any]) -> Delivery:
        """Deliver an already sent update again, with the same update_id."""
        delivery = Delivery(update=copy.deepcopy(update), duplicate=True)
        self.queue.append(delivery)
        self._notify()
        return delivery

    def _user_message(self, user_id: int, chat_id: int | None, content: dict[str, Any]) -> Delivery:
        user = self.ensure_user(user_id)
        chat = self.chats.get(user_id if chat_id is None else chat_id)
        if chat is None:
            raise ValueError(f"unknown chat {chat_id}")
        raw = {"date": int(time.time()), "chat": dict(chat.chat), "from": user.as_user(), **content}
        stored = self._store(chat, raw, outgoing=False)
        return self.enqueue("message", copy.deepcopy(stored.raw))

    def user_text(
        self, user_id: int, text: str, chat_id: int | None = None, reply_to: int | None = None
    ) -> Delivery:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [{"offset": 0, "length": utf16_len(command), "type": "bot_command"}]
        if reply_to is not None:
            target = self.chats[user_id if chat_id is None else chat_id].by_id.get(reply_to)
            if target is not None:
                content["reply_to_message"] = _without_reply(target.raw)
        return self._user_message(user_id, chat_id, content)

    def user_contact(
        self,
        user_id: int,
        phone: str | None = None,
        contact_user_id: int | None = None,
        first_name: str | None = None,
        chat_id: int | None = None,
    ) -> Delivery:
        user = self.ensure_user(user_id)
        contact: dict[str, Any] = {
            "phone_number": phone if phone is not None else (user.phone or f"+996700{user_id % 1000000:06d}"),
            "first_name": first_name or user.first_name,
        }
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        if contact_user_id == user_id and user.last_name and first_name is None:
            contact["last_name"] = user.last_name
        return self._user_message(user_id, chat_id, {"contact": contact})

    def user_file(
        self,
        user_id: int,
        data: bytes,
        filename: str,
        *,
        as_photo: bool,
        caption: str | None = None,
        mime_type: str | None = None,
        chat_id: int | None = None,
    ) -> Delivery:
        content: dict[str, Any]
        if as_photo:
            content = {"photo": self._photo_sizes(data, filename)}
        else:
            stored = self._store_file(data, filename, "documents", mime_type)
            content = {"document": _document(stored)}
        if caption:
            content["caption"] = caption
        return self._user_message(user_id, chat_id, content)

    def user_sticker(self, user_id: int, emoji: str = "👍", chat_id: int | None = None) -> Delivery:
        stored = self._store_file(b"RIFF\x00\x00\x00\x00WEBP", "sticker.webp", "stickers", "image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.data),
        }
        return self._user_message(user_id, chat_id, {"sticker": sticker})

    def user_voice(self, user_id: int, duration: int = 2, chat_id: int | None = None) -> Delivery:
        stored = self._store_file(b"OggS\x00\x02", "voice.ogg", "voice", "audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(stored.data),
        }
        return self._user_message(user_id, chat_id, {"voice": voice})

    def user_location(
        self, user_id: int, latitude: float, longitude: float, chat_id: int | None = None
    ) -> Delivery:
        location = {"latitude": latitude, "longitude": longitude}
        return self._user_message(user_id, chat_id, {"location": location})

    def user_service_message(self, user_id: int, chat_id: int, **content: Any) -> Delivery:
        """A service message in a group: ``new_chat_members=[...]``, ``pinned_message={...}``,
        ``migrate_to_chat_id=...``, ``left_chat_member={...}``, ``new_chat_title=...``."""
        return self._user_message(user_id, chat_id, content)

    def bot_membership(self, chat_id: int, by_user_id: int, status: str = "member",
                       old_status: str = "left") -> Delivery:
        """A my_chat_member update: someone added the bot to a group (or removed it, ``status="left"``)."""
        user = self.ensure_user(by_user_id)
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ValueError(f"unknown chat {chat_id}")
        return self.enqueue("my_chat_member", {
            "chat": dict(chat.chat),
            "from": user.as_user(),
            "date": int(time.time()),
            "old_chat_member": self._bot_member(old_status),
            "new_chat_member": self._bot_member(status),
        })

    def _bot_member(self, status: str) -> dict[str, Any]:
        """A ChatMember of the bot with the fields Telegram sends for this status."""
        member: dict[str, Any] = {"status": status, "user": dict(self.bot_user)}
        if status == "administrator":
            rights = ("can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
                      "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
                      "can_edit_stories", "can_delete_stories", "can_send_welcome_messages")
            member.update({"can_be_edited": False, "is_anonymous": False, **dict.fromkeys(rights, False)})
            member["can_delete_messages"] = True
        elif status == "kicked":
            member["until_date"] = 0
        elif status not in ("member", "left"):
            raise ValueError(f"status {status!r}: use member, administrator, left or kicked")
        return member

    def user_callback(
        self, user_id: int, message: StoredMessage, data: str, chat_id: int | None = None
    ) -> Delivery:
        user = self.ensure_user(user_id)
        query_id = str(4_000_000_000_000_000 + next(self._query_ids))
        self._open_queries[query_id] = user_id
        chat = self.chats[user_id if chat_id is None else chat_id]
        query = {
            "id": query_id,
            "from": user.as_user(),
            "message": copy.deepcopy(message.raw),
            "chat_instance": str(abs(hash((chat.id, self.bot_user["id"]))) % 10**18),
            "data": data,
        }
        return self.enqueue("callback_query", query)

    def press_reply_button(self, user_id: int, text: str, chat_id: int | None = None) -> Delivery:
        """Press a button of the chat's reply keyboard (a contact button shares the own contact)."""
        chat = self.chats[user_id if chat_id is None else chat_id]
        button = find_reply_button(chat.reply_keyboard, text)
        if button is None:
            return self.user_text(user_id, text, chat_id)
        if chat.reply_keyboard and chat.reply_keyboard.get("one_time_keyboard"):
            chat.reply_keyboard = None
            self._bump()
        if button.get("request_contact"):
            return self.user_contact(user_id, contact_user_id=user_id, chat_id=chat_id)
        return self.user_text(user_id, button["text"], chat_id)

    # ----------------------------------------------------------------- storage helpers

    def _store(self, chat: ChatState, raw: dict[str, Any], *, outgoing: bool, **extra: Any) -> StoredMessage:
        raw = {"message_id": chat.next_message_id, **raw}
        chat.next_message_id += 1
        stored = StoredMessage(raw=raw, outgoing=outgoing, version=self._bump(), **extra)
        stored.touched = stored.version
        chat.messages.append(stored)
        chat.by_id[stored.message_id] = stored
        return stored

    def add_file(self, data: bytes, filename: str, kind: str = "photos", mime_type: str | None = None) -> str:
        """A file already on the Bot API server, as if somebody had sent it earlier; returns its file_id."""
        return self._store_file(data, filename, kind, mime_type).file_id

    def _store_file(self, data: bytes, filename: str, kind: str, mime_type: str | None = None) -> StoredFile:
        number = next(self._file_ids)
        stored = StoredFile(
            file_id=f"EMU{kind[:3].upper()}{number:06d}{'x' * 20}",
            file_unique_id=f"U{number:06d}",
            data=data,
            filename=filename,
            mime_type=mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream",
            kind=kind,
        )
        self.files[stored.file_id] = stored
        return stored

    def _photo_sizes(self, data: bytes, filename: str) -> list[dict[str, Any]]:
        width, height = image_size(data) or (800, 600)
        sizes: list[dict[str, Any]] = []
        scale = min(1.0, 90 / max(width, height))
        if scale < 1.0:
            thumb = (round(width * scale) or 1, round(height * scale) or 1)
            sizes.append(self._photo_size(data, filename, *thumb))
        sizes.append(self._photo_size(data, filename, width, height))
        return sizes

    def _photo_size(self, data: bytes, filename: str, width: int, height: int) -> dict[str, Any]:
        stored = self._store_file(data, filename, "photos")
        stored.width, stored.height = width, height
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
            "file_size": len(data),
        }

    # ----------------------------------------------------------------- HTTP plumbing

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.body_exists:
            return params
        content_type = request.content_type
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

    # ----------------------------------------------------------------- common checks

    def _chat(self, params: dict[str, Any]) -> ChatState:
        value = _param(params, "chat_id")
        if value is None:
            raise bad_request("chat_id is empty")
        try:
            chat = self.chats.get(int(value))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise bad_request("chat not found")
        user = self.users.get(chat.id)
        if user is not None and user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _flood_control(self, method: str, chat: ChatState) -> None:
        for injection in self._injected:
            count, error, chat_id = injection
            if count > 0 and (chat_id is None or chat_id == chat.id):
                injection[0] -= 1
                self._injected = [i for i in self._injected if i[0] > 0]
                raise error()
        limits = self.limits
        if limits is None or method not in limits.methods:
            return
        limiters: list[_TokenBucket | _SlidingWindow] = []
        if limits.global_per_second:
            if self._global_bucket is None:
                burst = limits.global_burst or limits.global_per_second
                self._global_bucket = _TokenBucket(limits.global_per_second, burst)
            limiters.append(self._global_bucket)
        chat_limiter = self._chat_limiters.get(chat.id)
        if chat_limiter is None:
            if chat.id > 0 and limits.private_per_second:
                chat_limiter = _TokenBucket(limits.private_per_second, limits.private_burst)
            elif chat.id < 0 and limits.group_per_minute:
                chat_limiter = _SlidingWindow(limits.group_per_minute, 60.0)
            if chat_limiter is not None:
                self._chat_limiters[chat.id] = chat_limiter
        if chat_limiter is not None:
            limiters.append(chat_limiter)
        now = time.monotonic()
        wait = max((limiter.wait_time(now) for limiter in limiters), default=0.0)
        if wait > 0:
            raise _too_many(max(1, math.ceil(wait)))
        for limiter in limiters:
            limiter.take()

    def _reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = _json(params, "reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
            for row in rows:
                for button in row:
                    _check_inline_button(button)
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise bad_request("field \"keyboard\" of the ReplyKeyboardMarkup must be an Array of Arrays")
        elif not markup.get("remove_keyboard") and not markup.get("force_reply"):
            raise bad_request("can't parse reply keyboard markup JSON object")
        return markup

    def _formatted(
        self, params: dict[str, Any], key: str, limit: int, too_long: str
    ) -> tuple[str, list[dict[str, Any]] | None, str | None]:
        """Text (or caption) after parse_mode, its entities and the parse_mode."""
        text = _str(params, key) or ""
        parse_mode = _str(params, "parse_mode")
        entities = _json(params, f"{key}_entities" if key == "caption" else "entities")
        if parse_mode and parse_mode.upper() == "HTML":
            text, entities = parse_html(text)
        elif parse_mode and parse_mode.lower() not in ("markdown", "markdownv2"):
            raise bad_request(f"unsupported parse_mode {parse_mode}")
        if utf16_len(text) > limit:
            raise bad_request(too_long)
        return text, entities or None, parse_mode

    def _message_content(self, params: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        text, entities, parse_mode = self._formatted(params, "text", MAX_TEXT, "message is too long")
        if not text.strip():
            raise bad_request("message text is empty")
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return content, parse_mode

    def _send(
        self,
        method: str,
        chat: ChatState,
        params: dict[str, Any],
        content: dict[str, Any],
        parse_mode: str | None,
        markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        reply = _json(params, "reply_parameters") or {}
        reply_to = _int(params, "reply_to_message_id") or reply.get("message_id")
        raw: dict[str, Any] = {"from": dict(self.bot_user), "chat": dict(chat.chat), "date": int(time.time())}
        if reply_to is not None:
            target = chat.by_id.get(int(reply_to))
            if target is None or target.deleted:
                allowed = reply.get("allow_sending_without_reply") or _bool(params, "allow_sending_without_reply")
                if not allowed:
                    raise bad_request("message to be replied not found")
            else:
                raw["reply_to_message"] = _without_reply(target.raw)
        self._flood_control(method, chat)
        raw.update(content)
        if (preview := _json(params, "link_preview_options")) is not None:
            raw["link_preview_options"] = preview
        if _bool(params, "protect_content"):
            raw["has_protected_content"] = True
        keyboard = None
        if markup is not None and "inline_keyboard" in markup:
            raw["reply_markup"] = markup
        elif markup is not None:
            keyboard = markup
            if "keyboard" in markup:
                chat.reply_keyboard = markup
            elif markup.get("remove_keyboard"):
                chat.reply_keyboard = None
        chat.action = None
        stored = self._store(chat, raw, outgoing=True, keyboard=keyboard, parse_mode=parse_mode)
        return copy.deepcopy(stored.raw)

    def _bot_message(self, params: dict[str, Any]) -> StoredMessage:
        if _param(params, "inline_message_id") is not None:
            raise bad_request("message to edit not found")
        chat = self._chat(params)
        message = chat.by_id.get(_int(params, "message_id") or 0)
        if message is None or message.deleted or not message.outgoing:
            raise bad_request("message to edit not found")
        return message

    def _apply_edit(
        self,
        method: str,
        message: StoredMessage,
        content: dict[str, Any],
        markup: dict[str, Any] | None,
        parse_mode: str | None,
        replaces: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Edit a bot message in place; ``replaces`` are keys the new content takes over."""
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        before = copy.deepcopy(message.raw)
        after = {k: v for k, v in copy.deepcopy(message.raw).items() if k not in (*replaces, "reply_markup")}
        after.update(content)
        if markup is not None:
            after["reply_markup"] = markup
        comparable = {k: v for k, v in after.items() if k != "edit_date"}
        if comparable == {k: v for k, v in before.items() if k != "edit_date"}:
            raise ApiError(400, NOT_MODIFIED)
        self._flood_control(method, self.chats[int(message.raw["chat"]["id"])])
        after["edit_date"] = int(time.time())
        message.edits.append(before)
        message.raw.clear()
        message.raw.update(after)
        if replaces:
            message.parse_mode = parse_mode
        message.version = message.touched = self._bump()
        return copy.deepcopy(message.raw)

    # ----------------------------------------------------------------- Bot API methods

    async def _true(self, params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = _int(params, "offset")
        limit = max(1, min(100, _int(params, "limit", 100) or 100))
        timeout = max(0, _int(params, "timeout", 0) or 0)
        allowed = _json(params, "allowed_updates")
        if allowed is not None:
            self._allowed_updates = list(allowed)
        owner = object()
        self._poller = owner
        self._notify()
        self._confirm(offset)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self._poller is not owner:
                    raise ApiError(409, POLL_CONFLICT)
                batch = self._ready(limit)
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0:
                    return batch
                await self._wait_change(remaining)
        finally:
            if self._poller is owner:
                self._poller = None

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        pending = [d for d in self.queue if not d.done.is_set()]
        if offset < 0:
            newest = sorted({d.update_id for d in pending})[offset:]
            offset = newest[0] if newest else offset
        for delivery in pending:
            if delivery.update_id < offset and (delivery.delivered or not delivery.duplicate):
                self._finish(delivery)

    def _ready(self, limit: int) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        allowed = self._allowed_updates
        for delivery in self.queue:
            if delivery.done.is_set() or len(batch) >= limit:
                continue
            if allowed and delivery.kind not in allowed:
                self._finish(delivery)
                continue
            delivery.delivered = True
            batch.append(copy.deepcopy(delivery.update))
        return batch

    def _finish(self, delivery: Delivery) -> None:
        delivery.done.set()
        self.queue = [d for d in self.queue if d is not delivery]
        self._notify()

    def _drop_pending(self) -> None:
        for delivery in list(self.queue):
            self._finish(delivery)

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = _str(params, "url")
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if _bool(params, "drop_pending_updates"):
            self._drop_pending()
        self.webhook = {
            "url": url,
            "secret_token": _str(params, "secret_token"),
            "max_connections": _int(params, "max_connections", 40) or 40,
            "allowed_updates": _json(params, "allowed_updates"),
        }
        self.webhook_error = None
        self._poller = None
        self._notify()
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._webhook_worker())
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        self.webhook_error = None
        self._stop_webhook_worker()
        for delivery in self.queue:
            delivery.retry_at = 0.0
        if _bool(params, "drop_pending_updates"):
            self._drop_pending()
        return True

    def _stop_webhook_worker(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.webhook_info()

    async def _webhook_worker(self) -> None:
        while self.webhook is not None:
            hook = self.webhook
            allowed = hook.get("allowed_updates")
            now = time.monotonic()
            next_retry = 1.0
            for delivery in list(self.queue):
                if delivery.done.is_set() or delivery.in_flight:
                    continue
                if allowed and delivery.kind not in allowed:
                    self._finish(delivery)
                elif len(self._webhook_posts) >= hook["max_connections"]:
                    break
                elif delivery.retry_at <= now:
                    delivery.in_flight = True
                    task = asyncio.create_task(self._post_update(hook, delivery))
                    self._webhook_posts.add(task)
                    task.add_done_callback(self._post_done)
                else:
                    next_retry = min(next_retry, delivery.retry_at - now)
            await self._wait_change(next_retry)

    def _post_done(self, task: asyncio.Task[None]) -> None:
        self._webhook_posts.discard(task)
        self._notify()

    async def _post_update(self, hook: dict[str, Any], delivery: Delivery) -> None:
        headers = {}
        if hook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        assert self._client is not None
        try:
            async with self._client.post(hook["url"], json=delivery.update, headers=headers) as response:
                if response.status >= 300:
                    status = f"{response.status} {response.reason}"
                    raise _WebhookFailure(f"Wrong response from the webhook: {status}")
                reply = await _webhook_reply(response)
            if reply is not None:
                method, params = reply
                status, body = await self.call(method, params)
                if status != 200:
                    log.warning("Webhook reply %s failed: %s", method, body.get("description"))
            delivery.in_flight = False
            self._finish(delivery)
        except (aiohttp.ClientError, _WebhookFailure, TimeoutError) as error:
            message = str(error) if isinstance(error, _WebhookFailure) else f"Connection failed: {error}"
            log.warning("Webhook delivery of update %s failed: %s", delivery.update_id, message)
            delivery.error = message
            delivery.retry_at = time.monotonic() + 1.0
            delivery.in_flight = False
            self.webhook_error = (int(time.time()), message)
            self._notify()

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

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        content, parse_mode = self._message_content(params)
        return self._send("sendMessage", chat, params, content, parse_mode, self._reply_markup(params))

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._bot_message(params)
        if "text" not in message.raw:
            raise bad_request("there is no text in the message to edit")
        content, parse_mode = self._message_content(params)
        markup = self._reply_markup(params)
        return self._apply_edit("editMessageText", message, content, markup, parse_mode, ("text", "entities"))

    async def _edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._bot_message(params)
        if "text" in message.raw:
            raise bad_request("there is no caption in the message to edit")
        caption, entities, parse_mode = self._formatted(params, "caption", MAX_CAPTION, CAPTION_TOO_LONG)
        content: dict[str, Any] = {"caption": caption} if caption else {}
        if entities:
            content["caption_entities"] = entities
        markup = self._reply_markup(params)
        replaces = ("caption", "caption_entities")
        return self._apply_edit("editMessageCaption", message, content, markup, parse_mode, replaces)

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._bot_message(params)
        return self._apply_edit("editMessageReplyMarkup", message, {}, self._reply_markup(params), None)

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params)
        message = chat.by_id.get(_int(params, "message_id") or 0)
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        message.version = self._bump()
        return True

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = _str(params, "callback_query_id") or ""
        user_id = self._open_queries.pop(query_id, None)
        if user_id is None:
            raise ApiError(400, QUERY_TOO_OLD)
        self.callback_answers.append(
            CallbackAnswer(
                user_id=user_id,
                query_id=query_id,
                text=_str(params, "text"),
                show_alert=_bool(params, "show_alert"),
                url=_str(params, "url"),
                version=self._bump(),
            )
        )
        return True

    def _input_file(self, params: dict[str, Any], key: str) -> Upload | StoredFile:
        value = _param(params, key)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            return value
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if value is None:
            raise bad_request(f"there is no {key} in the request")
        raise ApiError(400, WRONG_FILE)

    async def _send_media(self, params: dict[str, Any], key: str, method: str) -> dict[str, Any]:
        chat = self._chat(params)
        source = self._input_file(params, key)
        caption, entities, parse_mode = self._formatted(params, "caption", MAX_CAPTION, CAPTION_TOO_LONG)
        markup = self._reply_markup(params)
        content: dict[str, Any] = {}
        if key == "photo":
            if isinstance(source, StoredFile) and source.kind == "photos":
                same = [f for f in self.files.values() if f.data is source.data and f.kind == "photos"]
                content["photo"] = [_photo_entry(f) for f in same]
            else:
                content["photo"] = self._photo_sizes(source.data, source.filename)
        elif key == "voice":
            stored = source if isinstance(source, StoredFile) else self._store_file(
                source.data, source.filename, "voice", "audio/ogg")
            content["voice"] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                                "duration": max(1, len(stored.data) // 2000), "mime_type": "audio/ogg",
                                "file_size": len(stored.data)}
        elif isinstance(source, StoredFile):
            content["document"] = _document(source)
        else:
            mime = None if source.content_type in (None, "application/octet-stream") else source.content_type
            content["document"] = _document(self._store_file(source.data, source.filename, "documents", mime))
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        return self._send(method, chat, params, content, parse_mode, markup)

    async def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media(params, "photo", "sendPhoto")

    async def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media(params, "document", "sendDocument")

    async def _send_voice(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media(params, "voice", "sendVoice")

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params)
        chat.action = _str(params, "action")
        self._bump()
        return True

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(_str(params, "file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        return {
            **chat.chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    # ----------------------------------------------------------------- web chat endpoints

    async def _handle_page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "chat.html")

    async def _emu_personas(self, request: web.Request) -> web.Response:
        personas = [
            {"user_id": p.user_id, "name": p.name, "role": p.role} for p in self.personas.values()
        ]
        return web.json_response({"bot": self.bot_user, "personas": personas, "links": self.links})

    def chat_view(self, chat_id: int, since: int = 0) -> dict[str, Any]:
        """What the web page needs to redraw a chat: changes after version ``since``."""
        chat = self.chats.get(chat_id)
        messages = [] if chat is None else [m for m in chat.messages if m.version > since]
        answers = [a for a in self.callback_answers if a.user_id == chat_id and a.version > since]
        return {
            "version": self._version,
            "messages": [
                {
                    "message_id": m.message_id,
                    "outgoing": m.outgoing,
                    "deleted": m.deleted,
                    "edited": bool(m.edits),
                    "raw": m.raw,
                }
                for m in messages
            ],
            "answers": [{"text": a.text, "show_alert": a.show_alert} for a in answers],
            "reply_keyboard": chat.reply_keyboard if chat else None,
            "action": chat.action if chat else None,
        }

    async def _emu_poll(self, request: web.Request) -> web.Response:
        chat_id = int(request.match_info["chat_id"])
        since = int(request.query.get("since", "0"))
        deadline = time.monotonic() + min(float(request.query.get("wait", "0")), 30.0)
        while self._version <= since and time.monotonic() < deadline:
            await self._wait_change(deadline - time.monotonic())
        return web.json_response(self.chat_view(chat_id, since))

    async def _emu_json(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        user_id = int(request.match_info["user_id"])
        self.ensure_user(user_id)
        body = await request.json() if request.body_exists else {}
        return user_id, body if isinstance(body, dict) else {}

    async def _emu_message(self, request: web.Request) -> web.Response:
        user_id, body = await self._emu_json(request)
        text = str(body.get("text", "")).strip()
        if not text:
            raise web.HTTPBadRequest(text="text is empty")
        return _queued(self.user_text(user_id, text))

    async def _emu_callback(self, request: web.Request) -> web.Response:
        user_id, body = await self._emu_json(request)
        message = self.chats[user_id].by_id.get(int(body.get("message_id", 0)))
        if message is None or message.deleted:
            raise web.HTTPNotFound(text="no such message")
        return _queued(self.user_callback(user_id, message, str(body.get("data", ""))))

    async def _emu_press(self, request: web.Request) -> web.Response:
        user_id, body = await self._emu_json(request)
        return _queued(self.press_reply_button(user_id, str(body.get("text", ""))))

    async def _emu_contact(self, request: web.Request) -> web.Response:
        user_id, _ = await self._emu_json(request)
        return _queued(self.user_contact(user_id, contact_user_id=user_id))

    async def _emu_upload(self, request: web.Request) -> web.Response:
        user_id = int(request.match_info["user_id"])
        self.ensure_user(user_id)
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise web.HTTPBadRequest(text="no file")
        data = upload.file.read()
        caption = str(form.get("caption") or "") or None
        as_photo = image_size(data) is not None
        delivery = self.user_file(
            user_id, data, upload.filename, as_photo=as_photo, caption=caption, mime_type=upload.content_type
        )
        return _queued(delivery)

    async def _emu_file(self, request: web.Request) -> web.Response:
        stored = self.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        disposition = "inline" if stored.mime_type.startswith("image/") else "attachment"
        headers = {"Content-Disposition": f'{disposition}; filename="{stored.filename}"'}
        return web.Response(body=stored.data, content_type=stored.mime_type, headers=headers)


class _WebhookFailure(Exception):
    pass


async def _webhook_reply(response: aiohttp.ClientResponse) -> tuple[str, dict[str, Any]] | None:
    """A Bot API call the webhook answered with (JSON or multipart, as aiogram sends it)."""
    if response.content_type == "application/json":
        body = await response.json()
        if isinstance(body, dict) and body.get("method"):
            params = {k: v for k, v in body.items() if k != "method"}
            return str(body["method"]), params
        return None
    if response.content_type != "multipart/form-data":
        return None
    params: dict[str, Any] = {}
    reader = aiohttp.MultipartReader.from_response(response)
    while (part := await reader.next()) is not None:
        assert isinstance(part, aiohttp.BodyPartReader)
        if part.filename:
            params[part.name or ""] = Upload(bytes(await part.read()), part.filename)
        else:
            params[part.name or ""] = await part.text()
    method = params.pop("method", None)
    return (str(method), params) if method else None


def _too_many(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("text"):
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    if "callback_data" in button:
        data = str(button["callback_data"]).encode()
        if not 1 <= len(data) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    elif not any(key in button for key in _BUTTON_ACTIONS):
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")


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
    return {k: copy.deepcopy(v) for k, v in raw.items() if k != "reply_to_message"}


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


def _queued(delivery: Delivery) -> web.Response:
    return web.json_response({"ok": True, "update_id": delivery.update_id})


def iter_buttons(markup: dict[str, Any] | None) -> Iterable[dict[str, Any]]:
    """Every button of an inline keyboard, row by row."""
    for row in (markup or {}).get("inline_keyboard", []):
        yield from row
