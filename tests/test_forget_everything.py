"""/forget forgets (issue 10, 7): after it, no table and no column of the database holds the person's Telegram
id, name, phone digits or the texts they wrote; counts for statistics stay."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import MetaData, func, select

from services import helpdesk as desk
from services import voting
from services.people import person_by_telegram_id
from services.places import find_aiyl_aimak
from storage.db import Database
from storage.helpdesk import Question, QuestionEntry
from storage.models import utcnow
from storage.voting import Submission
from tests.harness import ADMIN_ID, Harness
from tests.test_helpdesk_flow import GROUP, LAWYER_1, desk_bot, user  # noqa: F401 - the fixture

PERSON = 7345678901
NAME, SURNAME, PHONE = "Zarylkan", "Toktogulova", "+996555987654"
QUESTION = "My passport AN7654321 was kept by the okmotu, call me on 0555 987 654. Is that legal?"
DETAILS = "I live at Arstanbek street 17, they kept it since March."
FOLLOWUP = "And can they fine me for it, Zarylkan asks?"
PROBLEM = "Our well on Arstanbek street is dry"
NEEDLES = (str(PERSON), NAME, SURNAME, "555987654", "AN7654321", "Arstanbek", "fine me")


async def everything(db: Database) -> list[tuple[str, str, Any]]:
    """Every value of every column of every table, as (table, column, value)."""
    found: list[tuple[str, str, Any]] = []
    metadata = MetaData()
    async with db.engine.connect() as connection:
        await connection.run_sync(metadata.reflect)
        for table in metadata.sorted_tables:
            for row in (await connection.execute(select(table))).mappings():
                for column, value in row.items():
                    found.append((table.name, column, value))
    return found


def leaks(rows: list[tuple[str, str, Any]]) -> list[str]:
    out = []
    for table, column, value in rows:
        if value is None:
            continue
        text = json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, dict | list) else str(value)
        for needle in NEEDLES:
            if needle in text:
                out.append(f"{table}.{column} holds {needle!r}: {text[:120]!r}")
    return out


async def test_forget_leaves_nothing_that_identifies_the_person(desk_bot: Harness) -> None:  # noqa: F811
    bot = desk_bot
    person = bot.user(PERSON, NAME, last_name=SURNAME, language_code="en", phone=PHONE)
    await person.send("/start")
    await person.tap("English")
    await person.share_contact()
    await person.tap("Көк-Ирим")
    await person.tap("Арал")
    await person.tap("Skip")
    async with bot.db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        await desk.add_member(session, PERSON, aimak.id, "staff", by=ADMIN_ID)
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="Needs 2026", created_by=ADMIN_ID,
                                        vote_ends_at=utcnow() + timedelta(days=7))
        await voting.open_collection(session, rnd, by=ADMIN_ID)
        me = await person_by_telegram_id(session, PERSON)
        await voting.submit_problem(session, rnd, me, PROBLEM)

    # A helpdesk question with personal details, a clarification, an answer and a follow-up.
    await person.send("/ask")
    await person.tap(contains="Land")
    await person.send(QUESTION)
    await person.tap("Submit the question")
    group = bot.emu.group(GROUP, "Union lawyers")
    card = await group.wait_for_message(lambda m: any("Take" in b for row in m.buttons for b in row))
    lawyer = user(bot, LAWYER_1)
    await lawyer.tap(next(b for row in card.buttons for b in row if "Take" in b), message=card)
    await lawyer.tap("Ask for details")
    await lawyer.send("Since when do they keep it?")
    await person.tap("Reply with details")
    await person.send(DETAILS)
    await lawyer.tap("Open No. 1")
    await lawyer.tap("Answer")
    await lawyer.send("No: a passport may not be kept by the okmotu.")
    await lawyer.tap("Send the answer")
    await person.wait_for_message(lambda m: "Answer to your question No. 1" in (m.text or ""))
    await person.tap("Ask a follow-up question")
    await person.send(FOLLOWUP)
    assert leaks(await everything(bot.db)), "the scenario must have stored the person's data"

    async with bot.db.session() as session:
        questions_before = await session.scalar(select(func.count()).select_from(Question))
        entries_before = await session.scalar(select(func.count()).select_from(QuestionEntry))
        submissions_before = await session.scalar(select(func.count()).select_from(Submission))

    await person.send("/forget")
    confirmation = person.last.text
    assert "replaces every text you wrote" in confirmation and "helpdesk membership" in confirmation
    assert "Kept, with nothing that leads to you: your village, sex and age group" in confirmation
    await person.tap("Yes, delete my data")
    assert "Your data is deleted" in person.last.text
    await bot.emu.settle()

    left = leaks(await everything(bot.db))
    assert not left, "\n".join(left)
    async with bot.db.session() as session:  # the counts behind the statistics stay
        assert await session.scalar(select(func.count()).select_from(Question)) == questions_before
        assert await session.scalar(select(func.count()).select_from(QuestionEntry)) == entries_before
        assert await session.scalar(select(func.count()).select_from(Submission)) == submissions_before
        assert await desk.member_of(session, PERSON) is None
