"""``jamaat demo`` as a new user meets it: the web chat talks to the real bot, offline, in Kyrgyz."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from bot.demo import run_demo
from tests.harness import PATIENCE


async def say(session: aiohttp.ClientSession, base: str, user_id: int, text: str) -> dict:
    """Send like the web page does, and long-poll until the bot has answered."""
    async with session.get(f"{base}/_emu/chats/{user_id}") as response:
        version = (await response.json())["version"]
    async with session.post(f"{base}/_emu/chats/{user_id}/message", json={"text": text}) as response:
        assert response.status == 200
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        async with session.get(f"{base}/_emu/chats/{user_id}", params={"since": version, "wait": 1}) as response:
            view = await response.json()
        replies = [m["raw"] for m in view["messages"] if m["outgoing"]]
        if replies:
            return replies[-1]
        version = view["version"]
    raise AssertionError(f"no answer to {text!r}")


async def test_demo_web_chat_talks_to_the_bot_in_kyrgyz(tmp_path: Path) -> None:
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    demo = asyncio.create_task(run_demo(port=0, data=tmp_path, fresh=True, ready=ready, stop=stop))
    try:
        base = await asyncio.wait_for(ready, PATIENCE)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/") as page:
                assert page.status == 200 and "<html" in (await page.text()).lower()
            first = await say(session, base, 1001, "/start")
            assert first["text"] == "Тилди тандаңыз:"
            labels = [b["text"] for row in first["reply_markup"]["inline_keyboard"] for b in row]
            assert labels == ["Кыргызча", "Русский", "Oʻzbekcha", "Ўзбекча", "English"]
            # The organiser persona comes registered, and /help shows the organiser's part.
            assert "/people" in (await say(session, base, 2001, "/help"))["text"]
            # A sample priority vote is open in Kök-Irim, with its ballot in Kyrgyz.
            ballot = await say(session, base, 2001, "/vote")
            labels = [b["text"] for row in ballot["reply_markup"]["inline_keyboard"] for b in row]
            assert any("Ички жолдор" in label for label in labels), labels
            # The web chat links to the dashboard with a ready organiser session: the round is there.
            async with session.get(f"{base}/_emu/personas") as response:
                links = (await response.json())["links"]
            organiser = next(link["url"] for link in links if link["url"].endswith("/demo/2001"))
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:  # keeps cookies
            async with browser.get(organiser) as page:
                assert page.status == 200
            async with browser.get(organiser.replace("/demo/2001", "/rounds")) as page:
                assert page.status == 200 and "ЖМБА 2026" in await page.text()
            async with browser.get(organiser.replace("/demo/2001", "/demo/1001")) as page:
                assert page.status == 404  # villagers have no dashboard, demo or not
        assert (tmp_path / "jamaat-demo.db").exists()
    finally:
        stop.set()
        await asyncio.wait_for(demo, PATIENCE)


async def test_demo_web_chat_talks_as_a_villager_on_whatsapp(tmp_path: Path) -> None:
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    wa_ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    demo = asyncio.create_task(run_demo(port=0, data=tmp_path, fresh=True, ready=ready, stop=stop,
                                        whatsapp_ready=wa_ready))
    try:
        base = await asyncio.wait_for(wa_ready, PATIENCE)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/whatsapp") as page:
                assert page.status == 200 and "WhatsApp" in await page.text()
            async with session.get(f"{base}/_wa/personas") as response:
                wa_id = (await response.json())[0]["wa_id"]

            async def last_bot_message() -> dict:
                deadline = time.monotonic() + PATIENCE
                while time.monotonic() < deadline:
                    async with session.get(f"{base}/_wa/chats/{wa_id}") as response:
                        messages = [m for m in (await response.json())["messages"] if m["outgoing"]]
                    if messages:
                        return messages[-1]
                    await asyncio.sleep(0.1)
                raise AssertionError("the bot did not answer on WhatsApp")

            async with session.post(f"{base}/_wa/chats/{wa_id}/send", json={"text": "salam"}) as response:
                assert response.status == 200
            first = await last_bot_message()
            assert first["text"] == "Тилди тандаңыз:" and [r["title"] for r in first["rows"]] == [
                "Кыргызча", "Русский", "Oʻzbekcha", "Ўзбекча", "English"]
    finally:
        stop.set()
        await asyncio.wait_for(demo, PATIENCE)
