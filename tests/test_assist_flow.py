"""Assisted participation through the emulator on SQLite and PostgreSQL: a village representative registers a
villager without a smartphone with /assist, votes for them (counted once, marked assisted) and answers an
invitation; the villager later registers with the same phone and votes themselves: still one ballot."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from services import voting
from services.events import create_event
from services.places import find_aiyl_aimak
from services.roles import Role, Roles, grant
from storage.events import EventInvite
from storage.models import AuditEntry, Person, utcnow
from storage.voting import Ballot
from tests.harness import Harness

REPRESENTATIVE, STRANGER = 1501, 1502


async def setting(bot: Harness) -> tuple[int, list[int]]:
    async with bot.db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        await grant(session, REPRESENTATIVE, Role.REPRESENTATIVE, aimak.id)
        for telegram_id in (REPRESENTATIVE, STRANGER):
            session.add(Person(telegram_id=telegram_id, first_name=f"P{telegram_id}", language="en",
                               phone_hash=f"hash-{telegram_id}", phone_tail="01", aiyl_aimak_id=aimak.id,
                               registered_at=utcnow()))
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="ЖМБА 2026", created_by=1,
                                        vote_ends_at=utcnow() + timedelta(days=7))
        await voting.open_collection(session, rnd, by=1)
        problems = [(await voting.add_problem(session, rnd, title_ky=ky, title_ru=ru, by=1)).id
                    for ky, ru in (("Ички жолдор", "Внутренние дороги"), ("Ичүүчү суу", "Питьевая вода"))]
        await voting.publish_ballot(session, rnd, by=1)
        await create_event(session, roles=Roles(1, organiser_of=frozenset({aimak.id})), aiyl_aimak_id=aimak.id,
                           kind="hearing", topic="Бюджет 2027", agenda="", starts_at=utcnow() + timedelta(days=3),
                           place="Клуб", village_ids=[], whole_aimak=True, reminder_minutes=[])
        return rnd.id, problems


async def test_a_representative_registers_votes_and_answers_for_a_villager(bot: Harness) -> None:
    round_id, problems = await setting(bot)
    helper = bot.user(REPRESENTATIVE, language_code="en")
    await helper.send("/assist")
    assert "Help for villagers without a smartphone" in helper.last.text
    await helper.tap("➕ Register a villager")
    await helper.tap("Арал")
    await helper.send("0700 555 777")
    await helper.send("Бурул")
    assert "Read this to Бурул" in helper.last.text
    await helper.tap("✅ They agree")
    assert "Registered: Бурул, phone …77, Арал" in helper.last.text

    await helper.send("/assist")
    await helper.tap("🗳 Vote for a villager")
    await helper.tap("Бурул …77")
    assert "ЖМБА 2026" in helper.last.text
    await helper.tap(contains="Ички жолдор")
    await helper.tap("Confirm the ballot")
    assert "marked as assisted" in helper.last.text

    await helper.send("/assist")
    await helper.tap("📅 Answer an invitation")
    await helper.tap("Бурул …77")
    await helper.tap("Бюджет 2027")
    await helper.tap("✅ Will come")
    assert "marked as assisted" in helper.last.text

    async with bot.db.session() as session:
        ballot = await session.scalar(select(Ballot))
        assert ballot is not None and ballot.assisted_by == REPRESENTATIVE
        invite = await session.scalar(select(EventInvite))
        assert invite is not None and invite.assisted_by == REPRESENTATIVE and invite.response == "yes"
        share = await voting.participation(session, round_id)
        assert sum(share.assisted.values()) == 1 and share.total().people == 1
        actions = set((await session.scalars(select(AuditEntry.action).where(
            AuditEntry.actor_telegram_id == REPRESENTATIVE))).all())
        assert {"person.assisted_register", "ballot.assisted", "event.assisted_response"} <= actions

    # Someone without the role is told who can; nothing changes.
    stranger = bot.user(STRANGER, language_code="en")
    await stranger.send("/assist")
    assert "organisers and village representatives" in stranger.last.text

    # Бурул gets a phone and registers herself: she is the same person; her own vote replaces the assisted one.
    burul = bot.user(1503, language_code="en", phone="+996700555777")
    await burul.send("/start")
    await burul.tap("English")
    await burul.share_contact()
    await burul.send("📅 Meetings")  # the main keyboard's button: her meetings, with the answer given for her
    assert "Бюджет 2027" in burul.last.text and burul.last.buttons[0][0] == "✅ I will come"
    await burul.send("/vote")
    assert burul.last.buttons[0] == ["✅ Внутренние дороги"]  # the ballot cast for her is hers
    await burul.tap(contains="Внутренние дороги")
    await burul.tap(contains="Питьевая вода")
    await burul.tap(contains="Next")
    await burul.tap(contains="Confirm")
    async with bot.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Ballot)) == 1
        tally = await voting.tally(session, round_id)
        assert tally.total() == {problems[1]: 1}


async def test_a_representative_is_asked_whether_the_villager_was_at_the_session(bot: Harness) -> None:
    """Nobody counted twice with help too: once Арал's session is on record, the representative asks the villager
    (once) whether they took part; a yes casts no phone ballot, and the next try is refused the same way."""
    from datetime import date

    from services.voting import SessionInput
    from storage.models import Village
    from storage.voting import Attendance

    round_id, problems = await setting(bot)
    helper = bot.user(REPRESENTATIVE, language_code="en")
    for phone, name in (("0700 555 777", "Бурул"), ("0700 555 888", "Асан")):
        await helper.send("/assist")
        await helper.tap("➕ Register a villager")
        await helper.tap("Арал")
        await helper.send(phone)
        await helper.send(name)
        await helper.tap("✅ They agree")
    async with bot.db.session() as session:
        aral = await session.scalar(select(Village.id).where(Village.code == "aral"))
        rnd = await voting.get_round(session, round_id)
        await voting.record_session(session, rnd, SessionInput(aral, "18-35", date(2026, 3, 12), "Мектеп", 20, 9,
                                                               {problems[0]: 40}), by=1)
    await helper.send("/assist")
    await helper.tap("🗳 Vote for a villager")
    await helper.tap("Бурул …77")
    assert "Before the ballot, ask Бурул once: did they take part in the meeting" in helper.last.text
    await helper.tap("Yes, they took part")
    assert "Бурул took part in the village's session" in helper.last.text and "nobody is counted twice" in (
        helper.last.text)
    await helper.send("/assist")
    await helper.tap("🗳 Vote for a villager")
    await helper.tap("Бурул …77")
    assert "Бурул took part in the village's session" in helper.last.text  # asked once: the answer stands
    await helper.send("/assist")
    await helper.tap("🗳 Vote for a villager")
    await helper.tap("Асан …88")
    await helper.tap("No, they did not")
    await helper.tap(contains="Ички жолдор")
    await helper.tap("Confirm the ballot")
    assert "marked as assisted" in helper.last.text
    async with bot.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Ballot)) == 1
        assert sorted(await session.scalars(select(Attendance.attended))) == [False, True]
