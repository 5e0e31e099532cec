"""The demo's WhatsApp-looking web chat (``/whatsapp`` on the WhatsApp emulator): talk to the bot as a villager
on WhatsApp, with reply buttons, lists, numbered menus and templates as WhatsApp shows them."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from .whatsapp import WaMessage, WaPhone, WhatsAppEmulator

log = logging.getLogger("jamaat.emulator.whatsapp")
PAGE = Path(__file__).with_name("static") / "whatsapp.html"


def message_view(phone: WaPhone, index: int, message: WaMessage) -> dict[str, Any]:
    view: dict[str, Any] = {"index": index, "outgoing": message.outgoing, "type": message.type, "text": message.text,
                            "buttons": message.buttons, "rows": [{"title": r["title"],
                                                                  "description": r.get("description")}
                                                                 for r in message.rows],
                            "list_button": None, "status": message.status}
    if message.type == "interactive" and message.raw["interactive"]["type"] == "list":
        view["list_button"] = message.raw["interactive"]["action"].get("button")
    if message.contact_request:
        view["contact_request"] = True
    if message.type in ("image", "document", "audio") and message.raw[message.type].get("id") in phone.emu.media:
        media = phone.media_of(message)
        view["media"] = {"id": media.id, "mime": media.mime_type, "filename": media.filename}
    if not message.outgoing and message.type == "interactive":
        reply = message.raw["interactive"]
        view["text"] = (reply.get(reply["type"]) or {}).get("title")
    if not message.outgoing and message.type == "button":
        view["text"] = message.raw["button"].get("text")
    return view


class WhatsAppWebChat:
    """Routes of the demo page; ``personas`` are WhatsApp numbers with names."""

    def __init__(self, emu: WhatsAppEmulator, personas: list[tuple[str, str, str]]) -> None:
        self.emu = emu
        self.personas = personas  # (wa_id, name, role)
        self.tasks: set[asyncio.Task[Any]] = set()
        for wa_id, name, _ in personas:
            emu.ensure_user(wa_id, name)

    def register_on(self, emu: WhatsAppEmulator) -> None:
        """Serve the page from the emulator's own server (call before it starts)."""
        emu.app_hooks.append(self.register)

    def register(self, app: web.Application) -> None:
        app.router.add_get("/whatsapp", self.page)
        app.router.add_get("/_wa/personas", self.list_personas)
        app.router.add_get("/_wa/chats/{wa_id:[0-9]+}", self.chat)
        app.router.add_post("/_wa/chats/{wa_id:[0-9]+}/{action:send|tap|contact|upload}", self.act)
        app.router.add_get("/_wa/media/{media_id:[0-9]+}", self.media)

    def phone(self, request: web.Request) -> WaPhone:
        wa_id = request.match_info["wa_id"]
        return self.emu.user(wa_id, next((n for w, n, _ in self.personas if w == wa_id), "Villager"))

    async def page(self, request: web.Request) -> web.Response:
        return web.FileResponse(PAGE)

    async def list_personas(self, request: web.Request) -> web.Response:
        return web.json_response([{"wa_id": w, "name": n, "role": r} for w, n, r in self.personas])

    async def chat(self, request: web.Request) -> web.Response:
        phone = self.phone(request)
        since = int(request.query.get("since", "0"))
        history = phone.history
        return web.json_response({"count": len(history),
                                  "messages": [message_view(phone, i, m) for i, m in enumerate(history) if i >= since]})

    async def act(self, request: web.Request) -> web.Response:
        phone = self.phone(request)
        action = request.match_info["action"]
        try:
            if action == "upload":
                form = await request.post()
                upload = form.get("file")
                if not isinstance(upload, web.FileField):
                    raise web.HTTPBadRequest(text="no file")
                data, mime = upload.file.read(), upload.content_type or "application/octet-stream"
                if mime.startswith("image/"):
                    await phone.send_image(data)
                elif mime.startswith("audio/"):
                    await phone.send_voice(data, mime_type=mime)
                else:
                    await phone.send_document(data, upload.filename or "file", mime_type=mime)
            else:
                body = await request.json()
                if action == "send":
                    await phone.send(str(body.get("text") or "").strip() or "…")
                elif action == "tap":
                    await phone.tap(str(body.get("title")))
                else:
                    await phone.share_contact()
        except AssertionError as exc:
            return web.json_response({"ok": False, "error": str(exc).splitlines()[0]}, status=400)
        return web.json_response({"ok": True})

    async def media(self, request: web.Request) -> web.Response:
        media = self.emu.media.get(request.match_info["media_id"])
        if media is None:
            raise web.HTTPNotFound()
        headers = {"Content-Disposition": f'inline; filename="{media.filename or "file"}"'}
        return web.Response(body=media.data, content_type=media.mime_type.split(";")[0], headers=headers)
