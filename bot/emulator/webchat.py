"""The web chat page: its static files and the ``/_emu/`` endpoints a person in a browser uses to talk to
the bot."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aiohttp import web

from .state import Delivery, image_size

STATIC_DIR = Path(__file__).with_name("static")


def _queued(delivery: Delivery) -> web.Response:
    return web.json_response({"ok": True, "update_id": delivery.update_id})


class WebChatMixin:
    """Part of ``BotApiServer`` (its state is set up there)."""

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
