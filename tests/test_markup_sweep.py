"""Text typed by people never breaks an HTML message (issue 10, 3): every flow swept with markup-bearing input,
end to end; nothing fails and the text is shown literally."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.models import utcnow
from storage.voting import VotingRound
from tests.harness import Harness, running_bot
from tests.test_helpdesk_flow import ASKER_K, GROUP, LAWYER_1, ask, desk_bot, user  # noqa: F401
from tests.test_voting_flow import ORGANISER, notice, recent, setup_people, with_button

TITLE = "<b>Жол курулушу 2027"
PROBLEM = "<i>Ичүүчү суу жок"
PLAIN = "a & b < c"
APOLOGY = "something went wrong"


def no_apology(*people) -> None:  # noqa: ANN002
    for person in people:
        assert not any(APOLOGY in (t or "") for t in person.texts), person.dump()


async def test_voting_with_markup_in_titles_and_problems(bot: Harness) -> None:
    await setup_people(bot)
    organiser = bot.user(ORGANISER, "Gulnara", language_code="en")
    await organiser.send("/newround")
    await organiser.send(TITLE)
    await organiser.send(PLAIN)
    await organiser.tap("Done")
    await organiser.send("-")
    ends = (utcnow() + timedelta(days=7)).astimezone(bot.settings.zone)
    await organiser.send(ends.strftime("%d.%m.%Y %H:%M"))
    assert "The round is created as a draft." in recent(organiser) and TITLE in recent(organiser)
    async with bot.db.session() as session:
        round_id = await session.scalar(select(VotingRound.id))
    await organiser.tap("Open collection of problems")
    aigul = bot.user(101)
    await aigul.tap("Name problems", message=await notice(aigul, "which problems of the village matter most"))
    await aigul.send(PROBLEM)
    assert aigul.last.text.startswith("Saved: 1 of 5.")
    await aigul.send(PLAIN)
    await aigul.tap("Done")
    await aigul.send("/vote")
    assert PROBLEM in recent(aigul)
    await organiser.tap("Submissions")
    assert PROBLEM in recent(organiser) and PLAIN in recent(organiser)
    await organiser.send(f"/problem {round_id} - {PROBLEM} | {PROBLEM}")
    await organiser.send(f"/problem {round_id} - {PLAIN} | {PLAIN}")
    await organiser.tap("Publish the ballot and open voting",
                        message=with_button(organiser, "Publish the ballot and open voting"))
    await aigul.tap("Open the ballot", message=await notice(aigul, "Voting is open"))
    assert TITLE in aigul.last.text
    await aigul.tap(f"▫️ {PROBLEM}")
    await aigul.tap(contains="Next: check my choice (1)")
    assert PROBLEM in aigul.last.text
    await aigul.tap("✅ Confirm")
    assert "Your ballot is counted." in aigul.last.text
    await aigul.send("/vote")
    no_apology(organiser, aigul)


async def test_events_with_markup_in_topic_place_and_questions(db) -> None:  # noqa: ANN001
    from tests.test_events import FAST, delivered, local, organiser, villagers

    async with running_bot(db, **FAST) as bot:
        boss = await organiser(bot, "kok-irim")
        aral = await villagers(bot, "kok-irim", 1, first=20_000, villages=["aral"])
        when = (utcnow() + timedelta(days=10)).astimezone(bot.settings.zone).replace(hour=15, minute=0)
        await boss.send("/event")
        await boss.tap("Public hearing")
        await boss.send(TITLE)
        await boss.send(PLAIN)
        await boss.send(local(when))
        await boss.send(PROBLEM)
        await boss.tap("Арал")
        await boss.tap("Done")
        await boss.tap("No documents")
        assert TITLE in boss.last.text and PROBLEM in boss.last.text
        await boss.tap("📤 Send")
        await delivered(bot)
        villager = bot.user(aral[0])
        notice = villager.messages[0]
        assert TITLE in notice.text and PLAIN in notice.text and PROBLEM in notice.text
        await villager.tap("Ask a question or make a proposal", message=notice)
        await villager.send(PROBLEM + " " + PLAIN)
        assert "passed to the organisers" in villager.last.text
        await boss.send("/events")
        await boss.tap(contains="Жол курулушу")
        await boss.tap("Questions and proposals")
        assert PROBLEM in boss.last.text
        no_apology(boss, villager)


async def test_helpdesk_with_markup_in_questions_and_answers(desk_bot: Harness) -> None:  # noqa: F811
    bot = desk_bot
    asker = await ask(bot, ASKER_K, "Local budget", f"{PROBLEM} {PLAIN}")
    await asker.tap("Submit the question")
    assert "Your question is received: No. 1" in asker.last.text
    group = bot.emu.group(GROUP, "Union lawyers")
    card = await group.wait_for_message(lambda m: any("Take" in b for row in m.buttons for b in row))
    assert PROBLEM in card.text
    lawyer = user(bot, LAWYER_1)
    await lawyer.tap(next(b for row in card.buttons for b in row if "Take" in b), message=card)
    assert any(PROBLEM in (t or "") for t in lawyer.texts)
    await lawyer.tap("Ask for details")
    await lawyer.send(f"{TITLE}?")
    assert any(TITLE in (t or "") for t in asker.texts)
    await asker.tap("Reply with details")
    await asker.send(PLAIN)
    await lawyer.tap("Open No. 1")
    await lawyer.tap("Answer")
    await lawyer.send(f"{TITLE} {PLAIN}")
    await lawyer.tap("Send the answer")
    answer = await asker.wait_for_message(lambda m: "Answer to your question No. 1" in (m.text or ""))
    assert TITLE in answer.text and PLAIN in answer.text
    await asker.send("/myquestions")
    no_apology(asker, lawyer)


async def test_plan_items_with_markup(db) -> None:  # noqa: ANN001
    from tests.test_plan_flow import MAN, WOMAN, local_day, people
    from tests.test_plan_flow import ORGANISER as PLANNER
    from tests.test_plan_services import closed_round

    async with running_bot(db, outbox_chat_interval=0.0) as bot:
        await people(bot)
        await closed_round(bot.db)
        organiser = bot.user(PLANNER)
        await organiser.send("/plans")
        await organiser.tap(contains="New plan from")
        await organiser.tap("➕ Activity")
        await organiser.tap("1. Ички жолдор")
        await organiser.send(TITLE)
        await organiser.tap("a named person")
        await organiser.send(str(MAN))
        await organiser.send(f"{local_day(5):%d.%m.%Y} {local_day(60):%d.%m.%Y}")
        await organiser.tap("local budget")
        await organiser.send("120 000")
        await organiser.tap("✔️ Done")
        await organiser.send(PROBLEM)
        await organiser.send(PLAIN)
        await organiser.tap("On set dates")
        await organiser.send(f"{local_day(20):%d.%m.%Y}")
        assert TITLE in organiser.last.text or any(TITLE in (t or "") for t in organiser.texts[-3:])
        await organiser.send("/plans")
        await organiser.tap(contains="ЖМБА 2026")
        await organiser.tap("👥 Groups")
        await organiser.tap("➕ Initiative group")
        await organiser.send(PROBLEM)
        await organiser.send(f"{WOMAN}")
        villager = bot.user(WOMAN)
        await villager.send("/plan")
        assert any(TITLE in (t or "") for t in villager.texts), villager.dump()
        no_apology(organiser, villager)
