"""Priority voting end to end through the Bot API emulator: an organiser runs a round, villagers of two villages
name problems and vote (forged and late buttons refused), an offline session is imported, problems are merged,
the round closes; results, chart, export and receipts match the hand-computed numbers."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import func, select

from handlers.voting.buttons import BallotCB, mask_of
from services import voting
from services.places import find_aiyl_aimak
from services.roles import Role, grant
from storage.models import utcnow
from storage.voting import Ballot, VotingRound
from tests.harness import Harness, run_tasks_at
from tests.test_voting_services import PROTOCOL, PROTOCOL_CSV, add_villager, vote

ORGANISER = 2001


async def setup_people(bot: Harness) -> None:
    async with bot.db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        await grant(session, ORGANISER, Role.ORGANISER, aimak.id)
    for telegram_id, village, sex, band in ((101, "aral", "f", "36-55"), (102, "aral", "m", "56+"),
                                            (103, "aral", "f", "18-35"), (201, "birdik", "f", "36-55"),
                                            (202, "birdik", "m", "56+"), (203, "birdik", None, None)):
        bot.user(telegram_id, language_code="en")
        await add_villager(bot.db, telegram_id, village, sex, band)


def recent(user, count: int = 3) -> str:
    """The bot's last few messages (broadcast progress reports may arrive in between)."""
    return "\n---\n".join(m.text or "" for m in user.messages[-count:])


def with_button(user, text: str):
    """The newest bot message with this button."""
    return next(m for m in reversed(user.messages) if any(text in row for row in m.buttons))


async def notice(user, text: str):
    return await user.wait_for_message(lambda m: text in (m.text or ""))


def test_ballot_buttons_fit_in_64_bytes() -> None:
    widest = BallotCB(a="c", r=9_999_999, v=9_999_999, m=mask_of(set(range(voting.MAX_BALLOT_ITEMS))),
                      p=999_999_999)
    assert len(widest.pack().encode()) <= 64


async def test_round_from_collection_to_published_results(bot: Harness, caplog) -> None:
    await setup_people(bot)
    organiser = bot.user(ORGANISER, "Gulnara", language_code="en")
    await organiser.send("/newround")
    await organiser.send("Needs assessment 2026")
    await organiser.send("Which problems matter most in your village?")
    assert "Which villages take part?" in recent(organiser)
    await organiser.tap("Done")
    await organiser.send("-")
    ends = (utcnow() + timedelta(days=7)).astimezone(bot.settings.zone)
    await organiser.send(ends.strftime("%d.%m.%Y %H:%M"))
    assert "The round is created as a draft." in recent(organiser) and "Арал, Бирдик" in recent(organiser)
    async with bot.db.session() as session:
        round_id = await session.scalar(select(VotingRound.id))
    await organiser.tap("Open collection of problems")
    assert "6 villagers will get the notice" in recent(organiser)

    # Collection: a villager names problems (a hint on stating problems, not solutions).
    aigul = bot.user(101)
    invitation = await notice(aigul, "which problems of the village matter most")
    assert "not “buy a pump”" in invitation.text
    await aigul.tap("Name problems", message=invitation)
    await aigul.send("No safe drinking water")
    assert aigul.last.text.startswith("Saved: 1 of 5.")
    await aigul.send("The club roof leaks")
    await aigul.tap("Done")
    birdik = bot.user(201)
    await birdik.tap("Name problems", message=await notice(birdik, "which problems of the village matter most"))
    await birdik.send("Roads are bad inside the village")
    await organiser.tap("Submissions")
    listing = recent(organiser)
    assert "Арал (2)" in listing and "Бирдик (1)" in listing
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", listing, re.M)]
    water, roof, roads = numbers

    # Problems: the protocol's nine, with the villagers' submissions grouped under three of them.
    # Roads were named in Бирдик only and stay on its ballot; water and the roof go on every ballot ("*").
    grouped = {"inner roads": str(roads), "club roof": f"{roof}*", "drinking water": f"{water}*"}
    for ky, ru, key, _votes in PROTOCOL:
        await organiser.send(f"/problem {round_id} {grouped.get(key, '-')} {ky} | {ru}")
        assert "Problem #" in recent(organiser, 2)
    async with bot.db.session() as session:
        problems = {key: p.id for (_ky, _ru, key, _v), p in zip(PROTOCOL, await voting.problems_of(session, round_id),
                                                                strict=True)}
    await organiser.send(f"/tag {problems['youth conditions']} outside")
    assert "outside the powers of local self-government" in recent(organiser)
    await organiser.tap("Publish the ballot and open voting",
                        message=with_button(organiser, "Publish the ballot and open voting"))
    assert "published in 2 villages" in recent(organiser) and "6 villagers will get it" in recent(organiser)

    # Voting by phone: own village's ballot, toggles, summary, confirm, receipt.
    await aigul.tap("Open the ballot", message=await notice(aigul, "Voting is open"))
    ballot = aigul.last
    assert "Ballot of Арал" in ballot.text and len(ballot.buttons) == 9  # eight problems and "Next"
    assert not any("Внутренние дороги" in row[0] for row in ballot.buttons)
    for title in ("Питьевая вода", "Нет детского сада", "Нет уличного освещения"):
        await aigul.tap(f"▫️ {title}")
    assert "Chosen: 3 of 5." in aigul.last.text
    await aigul.tap(contains="Next: check my choice (3)")
    assert "You chose:" in aigul.last.text
    late_confirm = aigul.last.callback_data("✅ Confirm")
    await aigul.tap("✅ Confirm")
    receipt = re.search(r"<code>(\w{4}-\w{4})</code>|Receipt code: (\w{4}-\w{4})", aigul.last.text)
    assert "Your ballot is counted." in aigul.last.text and receipt
    code = receipt.group(1) or receipt.group(2)

    # Forged and stale buttons: another village, a problem not on the ballot, more than five, another round.
    other = await add_round_in_draft(bot)
    forged = {
        f"vb:c:{round_id}:{await village_id(bot, 'birdik')}:1:0": "another village",
        f"vb:t:{round_id}:{await village_id(bot, 'aral')}:0:999999": "not on your village's ballot",
        f"vb:c:{round_id}:{await village_id(bot, 'aral')}:3f:0": "at most 5 problems",
        f"vb:c:{other}:{await village_id(bot, 'aral')}:1:0": "has not started or is no longer open",
        "vb:c:not-a-number": "no longer active",
    }
    for data, expected in forged.items():
        await aigul.tap_data(data)
        assert expected in (aigul.last_answer[0] or ""), (data, aigul.last_answer)
    assert caplog.text.count("voting: refused") >= 4  # each forged ballot button is logged
    # An organiser of another aiyl aimak sees nothing of this round.
    async with bot.db.session() as session:
        await grant(session, 2002, Role.ORGANISER, (await find_aiyl_aimak(session, "cholpon")).id)
    stranger = bot.user(2002, language_code="en")
    await stranger.send("/rounds")
    assert "No voting rounds yet." in stranger.last.text
    for action in ("res", "csv", "close"):
        await stranger.tap_data(f"vr:{action}:{round_id}")
        assert "No such round among your aiyl aimaks." in stranger.last_answer[0]
    await stranger.send(f"/merge {problems['kindergarten']} {problems['club roof']}")
    assert f"Problem #{problems['kindergarten']} is not in this round." in stranger.last.text

    # Two confirmations at once from another villager: one ballot (a UNIQUE constraint decides).
    bakyt = bot.user(102)
    await bakyt.tap("Open the ballot", message=await notice(bakyt, "Voting is open"))
    await bakyt.tap("▫️ Питьевая вода")
    await bakyt.tap(contains="Next: check my choice")
    confirm = bakyt.last
    await bakyt.tap("✅ Confirm", message=confirm, wait=False)
    await bakyt.tap("✅ Confirm", message=confirm, wait=False)
    await bot.emu.settle()
    async with bot.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Ballot)) == 2
    assert "Your ballot is unchanged." in bakyt.last.text and "Your ballot is counted." in bakyt.last.edits[-1]["text"]

    # The other villagers vote (built through the services), and the village session is imported.
    await vote(bot.db, round_id, 103, problems, ["internet access", "youth conditions"])
    await vote(bot.db, round_id, 201, problems, ["inner roads", "club roof", "school condition", "irrigation water",
                                                 "kindergarten"])
    await vote(bot.db, round_id, 202, problems, ["inner roads"])
    await vote(bot.db, round_id, 203, problems, ["club roof", "drinking water"])
    await organiser.tap("Import sessions (CSV)", message=with_button(organiser, "Import sessions (CSV)"))
    await organiser.send_document(PROTOCOL_CSV.encode(), "sessions.csv", mime_type="text/csv")
    assert "Imported: 1 new session, 0 replaced, 75 votes, 0 new problems." in recent(organiser)

    # Merge irrigation water into drinking water; close; the tie at the cut is named.
    await organiser.send(f"/merge {problems['irrigation water']} {problems['drinking water']}")
    assert "is now counted with" in recent(organiser)
    await organiser.send("/rounds")
    await organiser.tap(contains="Needs assessment 2026")
    await organiser.tap("Close voting")
    assert "Nobody can vote or change a ballot after that" in organiser.last.text  # closing asks first
    await organiser.tap("Yes, close it")
    texts = [m.text or "" for m in organiser.messages[-6:]]
    results = next(t for t in texts if "Aiyl aimak in all" in t)
    aral = results.split("\n\n")[1].splitlines()[1:]
    # Shared places are named as ranges; under each problem its votes by age group and sex (organisers only).
    assert [line for line in aral if not line.startswith("   ")] == [
        "1. Питьевая вода: 21", "2–3. Внутренние дороги: 12", "2–3. Крыша клуба: 12", "4. Состояние школы: 10",
        "5–6. Нет детского сада: 7", "5–6. Нет уличного освещения: 7"]
    assert aral[1] == "   18–35: 19 · 36–55: 1 · 56+: 1; women 1 · men 1 · in sessions 19"
    assert "   places 2–3 shared: 2 problems with 12 votes each" in aral
    assert aral[-1] == "   Tie at place 5: 2 problems have 7 votes each, so all of them are shown."
    assert "23 taking part, of them women 11 (48%)" in results.split("\n\n")[1]
    photo = next(m for m in organiser.messages[-6:] if m.photo is not None).photo
    assert photo.data.startswith(b"\x89PNG")

    # A late confirmation is refused with a clear message.
    await aigul.tap_data(late_confirm)
    assert "Voting in this round has closed" in aigul.last_answer[0]

    # Export and the villager's own receipt.
    await organiser.tap("Export CSV")
    document = organiser.last.document
    assert document.filename == f"needs-assessment-{round_id}.csv"
    rows = list(csv.reader(io.StringIO(document.data.decode("utf-8-sig"))))
    assert ["Арал", "", "", "3", "3", "2", "20", "9", "23", "11", "0", "48%"] in rows  # 0: did not say their sex
    await aigul.send(f"/receipt {code.lower()}")
    assert f"Your ballot {code} is counted" in aigul.last.text and "• Нет детского сада" in aigul.last.text
    await organiser.send(f"/ballot {code}")
    assert "version 1" in recent(organiser)

    # Results go to the villagers, each with their own village's ranking and chart.
    await organiser.tap("Publish the results to villagers")
    assert "The results go to 6 villagers." in recent(organiser)
    published = await notice(bot.user(202), "Results of the vote:")
    assert published.photo is not None and published.text.splitlines()[3:] == [
        "Бирдик: 3 taking part, of them women 1 (50%), 1 did not say their sex", "1–3. Внутренние дороги: 2",
        "1–3. Крыша клуба: 2", "1–3. Питьевая вода: 2", "   places 1–3 shared: 3 problems with 2 votes each",
        "4–5. Состояние школы: 1", "4–5. Нет детского сада: 1", "   places 4–5 shared: 2 problems with 1 vote each"]


async def village_id(bot: Harness, code: str) -> int:
    from storage.models import Village

    async with bot.db.session() as session:
        return await session.scalar(select(Village.id).where(Village.code == code))


async def add_round_in_draft(bot: Harness) -> int:
    async with bot.db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        return (await voting.create_round(session, aiyl_aimak_id=aimak.id, title="Other round")).id


async def test_reminders_to_non_voters_and_closing_at_the_end_time(bot: Harness) -> None:
    await setup_people(bot)
    # The organiser is registered (and reads English) in another aiyl aimak, so is no voter of this round.
    await add_villager(bot.db, ORGANISER, "ak-chiy")
    async with bot.db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        ends = utcnow() + timedelta(days=3)
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="ЖМБА", vote_ends_at=ends,
                                        created_by=ORGANISER, reminder_hours=[24])
        problem = await voting.add_problem(session, rnd, title_ky="Суу жок", title_ru="Нет воды")
        round_id = rnd.id
    organiser = bot.user(ORGANISER, language_code="en")
    await organiser.send(f"/reminders {round_id} 48,2")
    assert "Reminders: 48, 2 hours before the close." in recent(organiser)
    await organiser.send("/rounds")
    await organiser.tap(contains="ЖМБА")
    await organiser.tap("Publish the ballot and open voting")
    voted = bot.user(101)
    await voted.tap("Open the ballot", message=await notice(voted, "Voting is open"))
    await voted.tap("▫️ Нет воды")
    await voted.tap(contains="Next")
    await voted.tap("✅ Confirm")
    # 48 hours before the close: only those who have not voted are reminded, once.
    ran = await run_tasks_at(bot.app, now=ends - timedelta(hours=48) + timedelta(minutes=1))
    assert ran.count("voting.remind") == 1, ran
    await notice(bot.user(203), "Reminder: you have not voted yet")
    assert "voting.remind" not in await run_tasks_at(bot.app, now=ends - timedelta(hours=48) + timedelta(minutes=2))
    assert not any("Reminder" in (t or "") for t in voted.texts)
    # The end time: the round closes by itself and the organiser hears of it.
    await run_tasks_at(bot.app, now=ends + timedelta(minutes=1))
    async with bot.db.session() as session:
        rnd = await voting.get_round(session, round_id)
        assert rnd.phase == "closed" and rnd.closed_by is None
        assert (await voting.tally(session, round_id)).total() == {problem.id: 1}
    await notice(organiser, "closed at its end time")
