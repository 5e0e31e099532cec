"""Sending and changing messages: the checks every send makes (chat, flood control, keyboards, parse mode),
sendMessage, the edits, deleteMessage, answerCallbackQuery, sendChatAction and getChat."""

from __future__ import annotations

import math
import time
from typing import Any

from .api import (
    CAPTION_TOO_LONG,
    MAX_CAPTION,
    MAX_TEXT,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiError,
    _bool,
    _int,
    _json,
    _param,
    _str,
    _too_many,
    bad_request,
    clone,
)
from .entities import parse_html, utf16_len
from .limits import _SlidingWindow, _TokenBucket
from .state import CallbackAnswer, ChatState, StoredMessage, _without_reply

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


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("text"):
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    if "callback_data" in button:
        data = str(button["callback_data"]).encode()
        if not 1 <= len(data) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    elif not any(key in button for key in _BUTTON_ACTIONS):
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")


class MessagesMixin:
    """Part of ``BotApiServer`` (its state is set up there)."""

    def _store(self, chat: ChatState, raw: dict[str, Any], *, outgoing: bool, **extra: Any) -> StoredMessage:
        raw = {"message_id": chat.next_message_id, **raw}
        chat.next_message_id += 1
        stored = StoredMessage(raw=raw, outgoing=outgoing, version=self._bump(), **extra)
        stored.touched = stored.version
        chat.messages.append(stored)
        chat.by_id[stored.message_id] = stored
        return stored

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
        return clone(stored.raw)

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
        before = clone(message.raw)
        after = {k: v for k, v in clone(message.raw).items() if k not in (*replaces, "reply_markup")}
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
        return clone(message.raw)

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

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params)
        chat.action = _str(params, "action")
        self._bump()
        return True

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
