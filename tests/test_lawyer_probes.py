"""Forged lawyer buttons (issue 10, 6): a lawyer never reads or moves a question another lawyer holds; one probe
per action. The holder's "open" shows everything; anybody else's shows the number, topic and holder only."""

from __future__ import annotations

from sqlalchemy import select

from handlers.helpdesk.buttons import LawCB, StatsCB
from storage.helpdesk import Question, QuestionEntry
from tests.harness import Harness
from tests.test_helpdesk_flow import ASKER_K, GROUP, LAWYER_1, LAWYER_2, VILLAGER, ask, desk_bot, user  # noqa: F401

SECRET = "Our head Aigul, passport AN1234567, asks"
# Every lawyer action a button can carry, with the value it would carry.
ACTIONS = (("take", ""), ("release", ""), ("pass", ""), ("passto", str(LAWYER_2)), ("details", ""),
           ("answer", ""), ("send", ""), ("refs", ""), ("keep", ""), ("publish", ""), ("pub_lang", "ru"),
           ("filter", ""), ("cancel", ""))


async def held_question(bot: Harness):  # noqa: ANN201
    asker = await ask(bot, ASKER_K, "Local budget", f"{SECRET}: may the council move money mid-year?")
    await asker.tap("Submit the question")
    group = bot.emu.group(GROUP, "Union lawyers")
    card = await group.wait_for_message(lambda m: any("Take" in b for row in m.buttons for b in row))
    holder = user(bot, LAWYER_1)
    await holder.tap(next(b for row in card.buttons for b in row if "Take" in b), message=card)
    await holder.tap("Ask for details")
    await holder.send("Which budget line?")
    return asker, holder


async def unchanged(bot: Harness) -> None:
    async with bot.db.session() as session:
        question = await session.get(Question, 1)
        await session.refresh(question)
        assert (question.status, question.lawyer_id) == ("needs_details", LAWYER_1)
        kinds = [e.kind for e in (await session.scalars(select(QuestionEntry).order_by(QuestionEntry.id))).all()]
        assert kinds.count("answer") == 0 and kinds.count("request") == 1


async def test_another_lawyer_opening_a_held_question_sees_only_its_number_topic_and_holder(
        desk_bot: Harness) -> None:  # noqa: F811
    bot = desk_bot
    await held_question(bot)
    other = user(bot, LAWYER_2)
    await other.send("/queue")
    before = len(other.messages)
    await other.tap_data(LawCB(action="open", qid=1).pack())
    shown = [m.text or "" for m in other.messages[before:]]
    assert len(shown) == 1, shown
    assert "No. 1" in shown[0] and "Local budget" in shown[0] and "Nurlan" in shown[0]
    assert not any(SECRET in text or "Which budget line" in text or "Көк-Ирим" in text for text in shown)
    assert other.messages[-1].buttons == []
    await unchanged(bot)


async def test_every_forged_lawyer_action_on_a_question_held_by_another_is_refused(desk_bot: Harness) -> None:  # noqa: F811
    bot = desk_bot
    await held_question(bot)
    other = user(bot, LAWYER_2)
    await other.send("/queue")
    for action, value in ACTIONS:
        before = len(other.messages)
        await other.tap_data(LawCB(action=action, qid=1, value=value).pack(), message=other.messages[0])
        shown = [m.text or "" for m in other.messages[before:]]
        assert not any(SECRET in text or "Which budget line" in text for text in shown), (action, shown)
        if action not in ("filter", "cancel"):  # the queue filter and cancel touch no question
            text, alert = other.last_answer
            assert alert and ("Already taken by Nurlan" in text or "no longer" in text), (action, text)
        await unchanged(bot)


async def test_every_lawyer_action_is_refused_to_a_non_lawyer(desk_bot: Harness) -> None:  # noqa: F811
    bot = desk_bot
    await held_question(bot)
    villager = user(bot, VILLAGER)
    await villager.send("/help")
    for action, value in (("open", ""), *ACTIONS):
        if action in ("filter", "cancel"):
            continue
        await villager.tap_data(LawCB(action=action, qid=1, value=value).pack(), message=villager.messages[0])
        text, alert = villager.last_answer
        assert alert and ("Only the helpdesk's lawyers" in text or "no longer active" in text), (action, text)
        await unchanged(bot)
    await villager.tap_data(StatsCB(fmt="csv", month="2026-01").pack(), message=villager.messages[0])
    assert villager.last_answer == ("This button is no longer active.", True)
    assert len(villager.messages) == 1
