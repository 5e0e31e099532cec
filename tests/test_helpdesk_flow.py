"""The legal helpdesk end to end, through the Bot API emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.helpdesk.buttons import AskCB, LawCB
from jobs.sender import send_pending, sender_held
from services import helpdesk as desk
from services.roles import Role, grant
from storage.db import Database
from storage.helpdesk import FaqEntry, Question, QuestionEntry
from storage.models import Person, Village, utcnow
from tests.harness import ADMIN_ID, Harness, run_tasks_at, running_bot

GROUP = -100500
ASKER_K, ASKER_C, VILLAGER, LAWYER_1, LAWYER_2 = 1101, 1102, 1103, 2001, 2002
NAMES = {ASKER_K: "Aigul", ASKER_C: "Bakyt", VILLAGER: "Chynara", LAWYER_1: "Nurlan", LAWYER_2: "Elmira",
         ADMIN_ID: "Admin"}


async def seed(db: Database) -> None:
    """Registered people (English), two lawyers, two member askers in two municipalities."""
    async with db.session() as session:
        villages = {v.code: v for v in (await session.scalars(select(Village))).all()}
        homes = {ASKER_K: "aral", ASKER_C: "ak-chiy", VILLAGER: "birdik", LAWYER_1: "sary-oy", LAWYER_2: "sary-oy",
                 ADMIN_ID: "sary-oy"}
        for telegram_id, code in homes.items():
            village = villages[code]
            session.add(Person(telegram_id=telegram_id, first_name=NAMES[telegram_id], language="en",
                               phone_hash=f"hash-{telegram_id}", phone_tail="01", village_id=village.id,
                               aiyl_aimak_id=village.aiyl_aimak_id, registered_at=utcnow()))
        await grant(session, LAWYER_1, Role.LAWYER)
        await grant(session, LAWYER_2, Role.LAWYER)
        await desk.add_member(session, ASKER_K, villages["aral"].aiyl_aimak_id, "staff")
        await desk.add_member(session, ASKER_C, villages["ak-chiy"].aiyl_aimak_id, "deputy")


@pytest.fixture
async def desk_bot(db: Database) -> AsyncIterator[Harness]:
    async with running_bot(db, helpdesk_group_chat_id=GROUP, default_language="en") as harness:
        harness.emu.group(GROUP, "Union lawyers")
        await seed(db)
        yield harness


def user(bot: Harness, telegram_id: int):  # noqa: ANN201
    return bot.user(telegram_id, NAMES[telegram_id], language_code="en")


def has_button(text: str):  # noqa: ANN201
    return lambda m: any(text in b for row in m.buttons for b in row)


async def ask(bot: Harness, telegram_id: int, topic: str, text: str):  # noqa: ANN201
    asker = user(bot, telegram_id)
    await asker.send("/ask")
    await asker.tap(contains=topic)
    await asker.send(text)
    return asker


async def test_question_from_two_municipalities_race_details_answer_faq_rating(desk_bot: Harness) -> None:
    bot = desk_bot
    group = bot.emu.group(GROUP, "Union lawyers")
    lawyer_1, lawyer_2, villager = user(bot, LAWYER_1), user(bot, LAWYER_2), user(bot, VILLAGER)

    # An asker of Көк-Ирим asks, with a document.
    asker_k = await ask(bot, ASKER_K, "Local budget",
                        "Can the local council move money between budget lines in the middle of the year? "
                        "Our head Aigul asks, phone +996 555 123 456.")
    assert "Submit the question" in asker_k.last.buttons[0]
    await asker_k.send_document(b"%PDF-1.4 decision", "decision.pdf")
    assert "Attached: 1" in asker_k.last.text
    await asker_k.tap("Submit the question")
    assert "Your question is received: No. 1" in asker_k.last.text

    # The lawyers' group gets a card; two lawyers race to take it: exactly one wins.
    card = await group.wait_for_message(has_button("Take"))
    assert "No. 1" in card.text and "Local budget" in card.text and "Көк-Ирим" in card.text
    await lawyer_1.tap("Take", message=card, wait=False)
    await lawyer_2.tap("Take", message=card, wait=False)
    await bot.emu.settle()
    answers = {LAWYER_1: lawyer_1.last_answer[0], LAWYER_2: lawyer_2.last_answer[0]}
    winners = [who for who, text in answers.items() if text.startswith("You took question No. 1")]
    assert len(winners) == 1, answers
    winner_id = winners[0]
    loser_id = LAWYER_2 if winner_id == LAWYER_1 else LAWYER_1
    assert answers[loser_id] == f"Already taken by {NAMES[winner_id]}."
    winner, loser = user(bot, winner_id), user(bot, loser_id)
    assert loser.messages == []  # the loser got an alert, no card
    assert f"Taken by {NAMES[winner_id]}." in card.text and card.buttons == []
    async with bot.db.session() as session:
        question = await session.get(Question, 1)
        assert question.lawyer_id == winner_id and question.status == "taken"
        assert question.aiyl_aimak.code == "kok-irim"
    assert "A lawyer has taken your question No. 1" in asker_k.last.text
    assert any(m.document is not None and m.document.filename == "decision.pdf" for m in winner.messages)

    # A clarification round trip: the lawyer asks, the bot relays, the asker answers, the clock runs again.
    await winner.tap("Ask for details")
    await winner.send("Which year's budget, and has the council voted already?")
    assert "its clock is paused" in winner.last.text
    assert "needs more details" in asker_k.last.text and "Which year's budget" in asker_k.last.text
    await asker_k.tap("Reply with details")
    await asker_k.send("The 2026 budget; the vote is next week.")
    assert "Added to question No. 1" in asker_k.last.text
    assert "answered your request on question No. 1" in winner.last.text and "2026 budget" in winner.last.text
    async with bot.db.session() as session:
        assert (await session.get(Question, 1)).status == "taken"

    # The answer, with a reference to the law; the asker asks one follow-up, then rates.
    await winner.tap("Open No. 1")
    await winner.tap("Answer")
    await winner.send("Yes: the council may amend the budget by a decision at its session. "
                      "Call the Көк-Ирим finance officer on 0700 12 34 56.")
    await winner.tap("Add references to laws")
    await winner.send("Law No. 215 of 2003 on the financial-economic bases of LSG")
    await winner.tap("Send the answer")
    answer = await asker_k.wait_for_message(lambda m: "Answer to your question No. 1" in (m.text or ""))
    assert "References: Law No. 215" in answer.text
    assert asker_k.last.buttons == [["It helped"], ["Ask a follow-up question"]]
    await asker_k.tap("Ask a follow-up question")
    await asker_k.send("And can it be done in December?")
    assert "follow-up question on No. 1" in winner.last.text
    await winner.tap("Open No. 1")
    await winner.tap("Answer")
    await winner.send("Yes, until the end of the budget year.")
    await winner.tap("Send the answer")
    assert asker_k.last.buttons == [["1", "2", "3", "4", "⭐⭐⭐⭐⭐"]]
    await asker_k.tap("⭐⭐⭐⭐⭐")
    assert "Question No. 1 is closed" in asker_k.last.text
    assert "rated the answer 5 of 5" in winner.last.text

    # Asker and lawyer never see each other's account, name or phone.
    assert not any(NAMES[winner_id] in (t or "") or str(winner_id) in (t or "") for t in asker_k.texts)
    assert not any(str(ASKER_K) in (t or "") for t in winner.texts)
    async with bot.db.session() as session:
        kinds = [e.kind for e in (await session.scalars(select(QuestionEntry).where(
            QuestionEntry.question_id == 1).order_by(QuestionEntry.id))).all()]
    assert kinds == ["question", "event", "request", "details", "event", "answer", "followup", "answer", "rating"]

    # Published to the FAQ in Russian, anonymised: the lawyer checks and keeps each text.
    publish = await winner.wait_for_message(has_button("Publish to the FAQ"))
    await winner.tap("Publish to the FAQ", message=publish)
    await winner.tap("Русский")
    draft_question = winner.last.text
    assert "[name]" in draft_question and "[phone]" in draft_question and "555" not in draft_question
    await winner.tap("Keep this text")
    draft_answer = winner.last.text
    assert "Көк-Ирим" not in draft_answer and "[municipality]" in draft_answer and "0700" not in draft_answer
    await winner.send("Да, кенеш может изменить бюджет решением сессии, в том числе в середине года.")
    assert "Published in the FAQ" in winner.last.text

    # An asker of Чолпон with a similar question is offered the published answer, and it answers them.
    asker_c = await ask(bot, ASKER_C, "Local budget", "Может ли кенеш изменить бюджет в середине года?")
    assert any("look similar" in (t or "") for t in asker_c.texts)
    assert any("решением сессии" in (t or "") for t in asker_c.texts)
    await asker_c.tap("This answers me")
    assert "Your question was not sent" in asker_c.last.text
    # Another question of theirs goes in anyway: it counts for Чолпон.
    await ask(bot, ASKER_C, "Land", "Кенеш изменить бюджет жер участок")
    if any("Ask anyway" in b for row in asker_c.last.buttons for b in row):
        await asker_c.tap("Ask anyway")
    await asker_c.tap("Submit the question")
    assert "No. 2" in asker_c.last.text
    async with bot.db.session() as session:
        questions = (await session.scalars(select(Question).order_by(Question.id))).unique().all()
        assert [(q.id, q.aiyl_aimak.code, q.status) for q in questions] == [(1, "kok-irim", "closed"),
                                                                            (2, "cholpon", "waiting")]
        entry = await session.scalar(select(FaqEntry))
        assert entry.language == "ru" and entry.topic == "budget" and "Aigul" not in entry.question

    # A villager who is not a member cannot ask; who is not a lawyer cannot open the queue or a question.
    await villager.send("/ask")
    assert "answers staff and council deputies" in villager.last.text
    await villager.send("/queue")
    assert "only for the role lawyer" in villager.last.text
    sent_before = len(villager.messages)
    await villager.tap_data(LawCB(action="open", qid=1).pack())
    assert villager.last_answer == ("Only the helpdesk's lawyers can do this.", True)
    await villager.tap_data(LawCB(action="take", qid=2).pack())
    assert villager.last_answer == ("Only the helpdesk's lawyers can do this.", True)
    await villager.tap_data(AskCB(action="view", qid=2).pack())
    assert villager.last_answer == ("This button is no longer active.", True)
    assert len(villager.messages) == sent_before
    async with bot.db.session() as session:
        assert (await session.get(Question, 2)).lawyer_id is None

    # /myquestions shows the status.
    await asker_c.send("/myquestions")
    assert "No. 2 · Land · waiting for a lawyer" in asker_c.last.text


async def test_overdue_escalation_after_a_restart_and_a_reminder(desk_bot: Harness) -> None:
    bot = desk_bot
    admin, lawyer = user(bot, ADMIN_ID), user(bot, LAWYER_1)
    asker = await ask(bot, ASKER_K, "Emergencies", "A mudflow damaged the school road. May we spend reserve funds?")
    await asker.tap("Submit the question")
    async with bot.db.session() as session:
        question = await session.get(Question, 1)
        config = desk.HelpdeskConfig.from_settings(bot.settings)
        remind_at = config.hours.add(question.queued_since, config.take_target)
        due = desk.due_at(question, config)
    assert due is not None and due > remind_at  # emergencies: 8 working hours, take within 4

    await bot.restart()  # the tasks are in the database, not in the old process
    assert bot.app is not None
    assert desk.REMIND_TASK in await run_tasks_at(bot.app, now=remind_at + timedelta(minutes=1))
    async with sender_held(bot.app):
        await send_pending(bot.app, now=remind_at + timedelta(minutes=2))
    reminder = await lawyer.wait_for_message(lambda m: "Reminder: question No. 1" in (m.text or ""))
    assert "Take" in reminder.buttons[0]
    assert desk.OVERDUE_TASK in await run_tasks_at(bot.app, now=due + timedelta(minutes=1))
    async with sender_held(bot.app):
        await send_pending(bot.app, now=due + timedelta(minutes=2))
    escalation = await admin.wait_for_message(lambda m: "Overdue: question No. 1" in (m.text or ""))
    assert "Emergencies" in escalation.text and "nobody has taken it" in escalation.text
    # Running again sends nothing twice.
    await run_tasks_at(bot.app, now=due + timedelta(minutes=5))
    async with sender_held(bot.app):
        await send_pending(bot.app, now=due + timedelta(minutes=6))
    await bot.emu.settle()
    assert sum("Overdue" in (t or "") for t in admin.texts) == 1
    assert sum("Reminder" in (t or "") for t in lawyer.texts) == 1


async def test_stats_for_admins_with_files(desk_bot: Harness) -> None:
    bot = desk_bot
    admin = user(bot, ADMIN_ID)
    asker = await ask(bot, ASKER_K, "Municipal property", "May we lease the old club building to a shop?")
    await asker.tap("Submit the question")
    await admin.send("/stats")
    text = admin.messages[-2].text
    assert "Questions: 1, from 1 municipality" in text and "Municipal property: 1" in text
    assert "Көк-Ирим: 1" in text and "waiting 1" in text
    assert admin.last.photo is not None
    await admin.tap("CSV", message=admin.messages[-2])
    assert admin.last.document.filename.endswith(".csv")
    assert "questions,asked,1" in admin.last.document.data.decode("utf-8-sig")
    await user(bot, VILLAGER).send("/stats")
    assert "only for the role administrator" in user(bot, VILLAGER).last.text


async def test_an_answer_never_rated_closes_after_a_week(desk_bot: Harness) -> None:
    bot = desk_bot
    asker = await ask(bot, ASKER_K, "Local budget", "May the council move money between budget lines in June?")
    await asker.tap("Submit the question")
    config = desk.HelpdeskConfig.from_settings(bot.settings)
    async with bot.db.session() as session:
        await desk.claim(session, 1, LAWYER_1, config=config)
        question = await desk.answer(session, 1, LAWYER_1, text="Yes, by a council decision.", config=config)
        answered_at = question.answered_at
    assert config.close_unrated_after == timedelta(days=7)
    await bot.restart()  # the closing is a stored task
    assert bot.app is not None
    await run_tasks_at(bot.app, now=answered_at + timedelta(days=6))  # not yet
    async with bot.db.session() as session:
        assert (await session.get(Question, 1)).status == desk.ANSWERED
    assert desk.AUTOCLOSE_TASK in await run_tasks_at(bot.app, now=answered_at + timedelta(days=7, minutes=1))
    async with sender_held(bot.app):
        await send_pending(bot.app, now=answered_at + timedelta(days=7, minutes=2))
    notice = await asker.wait_for_message(lambda m: "Question No. 1 is closed" in (m.text or ""))
    assert "/ask" in notice.text
    async with bot.db.session() as session:
        question = await session.get(Question, 1)
        assert question.status == desk.CLOSED and question.rating is None and question.closed_at is not None
