"""The tally read from counters kept as ballots are cast equals the full recount, on random rounds: ballots cast,
changed and confirmed again, problems merged and unmerged, offline sessions recorded; SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import delete, select

from services import voting
from services.places import find_aiyl_aimak
from services.voting import SessionInput, VotingError
from storage.db import Database
from storage.models import Village, utcnow
from storage.voting import TallyCount
from tests.test_voting_services import add_villager, person, places

BANDS = ["18-35", "36-55", "56+", None]
SEXES = ["f", "m", None]


def rows(tally: voting.Tally) -> Counter:
    return Counter((r.village_id, r.age_band, r.sex, r.source, r.problem_id, r.votes) for r in tally.rows)


async def random_round(db: Database, rng: random.Random, first_person: int) -> int:
    await places(db)
    async with db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="Random", created_by=1,
                                        vote_ends_at=utcnow() + timedelta(days=7))
        await voting.open_collection(session, rnd, by=1)
        problems = [(await voting.add_problem(session, rnd, title_ky=f"Маселе {n}", title_ru=f"Проблема {n}",
                                              by=1)).id for n in range(rng.randint(3, 9))]
        await voting.publish_ballot(session, rnd, by=1)
        round_id = rnd.id
        villages = {code: vid for code, vid in (await session.execute(select(Village.code, Village.id))).all()}
    people = []
    for n in range(rng.randint(5, 25)):
        telegram_id = first_person + n
        await add_villager(db, telegram_id, rng.choice(["aral", "birdik"]), rng.choice(SEXES), rng.choice(BANDS))
        people.append(telegram_id)
    for _ in range(rng.randint(10, 60)):
        action = rng.random()
        async with db.session() as session:
            rnd = await voting.get_round(session, round_id)
            if action < 0.75:
                who = await person(session, rng.choice(people))
                chosen = rng.sample(problems, rng.randint(1, min(5, len(problems))))
                await voting.cast_ballot(session, rnd, who, who.village_id, chosen)
            elif action < 0.85:
                source, target = rng.sample(problems, 2)
                try:
                    await voting.merge_problems(session, rnd, source, target, by=1)
                except VotingError:
                    pass
            elif action < 0.9:
                merges = [m for m in await voting.merges_of(session, round_id) if m.undone_at is None]
                if merges:
                    await voting.undo_merge(session, rnd, rng.choice(merges).id, by=1)
            else:
                participants = rng.randint(1, 20)
                votes = {p: rng.randint(0, participants) for p in rng.sample(problems, rng.randint(1, 3))}
                await voting.record_session(session, rnd, SessionInput(
                    village_id=villages[rng.choice(["aral", "birdik"])], age_band=rng.choice(BANDS[:3]),
                    held_on=date(2026, 3, rng.randint(1, 5)), place=rng.choice(["School", "Club"]),
                    participants=participants, women=rng.randint(0, participants), votes=votes), by=1)
    return round_id


async def test_counted_tally_equals_the_full_recount_on_random_rounds(db: Database) -> None:
    rng = random.Random(20261129)
    for n in range(4):
        round_id = await random_round(db, rng, first_person=10_000 * (n + 1))
        async with db.session() as session:
            for merged in (True, False):
                fast = await voting.tally(session, round_id, merged=merged)
                full = await voting.tally(session, round_id, merged=merged, full=True)
                assert rows(fast) == rows(full), (n, merged)
                assert fast.total() == full.total()


async def test_recount_rebuilds_the_counters(db: Database) -> None:
    round_id = await random_round(db, random.Random(7), first_person=90_000)
    async with db.session() as session:
        before = rows(await voting.tally(session, round_id))
        await session.execute(delete(TallyCount))
        assert rows(await voting.tally(session, round_id)) != before or not before
        await voting.recount(session, round_id)
        assert rows(await voting.tally(session, round_id)) == before
