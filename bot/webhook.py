"""Webhook mode: an aiohttp server that checks Telegram's secret-token header, and serves WhatsApp's webhook
(``/whatsapp/webhook``: verification handshake, signed POSTs) when WhatsApp is configured."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import Jamaat, settle_heap
from bot.settings import Settings
from bot.whatsapp.inbound import WEBHOOK_PATH as WHATSAPP_PATH
from bot.whatsapp.inbound import WhatsAppInbound

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"


def webhook_app(app: Jamaat) -> web.Application:
    """The aiohttp application; updates with a wrong or missing secret are refused (401)."""
    assert app.settings.webhook_secret is not None
    server = web.Application()
    SimpleRequestHandler(
        dispatcher=app.dispatcher,
        bot=app.bot,
        secret_token=app.settings.webhook_secret.get_secret_value(),
        handle_in_background=False,
    ).register(server, path=WEBHOOK_PATH)
    setup_application(server, app.dispatcher, bot=app.bot)
    from bot.dashboard import mount

    mount(server, app)  # the web dashboard at /dashboard/ of the same server
    mount_whatsapp(server, app)
    return server


def mount_whatsapp(server: web.Application, app: Jamaat) -> bool:
    """Serve WhatsApp's webhook at ``/whatsapp/webhook`` of ``server`` when WhatsApp is configured (``jamaat
    webhook`` on its server, ``jamaat run`` beside the dashboard); True if it is served."""
    inbound = whatsapp_inbound(app)
    if inbound is None:
        return False
    inbound.register(server, WHATSAPP_PATH)
    server.on_shutdown.append(lambda _: inbound.close())
    return True


def whatsapp_inbound(app: Jamaat, *, handle_in_background: bool = True) -> WhatsAppInbound | None:
    """WhatsApp's webhook handlers feeding this application's dispatcher (None without WhatsApp)."""
    if app.whatsapp is None:
        return None
    return WhatsAppInbound(app.settings, app.db, app.i18n, app.bot, app.dispatcher, app.whatsapp,
                           handle_in_background=handle_in_background)


async def register_webhook(app: Jamaat) -> None:
    assert app.settings.webhook_url is not None and app.settings.webhook_secret is not None
    await app.bot.set_webhook(
        app.settings.webhook_url.rstrip("/") + WEBHOOK_PATH,
        secret_token=app.settings.webhook_secret.get_secret_value(),
        allowed_updates=app.dispatcher.resolve_used_update_types(),
    )


async def serve_webhook(settings: Settings) -> None:
    settings.require("bot_token", "phone_hash_key", "webhook_url", "webhook_secret")
    app = Jamaat.create(settings)
    await app.prepare()
    runner = web.AppRunner(webhook_app(app))
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    await site.start()
    await register_webhook(app)
    settle_heap()
    log.info("webhook listening on %s:%s%s", settings.webhook_host, settings.webhook_port, WEBHOOK_PATH)
    if app.whatsapp is not None:
        log.info("WhatsApp webhook at %s%s", settings.webhook_url.rstrip("/"), WHATSAPP_PATH)
    stop = asyncio.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):  # a deploy's SIGTERM ends in a clean shutdown
        asyncio.get_running_loop().add_signal_handler(signal_number, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await app.close()
