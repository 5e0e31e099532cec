"""Problems: the villagers' submissions, and the problems an organiser names, tags and renames from them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import audit
from services.voting.attendance import check_eligible
from services.voting.common import (
    COMPETENCE_WORDS,
    COMPETENCES,
    MAX_SUBMISSIONS,
    MAX_TEXT,
    MIN_TEXT,
    VotingError,
    _clean,
    _require_phase,
    _require_phone,
)
from services.voting.frozen import changed_ballots
from storage.models import Person, utcnow
from storage.voting import Problem, Submission, VotingRound


@dataclass(frozen=True, slots=True)
class BallotEntry:
    """A problem as a ballot shows it: a plain value, which one process's updates share while a round is voting."""

    id: int
    title_ky: str
    title_ru: str


async def submit_problem(session: AsyncSession, rnd: VotingRound, person: Person, text: str,
                         now: datetime | None = None) -> Submission:
    """One problem as the villager wrote it; five at most (a database constraint keeps the slots)."""
    now = now or utcnow()
    _require_phone(rnd)
    if rnd.phase != "collecting" or (rnd.collect_ends_at is not None and rnd.collect_ends_at <= now):
        raise VotingError("not_collecting")
    await check_eligible(session, rnd, person)
    text = _clean(text)
    if len(text) < MIN_TEXT:
        raise VotingError("too_short")
    if len(text) > MAX_TEXT:
        raise VotingError("too_long", limit=MAX_TEXT)
    used = await session.scalar(select(func.coalesce(func.max(Submission.slot), 0)).where(
        Submission.round_id == rnd.id, Submission.person_id == person.id))
    if used >= MAX_SUBMISSIONS:
        raise VotingError("too_many_submissions", limit=MAX_SUBMISSIONS)
    assert person.village_id is not None
    submission = Submission(round_id=rnd.id, person_id=person.id, village_id=person.village_id, slot=used + 1,
                            text=text, created_at=now)
    session.add(submission)
    await session.flush()
    return submission


async def submissions_of(session: AsyncSession, round_id: int, person_id: int) -> list[Submission]:
    query = select(Submission).where(Submission.round_id == round_id, Submission.person_id == person_id)
    return list((await session.scalars(query.order_by(Submission.slot))).all())


async def submissions_by_village(session: AsyncSession, round_id: int) -> dict[int, list[Submission]]:
    query = select(Submission).where(Submission.round_id == round_id).order_by(Submission.village_id, Submission.id)
    grouped: dict[int, list[Submission]] = defaultdict(list)
    for submission in (await session.scalars(query)).all():
        grouped[submission.village_id].append(submission)
    return dict(grouped)


# Problems, tags and merges


def problem_title(problem: Problem | BallotEntry, language: str) -> str:
    """Russian for Russian readers (and Uzbek and English ones, whose catalogs fall back to it); else Kyrgyz."""
    if language == "ky":
        return problem.title_ky or problem.title_ru
    return problem.title_ru or problem.title_ky


def split_titles(text: str) -> tuple[str, str]:
    """"Kyrgyz title | Russian title"; one title serves both."""
    ky, _sep, ru = text.partition("|")
    ky, ru = _clean(ky), _clean(ru)
    if not ky and not ru:
        raise VotingError("empty_title")
    return (ky or ru)[:200], (ru or ky)[:200]


def parse_competence(text: str) -> str:
    """A competence tag in the organiser's language: "local", "жергиликтүү", "местное", "делег…", "вне"…"""
    wanted = _clean(text).casefold().replace("ё", "е").strip(" .,:;")
    if not wanted:
        raise VotingError("bad_competence")
    for competence, words in COMPETENCE_WORDS.items():
        if any(wanted == w or (len(wanted) >= 3 and w.startswith(wanted)) for w in words):
            return competence
    raise VotingError("bad_competence")


async def add_problem(session: AsyncSession, rnd: VotingRound, *, title_ky: str, title_ru: str,
                      submission_ids: Iterable[int] = (), competence: str = "local", all_villages: bool = False,
                      by: int | None = None) -> Problem:
    """A named problem, grouping the given submissions of this round."""
    _require_phase(rnd, "draft", "collecting")
    if competence not in COMPETENCES:
        raise VotingError("bad_competence")
    ids = sorted(set(submission_ids))
    if ids:
        found = list((await session.scalars(select(Submission).where(
            Submission.id.in_(ids), Submission.round_id == rnd.id))).all())
        if len(found) != len(ids):
            raise VotingError("unknown_submission", ids=sorted(set(ids) - {s.id for s in found}))
    else:
        found = []
    problem = Problem(round_id=rnd.id, title_ky=_clean(title_ky)[:200], title_ru=_clean(title_ru)[:200],
                      competence=competence, all_villages=all_villages, created_by=by)
    if not problem.title_ky or not problem.title_ru:
        raise VotingError("empty_title")
    session.add(problem)
    await session.flush()
    for submission in found:
        submission.problem_id = problem.id
    audit(session, by, "voting.problem.add", "voting_problem", problem.id, submissions=ids)
    await session.flush()
    return problem


async def assign_submissions(session: AsyncSession, rnd: VotingRound, problem_id: int, submission_ids: Iterable[int],
                             *, by: int | None = None) -> int:
    _require_phase(rnd, "draft", "collecting")
    problem = await problem_in_round(session, rnd.id, problem_id)
    ids = sorted(set(submission_ids))
    result = await session.execute(update(Submission).where(Submission.round_id == rnd.id, Submission.id.in_(ids))
                                   .values(problem_id=problem.id))
    if result.rowcount != len(ids):
        raise VotingError("unknown_submission")
    audit(session, by, "voting.problem.assign", "voting_problem", problem.id, submissions=ids)
    return len(ids)


async def problem_in_round(session: AsyncSession, round_id: int, problem_id: int) -> Problem:
    problem = await session.get(Problem, problem_id, populate_existing=True)
    if problem is None or problem.round_id != round_id:
        raise VotingError("unknown_problem", id=problem_id)
    return problem


async def problems_of(session: AsyncSession, round_id: int) -> list[Problem]:
    query = select(Problem).where(Problem.round_id == round_id).order_by(Problem.id)
    return list((await session.scalars(query.execution_options(populate_existing=True))).all())


async def tag_problem(session: AsyncSession, rnd: VotingRound, problem_id: int, competence: str,
                      *, by: int | None = None) -> Problem:
    """Issue of local significance, delegated state power, or outside LSG powers: tagged, never dropped."""
    if competence not in COMPETENCES:
        raise VotingError("bad_competence")
    problem = await problem_in_round(session, rnd.id, problem_id)
    before, problem.competence = problem.competence, competence
    audit(session, by, "voting.problem.tag", "voting_problem", problem.id, before=before, after=competence)
    await session.flush()
    return problem


async def rename_problem(session: AsyncSession, rnd: VotingRound, problem_id: int, title_ky: str, title_ru: str,
                         *, by: int | None = None) -> Problem:
    problem = await problem_in_round(session, rnd.id, problem_id)
    before = (problem.title_ky, problem.title_ru)
    problem.title_ky, problem.title_ru = _clean(title_ky)[:200], _clean(title_ru)[:200]
    # What the ballots show changed: every process reads them again (one atomic step, however many rename at once).
    await session.execute(update(VotingRound).where(VotingRound.id == rnd.id)
                          .values(revision=VotingRound.revision + 1))
    changed_ballots(session).add(rnd.id)
    audit(session, by, "voting.problem.rename", "voting_problem", problem.id, before=list(before))
    await session.flush()
    return problem
