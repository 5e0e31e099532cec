"""Webhook mode: the emulator posts updates with Telegram's secret-token header; a wrong secret is refused."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from bot.app import Jamaat
from bot.emulator import Emulator
from bot.webhook import WEBHOOK_PATH, register_webhook, webhook_app
from services.places import SAMPLE_PLACES, import_places
from storage.db import Database
from tests.harness import harness_settings
from tests.ports import free_port


async def test_registration_over_the_webhook(db: Database) -> None:
    async with Emulator() as emu:
        async with db.session() as session:
            await import_places(session, SAMPLE_PLACES)
        runner: web.AppRunner | None = None
        app = None
        try:
            port = free_port()
            settings = harness_settings(emu, db, webhook_url=f"http://127.0.0.1:{port}", webhook_secret="s3cret-token")
            app = Jamaat.create(settings, db=db)
            await app.prepare()
            runner = web.AppRunner(webhook_app(app))
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            await register_webhook(app)
            assert emu.webhook_info()["url"] == f"http://127.0.0.1:{port}{WEBHOOK_PATH}"

            user = emu.user(1401, "Aibek", language_code="en", phone="+996700001401")
            await user.send("/start")
            await user.tap("English")
            await user.share_contact()
            await user.tap("Көк-Ирим")
            await user.tap("Арал")
            await user.tap("Skip")
            assert "you are registered in Арал" in user.last.text

            async with aiohttp.ClientSession() as client:
                url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
                forged = {"update_id": 999, "message": {"message_id": 1, "date": 0, "chat": {"id": 1401,
                          "type": "private"}, "from": {"id": 1401, "is_bot": False, "first_name": "X"},
                          "text": "/forget"}}
                async with client.post(url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as r:
                    assert r.status == 401
                async with client.post(url, json=forged) as r:
                    assert r.status == 401
                async with client.get(f"http://127.0.0.1:{port}/dashboard/") as r:  # the dashboard, same server
                    assert r.status == 401 and "/dashboard" in await r.text()
            assert user.last.text.startswith("Thank you, you are registered")  # the forged update did nothing
        finally:
            if runner is not None:
                await runner.cleanup()
            if app is not None:
                await app.close()
