"""``jamaat run`` as deployed: the installed command, polling a Bot API server (the emulator) in another process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp

from bot.emulator import Emulator
from tests.harness import PATIENCE, STARTUP
from tests.ports import free_port
from tests.villager import whatsapp_webhook_answers

ROOT = Path(__file__).resolve().parent.parent


async def test_jamaat_run_polls_and_answers(tmp_path: Path) -> None:
    dashboard_port = free_port()
    async with Emulator(timeout=PATIENCE) as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JAMAAT_")}
        env.update({
            "PYTHONPATH": str(ROOT),
            "JAMAAT_BOT_TOKEN": emu.token,
            "JAMAAT_API_BASE_URL": emu.base_url,
            "JAMAAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'jamaat.db'}",
            "JAMAAT_PHONE_HASH_KEY": "a-long-enough-secret-key",
            "JAMAAT_DASHBOARD_PORT": str(dashboard_port),
        })
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            await emu.wait_for(lambda: emu.polling, timeout=STARTUP, message="jamaat run never started polling")
            assert emu.commands(language_code="ru")["profile"] == "Ваш профиль"  # menus set per language
            user = emu.user(1601, "Aibek", language_code="ru")
            await user.send("/start", wait=False)
            reply = await user.wait_for_message(lambda m: bool(m.buttons))
            assert reply.text == "Выберите язык:"
            async with aiohttp.ClientSession() as client:  # the dashboard is served alongside the polling
                async with client.get(f"http://127.0.0.1:{dashboard_port}/dashboard/") as response:
                    assert response.status == 401  # not signed in: the page says how to sign in
                    assert "/dashboard" in await response.text()
        finally:
            process.send_signal(signal.SIGTERM)  # as a deploy stops it
            output, _ = await asyncio.wait_for(process.communicate(), PATIENCE)
        log = output.decode()
        assert process.returncode == 0, log[-2000:]
        assert "Polling stopped" in log and " ERROR " not in log, log[-2000:]
        assert "objects set aside from garbage collection" in log, log[-2000:]  # start-up's heap frozen
        assert "event loop: uvloop" in log, log[-2000:]  # bot/loop.py: uvloop where it is installed
        assert (tmp_path / "jamaat.db").exists()


async def test_jamaat_webhook_serves_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    async with Emulator(timeout=PATIENCE) as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JAMAAT_")}
        env.update({
            "PYTHONPATH": str(ROOT),
            "JAMAAT_BOT_TOKEN": emu.token,
            "JAMAAT_API_BASE_URL": emu.base_url,
            "JAMAAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'jamaat.db'}",
            "JAMAAT_PHONE_HASH_KEY": "a-long-enough-secret-key",
            "JAMAAT_WEBHOOK_URL": f"http://127.0.0.1:{port}",
            "JAMAAT_WEBHOOK_SECRET": "webhook-secret",
            "JAMAAT_WEBHOOK_HOST": "127.0.0.1",
            "JAMAAT_WEBHOOK_PORT": str(port),
        })
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "webhook", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            await emu.wait_for(lambda: emu.webhook_info()["url"], timeout=STARTUP, message="no webhook was set")
            user = emu.user(1602, "Aibek", language_code="en")
            await user.send("/start")
            assert user.last.text == "Choose your language:"
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), PATIENCE)
        assert process.returncode == 0, output.decode()[-2000:]
        assert "objects set aside from garbage collection" in output.decode(), output.decode()[-2000:]
        assert "event loop: uvloop" in output.decode(), output.decode()[-2000:]


async def test_jamaat_run_serves_the_whatsapp_webhook_beside_polling(tmp_path: Path) -> None:
    """With the WhatsApp settings, ``jamaat run`` (polling) answers WhatsApp's webhook on its small server."""
    from bot.emulator.whatsapp import WhatsAppEmulator

    port = free_port()
    async with Emulator(timeout=PATIENCE) as emu, WhatsAppEmulator() as wa:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JAMAAT_")}
        env.update({
            "PYTHONPATH": str(ROOT),
            "JAMAAT_BOT_TOKEN": emu.token,
            "JAMAAT_API_BASE_URL": emu.base_url,
            "JAMAAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'jamaat.db'}",
            "JAMAAT_PHONE_HASH_KEY": "a-long-enough-secret-key",
            "JAMAAT_DASHBOARD_PORT": str(port),
            "JAMAAT_WHATSAPP_TOKEN": wa.token, "JAMAAT_WHATSAPP_PHONE_NUMBER_ID": wa.phone_number_id,
            "JAMAAT_WHATSAPP_APP_SECRET": wa.app_secret, "JAMAAT_WHATSAPP_VERIFY_TOKEN": "verify-me",
            "JAMAAT_WHATSAPP_API_BASE_URL": wa.base_url,
        })
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            await emu.wait_for(lambda: emu.polling, timeout=STARTUP, message="jamaat run never started polling")
            await whatsapp_webhook_answers(wa, f"http://127.0.0.1:{port}/whatsapp/webhook", "996700900002")
            user = emu.user(1603, "Aibek", language_code="ru")  # and Telegram is polled as before
            await user.send("/start", wait=False)
            reply = await user.wait_for_message(lambda m: bool(m.buttons))
            assert reply.text == "Выберите язык:"
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), PATIENCE)
        log = output.decode()
        assert process.returncode == 0, log[-2000:]
        assert "Polling stopped" in log and " ERROR " not in log, log[-2000:]


def test_event_loop_choice() -> None:
    """uvloop by default, asyncio's own loop when asked for (JAMAAT_EVENT_LOOP=asyncio); anything else is refused
    at start-up like any malformed setting."""
    import uvloop

    from bot import loop
    from bot.settings import SettingsError, load_settings

    async def running() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert isinstance(loop.run(running()), uvloop.Loop)
    chosen = loop.run(running(), load_settings(event_loop="asyncio", _env_file=None).event_loop)
    assert not isinstance(chosen, uvloop.Loop) and isinstance(chosen, asyncio.BaseEventLoop)
    try:
        load_settings(event_loop="trio", _env_file=None)
    except SettingsError as exc:
        assert "JAMAAT_EVENT_LOOP" in str(exc)
    else:
        raise AssertionError("an unknown event loop was accepted")
