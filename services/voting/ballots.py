"""Ballots: publishing each village's ballot, checking and casting a villager's choices with a receipt, and
reading a ballot back (by person or receipt)."""

from __future__ import annotations

import functools
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import audit
from services.voting.attendance import attendance_of, check_eligible, needs_attendance_question
from services.voting.common import (
    MAX_BALLOT_ITEMS,
    MAX_CHOICES,
    RECEIPT_ALPHABET,
    VotingError,
    _require_phase,
    _require_phone,
)
from services.voting.counting import _count
from services.voting.frozen import _frozen, _on_ballot
from services.voting.merges import merges_of, village_merge_ends
from services.voting.problems import BallotEntry, problems_of
from services.voting.rounds import round_villages
from storage import db, direct
from storage.models import Person, utcnow
from storage.voting import Ballot, BallotChange, BallotChoice, BallotItem, Problem, Submission, VotingRound


async def publish_ballot(session: AsyncSession, rnd: VotingRound, *, by: int | None,
                         now: datetime | None = None) -> dict[int, list[int]]:
    """Freeze each village's ballot and open voting. A problem stands on the ballots of the villages its
    submissions came from (all villages when it has none, or when marked so); merged problems are not on it."""
    _require_phase(rnd, "draft", "collecting")
    _require_phone(rnd)
    now = now or utcnow()
    if rnd.vote_ends_at is not None and rnd.vote_ends_at <= now:
        raise VotingError("bad_dates")
    villages = [v.id for v in await round_villages(session, rnd.id)]
    problems = [p for p in await problems_of(session, rnd.id) if p.merged_into_id is None]
    if not problems:
        raise VotingError("no_problems")
    canonical = func.coalesce(Problem.merged_into_id, Problem.id)
    origin = await session.execute(
        select(canonical, Submission.village_id).join(Problem, Problem.id == Submission.problem_id)
        .where(Submission.round_id == rnd.id).distinct()
    )
    where: dict[int, set[int]] = defaultdict(set)
    for problem_id, village_id in origin.all():
        where[problem_id].add(village_id)
    # A merge limited to one village takes the source off that village's ballot; the target stands there.
    ends = village_merge_ends(await merges_of(session, rnd.id), {p.id: p.merged_into_id for p in problems})
    for (village_id, source), target in ends.items():
        if village_id in where.get(source, set()):
            where[target].add(village_id)
    ballots: dict[int, list[int]] = {v: [] for v in villages}
    for problem in problems:
        for village_id in villages:
            if (village_id, problem.id) in ends:
                continue
            if problem.all_villages or not where.get(problem.id) or village_id in where[problem.id]:
                ballots[village_id].append(problem.id)
    for village_id, items in ballots.items():
        if not items:
            raise VotingError("empty_ballot", village_id=village_id)
        if len(items) > MAX_BALLOT_ITEMS:
            raise VotingError("ballot_too_long", village_id=village_id, count=len(items))
    await session.execute(delete(BallotItem).where(BallotItem.round_id == rnd.id))
    session.add_all(BallotItem(round_id=rnd.id, village_id=v, problem_id=p, position=i)
                    for v, items in ballots.items() for i, p in enumerate(items))
    rnd.phase, rnd.voting_at = "voting", now
    audit(session, by, "voting.round.vote", "voting_round", rnd.id,
           ballots={str(v): items for v, items in ballots.items()})
    await session.flush()
    return ballots


async def ballot_items(session: AsyncSession, rnd: VotingRound, village_id: int) -> list[BallotEntry]:
    """The village's ballot in its published order. While the round is voting it is read once per process and
    round revision (a rename moves the revision on), not at every button."""
    async def read() -> tuple[BallotEntry, ...]:
        query = (select(Problem.id, Problem.title_ky, Problem.title_ru)
                 .join(BallotItem, BallotItem.problem_id == Problem.id)
                 .where(BallotItem.round_id == rnd.id, BallotItem.village_id == village_id)
                 .order_by(BallotItem.position))
        return tuple(BallotEntry(*row) for row in (await session.execute(query)).all())

    return list(await _frozen(session, rnd, ("entries", village_id, rnd.revision), read))


async def check_ballot(session: AsyncSession, rnd: VotingRound | None, person: Person | None, village_id: int,
                       problem_ids: Sequence[int], now: datetime | None = None, *, partial: bool = False) -> list[int]:
    """What a ballot claims, checked: the round is voting, the person votes in their own village, the problems
    are on that village's ballot, distinct, and five at most. ``partial``: a choice in progress (may be empty)."""
    now = now or utcnow()
    if rnd is None:
        raise VotingError("not_found")
    if rnd.phase == "closed" or (rnd.phase == "voting" and rnd.vote_ends_at is not None and rnd.vote_ends_at <= now):
        raise VotingError("closed")
    _require_phone(rnd)
    if rnd.phase != "voting":
        raise VotingError("not_voting")
    await check_eligible(session, rnd, person)
    assert person is not None
    if not partial and needs_attendance_question(rnd) and await attendance_of(session, rnd.id, person.id):
        raise VotingError("attended_session")  # their stickers were counted in the session (checked at casting)
    if village_id != person.village_id:
        raise VotingError("other_village")
    if len(set(problem_ids)) != len(problem_ids):
        raise VotingError("duplicate")
    if len(problem_ids) > MAX_CHOICES:
        raise VotingError("too_many", limit=MAX_CHOICES)
    if not problem_ids and not partial:
        raise VotingError("empty")
    if not set(problem_ids) <= await _on_ballot(session, rnd, village_id):
        raise VotingError("not_on_ballot")
    return sorted(problem_ids)


def new_receipt() -> str:
    code = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def normalise_receipt(text: str) -> str:
    code = re.sub(r"[^A-Z0-9]", "", text.upper().replace("O", "0").replace("I", "1"))
    code = code.replace("0", "O").replace("1", "I")  # the alphabet has neither; keep what was typed otherwise
    return f"{code[:4]}-{code[4:]}" if len(code) == 8 else code


@dataclass(frozen=True)
class CastResult:
    ballot_id: int
    receipt: str
    version: int
    changed: bool  # False: the same choices were confirmed again
    problem_ids: list[int]


async def cast_ballot(session: AsyncSession, rnd: VotingRound | None, person: Person | None, village_id: int,
                      problem_ids: Sequence[int], now: datetime | None = None) -> CastResult:
    """Record the confirmed ballot; the last confirmed one counts and each change is kept.

    The database allows one ballot per person and round: of two confirmations at the same moment one inserts,
    the other finds the row and updates it."""
    now = now or utcnow()
    chosen = await check_ballot(session, rnd, person, village_id, problem_ids, now)
    assert rnd is not None and person is not None
    # Straight on the driver (``storage.direct``): a confirmation is the dearest update of a vote, and through
    # the session its four or five statements cost more than the rest of it. Pending ORM changes are written first.
    statements = _cast_statements(db.dialect(session))
    new = await direct.rows(session, statements.insert, {
        "round_id": rnd.id, "person_id": person.id, "village_id": village_id, "sex": person.sex,
        "age_band": person.age_band, "receipt": new_receipt(), "cast_at": now, "changed_at": now,
    }, autoflush=True)
    if new:
        (ballot_id, receipt), version, current = new[0], 1, []
    else:  # a ballot of this person and round is there already (perhaps confirmed at this very moment): change it
        ballot_id, receipt = (await direct.rows(session, statements.lock, {"round": rnd.id, "person": person.id}))[0]
        current = sorted(row[0] for row in await direct.rows(session, statements.choices, {"ballot": ballot_id}))
        if current == chosen:
            version = (await direct.rows(session, statements.version, {"ballot": ballot_id}))[0][0]
            return CastResult(ballot_id, receipt, int(version or 1), False, chosen)
        version = (await direct.rows(session, statements.next_version, {"ballot": ballot_id, "now": now}))[0][0]
        await direct.rows(session, statements.drop_choices, {"ballot": ballot_id})
    deltas = dict.fromkeys(current, -1)
    for problem_id in chosen:
        deltas[problem_id] = deltas.get(problem_id, 0) + 1
    # A new ballot's cell is what was just inserted; a changed one is counted where it was first (read again).
    await _count(session, ballot_id, deltas, (rnd.id, village_id, person.age_band, person.sex) if new else None)
    await direct.run_many(session, statements.choose, [{"ballot_id": ballot_id, "problem_id": p} for p in chosen])
    await direct.rows(session, statements.change, {"ballot_id": ballot_id, "person_id": person.id,
                                                   "version": version, "problem_ids": chosen, "at": now})
    return CastResult(ballot_id, receipt, version, True, chosen)


@dataclass(frozen=True)
class _CastStatements:
    insert: direct.Direct  # the ballot, unless the person has one in the round: its id and receipt
    lock: direct.Direct  # the person's ballot in the round, locked until the commit (PostgreSQL)
    choices: direct.Direct
    version: direct.Direct
    next_version: direct.Direct
    drop_choices: direct.Direct
    choose: direct.Direct
    change: direct.Direct


@functools.cache
def _cast_statements(dialect_name: str) -> _CastStatements:
    ballot = Ballot.__table__
    by_id = Ballot.id == bindparam("ballot")
    return _CastStatements(
        insert=direct.Direct(
            db.dialect_module(dialect_name).insert(ballot).values(version=1, **direct.binds(
                "round_id", "person_id", "village_id", "sex", "age_band", "receipt", "cast_at", "changed_at"))
            .on_conflict_do_nothing(index_elements=["round_id", "person_id"]).returning(Ballot.id, Ballot.receipt)),
        lock=direct.Direct(select(Ballot.id, Ballot.receipt)
                           .where(Ballot.round_id == bindparam("round"), Ballot.person_id == bindparam("person"))
                           .with_for_update()),
        choices=direct.Direct(select(BallotChoice.problem_id).where(BallotChoice.ballot_id == bindparam("ballot"))),
        version=direct.Direct(select(Ballot.version).where(by_id)),
        next_version=direct.Direct(update(ballot).where(by_id)
                                   .values(version=Ballot.version + 1, changed_at=bindparam("now"))
                                   .returning(Ballot.version)),
        drop_choices=direct.Direct(delete(BallotChoice).where(BallotChoice.ballot_id == bindparam("ballot"))),
        choose=direct.Direct(BallotChoice.__table__.insert().values(**direct.binds("ballot_id", "problem_id"))),
        change=direct.Direct(BallotChange.__table__.insert().values(
            **direct.binds("ballot_id", "person_id", "version", "problem_ids", "at"))),
    )


@dataclass(frozen=True)
class BallotView:
    ballot_id: int
    round_id: int
    village_id: int
    receipt: str
    version: int
    cast_at: datetime
    changed_at: datetime
    problem_ids: list[int]
    history: list[tuple[int, datetime, list[int]]]  # (version, when, what)


async def _view(session: AsyncSession, ballot: Ballot) -> BallotView:
    choices = sorted(await session.scalars(select(BallotChoice.problem_id).where(BallotChoice.ballot_id == ballot.id)))
    changes = (await session.execute(select(BallotChange.version, BallotChange.at, BallotChange.problem_ids)
                                     .where(BallotChange.ballot_id == ballot.id).order_by(BallotChange.version))).all()
    return BallotView(ballot.id, ballot.round_id, ballot.village_id, ballot.receipt, ballot.version, ballot.cast_at,
                      ballot.changed_at, choices, [(v, at, list(ids)) for v, at, ids in changes])


async def my_ballot(session: AsyncSession, round_id: int, person_id: int) -> BallotView | None:
    ballot = await session.scalar(select(Ballot).where(Ballot.round_id == round_id, Ballot.person_id == person_id)
                                  .execution_options(populate_existing=True))
    return None if ballot is None else await _view(session, ballot)


_MY_CHOICES = direct.Direct(select(BallotChoice.problem_id).join(Ballot, Ballot.id == BallotChoice.ballot_id)
                            .where(Ballot.round_id == bindparam("round"), Ballot.person_id == bindparam("person")))


async def my_choices(session: AsyncSession, round_id: int, person_id: int) -> set[int]:
    """The problems of the person's confirmed ballot in the round (none before they confirm one): what /vote
    marks on the ballot it shows. One read straight on the driver (``storage.direct``), not ``my_ballot``'s three."""
    return {row[0] for row in await direct.rows(session, _MY_CHOICES, {"round": round_id, "person": person_id})}


async def ballot_by_receipt(session: AsyncSession, receipt: str, *, person_id: int | None = None,
                            aiyl_aimak_ids: Iterable[int] | None = None) -> BallotView | None:
    """A ballot by its receipt: the villager's own (``person_id``), or one of an organiser's aiyl aimaks."""
    query = select(Ballot).where(Ballot.receipt == normalise_receipt(receipt))
    if person_id is not None:
        query = query.where(Ballot.person_id == person_id)
    if aiyl_aimak_ids is not None:
        query = query.join(VotingRound, VotingRound.id == Ballot.round_id).where(
            VotingRound.aiyl_aimak_id.in_(list(aiyl_aimak_ids)))
    ballot = (await session.scalars(query.execution_options(populate_existing=True))).first()
    return None if ballot is None else await _view(session, ballot)
