"""The core villager flows, one test body each, run for a villager on Telegram and on WhatsApp."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from services import events, voting
from services.people import person_by_telegram_id
from services.roles import Role, grant
from storage.db import Database
from storage.voting import Ballot
from tests.harness import Harness, running_bot
from tests.test_events import FAST, delivered, make_event, organiser
from tests.test_helpdesk_flow import GROUP, LAWYER_1
from tests.test_whatsapp_flow import twelve_problem_round
from tests.villager import CHANNELS, register, villager


@pytest.fixture(params=CHANNELS)
def channel(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def bot(db: Database) -> AsyncIterator[Harness]:
    async with running_bot(db, whatsapp=True, helpdesk_group_chat_id=GROUP, helpdesk_askers="registered",
                           default_language="en", **FAST) as harness:
        yield harness


async def test_registration(bot: Harness, channel: str) -> None:
    aigul = villager(bot, channel, 1)
    await aigul.open()
    assert sorted(aigul.options) == sorted(["Кыргызча", "Русский", "Oʻzbekcha", "Ўзбекча", "English"]), aigul.dump()
    await aigul.tap("English")
    await aigul.share_phone()
    assert "Choose your aiyl aimak" in aigul.last_text, aigul.dump()
    await aigul.tap("Көк-Ирим")
    await aigul.tap("Бирдик")
    await aigul.tap("Yes, add them")
    await aigul.tap("Woman")
    await aigul.tap("36–55")
    assert "you are registered in Бирдик" in aigul.last_text, aigul.dump()
    chat_id = await aigul.chat_id()  # (on WhatsApp a session of its own: not inside the one below)
    async with bot.db.session() as session:
        person = await person_by_telegram_id(session, chat_id)
    assert person is not None and person.is_registered
    assert (person.language, person.sex, person.age_band, person.phone_tail) == ("en", "f", "36-55", "01")
    assert person.village.code == "birdik"


async def test_a_vote_with_its_receipt(bot: Harness, channel: str) -> None:
    aigul = villager(bot, channel, 2)
    await register(aigul)
    round_id = await twelve_problem_round(bot.db)
    await aigul.send("/vote")
    assert "Ballot of Арал" in aigul.last_text, aigul.dump()
    for number in (2, 5, 7):
        await aigul.tap(contains=f"Проблема {number}")
    await aigul.tap(contains="Next: check my choice (3)")
    assert "You chose:" in aigul.last_text, aigul.dump()
    await aigul.tap("✅ Confirm")
    assert "Your ballot is counted." in aigul.last_text, aigul.dump()
    receipt = re.search(r"(\w{4}-\w{4})", aigul.last_text)
    assert receipt, aigul.dump()
    await aigul.send(f"/receipt {receipt.group(1).lower()}")
    assert f"Your ballot {receipt.group(1)} is counted" in aigul.last_text, aigul.dump()
    assert "Проблема 5" in aigul.last_text
    async with bot.db.session() as session:
        ballots = (await session.scalars(select(Ballot).where(Ballot.round_id == round_id))).all()
        titles = {p.id: p.title_ru for p in await voting.problems_of(session, round_id)}
        view = await voting.my_ballot(session, round_id, ballots[0].person_id)
    assert len(ballots) == 1
    assert sorted(titles[p] for p in view.problem_ids) == ["Проблема 2", "Проблема 5", "Проблема 7"]


async def test_rsvp_to_a_notice(bot: Harness, channel: str) -> None:
    await organiser(bot, "kok-irim")
    aigul = villager(bot, channel, 3)
    await register(aigul)
    event_id = await make_event(bot, "kok-irim", starts_in=timedelta(days=3), progress=None)
    await delivered(bot)
    await aigul.settled()
    assert any("Draft local budget for 2027" in t for t in aigul.texts), aigul.dump()
    await aigul.tap("I will come")
    chat_id = await aigul.chat_id()
    async with bot.db.session() as session:
        person = await person_by_telegram_id(session, chat_id)
        assert await events.response_of(session, event_id, person) == "yes"


async def test_a_helpdesk_question_answered(bot: Harness, channel: str) -> None:
    group = bot.emu.group(GROUP, "Union lawyers")
    async with bot.db.session() as session:
        await grant(session, LAWYER_1, Role.LAWYER)
    lawyer = bot.user(LAWYER_1, "Nurlan", language_code="en")
    await lawyer.send("/start")
    await lawyer.tap("English")
    aigul = villager(bot, channel, 4)
    await register(aigul)
    await aigul.send("/ask")
    await aigul.tap(contains="Land")
    await aigul.send("Can the aiyl okmotu take back my land plot?")
    await aigul.tap("Submit the question")
    assert "Your question is received" in aigul.last_text and "No. 1" in aigul.last_text, aigul.dump()
    card = await group.wait_for_message(lambda m: any("Take" in b for row in m.buttons for b in row))
    assert "take back my land plot" in (card.text or "")
    await lawyer.tap("Take", message=card)
    await lawyer.tap("Answer")
    await lawyer.send("No: a plot in private ownership can only be taken by a court decision.")
    await lawyer.tap("Send the answer")
    await aigul.settled()
    answer = next(t for t in reversed(aigul.texts) if "Answer to your question No. 1" in t)
    assert "court decision" in answer
    await aigul.tap("It helped")
    await aigul.tap("⭐⭐⭐⭐⭐")
    assert "Question No. 1 is closed" in aigul.last_text, aigul.dump()
    assert "rated the answer 5 of 5" in lawyer.last.text
