"""Priority voting rules and the tally, on SQLite and PostgreSQL, against hand-computed numbers."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services import voting
from services.places import SAMPLE_PLACES, find_aiyl_aimak, import_places
from services.roles import Roles
from services.voting import SessionInput, VotingError
from storage.db import Database
from storage.models import Person, Village, utcnow
from storage.voting import Ballot, BallotChange, VotingRound

BANDS = ["18-35", "36-55", "56+"]
# One session's protocol (problem gallery, votes), from a municipality.
PROTOCOL = [
    ("Ички жолдор", "Внутренние дороги", "inner roads", 12),
    ("Клубдун чатыры", "Крыша клуба", "club roof", 12),
    ("Ичүүчү суу", "Питьевая вода", "drinking water", 10),
    ("Мектептин абалы", "Состояние школы", "school condition", 10),
    ("Сугат суусу", "Поливная вода", "irrigation water", 9),
    ("Бала бакча жок", "Нет детского сада", "kindergarten", 6),
    ("Көчө жарыгы жок", "Нет уличного освещения", "street lighting", 6),
    ("Жаштарга шарт жок", "Нет условий для молодёжи", "youth conditions", 5),
    ("Интернет жок", "Нет доступа к интернету", "internet access", 5),
]
KEYS = [key for _ky, _ru, key, _votes in PROTOCOL]
PROTOCOL_CSV = "village,age_group,date,place,participants,women,problem,votes\n" + "".join(
    f"Арал,18–35,12.03.2026,Школа №1,20,9,{ru},{votes}\n" for _ky, ru, _key, votes in PROTOCOL
)


async def places(db: Database) -> dict[str, int]:
    async with db.session() as session:
        if await find_aiyl_aimak(session, "kok-irim") is None:
            await import_places(session, SAMPLE_PLACES)
        return {code: vid for code, vid in (await session.execute(select(Village.code, Village.id))).all()}


async def add_villager(db: Database, telegram_id: int, village_code: str, sex: str | None = None,
                       band: str | None = None, *, language: str = "en", phone: bool = True) -> int:
    async with db.session() as session:
        village = await session.scalar(select(Village).where(Village.code == village_code))
        person = Person(telegram_id=telegram_id, first_name=f"V{telegram_id}", language=language,
                        phone_hash=f"hash-{telegram_id}" if phone else None, phone_tail="00",
                        aiyl_aimak_id=village.aiyl_aimak_id, village_id=village.id, sex=sex, age_band=band,
                        registered_at=utcnow())
        session.add(person)
        await session.flush()
        return person.id


async def person(session, telegram_id: int) -> Person:
    return await session.scalar(select(Person).where(Person.telegram_id == telegram_id)
                                .execution_options(populate_existing=True))


async def protocol_round(db: Database, organiser: int = 5001) -> tuple[int, dict[str, int]]:
    """A round for Көк-Ирим (Арал, Бирдик) with the nine protocol problems on both ballots, voting open."""
    await places(db)
    async with db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="ЖМБА 2026", created_by=organiser,
                                        vote_ends_at=utcnow() + timedelta(days=7))
        await voting.open_collection(session, rnd, by=organiser)
        problems = {}
        for ky, ru, key, _votes in PROTOCOL:
            problems[key] = (await voting.add_problem(session, rnd, title_ky=ky, title_ru=ru, by=organiser)).id
        await voting.publish_ballot(session, rnd, by=organiser)
        return rnd.id, problems


async def vote(db: Database, round_id: int, telegram_id: int, problems: dict[str, int], keys: list[str]):
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        who = await person(session, telegram_id)
        return await voting.cast_ballot(session, rnd, who, who.village_id, [problems[k] for k in keys])


async def villagers_vote(db: Database, round_id: int, problems: dict[str, int]) -> None:
    """Two villages, three age groups, women and men (and one who gave neither)."""
    await add_villager(db, 101, "aral", "f", "36-55")
    await add_villager(db, 102, "aral", "m", "56+")
    await add_villager(db, 103, "aral", "f", "18-35")
    await add_villager(db, 201, "birdik", "f", "36-55")
    await add_villager(db, 202, "birdik", "m", "56+")
    await add_villager(db, 203, "birdik")
    await vote(db, round_id, 101, problems, ["drinking water", "kindergarten", "street lighting"])
    await vote(db, round_id, 102, problems, ["drinking water"])
    await vote(db, round_id, 103, problems, ["internet access", "youth conditions"])
    await vote(db, round_id, 201, problems, ["inner roads", "club roof", "school condition", "irrigation water",
                                              "kindergarten"])
    await vote(db, round_id, 202, problems, ["inner roads"])
    await vote(db, round_id, 203, problems, ["club roof", "drinking water"])


def named(votes: dict[int, int], problems: dict[str, int]) -> dict[str, int]:
    names = {pid: key for key, pid in problems.items()}
    return {names[pid]: n for pid, n in votes.items()}


def top_names(top: voting.Top, problems: dict[str, int]) -> list[tuple[int, str, int]]:
    names = {pid: key for key, pid in problems.items()}
    return [(r.rank, names[r.problem_id], r.votes) for r in top.items]


# Pure rules


def test_protocol_top5_and_a_tie_at_the_cut_after_a_merge() -> None:
    votes = {i: v for i, (_ky, _ru, _key, v) in enumerate(PROTOCOL)}
    top = voting.top(votes)
    # As recorded: 12, 12, 10, 10, 9 — the fifth place is irrigation water alone, no tie.
    assert [(r.rank, PROTOCOL[r.problem_id][2], r.votes) for r in top.items] == [
        (1, "inner roads", 12), (1, "club roof", 12), (3, "drinking water", 10), (3, "school condition", 10),
        (5, "irrigation water", 9)]
    assert top.tied == []
    # Irrigation water counted with drinking water: kindergarten and street lighting tie for the 5th place.
    merged = dict(votes)
    merged[2] += merged.pop(4)
    top = voting.top(merged)
    assert [(r.rank, PROTOCOL[r.problem_id][2], r.votes) for r in top.items] == [
        (1, "drinking water", 19), (2, "inner roads", 12), (2, "club roof", 12), (4, "school condition", 10),
        (5, "kindergarten", 6), (5, "street lighting", 6)]
    assert top.tied == [5, 6] and top.tie_rank == 5 and top.tie_votes == 6


def test_fewer_problems_than_five_and_zero_votes() -> None:
    top = voting.top({1: 3, 2: 0, 3: 3})
    assert [(r.rank, r.problem_id) for r in top.items] == [(1, 1), (1, 3)] and top.tied == []


def test_receipts_are_short_and_forgiving() -> None:
    code = voting.new_receipt()
    assert len(code) == 9 and code[4] == "-" and not set(code.replace("-", "")) & set("01OI")
    assert voting.normalise_receipt(code.lower().replace("-", " ")) == code


# Storage and tally on both back ends


async def test_tally_by_village_group_sex_source_and_total(db: Database) -> None:
    round_id, problems = await protocol_round(db)
    await villagers_vote(db, round_id, problems)
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        report = await voting.import_sessions_csv(session, rnd, PROTOCOL_CSV.encode(), by=5001, age_bands=BANDS)
    assert report.errors == [] and report.sessions_added == 1 and report.votes == 75 and report.problems_added == 0
    villages = await places(db)
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        result = await voting.results(session, rnd)
    tally = result.merged
    aral = named(tally.village(villages["aral"]), problems)
    assert aral == {"inner roads": 12, "club roof": 12, "drinking water": 12, "school condition": 10,
                    "irrigation water": 9, "kindergarten": 7, "street lighting": 7, "youth conditions": 6,
                    "internet access": 6}
    assert named(tally.village(villages["birdik"]), problems) == {
        "inner roads": 2, "club roof": 2, "school condition": 1, "irrigation water": 1, "kindergarten": 1,
        "drinking water": 1}
    assert named(tally.total(), problems) == {
        "inner roads": 14, "club roof": 14, "drinking water": 13, "school condition": 11, "irrigation water": 10,
        "kindergarten": 8, "street lighting": 7, "youth conditions": 6, "internet access": 6}
    by_source = {k: named(v, problems) for k, v in tally.by("source").items()}
    assert by_source["session"] == {key: votes for _ky, _ru, key, votes in PROTOCOL}
    assert by_source["phone"] == {"inner roads": 2, "club roof": 2, "drinking water": 3, "school condition": 1,
                                  "irrigation water": 1, "kindergarten": 2, "street lighting": 1,
                                  "youth conditions": 1, "internet access": 1}
    by_sex = {k: named(v, problems) for k, v in tally.by("sex", source="phone").items()}
    assert by_sex["m"] == {"drinking water": 1, "inner roads": 1}
    assert by_sex[None] == {"club roof": 1, "drinking water": 1}
    assert sum(by_sex["f"].values()) == 10
    by_band = {k: sum(v.values()) for k, v in tally.by("age_band").items()}
    assert by_band == {"18-35": 75 + 2, "36-55": 3 + 5, "56+": 1 + 1, None: 2}
    # The village priorities: Арал clean at the cut, Бирдик with four problems tied at the third place.
    assert top_names(result.top(villages["aral"]), problems) == [
        (1, "inner roads", 12), (1, "club roof", 12), (1, "drinking water", 12), (4, "school condition", 10),
        (5, "irrigation water", 9)]
    birdik = result.top(villages["birdik"])
    assert len(birdik.items) == 6 and birdik.tie_rank == 3 and birdik.tie_votes == 1 and len(birdik.tied) == 4
    # Participation, women always counted.
    share = result.participation
    assert share.village(villages["aral"]) == voting.Turnout(23, 11)
    # Бирдик: one woman, one man, one who did not say — a group of its own, outside the women's share.
    assert share.village(villages["birdik"]) == voting.Turnout(3, 1, not_said=1)
    assert share.village(villages["birdik"]).women_share == 0.5 and share.village(villages["birdik"]).men == 1
    assert share.total() == voting.Turnout(26, 12, not_said=1)
    assert share.eligible == {villages["aral"]: 3, villages["birdik"]: 3}


async def test_merge_after_voting_recomputes_is_recorded_and_undone(db: Database) -> None:
    round_id, problems = await protocol_round(db)
    await villagers_vote(db, round_id, problems)
    villages = await places(db)
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        await voting.import_sessions_csv(session, rnd, PROTOCOL_CSV, by=5001, age_bands=BANDS)
        merge = await voting.merge_problems(session, rnd, problems["irrigation water"], problems["drinking water"],
                                            by=5001)
        result = await voting.results(session, rnd)
    top = result.top(villages["aral"])
    assert top_names(top, problems) == [(1, "drinking water", 21), (2, "inner roads", 12), (2, "club roof", 12),
                                        (4, "school condition", 10), (5, "kindergarten", 7),
                                        (5, "street lighting", 7)]
    assert top.tied == [problems["kindergarten"], problems["street lighting"]] and top.tie_rank == 5
    # Both views: as voted, irrigation water still stands alone.
    assert named(result.as_voted.village(villages["aral"]), problems)["irrigation water"] == 9
    assert [(m.source_id, m.target_id, m.merged_by, m.undone_at) for m in result.merges] == [
        (problems["irrigation water"], problems["drinking water"], 5001, None)]
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        # A chain: drinking water (with irrigation) into club roof counts irrigation there too.
        second = await voting.merge_problems(session, rnd, problems["drinking water"], problems["club roof"], by=5001)
        merged = named((await voting.tally(session, round_id)).total(), problems)
        assert merged["club roof"] == 14 + 13 + 10 and "irrigation water" not in merged
        with pytest.raises(VotingError, match="already_merged"):
            await voting.merge_problems(session, rnd, problems["irrigation water"], problems["school condition"])
        with pytest.raises(VotingError, match="merge_into_itself"):
            await voting.merge_problems(session, rnd, problems["club roof"], problems["irrigation water"])
        await voting.undo_merge(session, rnd, second.id, by=5001)
        await voting.undo_merge(session, rnd, merge.id, by=5002)
        with pytest.raises(VotingError, match="merge_undone"):
            await voting.undo_merge(session, rnd, merge.id)
        back = named((await voting.tally(session, round_id)).village(villages["aral"]), problems)
        assert back["irrigation water"] == 9 and back["drinking water"] == 12
        merges = await voting.merges_of(session, round_id)
        assert [(m.undone_by is not None) for m in merges] == [True, True]


async def test_one_ballot_per_person_under_concurrent_confirmations(db: Database) -> None:
    round_id, problems = await protocol_round(db)
    await add_villager(db, 101, "aral", "f", "18-35")
    first = await asyncio.gather(*(vote(db, round_id, 101, problems, ["inner roads", "club roof"]) for _ in range(2)))
    assert first[0].receipt == first[1].receipt and sorted(r.changed for r in first) == [False, True]
    changed = await asyncio.gather(vote(db, round_id, 101, problems, ["drinking water"]),
                                   vote(db, round_id, 101, problems, ["kindergarten"]))
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Ballot)) == 1
        versions = (await session.execute(select(BallotChange.version, BallotChange.problem_ids)
                                          .order_by(BallotChange.version))).all()
        rnd = await voting.get_round(session, round_id)
        who = await person(session, 101)
        mine = await voting.my_ballot(session, round_id, who.id)
    assert [v for v, _ in versions] == [1, 2, 3] and {r.version for r in changed} == {2, 3}
    last = max(changed, key=lambda r: r.version)
    assert mine.problem_ids == last.problem_ids and mine.version == 3 and len(mine.history) == 3
    with pytest.raises(IntegrityError):  # the database refuses a second ballot, not only the code
        async with db.session() as session:
            session.add(Ballot(round_id=rnd.id, person_id=who.id, village_id=who.village_id, receipt="AAAA-BBBB"))


async def test_ballots_that_break_the_rules_are_refused(db: Database) -> None:
    round_id, problems = await protocol_round(db)
    villages = await places(db)
    await add_villager(db, 101, "aral", "f", "18-35")
    await add_villager(db, 102, "aral", phone=False)
    await add_villager(db, 301, "cholpon")
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        who = await person(session, 101)
        ids = list(problems.values())

        async def refused(code: str, **kwargs) -> None:
            with pytest.raises(VotingError) as caught:
                await voting.cast_ballot(session, kwargs.get("rnd", rnd), kwargs.get("who", who),
                                         kwargs.get("village", who.village_id), kwargs.get("ids", ids[:2]),
                                         kwargs.get("now"))
            assert caught.value.code == code

        await refused("other_village", village=villages["birdik"])
        await refused("too_many", ids=ids[:6])
        await refused("duplicate", ids=[ids[0], ids[0]])
        await refused("empty", ids=[])
        other = await voting.create_round(session, aiyl_aimak_id=who.aiyl_aimak_id, title="other")
        foreign = await voting.add_problem(session, other, title_ky="x", title_ru="x")
        await refused("not_on_ballot", ids=[foreign.id])
        await refused("not_voting", rnd=other)
        await refused("not_registered", who=await person(session, 102))
        await refused("not_in_round", who=await person(session, 301), village=villages["cholpon"])
        await refused("closed", now=rnd.vote_ends_at + timedelta(seconds=1))
        assert await voting.close_round(session, rnd, by=5001)
        assert not await voting.close_round(session, rnd, by=5001)
        await refused("closed")
        assert await session.scalar(select(func.count()).select_from(Ballot)) == 0


async def test_collection_submissions_problems_and_ballots_per_village(db: Database) -> None:
    villages = await places(db)
    await add_villager(db, 101, "aral")
    await add_villager(db, 201, "birdik")
    await add_villager(db, 102, "aral", phone=False)
    async with db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="ЖМБА")
        aral, birdik, unverified = [await person(session, t) for t in (101, 201, 102)]
        with pytest.raises(VotingError, match="not_collecting"):
            await voting.submit_problem(session, rnd, aral, "Ичүүчү суу жок")
        await voting.open_collection(session, rnd, by=5001)
        mine = [await voting.submit_problem(session, rnd, aral, text) for text in
                ("Ичүүчү суу жок", "  Таза  суу жок ", "Жол начар", "Клубдун чатыры агат", "Бала бакча жок")]
        assert mine[1].text == "Таза суу жок" and [s.slot for s in mine] == [1, 2, 3, 4, 5]
        with pytest.raises(VotingError, match="too_many_submissions"):
            await voting.submit_problem(session, rnd, aral, "Интернет жок")
        with pytest.raises(VotingError, match="not_registered"):
            await voting.submit_problem(session, rnd, unverified, "Интернет жок")
        theirs = await voting.submit_problem(session, rnd, birdik, "Суу жок")
        grouped = await voting.submissions_by_village(session, rnd.id)
        assert [len(grouped[villages["aral"]]), len(grouped[villages["birdik"]])] == [5, 1]
        water = await voting.add_problem(session, rnd, title_ky="Ичүүчү суу жок", title_ru="Нет питьевой воды",
                                         submission_ids=[mine[0].id, mine[1].id])
        clean = await voting.add_problem(session, rnd, title_ky="Таза суу", title_ru="Чистая вода",
                                         submission_ids=[theirs.id])
        roads = await voting.add_problem(session, rnd, title_ky="Жолдор", title_ru="Дороги",
                                         submission_ids=[mine[2].id])
        pension = await voting.add_problem(session, rnd, title_ky="Пенсия аз", title_ru="Маленькая пенсия",
                                           competence="outside")
        await voting.tag_problem(session, rnd, roads.id, "delegated")
        with pytest.raises(VotingError, match="bad_competence"):
            await voting.tag_problem(session, rnd, roads.id, "nonsense")
        merge = await voting.merge_problems(session, rnd, clean.id, water.id, by=5001)
        ballots = await voting.publish_ballot(session, rnd, by=5001)
        # Water (with Бирдик's clean water merged in) on both; roads only where it was named; pension everywhere.
        assert ballots == {villages["aral"]: [water.id, roads.id, pension.id],
                           villages["birdik"]: [water.id, pension.id]}
        with pytest.raises(VotingError, match="merge_on_ballot"):
            await voting.undo_merge(session, rnd, merge.id)
        with pytest.raises(VotingError, match="not_collecting"):
            await voting.submit_problem(session, rnd, birdik, "Жол жок")
        titles = [voting.problem_title(p, "ru") for p in await voting.ballot_items(session, rnd, villages["aral"])]
        assert titles == ["Нет питьевой воды", "Дороги", "Маленькая пенсия"]


async def test_a_rename_while_voting_reaches_every_processs_ballot_and_a_rolled_back_one_none(db: Database) -> None:
    """Each process keeps a voting round's ballot by the round's revision; a rename moves it on."""
    round_id, problems = await protocol_round(db)
    aral = (await places(db))["aral"]
    other = Database(db.url, schema=db.schema)  # another process's engine on the same database

    async def titles(on: Database) -> list[str]:
        async with on.session() as session:
            rnd = await voting.get_round(session, round_id)
            assert rnd is not None
            return [voting.problem_title(p, "ru") for p in await voting.ballot_items(session, rnd, aral)]

    try:
        before = await titles(other)
        assert before == await titles(db) and len(before) == len(PROTOCOL)
        async with db.session() as session:
            rnd = await voting.get_round(session, round_id)
            await voting.rename_problem(session, rnd, problems["drinking water"], "Таза суу", "Чистая вода")
            assert "Чистая вода" in [p.title_ru for p in await voting.ballot_items(session, rnd, aral)]
        assert "Чистая вода" in await titles(other) and "Чистая вода" in await titles(db)

        with pytest.raises(RuntimeError):
            async with db.session() as session:
                rnd = await voting.get_round(session, round_id)
                await voting.rename_problem(session, rnd, problems["drinking water"], "Суу", "Вода (отменено)")
                assert "Вода (отменено)" in [p.title_ru for p in await voting.ballot_items(session, rnd, aral)]
                raise RuntimeError("the organiser's update failed")
        assert "Чистая вода" in await titles(db) and "Чистая вода" in await titles(other)
        async with db.session() as session:  # the next rename takes the revision the rolled back one had
            rnd = await voting.get_round(session, round_id)
            assert rnd.revision == 1
            await voting.rename_problem(session, rnd, problems["drinking water"], "Суу", "Вода")
        assert "Вода" in await titles(db) and "Вода" in await titles(other)
    finally:
        await other.dispose()


async def test_sessions_import_is_all_or_nothing_and_checked(db: Database) -> None:
    round_id, problems = await protocol_round(db)
    bad = ("village,age_group,date,place,participants,women,problem,votes\n"
           "Арал,18-35,12.03.2026,Клуб,20,25,Ички жолдор,3\n"          # more women than participants
           "Нет такого,18-35,12.03.2026,Клуб,20,5,Ички жолдор,3\n"     # unknown village
           "Бирдик,17-20,12.03.2026,Клуб,20,5,Ички жолдор,3\n"        # unknown age group
           "Бирдик,36-55,32.03.2026,Клуб,20,5,Ички жолдор,3\n"        # no such date
           "Бирдик,56+,2026-03-13,Клуб,2,1,Ички жолдор,11\n")         # more votes than five stickers each
    aral = (await places(db))["aral"]
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        report = await voting.import_sessions_csv(session, rnd, bad, by=5001, age_bands=BANDS)
        assert [(line, e.code) for line, e in report.errors] == [
            (3, "bad_village"), (4, "bad_age_band"), (5, "bad_date"), (2, "women_over_participants"),
            (6, "votes_over_stickers")]
        assert await voting.sessions_of(session, round_id) == []
        missing = await voting.import_sessions_csv(session, rnd, "village;date\nАрал;1.1.2026", by=1, age_bands=BANDS)
        assert missing.errors[0][1].code == "missing_columns"
        # Semicolons, a new problem by title, and the same session again replaces it.
        roads = problems["inner roads"]
        text = ("village;age_group;date;place;participants;women;problem;votes\n"
                f"aral;56+;2026-03-14;Мечит;30;12;#{roads};20\naral;56+;2026-03-14;Мечит;30;12;Көпүрө жок;7\n")
        first = await voting.import_sessions_csv(session, rnd, text, by=5001, age_bands=BANDS)
        again = await voting.import_sessions_csv(session, rnd, text.replace(";7", ";8"), by=5001, age_bands=BANDS)
        assert (first.sessions_added, first.problems_added) == (1, 1)
        assert (again.sessions_replaced, again.problems_added) == (1, 0)
        total = (await voting.tally(session, round_id)).total()
        assert total[problems["inner roads"]] == 20 and sum(total.values()) == 28
        with pytest.raises(VotingError, match="women_over_participants"):
            await voting.record_session(session, rnd, SessionInput(
                aral, "18-35", date(2026, 3, 1), "Клуб", 10, 11), by=5001)


async def test_organisers_see_only_their_own_aiyl_aimak(db: Database) -> None:
    round_id, _problems = await protocol_round(db)
    async with db.session() as session:
        kok_irim = await find_aiyl_aimak(session, "kok-irim")
        cholpon = await find_aiyl_aimak(session, "cholpon")
        own = Roles(telegram_id=5001, organiser_of=frozenset({kok_irim.id}))
        other = Roles(telegram_id=5002, organiser_of=frozenset({cholpon.id}))
        assert (await voting.round_for_organiser(session, own, round_id)).id == round_id
        with pytest.raises(VotingError, match="not_found"):
            await voting.round_for_organiser(session, other, round_id)
        assert await voting.rounds_of(session, other.organiser_of) == []


async def test_rounds_close_at_their_end_time_once(db: Database) -> None:
    round_id, _problems = await protocol_round(db)
    async with db.session() as session:
        rnd = await voting.get_round(session, round_id)
        ends = rnd.vote_ends_at
        assert await voting.due_to_close(session, ends - timedelta(minutes=1)) == []
        assert await voting.due_to_close(session, ends) == [round_id]
        assert await voting.close_round(session, rnd, by=None, now=ends)
    async with db.session() as session:
        rnd = await session.get(VotingRound, round_id)
        assert rnd.phase == "closed" and rnd.closed_by is None and await voting.due_to_close(session, ends) == []
