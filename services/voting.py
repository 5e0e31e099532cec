"""Priority voting, the participatory needs assessment: rounds and phases, problem collection, merging with
history and undo, ballots with receipts, offline sessions and the tally (computed in the database).

Refusals are ``VotingError`` with a ``code``; handlers turn codes into translated text."""

from __future__ import annotations

import csv
import io
import re
import secrets
import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, delete, func, literal_column, null, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import RuleError, audit
from services.roles import Roles
from storage import db
from storage.models import AiylAimak, Person, Village, utcnow
from storage.voting import (
    Attendance,
    Ballot,
    BallotChange,
    BallotChoice,
    BallotItem,
    OfflineSession,
    Problem,
    ProblemMerge,
    RoundVillage,
    SessionVote,
    Submission,
    TallyCount,
    VotingRound,
)

PHASES = ("draft", "collecting", "voting", "closed")
COMPETENCES = ("local", "delegated", "outside")
MAX_CHOICES = 5  # the five stickers
MAX_SUBMISSIONS = 5
MAX_BALLOT_ITEMS = 40  # one village's ballot: buttons on one message, positions in 64 bytes of button data
MIN_TEXT, MAX_TEXT = 3, 300
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
SOURCES = ("phone", "session")
# Where a round's votes come from: phone ballots only, offline sessions only (nothing goes to villagers), or both
# (a villager who took part in their village's session is refused a phone ballot: nobody is counted twice).
MODES = ("phone", "sessions", "both")
MIN_SESSION_PARTICIPANTS = 20  # the method: a session has at least 20 people

# The organiser's words for the competence tags (English, Kyrgyz, Russian; any case, first letters do).
COMPETENCE_WORDS: dict[str, tuple[str, ...]] = {
    "local": ("local", "жергиликтүү", "жергиликтуу", "жергиликтүү маанидеги", "местное", "местный", "местного",
              "вмз", "вопрос местного значения", "mahalliy"),
    "delegated": ("delegated", "өткөрүлүп берилген", "откорулуп берилген", "өткөрүлгөн", "мамлекеттик",
                  "делегированное", "делегированный", "делегированные", "госполномочия",
                  "государственные полномочия", "davlat", "topshirilgan"),
    "outside": ("outside", "тышкары", "ыйгарым укуктан тышкары", "сырткы", "вне", "вне полномочий", "вне компетенции",
                "не входит", "tashqari"),
}


class VotingError(RuleError):
    """Something the rules refuse; ``code`` names it, ``detail`` carries what the message needs."""


# Rounds and phases


async def create_round(session: AsyncSession, *, aiyl_aimak_id: int, title: str, description: str = "",
                       village_ids: Iterable[int] | None = None, collect_ends_at: datetime | None = None,
                       vote_ends_at: datetime | None = None, reminder_hours: Sequence[int] = (24, 2),
                       created_by: int | None = None, mode: str = "both") -> VotingRound:
    """A round in draft for an aiyl aimak: all its villages unless ``village_ids`` names some. ``mode``: where
    its votes come from (``MODES``), chosen at creation."""
    title = title.strip()
    if not title:
        raise VotingError("empty_title")
    if mode not in MODES:
        raise VotingError("bad_mode")
    own = set(await session.scalars(select(Village.id).where(Village.aiyl_aimak_id == aiyl_aimak_id)))
    chosen = set(village_ids) if village_ids is not None else own
    if not chosen or not chosen <= own:
        raise VotingError("bad_villages")
    if collect_ends_at and vote_ends_at and vote_ends_at <= collect_ends_at:
        raise VotingError("bad_dates")
    rnd = VotingRound(aiyl_aimak_id=aiyl_aimak_id, title=title[:200], description=description.strip(),
                      phase="draft", mode=mode, collect_ends_at=collect_ends_at, vote_ends_at=vote_ends_at,
                      reminder_hours=sorted({int(h) for h in reminder_hours if int(h) > 0}, reverse=True),
                      created_by=created_by)
    session.add(rnd)
    await session.flush()
    session.add_all(RoundVillage(round_id=rnd.id, village_id=v) for v in sorted(chosen))
    audit(session, created_by, "voting.round.create", "voting_round", rnd.id, villages=sorted(chosen), mode=mode)
    await session.flush()
    return rnd


async def get_round(session: AsyncSession, round_id: int) -> VotingRound | None:
    return await session.get(VotingRound, round_id, populate_existing=True)


async def round_for_organiser(session: AsyncSession, roles: Roles, round_id: int) -> VotingRound:
    """The round if this organiser may manage it; another aiyl aimak's round is as good as missing."""
    rnd = await get_round(session, round_id)
    if rnd is None or not roles.may_organise(rnd.aiyl_aimak_id):
        raise VotingError("not_found")
    return rnd


async def rounds_of(session: AsyncSession, aiyl_aimak_ids: Iterable[int]) -> list[VotingRound]:
    query = (select(VotingRound).where(VotingRound.aiyl_aimak_id.in_(list(aiyl_aimak_ids)))
             .order_by(VotingRound.created_at.desc(), VotingRound.id.desc()))
    return list((await session.scalars(query)).all())


async def round_villages(session: AsyncSession, round_id: int) -> list[Village]:
    query = (select(Village).join(RoundVillage, RoundVillage.village_id == Village.id)
             .where(RoundVillage.round_id == round_id).order_by(Village.name_ky))
    return list((await session.scalars(query)).all())


async def open_rounds_for(session: AsyncSession, person: Person) -> list[VotingRound]:
    """Rounds collecting or voting in the person's village."""
    if person.village_id is None:
        return []
    query = (select(VotingRound).join(RoundVillage, RoundVillage.round_id == VotingRound.id)
             .where(RoundVillage.village_id == person.village_id, VotingRound.phase.in_(("collecting", "voting")),
                    VotingRound.mode != "sessions")
             .order_by(VotingRound.id.desc()))
    return list((await session.scalars(query)).all())


def _require_phase(rnd: VotingRound, *phases: str) -> None:
    if rnd.phase not in phases:
        raise VotingError("wrong_phase", phase=rnd.phase)


def messages_villagers(rnd: VotingRound) -> bool:
    """Whether villagers hear of this round at all: a sessions-only round sends them nothing."""
    return (rnd.mode or "both") != "sessions"


def _require_phone(rnd: VotingRound) -> None:
    if not messages_villagers(rnd):
        raise VotingError("sessions_only")


async def open_collection(session: AsyncSession, rnd: VotingRound, *, by: int | None,
                          now: datetime | None = None) -> None:
    _require_phase(rnd, "draft")
    _require_phone(rnd)
    now = now or utcnow()
    if rnd.collect_ends_at is not None and rnd.collect_ends_at <= now:
        raise VotingError("bad_dates")
    rnd.phase, rnd.collecting_at = "collecting", now
    audit(session, by, "voting.round.collect", "voting_round", rnd.id)
    await session.flush()


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
    session.info.pop("jamaat_ballot_items", None)
    session.add_all(BallotItem(round_id=rnd.id, village_id=v, problem_id=p, position=i)
                    for v, items in ballots.items() for i, p in enumerate(items))
    rnd.phase, rnd.voting_at = "voting", now
    audit(session, by, "voting.round.vote", "voting_round", rnd.id,
           ballots={str(v): items for v, items in ballots.items()})
    await session.flush()
    return ballots


async def close_round(session: AsyncSession, rnd: VotingRound, *, by: int | None,
                      now: datetime | None = None) -> bool:
    """Close voting (``by`` None: at its end time). False when it was closed already."""
    if rnd.phase == "closed":
        return False
    # A sessions-only round has no ballot: it closes from whatever phase it is in.
    open_phases = ("voting",) if messages_villagers(rnd) else ("draft", "collecting", "voting")
    _require_phase(rnd, *open_phases)
    now = now or utcnow()
    claimed = await session.execute(
        update(VotingRound).where(VotingRound.id == rnd.id, VotingRound.phase.in_(open_phases))
        .values(phase="closed", closed_at=now, closed_by=by)
    )
    await session.refresh(rnd)
    if not claimed.rowcount:
        return False
    audit(session, by, "voting.round.close", "voting_round", rnd.id, at_end_time=by is None)
    await session.flush()
    return True


async def due_to_close(session: AsyncSession, now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    query = select(VotingRound.id).where(VotingRound.phase == "voting", VotingRound.vote_ends_at <= now)
    return list((await session.scalars(query)).all())


def future_example(now: datetime | None = None) -> datetime:
    """An end time to show as an example when one in the past was given: a week ahead, at 18:00 UTC."""
    ahead = (now or utcnow()) + timedelta(days=7)
    return ahead.replace(hour=18, minute=0, second=0, microsecond=0)


async def change_dates(session: AsyncSession, rnd: VotingRound, *, collect_ends_at: datetime | None = None,
                       vote_ends_at: datetime | None = None, by: int | None, now: datetime | None = None) -> bool:
    """Move the end of collection and/or voting while the round is open. A time in the past is refused at once
    (``detail['example']``: one in the future). Returns whether anything changed; callers reschedule the
    round's tasks and tell those who have not voted (``villagers_to_message(..., "remind")``)."""
    _require_phase(rnd, "draft", "collecting", "voting")
    now = now or utcnow()
    for moment in (collect_ends_at, vote_ends_at):
        if moment is not None and moment <= now:
            raise VotingError("past_date", example=future_example(now))
    if collect_ends_at is not None and rnd.phase not in ("draft", "collecting"):
        raise VotingError("wrong_phase", phase=rnd.phase)
    new_collect = collect_ends_at or rnd.collect_ends_at
    new_vote = vote_ends_at or rnd.vote_ends_at
    if new_collect and new_vote and new_vote <= new_collect:
        raise VotingError("bad_dates")
    if (new_collect, new_vote) == (rnd.collect_ends_at, rnd.vote_ends_at):
        return False
    before = [str(rnd.collect_ends_at), str(rnd.vote_ends_at)]
    rnd.collect_ends_at, rnd.vote_ends_at = new_collect, new_vote
    audit(session, by, "voting.round.dates", "voting_round", rnd.id, before=before,
          after=[str(new_collect), str(new_vote)])
    await session.flush()
    return True


_REMINDER = re.compile(r"^(\d+)\s*(d|h|д|ч|к|с|k|s|дн|күн|кун|саат|час|часа|часов|days?|hours?)?\.?$", re.IGNORECASE)
_REMINDER_HOURS = {"d": 24, "д": 24, "к": 24, "k": 24, "дн": 24, "күн": 24, "кун": 24, "day": 24, "days": 24,
                   "h": 1, "ч": 1, "с": 1, "s": 1, "саат": 1, "час": 1, "часа": 1, "часов": 1, "hour": 1, "hours": 1}


def parse_reminder_hours(text: str) -> list[int]:
    """Reminder offsets before the close: "48,24,2" (hours), "2d, 2h", Kyrgyz "1к, 2с" (күн, саат) or Russian
    "1д, 2ч". Distinct, largest first."""
    hours: set[int] = set()
    for part in re.split(r"[,;\s]+(?=\d)", text.strip()):
        part = part.strip().rstrip(",;")
        if not part:
            continue
        match = _REMINDER.match(part)
        if not match:
            raise VotingError("bad_reminders")
        hours.add(int(match.group(1)) * _REMINDER_HOURS.get((match.group(2) or "h").lower(), 1))
    if not hours:
        raise VotingError("bad_reminders")
    return sorted(hours, reverse=True)


def set_reminders(rnd: VotingRound, hours: Iterable[int]) -> list[int]:
    values = sorted({int(h) for h in hours}, reverse=True)
    if not values or any(h <= 0 or h > 24 * 60 for h in values):
        raise VotingError("bad_reminders")
    rnd.reminder_hours = values
    return values


async def publish_results(session: AsyncSession, rnd: VotingRound, *, by: int | None,
                          now: datetime | None = None) -> bool:
    _require_phase(rnd, "closed")
    if rnd.results_published_at is not None:
        return False
    rnd.results_published_at = now or utcnow()
    audit(session, by, "voting.results.publish", "voting_round", rnd.id)
    await session.flush()
    return True


# Who takes part


def _eligible(round_id: int) -> Any:
    """Registered, phone-verified, reachable people living in one of the round's villages."""
    return (
        select(Person)
        .join(RoundVillage, and_(RoundVillage.village_id == Person.village_id, RoundVillage.round_id == round_id))
        .where(Person.registered_at.is_not(None), Person.forgotten_at.is_(None), Person.phone_hash.is_not(None),
               Person.telegram_id.is_not(None))
    )


def recipients(round_id: int, *, non_voters: bool = False, reachable: bool = True) -> Any:
    """The round's eligible people as a condition on ``Person`` (``non_voters``: those without a ballot who did
    not take part in their village's session;
    ``reachable``: not marked unreachable), for set-based queuing of notices."""
    conditions = [Person.village_id.in_(select(RoundVillage.village_id).where(RoundVillage.round_id == round_id)),
                  Person.registered_at.is_not(None), Person.forgotten_at.is_(None), Person.phone_hash.is_not(None),
                  Person.telegram_id.is_not(None)]
    if reachable:
        conditions.append(Person.unreachable_at.is_(None))
    if non_voters:  # nor those who said they took part in their village's session: they vote there
        conditions.append(Person.id.not_in(select(Ballot.person_id).where(Ballot.round_id == round_id)))
        conditions.append(Person.id.not_in(select(Attendance.person_id).where(Attendance.round_id == round_id,
                                                                              Attendance.attended.is_(True))))
    return and_(*conditions)


async def eligible_people(session: AsyncSession, round_id: int) -> list[Person]:
    return list((await session.scalars(_eligible(round_id).order_by(Person.id))).unique().all())


async def non_voters(session: AsyncSession, round_id: int) -> list[Person]:
    """Reachable villagers without a ballot, less those who said they took part in their village's session."""
    voted = select(Ballot.person_id).where(Ballot.round_id == round_id)
    attended = select(Attendance.person_id).where(Attendance.round_id == round_id, Attendance.attended.is_(True))
    query = (_eligible(round_id).where(Person.id.not_in(voted), Person.id.not_in(attended),
                                       Person.unreachable_at.is_(None)).order_by(Person.id))
    return list((await session.scalars(query)).unique().all())


async def villagers_to_message(session: AsyncSession, rnd: VotingRound, kind: str) -> list[Person]:
    """Who gets a round's villager notice (``kind``: collect, ballot, remind, dates or results): nobody in a
    sessions-only round; reminders and date changes only to those who have not voted."""
    if not messages_villagers(rnd):
        return []
    if kind in ("remind", "dates"):
        return await non_voters(session, rnd.id)
    return await eligible_people(session, rnd.id)


# Nobody counted twice


async def record_attendance(session: AsyncSession, rnd: VotingRound, person: Person, attended: bool,
                            now: datetime | None = None) -> bool:
    """The villager's answer to "did you take part in the meeting in your village?", asked once per round: the
    first answer stands (a database key keeps one). Returns the answer that stands. A villager who already voted
    is not asked (``ask_attendance``), and an answer from them is not recorded: their ballot stands."""
    await check_eligible(session, rnd, person)
    assert person.village_id is not None
    if await session.scalar(select(Ballot.id).where(Ballot.round_id == rnd.id, Ballot.person_id == person.id)):
        return bool(await attendance_of(session, rnd.id, person.id))
    insert = db.insert(session, Attendance).values(
        round_id=rnd.id, person_id=person.id, village_id=person.village_id, attended=attended,
        answered_at=now or utcnow()).on_conflict_do_nothing(index_elements=["round_id", "person_id"])
    if (await session.execute(insert)).rowcount:
        audit(session, person.telegram_id, "voting.attendance", "voting_round", rnd.id, attended=attended)
    return bool(await attendance_of(session, rnd.id, person.id))


async def attendance_of(session: AsyncSession, round_id: int, person_id: int) -> bool | None:
    """The answer given (None: not asked yet)."""
    return await session.scalar(select(Attendance.attended).where(Attendance.round_id == round_id,
                                                                  Attendance.person_id == person_id))


def needs_attendance_question(rnd: VotingRound) -> bool:
    return (rnd.mode or "both") == "both"


async def ask_attendance(session: AsyncSession, rnd: VotingRound, person: Person) -> bool:
    """Whether the ballot first asks "did you take part in the meeting in your village?": in a round with both
    sources, once the village's session is on record (before that there was no meeting to have taken part in;
    the sheets are checked against the phone ballots when they are entered). Not of a villager who voted unasked:
    a ballot cast before the session was on record counts, and the session sheet must leave that person out (the
    organiser is told how many such ballots the village has: ``voting_results.double_count_checks``)."""
    if not needs_attendance_question(rnd) or person.village_id is None:
        return False
    held = await session.scalar(select(OfflineSession.id).where(
        OfflineSession.round_id == rnd.id, OfflineSession.village_id == person.village_id).limit(1))
    if held is None:
        return False
    if await attendance_of(session, rnd.id, person.id) is not None:
        return True  # answered: the answer stands
    voted = await session.scalar(select(Ballot.id).where(Ballot.round_id == rnd.id, Ballot.person_id == person.id))
    return voted is None


async def check_eligible(session: AsyncSession, rnd: VotingRound, person: Person | None) -> None:
    if person is None or not person.is_registered or person.phone_hash is None or person.village_id is None:
        raise VotingError("not_registered")
    if person.village_id not in await _round_village_ids(session, rnd):
        raise VotingError("not_in_round")


# Collection of problems


def _clean(text: str) -> str:
    return " ".join(text.split())


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


def problem_title(problem: Problem, language: str) -> str:
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
    audit(session, by, "voting.problem.rename", "voting_problem", problem.id, before=list(before))
    await session.flush()
    return problem


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


# Ballots


async def ballot_items(session: AsyncSession, round_id: int, village_id: int) -> list[Problem]:
    """The village's ballot in its published order (read once per transaction)."""
    memo: dict[tuple[int, int], list[Problem]] = session.info.setdefault("jamaat_ballot_items", {})
    if (round_id, village_id) not in memo:
        query = (select(Problem).join(BallotItem, BallotItem.problem_id == Problem.id)
                 .where(BallotItem.round_id == round_id, BallotItem.village_id == village_id)
                 .order_by(BallotItem.position))
        memo[round_id, village_id] = list((await session.scalars(query)).all())
    return list(memo[round_id, village_id])


# What cannot change once a round is voting: its villages (fixed when it is created) and each village's ballot
# (frozen by publish_ballot, which only a draft or collecting round allows). Kept per engine, keyed by the round
# and the moment voting opened, so every ballot button is not a query for them.
_FROZEN: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], frozenset[int]]] = weakref.WeakKeyDictionary()
_FROZEN_PHASES = ("voting", "closed")


async def _frozen(session: AsyncSession, rnd: VotingRound, key: tuple[Any, ...], read: Any) -> frozenset[int]:
    if rnd.phase not in _FROZEN_PHASES or rnd.voting_at is None:
        return frozenset(await read())
    cache = _FROZEN.setdefault(session.get_bind(), {})
    full_key = (rnd.id, rnd.voting_at, *key)
    if full_key not in cache:
        if len(cache) > 10_000:
            cache.clear()
        cache[full_key] = frozenset(await read())
    return cache[full_key]


async def _round_village_ids(session: AsyncSession, rnd: VotingRound) -> frozenset[int]:
    async def read() -> Iterable[int]:
        return await session.scalars(select(RoundVillage.village_id).where(RoundVillage.round_id == rnd.id))

    return await _frozen(session, rnd, ("villages",), read)


async def _on_ballot(session: AsyncSession, rnd: VotingRound, village_id: int) -> frozenset[int]:
    async def read() -> Iterable[int]:
        return await session.scalars(select(BallotItem.problem_id).where(
            BallotItem.round_id == rnd.id, BallotItem.village_id == village_id))

    return await _frozen(session, rnd, ("ballot", village_id), read)


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
    insert = db.insert(session, Ballot).values(
        round_id=rnd.id, person_id=person.id, village_id=village_id, sex=person.sex, age_band=person.age_band,
        receipt=new_receipt(), version=1, cast_at=now, changed_at=now,
    ).on_conflict_do_nothing(index_elements=["round_id", "person_id"])
    inserted = bool((await session.execute(insert)).rowcount)
    ballot_id, receipt = (await session.execute(
        select(Ballot.id, Ballot.receipt).where(Ballot.round_id == rnd.id, Ballot.person_id == person.id)
        .with_for_update()
    )).one()
    if inserted:
        version = 1
        current: list[int] = []
    else:
        current = sorted(await session.scalars(
            select(BallotChoice.problem_id).where(BallotChoice.ballot_id == ballot_id)))
        if current == chosen:
            version = await session.scalar(select(Ballot.version).where(Ballot.id == ballot_id))
            return CastResult(ballot_id, receipt, int(version or 1), False, chosen)
        version = (await session.execute(
            update(Ballot).where(Ballot.id == ballot_id).values(version=Ballot.version + 1, changed_at=now)
            .returning(Ballot.version)
        )).scalar_one()
        await session.execute(delete(BallotChoice).where(BallotChoice.ballot_id == ballot_id))
    deltas = dict.fromkeys(current, -1)
    for problem_id in chosen:
        deltas[problem_id] = deltas.get(problem_id, 0) + 1
    await _count(session, ballot_id, deltas)
    if chosen:
        await session.execute(BallotChoice.__table__.insert(), [{"ballot_id": ballot_id, "problem_id": p}
                                                                 for p in chosen])
    await session.execute(BallotChange.__table__.insert().values(
        ballot_id=ballot_id, person_id=person.id, version=version, problem_ids=chosen, at=now))
    return CastResult(ballot_id, receipt, version, True, chosen)


async def _count(session: AsyncSession, ballot_id: int, deltas: dict[int, int]) -> None:
    """Move the ballot's counters (``TallyCount``) by ``deltas`` {problem: ±1}, in a fixed order so that two
    ballots counted at once never wait on each other in a circle."""
    deltas = {p: d for p, d in deltas.items() if d}
    if not deltas:
        return
    round_id, village_id, band, sex = (await session.execute(
        select(Ballot.round_id, Ballot.village_id, Ballot.age_band, Ballot.sex).where(Ballot.id == ballot_id))).one()
    table = TallyCount.__table__
    statement = db.insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["round_id", "village_id", "age_band", "sex", "problem_id"],
        set_={"votes": table.c.votes + statement.excluded.votes})
    await session.execute(statement, [
        {"round_id": round_id, "village_id": village_id, "age_band": band or "", "sex": sex or "",
         "problem_id": problem_id, "votes": delta} for problem_id, delta in sorted(deltas.items())])


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


# Offline sessions


@dataclass
class SessionInput:
    village_id: int
    age_band: str
    held_on: date
    place: str
    participants: int
    women: int
    votes: dict[int, int] = field(default_factory=dict)  # problem id → votes


def check_session(data: SessionInput) -> None:
    if data.participants <= 0 or data.women < 0:
        raise VotingError("bad_participants")
    if data.women > data.participants:
        raise VotingError("women_over_participants")
    if any(v < 0 for v in data.votes.values()):
        raise VotingError("bad_votes")
    total = sum(data.votes.values())
    if total > MAX_CHOICES * data.participants:
        raise VotingError("votes_over_stickers", votes=total, limit=MAX_CHOICES * data.participants)
    if not data.place.strip():
        raise VotingError("no_place")


async def record_session(session: AsyncSession, rnd: VotingRound, data: SessionInput, *, by: int | None,
                         source: str = "chat", age_bands: Sequence[str] | None = None) -> tuple[OfflineSession, bool]:
    """Store an offline session's result; the same village, group, date and place again replaces it.
    Returns the session and whether it is new. A sessions-only round takes sessions while still a draft."""
    if (rnd.mode or "both") == "phone":
        raise VotingError("phone_only")
    if rnd.phase == "draft" and messages_villagers(rnd):
        raise VotingError("wrong_phase", phase=rnd.phase)
    check_session(data)
    if age_bands is not None and data.age_band not in age_bands:
        raise VotingError("bad_age_band")
    if data.village_id not in {v.id for v in await round_villages(session, rnd.id)}:
        raise VotingError("not_in_round")
    for problem_id in data.votes:
        await problem_in_round(session, rnd.id, problem_id)
    place = _clean(data.place)[:200]
    existing = await session.scalar(select(OfflineSession).where(
        OfflineSession.round_id == rnd.id, OfflineSession.village_id == data.village_id,
        OfflineSession.age_band == data.age_band, OfflineSession.held_on == data.held_on,
        OfflineSession.place == place))
    created = existing is None
    if existing is None:
        existing = OfflineSession(round_id=rnd.id, village_id=data.village_id, age_band=data.age_band,
                                  held_on=data.held_on, place=place, participants=0, women=0)
        session.add(existing)
    existing.participants, existing.women = data.participants, data.women
    existing.source, existing.entered_by, existing.entered_at = source, by, utcnow()
    await session.flush()
    await session.execute(delete(SessionVote).where(SessionVote.session_id == existing.id))
    votes = [{"session_id": existing.id, "problem_id": p, "votes": v} for p, v in data.votes.items() if v > 0]
    if votes:
        await session.execute(SessionVote.__table__.insert(), votes)
    audit(session, by, "voting.session.record" if created else "voting.session.replace", "voting_session",
           existing.id, source=source, votes={str(p): v for p, v in data.votes.items()})
    await session.flush()
    return existing, created


async def sessions_of(session: AsyncSession, round_id: int) -> list[OfflineSession]:
    query = (select(OfflineSession).where(OfflineSession.round_id == round_id)
             .order_by(OfflineSession.village_id, OfflineSession.age_band, OfflineSession.held_on, OfflineSession.id))
    return list((await session.scalars(query)).all())


def _key(text: str) -> str:
    return _clean(text).casefold().replace("ё", "е")


async def find_or_add_problems(session: AsyncSession, rnd: VotingRound, names: Iterable[str], *,
                               by: int | None = None, village_id: int | None = None) -> dict[str, int]:
    """Problems named in a session result: "#12" or a Kyrgyz or Russian title of this round (any case);
    an unknown title becomes a new problem of the round (not on ballots already published)."""
    problems = await problems_of(session, rnd.id)
    by_title: dict[str, int] = {}
    for problem in problems:
        by_title.setdefault(_key(problem.title_ky), problem.id)
        by_title.setdefault(_key(problem.title_ru), problem.id)
    ids = {p.id for p in problems}
    found: dict[str, int] = {}
    for name in names:
        match = re.fullmatch(r"#\s*(\d+)", name.strip())
        if match:
            if int(match.group(1)) not in ids:
                raise VotingError("unknown_problem", id=int(match.group(1)))
            found[name] = int(match.group(1))
            continue
        key = _key(name)
        if not key:
            raise VotingError("empty_title")
        if key not in by_title:
            problem = Problem(round_id=rnd.id, title_ky=_clean(name)[:200], title_ru=_clean(name)[:200],
                              competence="local", created_by=by)
            session.add(problem)
            await session.flush()
            audit(session, by, "voting.problem.add", "voting_problem", problem.id, from_session=True,
                   village=village_id)
            by_title[key] = problem.id
        found[name] = by_title[key]
    return found


VOTE_LINE = re.compile(r"^\s*(?P<name>.+?)\s*[:=\-–—]?\s*(?P<votes>\d+)\s*$")


def parse_vote_lines(text: str) -> list[tuple[str, int]]:
    """"Inner roads: 12" (or "#3 12") per line."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = VOTE_LINE.match(line)
        if not match:
            raise VotingError("bad_vote_line", line=line.strip()[:80])
        rows.append((match.group("name"), int(match.group("votes"))))
    if not rows:
        raise VotingError("bad_vote_line", line="")
    return rows


def parse_date(text: str) -> date:
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise VotingError("bad_date", value=text[:40])


def match_age_band(text: str, bands: Sequence[str]) -> str:
    wanted = text.strip().replace("–", "-").replace("—", "-").replace(" ", "")
    for band in bands:
        if band.replace(" ", "") == wanted:
            return band
    raise VotingError("bad_age_band", value=text[:40])


def match_village(text: str, villages: Sequence[Village]) -> Village:
    wanted = _key(text)
    for village in villages:
        if wanted in (_key(village.code), _key(village.name_ky), _key(village.name_ru)):
            return village
    raise VotingError("bad_village", value=text[:80])


SESSION_COLUMNS = ("village", "age_group", "date", "place", "participants", "women", "problem", "votes")
# The same columns as an organiser writes them in Kyrgyz or Russian (compared without case).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "village": ("айыл", "село", "деревня", "айыл/село"),
    "age_group": ("курак тобу", "жаш тобу", "курактык топ", "возрастная группа", "возраст", "группа", "age group"),
    "date": ("күнү", "дата", "датасы", "күн"),
    "place": ("орун", "жери", "өткөн жери", "место", "место проведения"),
    "participants": ("катышуучулар", "катышкандар", "катышуучулардын саны", "участники", "участников",
                     "число участников", "кол-во участников"),
    "women": ("аялдар", "алардын ичинен аялдар", "женщины", "из них женщин", "женщин"),
    "problem": ("көйгөй", "көйгөйлөр", "проблема", "проблемы"),
    "votes": ("добуштар", "добуш", "голоса", "голосов", "стикеры"),
}


HEADERS = {  # the header row to write in the organiser's language (each is also read, see COLUMN_ALIASES)
    "ky": ("айыл", "курак тобу", "күнү", "орун", "катышуучулар", "аялдар", "көйгөй", "добуштар"),
    "ru": ("село", "возрастная группа", "дата", "место", "участники", "женщины", "проблема", "голоса"),
}


def session_headers(language: str) -> tuple[str, ...]:
    """The CSV header row as the organiser writes it: Kyrgyz, Russian (Uzbek readers get Russian), else English."""
    return HEADERS.get("ru" if language == "uz" else language, SESSION_COLUMNS)


def column_name(header: str) -> str:
    """The column a CSV header names, in English, Kyrgyz or Russian (underscores, spaces and case aside)."""
    wanted = " ".join(header.replace("_", " ").split()).casefold().replace("ё", "е")
    for column in SESSION_COLUMNS:
        if wanted == column.replace("_", " ") or wanted in COLUMN_ALIASES[column]:
            return column
    return header.strip().lower()


@dataclass
class ImportReport:
    sessions_added: int = 0
    sessions_replaced: int = 0
    votes: int = 0
    problems_added: int = 0
    errors: list[tuple[int, VotingError]] = field(default_factory=list)


async def import_sessions_csv(session: AsyncSession, rnd: VotingRound, content: bytes | str, *, by: int | None,
                              age_bands: Sequence[str],
                              min_participants: int = MIN_SESSION_PARTICIPANTS) -> ImportReport:
    """Session results from CSV, one row per session and problem (columns ``SESSION_COLUMNS``, headers also in
    Kyrgyz or Russian; comma or semicolon). The method's rules are checked per session, naming its first row:
    at least ``min_participants`` people, at most five stickers each. All or nothing: any error and nothing is
    stored (``report.errors`` says where)."""
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content.lstrip("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    header = [column_name(h or "") for h in (reader.fieldnames or [])]
    report = ImportReport()
    missing = [c for c in SESSION_COLUMNS if c not in header]
    if missing:
        report.errors.append((1, VotingError("missing_columns", columns=", ".join(missing))))
        return report
    villages = await round_villages(session, rnd.id)
    grouped: dict[tuple[int, str, date, str], dict[str, Any]] = {}
    for line, raw in enumerate(reader, start=2):
        row = {column_name(k or ""): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        try:
            village = match_village(row["village"], villages)
            band = match_age_band(row["age_group"], age_bands)
            held_on = parse_date(row["date"])
            place = _clean(row["place"])
            try:
                participants, women, votes = int(row["participants"]), int(row["women"]), int(row["votes"])
            except ValueError:
                raise VotingError("bad_number") from None
            if not row["problem"]:
                raise VotingError("empty_title")
            key = (village.id, band, held_on, place)
            entry = grouped.setdefault(key, {"participants": participants, "women": women, "votes": {}, "line": line})
            if (entry["participants"], entry["women"]) != (participants, women):
                raise VotingError("inconsistent_session")
            entry["votes"][row["problem"]] = entry["votes"].get(row["problem"], 0) + votes
        except VotingError as exc:
            report.errors.append((line, exc))
    known = {p.id for p in await problems_of(session, rnd.id)}
    for (village_id, band, held_on, place), entry in grouped.items():
        try:
            check_session(SessionInput(village_id, band, held_on, place, entry["participants"], entry["women"],
                                       dict(enumerate(entry["votes"].values()))))
            if entry["participants"] < min_participants:
                raise VotingError("too_few_participants", participants=entry["participants"],
                                  minimum=min_participants)
            for name in entry["votes"]:
                match = re.fullmatch(r"#\s*(\d+)", name.strip())
                if match and int(match.group(1)) not in known:
                    raise VotingError("unknown_problem", id=int(match.group(1)))
        except VotingError as exc:
            report.errors.append((entry["line"], exc))
    if report.errors:
        return report
    # Everything is checked: from here on nothing is refused, so the import is all or nothing.
    before = len(known)
    for (village_id, band, held_on, place), entry in grouped.items():
        ids = await find_or_add_problems(session, rnd, entry["votes"].keys(), by=by, village_id=village_id)
        votes: dict[int, int] = defaultdict(int)
        for name, count in entry["votes"].items():
            votes[ids[name]] += count
        _stored, created = await record_session(
            session, rnd, SessionInput(village_id, band, held_on, place, entry["participants"], entry["women"],
                                       dict(votes)), by=by, source="csv", age_bands=age_bands)
        report.sessions_added += created
        report.sessions_replaced += not created
        report.votes += sum(votes.values())
    report.problems_added = len(await problems_of(session, rnd.id)) - before
    return report


# Tally


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


async def merged_tally(session: AsyncSession, round_id: int) -> Tally:
    """The tally with every active merge applied: everywhere-merges by the tally, village-limited ones here."""
    ends = village_merge_ends(await merges_of(session, round_id),
                              {p.id: p.merged_into_id for p in await problems_of(session, round_id)})
    return apply_village_merges(await tally(session, round_id, merged=True), ends)


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


# Participation and results


@dataclass(frozen=True)
class Turnout:
    """People taking part, the women among them, and those who did not say their sex (their own group: the
    women's share is of those whose sex is known, so it does not read low)."""

    people: int
    women: int
    not_said: int = 0

    @property
    def said(self) -> int:
        return self.people - self.not_said

    @property
    def men(self) -> int:
        return self.said - self.women

    @property
    def women_share(self) -> float | None:
        return self.women / self.said if self.said > 0 else None

    def __add__(self, other: Turnout) -> Turnout:
        return Turnout(self.people + other.people, self.women + other.women, self.not_said + other.not_said)


@dataclass
class Participation:
    phone: dict[int, Turnout]  # village → voters by phone (women: those who said so)
    sessions: dict[int, Turnout]  # village → session participants
    eligible: dict[int, int]  # village → registered, phone-verified villagers
    phone_by_band: dict[tuple[int, str | None], Turnout]
    sessions_by_band: dict[tuple[int, str], Turnout]
    # village → phone ballots cast with help for people without a smartphone (already in ``phone``)
    assisted: dict[int, int] = field(default_factory=dict)

    def village(self, village_id: int) -> Turnout:
        return self.phone.get(village_id, Turnout(0, 0)) + self.sessions.get(village_id, Turnout(0, 0))

    def total(self) -> Turnout:
        result = Turnout(0, 0)
        for turnout in [*self.phone.values(), *self.sessions.values()]:
            result = result + turnout
        return result


async def participation(session: AsyncSession, round_id: int) -> Participation:
    women = func.sum(case((Ballot.sex == "f", 1), else_=0))
    not_said = func.sum(case((Ballot.sex.is_(None), 1), else_=0))
    phone_rows = (await session.execute(
        select(Ballot.village_id, Ballot.age_band, func.count(), women, not_said).where(Ballot.round_id == round_id)
        .group_by(Ballot.village_id, Ballot.age_band))).all()
    session_rows = (await session.execute(
        select(OfflineSession.village_id, OfflineSession.age_band, func.sum(OfflineSession.participants),
               func.sum(OfflineSession.women)).where(OfflineSession.round_id == round_id)
        .group_by(OfflineSession.village_id, OfflineSession.age_band))).all()
    eligible_rows = (await session.execute(
        select(RoundVillage.village_id, func.count(Person.id))
        .select_from(RoundVillage)
        .outerjoin(Person, and_(Person.village_id == RoundVillage.village_id, Person.registered_at.is_not(None),
                                Person.forgotten_at.is_(None), Person.phone_hash.is_not(None)))
        .where(RoundVillage.round_id == round_id).group_by(RoundVillage.village_id))).all()
    phone: dict[int, Turnout] = defaultdict(lambda: Turnout(0, 0))
    sessions: dict[int, Turnout] = defaultdict(lambda: Turnout(0, 0))
    phone_by_band: dict[tuple[int, str | None], Turnout] = {}
    sessions_by_band: dict[tuple[int, str], Turnout] = {}
    for village_id, band, count, w, unknown in phone_rows:
        turnout = Turnout(int(count), int(w or 0), int(unknown or 0))
        phone[village_id] = phone[village_id] + turnout
        phone_by_band[(village_id, band)] = turnout
    for village_id, band, count, w in session_rows:
        turnout = Turnout(int(count or 0), int(w or 0))
        sessions[village_id] = sessions[village_id] + turnout
        sessions_by_band[(village_id, band)] = turnout
    assisted_rows = (await session.execute(
        select(Ballot.village_id, func.count()).where(Ballot.round_id == round_id, Ballot.assisted_by.is_not(None))
        .group_by(Ballot.village_id))).all()
    return Participation(dict(phone), dict(sessions), {v: int(n) for v, n in eligible_rows}, phone_by_band,
                         sessions_by_band, {v: int(n) for v, n in assisted_rows})


@dataclass
class Results:
    """Everything a results message, chart or report needs, read once."""

    round: VotingRound
    aiyl_aimak: AiylAimak
    villages: list[Village]
    problems: dict[int, Problem]
    merged: Tally
    as_voted: Tally
    participation: Participation
    sessions: list[OfflineSession]
    session_votes: dict[int, int]  # session id → votes given in it
    merges: list[ProblemMerge]

    @property
    def active_merges(self) -> list[ProblemMerge]:
        return [m for m in self.merges if m.undone_at is None]

    def top(self, village_id: int | None = None, *, merged: bool = True) -> Top:
        tally_ = self.merged if merged else self.as_voted
        return top(tally_.total() if village_id is None else tally_.village(village_id))


async def results(session: AsyncSession, rnd: VotingRound) -> Results:
    aimak = await session.get(AiylAimak, rnd.aiyl_aimak_id)
    assert aimak is not None
    return Results(
        round=rnd, aiyl_aimak=aimak, villages=await round_villages(session, rnd.id),
        problems={p.id: p for p in await problems_of(session, rnd.id)},
        merged=await merged_tally(session, rnd.id), as_voted=await tally(session, rnd.id, merged=False),
        participation=await participation(session, rnd.id), sessions=await sessions_of(session, rnd.id),
        session_votes={sid: int(n) for sid, n in (await session.execute(
            select(SessionVote.session_id, func.sum(SessionVote.votes))
            .join(OfflineSession, OfflineSession.id == SessionVote.session_id)
            .where(OfflineSession.round_id == rnd.id).group_by(SessionVote.session_id))).all()},
        merges=await merges_of(session, rnd.id),
    )
