"""Merging problems, everywhere or in one village, with history and undo; the tally with merges applied."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import audit
from services.voting.common import VotingError
from services.voting.counting import Tally, TallyRow, tally
from services.voting.problems import problem_in_round, problems_of
from services.voting.rounds import round_villages
from storage.models import utcnow
from storage.voting import ProblemMerge, VotingRound


async def _apply_merges(session: AsyncSession, round_id: int) -> None:
    """Point each problem at the end of its chain of active merges (what the tally groups by). Merges limited to
    one village are not followed here: ``village_merge_ends`` applies them to that village's votes only."""
    merges = (await session.execute(
        select(ProblemMerge.source_id, ProblemMerge.target_id)
        .where(ProblemMerge.round_id == round_id, ProblemMerge.undone_at.is_(None),
               ProblemMerge.village_id.is_(None)).order_by(ProblemMerge.id)
    )).all()
    into = {source: target for source, target in merges}

    def end(problem_id: int) -> int | None:
        seen = set()
        current = into.get(problem_id)
        while current is not None and current in into and current not in seen:
            seen.add(current)
            current = into[current]
        return current

    for problem in await problems_of(session, round_id):
        problem.merged_into_id = end(problem.id)
    await session.flush()


def village_merge_ends(merges: Iterable[ProblemMerge],
                       merged_into: dict[int, int | None]) -> dict[tuple[int, int], int]:
    """(village, problem) → the problem its votes in that village count as, for each problem an active merge
    limited to that village moves (``merged_into``: problem → its everywhere-merge end, as stored)."""
    by_village: dict[int, dict[int, int]] = defaultdict(dict)
    for merge in merges:
        if merge.undone_at is None and merge.village_id is not None:
            by_village[merge.village_id][merge.source_id] = merge.target_id
    ends: dict[tuple[int, int], int] = {}
    for village_id, into in by_village.items():
        for source in into:
            current, seen = source, {source}
            while True:
                step = into.get(current)
                if step is None:
                    step = merged_into.get(current)
                if step is None or step in seen:
                    break
                seen.add(step)
                current = step
            if current != source:
                ends[(village_id, source)] = current
    return ends


def apply_village_merges(tally_: Tally, ends: dict[tuple[int, int], int]) -> Tally:
    """The tally with each village-limited merge applied to that village's rows (the tally groups by the
    everywhere-merges; these are added around it)."""
    if not ends:
        return tally_
    summed: dict[tuple[Any, ...], int] = defaultdict(int)
    for row in tally_.rows:
        problem_id = ends.get((row.village_id, row.problem_id), row.problem_id)
        summed[(row.village_id, row.age_band, row.sex, row.source, problem_id)] += row.votes
    return Tally([TallyRow(*key, votes) for key, votes in summed.items()])


async def merge_problems(session: AsyncSession, rnd: VotingRound, source_id: int, target_id: int,
                         *, by: int | None = None, now: datetime | None = None,
                         village_id: int | None = None) -> ProblemMerge:
    """Count ``source`` with ``target`` (its votes summed); recorded, and undoable with ``undo_merge``.
    ``village_id``: in that village only (the method merges within one village's gallery), so the other
    villages keep the two apart and each village's top 5 stay its own problems.

    Once ballots are out, a merge changes only the tally, never the ballots people saw."""
    source = await problem_in_round(session, rnd.id, source_id)
    target = await problem_in_round(session, rnd.id, target_id)
    if source.merged_into_id is not None:
        raise VotingError("already_merged", id=source.id)
    merges = await merges_of(session, rnd.id)
    if village_id is not None:
        if village_id not in {v.id for v in await round_villages(session, rnd.id)}:
            raise VotingError("not_in_round")
        ends = village_merge_ends(merges, {p.id: p.merged_into_id for p in await problems_of(session, rnd.id)})
        if (village_id, source.id) in ends:
            raise VotingError("already_merged", id=source.id)
        target_end = ends.get((village_id, target.id), target.merged_into_id or target.id)
    else:
        if any(m.undone_at is None and m.source_id == source.id for m in merges):
            raise VotingError("already_merged", id=source.id)  # in a village: undo that first
        target_end = target.merged_into_id or target.id
    if target_end == source.id:
        raise VotingError("merge_into_itself")
    merge = ProblemMerge(round_id=rnd.id, source_id=source.id, target_id=target_end, phase=rnd.phase,
                         village_id=village_id, merged_by=by, merged_at=now or utcnow())
    session.add(merge)
    await session.flush()
    await _apply_merges(session, rnd.id)
    audit(session, by, "voting.problem.merge", "voting_problem", source.id, into=target_end, merge=merge.id,
          village=village_id)
    return merge


async def undo_merge(session: AsyncSession, rnd: VotingRound, merge_id: int, *, by: int | None = None,
                     now: datetime | None = None) -> ProblemMerge:
    merge = await session.get(ProblemMerge, merge_id)
    if merge is None or merge.round_id != rnd.id:
        raise VotingError("unknown_merge", id=merge_id)
    if merge.undone_at is not None:
        raise VotingError("merge_undone", id=merge_id)
    if merge.phase in ("draft", "collecting") and rnd.phase in ("voting", "closed"):
        raise VotingError("merge_on_ballot", id=merge_id)  # it shaped the ballots people saw
    merge.undone_at, merge.undone_by = now or utcnow(), by
    await session.flush()
    await _apply_merges(session, rnd.id)
    audit(session, by, "voting.problem.unmerge", "voting_problem", merge.source_id, merge=merge.id)
    return merge


async def merges_of(session: AsyncSession, round_id: int) -> list[ProblemMerge]:
    query = select(ProblemMerge).where(ProblemMerge.round_id == round_id).order_by(ProblemMerge.id)
    return list((await session.scalars(query)).all())


async def merged_tally(session: AsyncSession, round_id: int) -> Tally:
    """The tally with every active merge applied: everywhere-merges by the tally, village-limited ones here."""
    ends = village_merge_ends(await merges_of(session, round_id),
                              {p.id: p.merged_into_id for p in await problems_of(session, round_id)})
    return apply_village_merges(await tally(session, round_id, merged=True), ends)
