"""The WhatsApp adapter's rules: webhook security, dedupe, statuses, the window, contact requests, limits."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, update

from bot.emulator import Emulator
from bot.emulator.whatsapp import WhatsAppEmulator, WhatsAppLimits
from bot.i18n import make_i18n
from bot.settings import Settings
from bot.whatsapp import templates
from bot.whatsapp.client import CloudApi, WhatsAppError
from bot.whatsapp.render import html_to_whatsapp, parse_numbers, render
from services import channels
from services.people import person_by_telegram_id
from storage.channels import ChannelIdentity, ChannelOutbound
from storage.db import Database
from storage.delivery import OutboxMessage
from storage.models import Person, utcnow
from storage.voting import Ballot
from tests.harness import PATIENCE, STARTUP, Harness, running_bot
from tests.ports import free_port
from tests.test_events import FAST, delivered, make_event, organiser
from tests.test_whatsapp_flow import twelve_problem_round, wa_register
from tests.villager import whatsapp_webhook_answers


@pytest.fixture
async def wabot(db: Database) -> AsyncIterator[Harness]:
    async with running_bot(db, whatsapp=True) as harness:
        yield harness


async def identities(bot: Harness) -> int:
    async with bot.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(ChannelIdentity)) or 0)


async def test_webhook_handshake_and_signatures(wabot: Harness) -> None:
    wa = wabot.wa
    assert wa is not None and wa.webhook_url is not None
    async with aiohttp.ClientSession() as http:
        query = {"hub.mode": "subscribe", "hub.verify_token": "wa-verify-token", "hub.challenge": "1158201444"}
        async with http.get(wa.webhook_url, params=query) as response:
            assert response.status == 200 and await response.text() == "1158201444"
        async with http.get(wa.webhook_url, params={**query, "hub.verify_token": "wrong"}) as response:
            assert response.status == 403
    villager = wa.user("996700700001", "Forger")
    body = wa.inbound(villager.state, {"type": "text", "text": {"body": "salam"}})
    assert await wa.post(body, signature="sha256=" + "0" * 64) == 401
    assert await wa.post(body, signature=wa.sign(json.dumps(body).encode(), secret="another-secret")) == 401
    assert await wa.post(json.dumps(body).encode() + b" ", signature="") == 401
    assert await identities(wabot) == 0 and villager.messages == []  # nothing handled, nothing answered
    assert await wa.post(body) == 200
    assert villager.last.text == "Тилди тандаңыз:"


async def test_a_redelivered_message_is_handled_once(wabot: Harness) -> None:
    wa = wabot.wa
    assert wa is not None
    villager = await wa_register(wabot, "996700700002")
    body = wa.inbound(villager.state, {"type": "text", "text": {"body": "/profile"}})
    assert await wa.post(body) == 200
    answered = len(villager.messages)
    assert "Village: Арал" in villager.last.text
    assert await wa.post(body) == 200  # Meta delivers the same message again
    await asyncio.gather(wa.post(body), wa.post(body))
    assert len(villager.messages) == answered


async def test_forged_and_stale_interactive_replies_are_refused(wabot: Harness) -> None:
    villager = await wa_register(wabot, "996700700003")
    round_id = await twelve_problem_round(wabot.db)
    await villager.send("/vote")
    await villager.choose("1 2")
    await villager.tap(contains="Next: check my choice (2)")
    summary = villager.last
    confirm = next(b["reply"]["id"] for b in summary.raw["interactive"]["action"]["buttons"] if "Confirm" in
                   b["reply"]["title"])
    forged = confirm.rsplit(":", 1)[0] + ":4095"  # a mask of twelve choices, never offered
    await villager.reply_id(forged, "✅ Confirm", context=summary.id)
    assert villager.last.text == "This button is no longer active.", villager.dump()
    await villager.reply_id(confirm, "✅ Confirm", context=villager.messages[0].id)  # not offered by that message
    assert villager.last.text == "This button is no longer active."
    await villager.send("99")  # not a number of the menu: the last message is no menu, so it is just text
    async with wabot.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Ballot).where(Ballot.round_id == round_id)) == 0
    await villager.send("/vote")
    await villager.choose("14")
    assert villager.last.text == "There is no choice 14 here. Please send a number from the list.", villager.dump()


async def test_statuses_are_recorded_and_undeliverable_numbers_are_unreachable(wabot: Harness) -> None:
    wa = wabot.wa
    assert wa is not None
    villager = await wa_register(wabot, "996700700004")
    last = villager.last.id
    for status in ("delivered", "read", "delivered"):
        assert await wa.post(wa.status(last, status)) == 200
    async with wabot.db.session() as session:
        row = await session.scalar(select(ChannelOutbound).where(ChannelOutbound.external_id == last))
        assert row.status == "read" and row.status_at is not None  # a late "delivered" does not undo "read"
        chat_id = row.chat_id
    assert await wa.post(wa.status(last, "failed", error=131026)) == 200
    async with wabot.db.session() as session:
        person = await person_by_telegram_id(session, chat_id)
        row = await session.scalar(select(ChannelOutbound).where(ChannelOutbound.external_id == last))
        assert person.unreachable_at is not None and (row.status, row.error_code) == ("failed", 131026)
    await villager.send("/help")  # writing again makes them reachable
    async with wabot.db.session() as session:
        assert (await person_by_telegram_id(session, chat_id)).unreachable_at is None


async def test_an_old_window_is_known_locally_and_the_template_names_the_kind(wabot: Harness) -> None:
    wa = wabot.wa
    assert wa is not None and wabot.app is not None
    villager = await wa_register(wabot, "996700700005")
    async with wabot.db.session() as session:
        await session.execute(update(ChannelIdentity).values(last_inbound_at=utcnow() - timedelta(hours=25)))
        chat_id = await session.scalar(select(ChannelIdentity.chat_id))
    wabot.app.whatsapp.forget_identity(chat_id)  # as after the adapter's short cache
    refused = wa.stats["131047"]
    with templates.sending("answer"):
        await wabot.app.bot.send_message(chat_id, "<b>Answer</b> to your question No. 3: a court decides.")
    assert wa.stats["131047"] == refused  # no failed attempt: the bot knew the window was closed
    assert villager.last.type == "template" and villager.last.raw["template"]["name"] == "jamaat_answer_ready"
    assert "court" not in villager.last.text
    await villager.tap(villager.last.buttons[0])
    assert villager.last.text == "*Answer* to your question No. 3: a court decides."


async def test_a_username_user_is_asked_for_the_number_and_cannot_vote_before(wabot: Harness) -> None:
    wa = wabot.wa
    assert wa is not None
    villager = wa.user("996700700006", "Username", bsuid="KG.555000111", phone_hidden=True)
    await villager.send("salam")
    await villager.tap("English")
    assert villager.last.contact_request, villager.dump()
    await twelve_problem_round(wabot.db)
    await villager.send("/vote")
    assert "register" in villager.last.text.lower(), villager.dump()
    await villager.share_contact()
    assert "Thank you, your number is confirmed." in "\n".join(villager.texts[-2:]), villager.dump()
    await villager.tap("Көк-Ирим")
    await villager.tap("Арал")
    await villager.tap("Skip")
    assert "you are registered in Арал" in villager.last.text
    async with wabot.db.session() as session:
        identity = await session.scalar(select(ChannelIdentity))
        assert (identity.wa_id, identity.bsuid) == ("996700700006", "KG.555000111")
        assert (await person_by_telegram_id(session, identity.chat_id)).phone_tail == "06"


async def test_a_telegram_contact_request_message_is_not_needed_when_whatsapp_gives_the_number(wabot: Harness
                                                                                               ) -> None:
    villager = await wa_register(wabot, "996700700007")
    assert not any("Share my phone number" in (t or "") for t in villager.texts)
    async with wabot.db.session() as session:
        person = await session.scalar(select(Person).where(Person.phone_tail == "07"))
        assert person is not None and person.is_registered


# ------------------------------------------------------------------ the emulator and the client


async def test_the_emulator_checks_what_the_real_api_refuses() -> None:
    async with WhatsAppEmulator() as wa:
        wa.ensure_user("996700800001", "A").last_inbound = wa.now()
        api = CloudApi(token=wa.token, phone_number_id=wa.phone_number_id, base_url=wa.base_url, max_retries=0)
        try:
            def buttons(n: int, title: str = "Yes") -> dict:
                return {"type": "interactive", "interactive": {"type": "button", "body": {"text": "?"}, "action": {
                    "buttons": [{"type": "reply", "reply": {"id": f"b{i}", "title": f"{title}{i}"}}
                                for i in range(n)]}}}

            assert (await api.send("996700800001", buttons(3))).startswith("wamid.")
            for bad in (buttons(4), buttons(1, "x" * 20)):
                with pytest.raises(WhatsAppError) as refused:
                    await api.send("996700800001", bad)
                assert refused.value.code == 131009
            rows = [{"id": f"r{i}", "title": f"Row {i}"} for i in range(11)]
            with pytest.raises(WhatsAppError) as refused:
                action = {"button": "Choose", "sections": [{"rows": rows}]}
                await api.send("996700800001", {"type": "interactive", "interactive": {
                    "type": "list", "body": {"text": "?"}, "action": action}})
            assert refused.value.code == 131009
            wa.advance(hours=25)
            with pytest.raises(WhatsAppError) as refused:
                await api.send("996700800001", {"type": "text", "text": {"body": "late"}})
            assert refused.value.window_closed
            wa.templates = {"jamaat_notice": {"languages": {"ru": "{{1}}"}, "params": 1}}
            with pytest.raises(WhatsAppError) as refused:
                await api.send("996700800001", {"type": "template", "template": {"name": "other",
                                                                                  "language": {"code": "ru"}}})
            assert refused.value.code == 132001
            with pytest.raises(WhatsAppError) as refused:
                await api.send("996700000000", {"type": "text", "text": {"body": "nobody"}})
            assert refused.value.unreachable
            media = await api.upload(b"%PDF-1.4", "application/pdf", "a.pdf")
            assert await api.download(media) == (b"%PDF-1.4", "application/pdf")
        finally:
            await api.close()


async def test_the_client_paces_and_retries_throttling() -> None:
    async with WhatsAppEmulator(limits=WhatsAppLimits(per_second=20, pair_burst=3, pair_seconds=0.05)) as wa:
        numbers = [f"9967009{i:05d}" for i in range(30)]
        for number in numbers:
            wa.ensure_user(number, "V").last_inbound = wa.now()
        api = CloudApi(token=wa.token, phone_number_id=wa.phone_number_id, base_url=wa.base_url,
                       per_second=1000, retry_seconds=0.05, max_retries=6)
        try:
            text = {"type": "text", "text": {"body": "notice"}}
            await asyncio.gather(*(api.send(n, text) for n in numbers))
            await asyncio.gather(*(api.send(numbers[0], text) for _ in range(5)))
        finally:
            await api.close()
        assert wa.stats["messages"] == 35
        assert api.stats.throttled > 0 and api.stats.gave_up == 0
        assert wa.stats["130429"] > 0 and wa.stats["131056"] > 0


def test_rendering_of_choices_and_formatting() -> None:
    assert html_to_whatsapp('<b>Hearing</b> &amp; <i>agenda</i> <a href="https://x.kg">site</a>') == \
        "*Hearing* & _agenda_ site (https://x.kg)"
    assert html_to_whatsapp('<a href="https://t.me/jamaat_bot?start=event_1">Open this event</a>') == \
        "Open this event: /start event_1"
    kind, payload = render("Come?", [["I will come", "a"], ["I can't come", "b"], ["Question", "c"]])
    assert kind == "buttons" and len(payload["interactive"]["action"]["buttons"]) == 3
    kind, payload = render("Come?", [["I will come", "a"], ["Ask a question or make a proposal", "b"]])
    row = payload["interactive"]["action"]["sections"][0]["rows"][1]
    assert kind == "list" and len(row["title"]) <= 24 and row["description"] == "Ask a question or make a proposal"
    kind, payload = render("Ballot", [[f"Problem {n}", f"p{n}"] for n in range(1, 13)])
    assert kind == "menu" and "12. Problem 12" in payload["text"]["body"]
    assert parse_numbers("2 5, 7") == [2, 5, 7] and parse_numbers("2 apples") is None


def test_the_templates_command_lists_every_template_in_ky_and_ru() -> None:
    settings = Settings(_env_file=None)
    text = templates.describe(settings, make_i18n("ky"))
    for name in ("jamaat_notice", "jamaat_answer_ready", "jamaat_message_waiting"):
        assert f"name: {name}" in text
    assert "language: ky_KG" in text and "language: ru" in text and "category: UTILITY" in text
    assert "{{1}}" in text and "QUICK_REPLY" in text


async def test_jamaat_webhook_serves_whatsapp_too(tmp_path: Path) -> None:
    port = free_port()
    async with Emulator(timeout=PATIENCE) as emu, WhatsAppEmulator() as wa:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JAMAAT_")}
        env.update({
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
            "JAMAAT_BOT_TOKEN": emu.token, "JAMAAT_API_BASE_URL": emu.base_url,
            "JAMAAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'jamaat.db'}",
            "JAMAAT_PHONE_HASH_KEY": "a-long-enough-secret-key",
            "JAMAAT_WEBHOOK_URL": f"http://127.0.0.1:{port}", "JAMAAT_WEBHOOK_SECRET": "webhook-secret",
            "JAMAAT_WEBHOOK_HOST": "127.0.0.1", "JAMAAT_WEBHOOK_PORT": str(port),
            "JAMAAT_WHATSAPP_TOKEN": wa.token, "JAMAAT_WHATSAPP_PHONE_NUMBER_ID": wa.phone_number_id,
            "JAMAAT_WHATSAPP_APP_SECRET": wa.app_secret, "JAMAAT_WHATSAPP_VERIFY_TOKEN": "verify-me",
            "JAMAAT_WHATSAPP_API_BASE_URL": wa.base_url,
        })
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "webhook", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            await emu.wait_for(lambda: emu.webhook_info()["url"], timeout=STARTUP, message="no webhook was set")
            await whatsapp_webhook_answers(wa, f"http://127.0.0.1:{port}/whatsapp/webhook", "996700900001")
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), PATIENCE)
        assert process.returncode == 0, output.decode()[-2000:]


async def test_forget_from_whatsapp_deletes_the_identity(wabot: Harness) -> None:
    villager = await wa_register(wabot, "996700700008")
    await villager.send("/forget")
    await villager.tap("Yes, delete my data")
    assert "Your data is deleted" in villager.last.text
    assert await identities(wabot) == 0
    async with wabot.db.session() as session:
        rows = (await session.scalars(select(Person).where(Person.forgotten_at.is_not(None)))).all()
        assert len(rows) == 1 and rows[0].phone_hash is None and rows[0].telegram_id is None
    await villager.send("salam")  # a new start
    assert villager.last.text == "Тилди тандаңыз:"


async def test_one_identity_per_number_even_when_two_messages_race(db: Database) -> None:
    async def first_contact() -> int:
        async with db.session() as session:
            seen = await channels.identify(session, wa_id="996700950001", bsuid=None, name="A", key="k" * 16)
            await asyncio.sleep(0.05)  # both transactions are open at once (PostgreSQL; SQLite queues them)
            return int(seen.identity.chat_id or 0)

    chats = await asyncio.gather(first_contact(), first_contact())
    async with db.session() as session:
        rows = (await session.scalars(select(ChannelIdentity))).all()
    assert len(rows) == 1 and set(chats) == {rows[0].chat_id} and rows[0].chat_id >= channels.WHATSAPP_BASE
    async with db.session() as session:
        assert await channels.claim_inbound(session, "wamid.1", rows[0].chat_id) is not None
    async with db.session() as session:
        assert await channels.claim_inbound(session, "wamid.1", rows[0].chat_id) is None


async def test_a_number_that_cannot_receive_whatsapp_is_unreachable_until_it_writes(db: Database) -> None:
    async with running_bot(db, whatsapp=True, **FAST) as bot:
        await organiser(bot, "kok-irim")
        villager = await wa_register(bot, "996700700009")
        villager.state.unreachable = True  # WhatsApp answers 131026 from now on
        await make_event(bot, "kok-irim", starts_in=timedelta(days=3), progress=None)
        await delivered(bot)
        async with bot.db.session() as session:
            person = await session.scalar(select(Person).where(Person.phone_tail == "09"))
            closed = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.person_id == person.id, OutboxMessage.status == "unreachable"))
        assert person.unreachable_at is not None and closed >= 1
        await villager.send("/help")
        async with bot.db.session() as session:
            person = await session.scalar(select(Person).where(Person.phone_tail == "09"))
        assert person.unreachable_at is None
