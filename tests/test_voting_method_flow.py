"""The needs assessment as the method runs it, end to end through the Bot API emulator (issue 12): a
sessions-only round messages no villager, a villager who took part in the village meeting is refused a phone
ballot, and organisers group, merge, unmerge and tag problems by tapping."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from handlers.plan.buttons import OrgCB
from services import plan as plans
from services import voting
from services.places import find_aiyl_aimak
from services.voting import SessionInput
from storage.delivery import Broadcast, OutboxMessage
from storage.models import utcnow
from storage.plan import Plan
from storage.voting import Ballot, ProblemMerge, VotingRound
from tests.harness import Harness
from tests.test_voting_flow import ORGANISER, notice, recent, setup_people, village_id, with_button
from tests.test_voting_services import BANDS, PROTOCOL, PROTOCOL_CSV, person, places, protocol_round, vote

VILLAGERS = (101, 102, 103, 201, 202, 203)
VOTES = [(101, ["drinking water", "kindergarten", "street lighting"]), (102, ["drinking water"]),
         (103, ["internet access", "youth conditions"]),
         (201, ["inner roads", "club roof", "school condition", "irrigation water", "kindergarten"]),
         (202, ["inner roads"]), (203, ["club roof", "drinking water"])]  # as tests.test_voting_services' voters


async def test_a_sessions_only_round_sends_villagers_nothing(bot: Harness) -> None:
    await setup_people(bot)
    organiser = bot.user(ORGANISER, "Gulnara", language_code="en")
    await organiser.send("/newround")
    await organiser.send("Sessions 2026")
    await organiser.send("-")
    await organiser.tap(contains="in village sessions only")
    assert any("🔘 in village sessions only" in row[0] for row in organiser.last.buttons)
    await organiser.tap("Done")  # no end times to ask: nobody votes by phone
    card = recent(organiser)
    assert "The round is created as a draft." in card and "Votes: in village sessions only" in card
    assert "Open collection of problems" not in str(organiser.last.buttons)
    await organiser.tap("Import sessions (CSV)", message=with_button(organiser, "Import sessions (CSV)"))
    await organiser.send_document(PROTOCOL_CSV.encode(), "sessions.csv", mime_type="text/csv")
    assert "Imported: 1 new session, 0 replaced, 75 votes, 9 new problems." in recent(organiser)
    await organiser.send("/rounds")
    await organiser.tap(contains="Sessions 2026")
    await organiser.tap("Close the round")
    await organiser.tap("Yes, close it")
    card = next(m.text for m in reversed(organiser.messages) if "Final figures" in (m.text or ""))
    assert "Phase: closed" in card and "Voting ends" not in card
    assert "Final figures: 20 taking part, of them women 9 (45%); votes: 75; problems with votes: 9; sessions: 1." \
        in card
    await bot.emu.settle()
    async with bot.db.session() as session:
        rnd = await session.scalar(select(VotingRound).where(VotingRound.title == "Sessions 2026"))
        assert rnd.mode == "sessions" and rnd.phase == "closed"
        villagers = [(await person(session, t)).telegram_id for t in VILLAGERS]
        queued = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                      .where(OutboxMessage.chat_id.in_(villagers)))
        assert queued == 0 and await session.scalar(select(func.count()).select_from(Broadcast)) == 0
    for telegram_id in VILLAGERS:
        assert bot.user(telegram_id).messages == []


async def test_a_villager_who_was_at_the_village_meeting_is_refused_a_phone_ballot(bot: Harness) -> None:
    await setup_people(bot)
    organiser = bot.user(ORGANISER, "Gulnara", language_code="en")
    async with bot.db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="Both 2026", created_by=ORGANISER,
                                        vote_ends_at=utcnow() + timedelta(days=7))
        for ky, ru, _key, _votes in PROTOCOL[:3]:
            await voting.add_problem(session, rnd, title_ky=ky, title_ru=ru, by=ORGANISER)
        round_id = rnd.id
    await organiser.send("/rounds")
    await organiser.tap(contains="Both 2026")
    await organiser.tap("Publish the ballot and open voting")
    aral = await village_id(bot, "aral")
    async with bot.db.session() as session:  # Арал's session is on record: its villagers are asked first
        rnd = await voting.get_round(session, round_id)
        await voting.record_session(session, rnd, SessionInput(aral, "18-35", date(2026, 3, 12), "Мектеп", 20, 9),
                                    by=ORGANISER)
    aigul, bakyt = bot.user(101), bot.user(102)
    await aigul.tap("Open the ballot", message=await notice(aigul, "Voting is open"))
    assert "did you take part in the meeting" in aigul.last.text
    await aigul.tap("Yes, I took part")
    assert "nobody is counted twice" in aigul.last.text
    await aigul.send("/vote")  # asked once: the answer stands
    assert "nobody is counted twice" in aigul.last.text and not aigul.last.buttons
    await aigul.tap_data(f"vb:c:{round_id}:{aral}:1:0")  # a forged confirmation
    assert "nobody is counted twice" in (aigul.last_answer[0] or "")
    await bakyt.tap("Open the ballot", message=await notice(bakyt, "Voting is open"))
    await bakyt.tap("No, I did not")
    assert "Ballot of Арал" in bakyt.last.text
    await bakyt.tap("▫️ Питьевая вода")
    await bakyt.tap(contains="Next: check my choice")
    await bakyt.tap("✅ Confirm")
    assert "Your ballot is counted." in bakyt.last.text
    async with bot.db.session() as session:
        voters = set(await session.scalars(select(Ballot.person_id)))
        assert voters == {(await person(session, 102)).id}
    # The dates change while voting is open: a time in the past is refused with one in the future; those who
    # have not voted hear of it (not the one who voted, nor the one counted at the meeting).
    await organiser.send("/rounds")
    await organiser.tap(contains="Both 2026")
    await organiser.tap("Change the dates")
    await organiser.send("01.01.2020 10:00")
    assert "This time has already passed. Give one in the future, e.g." in organiser.last.text
    later = (utcnow() + timedelta(days=10)).astimezone(bot.settings.zone)
    await organiser.send(later.strftime("%d.%m.%Y %H:%M"))
    assert "4 villagers who have not voted yet will hear of it" in organiser.last.text
    await notice(bot.user(103), "New dates for Арал")
    async with bot.db.session() as session:
        rnd = await voting.get_round(session, round_id)
        assert rnd.vote_ends_at.astimezone(bot.settings.zone).strftime("%d.%m.%Y %H:%M") == later.strftime(
            "%d.%m.%Y %H:%M")
    # The broadcast is named in the organiser's language, as its delivery report is: this organiser has no
    # profile, so the municipality's default, Kyrgyz (no English words inside a Kyrgyz report).
    async with bot.db.session() as session:
        assert list(await session.scalars(select(Broadcast.title).order_by(Broadcast.id))) == [
            "Both 2026: добуш берүү ачылды", "Both 2026: жаңы мөөнөттөр"]


async def test_organisers_group_merge_unmerge_and_tag_by_tapping(bot: Harness) -> None:
    await setup_people(bot)
    organiser = bot.user(ORGANISER, "Gulnara", language_code="en")
    async with bot.db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="Taps 2026", created_by=ORGANISER)
        await voting.open_collection(session, rnd, by=ORGANISER)
        for telegram_id, text in ((101, "Суу жок"), (102, "Ичүүчү суу таза эмес"), (201, "Сугат суусу жетпейт")):
            await voting.submit_problem(session, rnd, await person(session, telegram_id), text)
        round_id = rnd.id
    await organiser.send("/rounds")
    await organiser.tap(contains="Taps 2026")
    await organiser.tap("Problems")
    # Group two submissions into one named problem: tap them, then type only the title.
    await organiser.tap("Group submissions into a problem")
    await organiser.tap(contains="Суу жок")
    await organiser.tap(contains="Ичүүчү суу таза эмес")
    await organiser.tap("Next: name the problem (2)")
    await organiser.send("Ичүүчү суу жок | Нет питьевой воды")
    assert "added: Нет питьевой воды" in organiser.last.text
    await organiser.tap("Group submissions into a problem")
    await organiser.tap(contains="Сугат суусу жетпейт")
    await organiser.tap("Next: name the problem (1)")
    await organiser.send("Сугат суусу жок | Нет поливной воды")
    assert "added: Нет поливной воды" in organiser.last.text
    async with bot.db.session() as session:
        problems = {p.title_ru: p for p in await voting.problems_of(session, round_id)}
        grouped = await voting.submissions_by_village(session, round_id)
        assert sorted(s.problem_id for items in grouped.values() for s in items) == sorted(
            [problems["Нет питьевой воды"].id] * 2 + [problems["Нет поливной воды"].id])
    # Merge by taps, limited to one village, confirmed.
    await organiser.tap("Merge problems")
    await organiser.tap(contains="Нет поливной воды")
    await organiser.tap(contains="Нет питьевой воды")
    await organiser.tap("Only in Бирдик")
    assert "in Бирдик only" in organiser.last.text
    await organiser.tap("Merge")
    assert "is now counted with" in organiser.last.text
    birdik = await village_id(bot, "birdik")
    async with bot.db.session() as session:
        merge = await session.scalar(select(ProblemMerge))
        assert (merge.source_id, merge.target_id, merge.village_id) == (
            problems["Нет поливной воды"].id, problems["Нет питьевой воды"].id, birdik)
    # Undo it by taps.
    await organiser.tap("Undo a merge", message=with_button(organiser, "Undo a merge"))
    await organiser.tap(contains="Нет поливн")
    await organiser.tap("Undo")
    assert f"Merge {merge.id} is undone" in organiser.last.text
    # Tag by taps.
    await organiser.tap("Tag a problem", message=with_button(organiser, "Tag a problem"))
    await organiser.tap(contains="Нет поливной воды")
    await organiser.tap("delegated state power")
    assert "delegated state power" in organiser.last.text
    async with bot.db.session() as session:
        assert (await voting.problem_in_round(session, round_id, problems["Нет поливной воды"].id)).competence == \
            "delegated"
        assert (await session.get(ProblemMerge, merge.id)).undone_at is not None
    # The typed shortcut takes the organiser's own words for the tag.
    await organiser.send(f"/tag {problems['Нет питьевой воды'].id} тышкары")
    assert "outside the powers of local self-government" in organiser.last.text


async def test_a_broadcast_done_before_any_progress_gets_one_report(db) -> None:
    """Sent in one go, a broadcast's final report arrives once (not a progress message and the same report)."""
    from jobs.sender import send_pending
    from tests.test_outbox import drain, people, queue, senders

    async with senders(db, outbox_progress_seconds=0.0) as (emu, [app]):
        await people(db, emu, 1, first=778, languages=("en",))
        recipients = await people(db, emu, 3)
        await queue(db, recipients, progress_chat_id=778)
        start = utcnow()
        await send_pending(app, now=start, limit=50)  # everything at once: done before any progress was shown
        await drain(app, start + timedelta(seconds=60))
        texts = emu.user(778, "Organiser").texts
        assert len(texts) == 1 and texts[0].startswith("✅ Sent: Test <notice>")


async def test_the_organiser_makes_a_plan_of_each_village_s_own_top_five(bot: Harness) -> None:
    """A plan from a round of two villages: the organiser chooses between the aiyl aimak's top five and each
    village's own; Бирдик's irrigation water, under Арал's session votes overall, stays in the plan."""
    await setup_people(bot)
    round_id, problems = await protocol_round(bot.db, ORGANISER)
    for telegram_id, keys in VOTES:
        await vote(bot.db, round_id, telegram_id, problems, keys)
    villages = await places(bot.db)
    async with bot.db.session() as session:
        rnd = await voting.get_round(session, round_id)
        await voting.import_sessions_csv(session, rnd, PROTOCOL_CSV, by=ORGANISER, age_bands=BANDS)
        await voting.merge_problems(session, rnd, problems["irrigation water"], problems["drinking water"],
                                    by=ORGANISER, village_id=villages["aral"])
        await voting.close_round(session, rnd, by=ORGANISER)
        result = await voting.results(session, rnd)
    own = [p for p, _votes in plans.round_priorities(result, per_village=True)]
    assert problems["irrigation water"] in own and len(own) == 7
    organiser = bot.user(ORGANISER, "Gulnara", language_code="en")
    await organiser.send("/plans")
    await organiser.tap(contains="New plan from")
    choice = organiser.last.text
    assert "Which priorities of “ЖМБА 2026” go into the joint action plan?" in choice
    assert "The aiyl aimak's top 5: 5 problems" in choice and "Each village's own top 5: 7 problems" in choice
    await organiser.tap_data(OrgCB(action="mkplan", item=round_id, value="both").pack())  # a forged choice
    assert "not one of your aiyl aimaks' plans" in (organiser.last_answer[0] or "")
    await organiser.tap("Each village's own top 5 (7)")
    card = organiser.last.text
    assert "Joint action plan: ЖМБА 2026" in card and "Сугат суусу" in card
    await organiser.tap("The aiyl aimak's top 5 (5)", message=with_button(organiser, "The aiyl aimak's top 5 (5)"))
    assert organiser.last_answer[0] == "This round already has a plan."  # one plan per round, both buttons
    async with bot.db.session() as session:
        plan = await session.scalar(select(Plan))
        assert [p.problem_id for p in await plans.priorities_of(session, plan.id)] == own


async def test_a_session_entered_after_phone_votes_is_checked_against_them(bot: Harness) -> None:
    """A round with both sources: two villagers of Арал vote by phone before Арал's session is on record, so
    nobody asked them whether they took part in it. Their ballots count (they are not asked afterwards, and a
    forged "yes" does not take them back); the organiser who enters the session sheet is told how many phone
    ballots were cast unasked, next to the sheet's participants, in the chat and on the dashboard."""
    await setup_people(bot)
    round_id, problems = await protocol_round(bot.db, ORGANISER)
    aral = await village_id(bot, "aral")
    aigul = bot.user(101)
    await aigul.send("/vote")
    assert "Ballot of Арал" in aigul.last.text  # no session on record: no question
    await aigul.tap("▫️ Питьевая вода")
    await aigul.tap(contains="Next: check my choice")
    await aigul.tap("✅ Confirm")
    assert "Your ballot is counted." in aigul.last.text
    await vote(bot.db, round_id, 102, problems, ["inner roads"])
    organiser = bot.user(ORGANISER, "Gulnara", language_code="en")
    await organiser.send("/rounds")
    await organiser.tap(contains="ЖМБА 2026")
    await organiser.tap("Add a session result")
    await organiser.tap("Арал")
    await organiser.tap("18–35")
    await organiser.send("12.03.2026")
    await organiser.send("Мектеп")
    await organiser.send("20")
    await organiser.send("9")
    await organiser.send(f"#{problems['inner roads']} 40\n#{problems['drinking water']} 30")
    assert organiser.last.text.endswith("• Внутренние дороги: 40\n• Питьевая вода: 30")  # numbers read as titles
    await organiser.tap("✅ Save")
    said = recent(organiser, 2)
    assert "The session result is saved." in said
    assert ("Арал: 2 villagers voted by phone without being asked whether they took part in the village's session "
            "(they voted before it was on record). The phone ballots count: if any of "
            "them are on the session sheet (20 participants), take them and their stickers off the sheet and enter "
            "it again.") in said
    assert "Бирдик" not in said  # no session there: nothing to check
    # The early voter is not asked afterwards: the ballot stands and can still be changed.
    await aigul.send("/vote")
    assert "Ballot of Арал" in aigul.last.text and "did you take part" not in aigul.last.text
    await aigul.tap_data(f"va:y:{round_id}:{aral}")  # a forged "yes, I took part"
    async with bot.db.session() as session:
        assert await voting.attendance_of(session, round_id, (await person(session, 101)).id) is None
        assert await session.scalar(select(func.count()).select_from(Ballot)) == 2
    # A villager who has not voted yet is asked first.
    await bot.user(103).send("/vote")
    assert "did you take part in the meeting" in bot.user(103).last.text
