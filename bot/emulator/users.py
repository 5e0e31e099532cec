"""What users do: the emulator's users, groups and personas, blocking, injected failures, and the updates
they cause (messages, contacts, files, stickers, voice, locations, button presses, the bot's membership)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .api import ApiError, _too_many, clone
from .entities import utf16_len
from .state import ChatState, Delivery, Persona, StoredMessage, UserState, _document, _without_reply, find_reply_button


class UsersMixin:
    """Part of ``BotApiServer`` (its state is set up there)."""

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

    def hold(self, method: str) -> asyncio.Event:
        """Calls of ``method`` wait, as on a slow network, until the event returned is set."""
        gate = self._held[method.lower()] = asyncio.Event()
        return gate

    def enqueue(self, kind: str, payload: dict[str, Any]) -> Delivery:
        """Queue a new update ``{"update_id": ..., kind: payload}`` for the bot."""
        delivery = Delivery(update={"update_id": next(self._update_ids), kind: payload})
        self.queue.append(delivery)
        self._notify()
        return delivery

    def enqueue_again(self, update: dict[str, Any]) -> Delivery:
        """Deliver an already sent update again, with the same update_id."""
        delivery = Delivery(update=clone(update), duplicate=True)
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
        return self.enqueue("message", clone(stored.raw))

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
            "message": clone(message.raw),
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
