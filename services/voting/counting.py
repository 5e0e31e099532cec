"""The tally, computed in the database: the counters moved as ballots are cast, the queries that group votes
by village, age group, sex, source and problem, and the ranking and top five."""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, cast, delete, func, literal_column, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from services.voting.common import MAX_CHOICES
from storage import db, direct
from storage.voting import Ballot, BallotChoice, OfflineSession, Problem, SessionVote, TallyCount


@functools.cache
def _move_counters(dialect_name: str) -> direct.Direct:
    """The counters' upsert for a database, built once (building it anew at every ballot cost more than running
    it) and run straight on the driver (``storage.direct``): it runs at every confirmed ballot."""
    table = TallyCount.__table__
    statement = db.dialect_module(dialect_name).insert(table)
    return direct.Direct(statement.on_conflict_do_update(
        index_elements=["round_id", "village_id", "age_band", "sex", "problem_id"],
        set_={"votes": table.c.votes + statement.excluded.votes}))


_BALLOT_CELL = direct.Direct(select(Ballot.round_id, Ballot.village_id, Ballot.age_band, Ballot.sex)
                             .where(Ballot.id == bindparam("ballot")))


async def _count(session: AsyncSession, ballot_id: int, deltas: dict[int, int],
                 cell: tuple[int, int, str | None, str | None] | None = None) -> None:
    """Move the ballot's counters (``TallyCount``) by ``deltas`` {problem: ±1}, in a fixed order so that two
    ballots counted at once never wait on each other in a circle. ``cell``: the ballot's round, village, age
    band and sex when the caller knows them (else they are read)."""
    deltas = {p: d for p, d in deltas.items() if d}
    if not deltas:
        return
    round_id, village_id, band, sex = cell or (await direct.rows(session, _BALLOT_CELL, {"ballot": ballot_id}))[0]
    await direct.run_many(session, _move_counters(db.dialect(session)), [
        {"round_id": round_id, "village_id": village_id, "age_band": band or "", "sex": sex or "",
         "problem_id": problem_id, "votes": delta} for problem_id, delta in sorted(deltas.items())])


@dataclass(frozen=True)
class TallyRow:
    village_id: int
    age_band: str | None
    sex: str | None  # None for sessions (mixed-sex age groups) and for people who did not say
    source: str  # "phone" or "session"
    problem_id: int
    votes: int


Votes = dict[int, int]  # problem id → votes


@dataclass
class Tally:
    """Votes grouped in the database by village, age group, sex, source and problem; the views sum these."""

    rows: list[TallyRow]

    def by(self, attribute: str, **where: Any) -> dict[Any, Votes]:
        grouped: dict[Any, Votes] = defaultdict(lambda: defaultdict(int))
        for row in self.rows:
            if all(getattr(row, k) == v for k, v in where.items()):
                grouped[getattr(row, attribute)][row.problem_id] += row.votes
        return {key: dict(votes) for key, votes in grouped.items()}

    def total(self, **where: Any) -> Votes:
        votes: Votes = defaultdict(int)
        for row in self.rows:
            if all(getattr(row, k) == v for k, v in where.items()):
                votes[row.problem_id] += row.votes
        return dict(votes)

    def village(self, village_id: int) -> Votes:
        return self.total(village_id=village_id)


def _session_votes(round_id: int, problem: Any) -> Any:
    return (
        select(OfflineSession.village_id, OfflineSession.age_band, cast(null(), String(1)),
               literal_column("'session'"), problem, func.sum(SessionVote.votes))
        .select_from(SessionVote)
        .join(OfflineSession, OfflineSession.id == SessionVote.session_id)
        .join(Problem, Problem.id == SessionVote.problem_id)
        .where(OfflineSession.round_id == round_id)
        .group_by(OfflineSession.village_id, OfflineSession.age_band, problem)
    )


def tally_query(round_id: int, *, merged: bool = True) -> Any:
    """One SQL statement: phone votes from the counters kept as ballots are cast (``TallyCount``) and session
    votes, each problem counted as the problem it is merged into (``merged``) or as itself, grouped by village,
    age group, sex, source and problem. Same rows as ``recount_query``, read from a few thousand counters
    instead of every choice."""
    problem = func.coalesce(Problem.merged_into_id, Problem.id) if merged else Problem.id
    count = TallyCount
    phone = (
        select(count.village_id.label("village_id"), func.nullif(count.age_band, "").label("age_band"),
               func.nullif(count.sex, "").label("sex"), literal_column("'phone'").label("source"),
               problem.label("problem_id"), func.sum(count.votes).label("votes"))
        .select_from(count)
        .join(Problem, Problem.id == count.problem_id)
        .where(count.round_id == round_id, count.votes > 0)
        .group_by(count.village_id, count.age_band, count.sex, problem)
    )
    return union_all(phone, _session_votes(round_id, problem))


def recount_query(round_id: int, *, merged: bool = True) -> Any:
    """The full recount: every phone choice and session vote, grouped like ``tally_query``."""
    problem = func.coalesce(Problem.merged_into_id, Problem.id) if merged else Problem.id
    phone = (
        select(Ballot.village_id.label("village_id"), Ballot.age_band.label("age_band"), Ballot.sex.label("sex"),
               literal_column("'phone'").label("source"), problem.label("problem_id"),
               func.count().label("votes"))
        .select_from(BallotChoice)
        .join(Ballot, Ballot.id == BallotChoice.ballot_id)
        .join(Problem, Problem.id == BallotChoice.problem_id)
        .where(Ballot.round_id == round_id)
        .group_by(Ballot.village_id, Ballot.age_band, Ballot.sex, problem)
    )
    return union_all(phone, _session_votes(round_id, problem))


async def tally(session: AsyncSession, round_id: int, *, merged: bool = True, full: bool = False) -> Tally:
    """The tally from the counters; ``full``: recounted from every ballot (the same rows)."""
    query = recount_query(round_id, merged=merged) if full else tally_query(round_id, merged=merged)
    rows = (await session.execute(query)).all()
    return Tally([TallyRow(v, a, s, src, p, int(n)) for v, a, s, src, p, n in rows])


async def recount(session: AsyncSession, round_id: int | None = None) -> None:
    """Rebuild the counters from the ballots (of one round, or all): after a bulk load that bypassed
    ``cast_ballot``, or to repair them."""
    table = TallyCount.__table__
    doomed = delete(TallyCount)
    band, sex = func.coalesce(Ballot.age_band, ""), func.coalesce(Ballot.sex, "")
    counted = (
        select(Ballot.round_id, Ballot.village_id, band, sex, BallotChoice.problem_id, func.count())
        .select_from(BallotChoice).join(Ballot, Ballot.id == BallotChoice.ballot_id)
        .group_by(Ballot.round_id, Ballot.village_id, band, sex, BallotChoice.problem_id)
    )
    if round_id is not None:
        doomed = doomed.where(TallyCount.round_id == round_id)
        counted = counted.where(Ballot.round_id == round_id)
    await session.execute(doomed)
    await session.execute(table.insert().from_select(
        ["round_id", "village_id", "age_band", "sex", "problem_id", "votes"], counted))


@dataclass(frozen=True)
class Ranked:
    rank: int  # competition ranking: 1, 1, 3…
    problem_id: int
    votes: int


@dataclass(frozen=True)
class Top:
    """The priorities: the top ``size`` by votes, and everything tied with the last of them."""

    items: list[Ranked]
    size: int
    tied: list[int]  # problems tied at the cut (more than ``size`` shown); empty when there is no tie
    tie_rank: int | None
    tie_votes: int | None


def ranking(votes: Votes) -> list[Ranked]:
    ordered = sorted(((v, p) for p, v in votes.items() if v > 0), key=lambda item: (-item[0], item[1]))
    ranked: list[Ranked] = []
    for index, (count, problem_id) in enumerate(ordered):
        rank = ranked[-1].rank if ranked and ranked[-1].votes == count else index + 1
        ranked.append(Ranked(rank, problem_id, count))
    return ranked


def top(votes: Votes, size: int = MAX_CHOICES) -> Top:
    """Top ``size``; a tie at the cut shows every tied problem and names the tie, never breaking it."""
    ranked = ranking(votes)
    if len(ranked) <= size:
        return Top(ranked, size, [], None, None)
    cut = ranked[size - 1].votes
    items = [r for r in ranked if r.votes >= cut]
    if len(items) == size:
        return Top(items, size, [], None, None)
    tied = [r for r in items if r.votes == cut]
    return Top(items, size, [r.problem_id for r in tied], tied[0].rank, cut)
