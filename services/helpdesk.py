"""The legal helpdesk: who may ask, working hours, and the life of a question as a state machine.

    waiting ──claim──▶ taken ──request details──▶ needs_details ──asker's details──▶ taken
       ▲                 │  ╲──answer──▶ answered ──follow-up (once)──▶ taken
       └────release──────┘                 └──it helped / rating──▶ closed
                         pass: taken ──▶ taken (another lawyer)

Every transition is one conditional UPDATE (``WHERE status = … AND lawyer_id = …``): of two lawyers
claiming the same question exactly one changes the row, the other gets ``HelpdeskError("taken")`` with the
holder's id. Times are counted in working hours (``WorkingHours``); while a question needs the asker's details
its clock is paused.

Who may ask (setting ``helpdesk_askers``): ``members`` (default) — staff and council deputies of member
municipalities, listed by admins in ``helpdesk_member`` (``/member``), asking for the municipality they work
for; or ``registered`` — anybody registered, asking for the municipality they live in."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services import tasks
from services.audit import audit
from storage.helpdesk import HelpdeskMember, Question, QuestionEntry
from storage.models import Person, RoleGrant, utcnow

log = logging.getLogger(__name__)

# Topic codes in the order they are offered.
TOPICS: tuple[str, ...] = ("emergencies", "labour", "dismissal", "property", "budget", "land", "council", "other")
WAITING, TAKEN, NEEDS_DETAILS, ANSWERED, CLOSED = "waiting", "taken", "needs_details", "answered", "closed"
OPEN = (WAITING, TAKEN, NEEDS_DETAILS)
CAPACITIES = ("staff", "deputy")
MAX_FOLLOWUPS = 1

REMIND_TASK = "helpdesk.remind"
OVERDUE_TASK = "helpdesk.overdue"
AUTOCLOSE_TASK = "helpdesk.autoclose"


class HelpdeskError(ValueError):
    """A step that cannot be taken; ``code`` names it, ``holder`` is the lawyer holding the question."""

    def __init__(self, code: str, question: Question | None = None, holder: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.question = question
        self.holder = holder


# ---------------------------------------------------------------- working hours


def _parse_windows(value: str) -> tuple[tuple[time, time], ...]:
    windows = []
    for part in value.split(","):
        start, _, end = part.strip().partition("-")
        begin, finish = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
        if finish <= begin:
            raise ValueError(f"working window {part!r} ends before it starts")
        windows.append((begin, finish))
    windows.sort()
    for (_, end), (start, _) in zip(windows, windows[1:], strict=False):
        if start < end:
            raise ValueError("working windows overlap")
    return tuple(windows)


@dataclass(frozen=True)
class WorkingHours:
    """Working windows on working days in one time zone, e.g. 09:00–12:30 and 13:30–18:00, Monday to Friday."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Bishkek"))
    windows: tuple[tuple[time, time], ...] = ((time(9), time(18)),)
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays
    holidays: frozenset[date] = frozenset()

    @classmethod
    def parse(cls, zone: ZoneInfo, windows: str, days: Iterable[int], holidays: Iterable[date] = ()) -> WorkingHours:
        hours = cls(zone, _parse_windows(windows), frozenset(days), frozenset(holidays))
        if not hours.days or not hours.days <= set(range(1, 8)):
            raise ValueError("working days are ISO weekdays 1 (Monday) to 7")
        return hours

    def _working(self, day: date) -> bool:
        return day.isoweekday() in self.days and day not in self.holidays

    def _spans(self, day: date) -> Iterable[tuple[datetime, datetime]]:
        if self._working(day):
            for begin, end in self.windows:
                yield datetime.combine(day, begin, self.zone), datetime.combine(day, end, self.zone)

    def seconds(self, start: datetime, end: datetime) -> float:
        """Working seconds between two moments (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        total = 0.0
        day, last = start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
        while day <= last:
            for begin, finish in self._spans(day):
                low, high = max(begin, start), min(finish, end)
                if high > low:
                    total += (high - low).total_seconds()
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment when ``seconds`` of working time have passed after ``start``."""
        remaining = max(seconds, 0.0)
        day = start.astimezone(self.zone).date()
        for _ in range(3700):  # ten years of calendar days at most
            for begin, finish in self._spans(day):
                low = max(begin, start)
                if finish <= low:
                    continue
                available = (finish - low).total_seconds()
                if remaining <= available:
                    return low + timedelta(seconds=remaining)
                remaining -= available
            day += timedelta(days=1)
        raise ValueError("no working time in the next ten years")


@dataclass(frozen=True)
class HelpdeskConfig:
    """The helpdesk's settings in the form the services use."""

    hours: WorkingHours = field(default_factory=WorkingHours)
    askers: str = "members"  # members | registered
    take_within_hours: float = 4.0
    answer_within_hours: dict[str, float] = field(default_factory=dict)
    default_answer_hours: float = 16.0
    close_unrated_after: timedelta = timedelta(days=7)  # an answer never rated or followed up closes then

    @classmethod
    def from_settings(cls, settings: Any) -> HelpdeskConfig:
        targets = dict(getattr(settings, "helpdesk_answer_targets", {}) or {})
        unknown = sorted(set(targets) - set(TOPICS))
        if unknown:
            raise ValueError(f"unknown helpdesk topics in the answer targets: {', '.join(unknown)}")
        return cls(
            hours=WorkingHours.parse(
                settings.zone,
                getattr(settings, "helpdesk_working_hours", "09:00-18:00"),
                getattr(settings, "helpdesk_working_days", (1, 2, 3, 4, 5)),
                getattr(settings, "helpdesk_holidays", ()),
            ),
            askers=getattr(settings, "helpdesk_askers", "members"),
            take_within_hours=getattr(settings, "helpdesk_take_within_hours", 4.0),
            answer_within_hours=targets,
            default_answer_hours=getattr(settings, "helpdesk_default_answer_hours", 16.0),
            close_unrated_after=timedelta(days=getattr(settings, "helpdesk_close_unrated_days", 7)),
        )

    def answer_target(self, topic: str) -> float:
        """Working seconds within which a question of this topic should be answered."""
        return self.answer_within_hours.get(topic, self.default_answer_hours) * 3600

    @property
    def take_target(self) -> float:
        return self.take_within_hours * 3600


def elapsed(question: Question, config: HelpdeskConfig, now: datetime) -> float:
    """Working seconds the question has been open, pauses for the asker's details left out."""
    end = now if question.first_answer_at is None else question.first_answer_at
    paused = question.paused_seconds or 0.0
    if question.paused_since is not None:
        paused += config.hours.seconds(question.paused_since, end)
    return max(config.hours.seconds(question.created_at, end) - paused, 0.0)


def due_at(question: Question, config: HelpdeskConfig) -> datetime | None:
    """When the first answer is due; None once answered or while the clock is paused."""
    if question.first_answer_at is not None or question.paused_since is not None:
        return None
    return config.hours.add(question.created_at, config.answer_target(question.topic) + (question.paused_seconds or 0))


def expected_answer(question: Question, config: HelpdeskConfig) -> datetime:
    due = due_at(question, config)
    return due if due is not None else config.hours.add(question.created_at, config.answer_target(question.topic))


# ---------------------------------------------------------------- who may ask


@dataclass(frozen=True)
class AskerCheck:
    allowed: bool
    reason: str = ""  # not_registered | not_member
    aiyl_aimak_id: int | None = None


async def member_of(session: AsyncSession, telegram_id: int) -> HelpdeskMember | None:
    return await session.scalar(select(HelpdeskMember).where(HelpdeskMember.telegram_id == telegram_id))


async def may_ask(session: AsyncSession, person: Person | None, config: HelpdeskConfig) -> AskerCheck:
    if person is None or not person.is_registered or person.telegram_id is None:
        return AskerCheck(False, "not_registered")
    member = await member_of(session, person.telegram_id)
    if member is not None:
        return AskerCheck(True, aiyl_aimak_id=member.aiyl_aimak_id)
    if config.askers == "registered":
        return AskerCheck(True, aiyl_aimak_id=person.aiyl_aimak_id)
    return AskerCheck(False, "not_member")


async def add_member(session: AsyncSession, telegram_id: int, aiyl_aimak_id: int, capacity: str,
                     *, by: int | None = None) -> bool:
    """List a member's staff or deputy; False when the entry existed and is now updated."""
    if capacity not in CAPACITIES:
        raise HelpdeskError("capacity")
    member = await member_of(session, telegram_id)
    created = member is None
    if member is None:
        member = HelpdeskMember(telegram_id=telegram_id, aiyl_aimak_id=aiyl_aimak_id, capacity=capacity, granted_by=by)
        session.add(member)
    else:
        member.aiyl_aimak_id, member.capacity, member.granted_by = aiyl_aimak_id, capacity, by
    audit(session, by, "helpdesk.member.add", "telegram_user", telegram_id, aiyl_aimak_id=aiyl_aimak_id,
          capacity=capacity)
    await session.flush()
    return created


async def remove_member(session: AsyncSession, telegram_id: int, *, by: int | None = None) -> bool:
    removed = (await session.execute(delete(HelpdeskMember).where(HelpdeskMember.telegram_id == telegram_id))).rowcount
    if removed:
        audit(session, by, "helpdesk.member.remove", "telegram_user", telegram_id)
    return bool(removed)


async def list_members(session: AsyncSession) -> list[HelpdeskMember]:
    return list((await session.scalars(select(HelpdeskMember).order_by(HelpdeskMember.aiyl_aimak_id,
                                                                        HelpdeskMember.telegram_id))).all())


async def lawyer_ids(session: AsyncSession) -> list[int]:
    query = select(RoleGrant.telegram_id).where(RoleGrant.role == "lawyer").distinct().order_by(RoleGrant.telegram_id)
    return list((await session.scalars(query)).all())


async def admin_ids(session: AsyncSession, settings_admins: Iterable[int]) -> list[int]:
    granted = set((await session.scalars(select(RoleGrant.telegram_id).where(RoleGrant.role == "admin"))).all())
    return sorted(granted | set(settings_admins))


# ---------------------------------------------------------------- scheduled checks


# A reminder or escalation missed while the bot was down still goes out within this (state re-checked then).
CHECK_GRACE = timedelta(days=7)


async def _schedule(session: AsyncSession, kind: str, key: str, run_at: datetime, payload: dict[str, Any]) -> None:
    await tasks.schedule(session, kind=kind, key=key, run_at=run_at, payload=payload, grace=CHECK_GRACE)


async def _cancel(session: AsyncSession, key: str) -> None:
    await tasks.cancel(session, key)


def remind_key(question_id: int) -> str:
    return f"helpdesk:remind:{question_id}"


def autoclose_key(question_id: int) -> str:
    return f"helpdesk:{question_id}:autoclose"


def overdue_key(question_id: int) -> str:
    return f"helpdesk:overdue:{question_id}"


async def plan_checks(session: AsyncSession, question: Question, config: HelpdeskConfig) -> None:
    """(Re)schedule the reminder to take it and the overdue escalation, as the question now stands."""
    if question.status == WAITING:
        await _schedule(session, REMIND_TASK, remind_key(question.id),
                        config.hours.add(question.queued_since, config.take_target), {"question_id": question.id})
    else:
        await _cancel(session, remind_key(question.id))
    due = due_at(question, config) if question.status in (WAITING, TAKEN) else None
    if due is not None and question.escalated_at is None:
        await _schedule(session, OVERDUE_TASK, overdue_key(question.id), due, {"question_id": question.id})
    else:
        await _cancel(session, overdue_key(question.id))


# ---------------------------------------------------------------- the life of a question


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _log(session: AsyncSession, question_id: int, author: str, kind: str, *, by: int | None = None,
         text: str | None = None, attachments: list[dict[str, Any]] | None = None, now: datetime,
         **detail: Any) -> QuestionEntry:
    entry = QuestionEntry(question_id=question_id, author=author, author_telegram_id=by, kind=kind, text=text,
                          attachments=list(attachments or []), detail=detail, at=now)
    session.add(entry)
    return entry


async def get(session: AsyncSession, question_id: int) -> Question:
    question = await session.get(Question, question_id, populate_existing=True)
    if question is None:
        raise HelpdeskError("not_found")
    return question


async def _move(session: AsyncSession, question: Question, to: str, *, expect: Iterable[str],
                lawyer: int | None | bool = False, **values: Any) -> Question:
    """One atomic transition: only if the row is still in an expected state (and held by ``lawyer``)."""
    query = update(Question).where(Question.id == question.id, Question.status.in_(tuple(expect)))
    if lawyer is not False:
        query = query.where(Question.lawyer_id.is_(None) if lawyer is None else Question.lawyer_id == lawyer)
    if "paused_since" in values or "paused_seconds" in values:  # computed from the row as it was read
        query = query.where(Question.paused_seconds == question.paused_seconds)
    result = await session.execute(query.values(status=to, **values).execution_options(synchronize_session=False))
    fresh = await get(session, question.id)
    if result.rowcount != 1:
        if fresh.status in (TAKEN, NEEDS_DETAILS) and fresh.lawyer_id is not None and fresh.lawyer_id != lawyer:
            raise HelpdeskError("taken", fresh, fresh.lawyer_id)
        raise HelpdeskError("wrong_state", fresh)
    return fresh


async def submit(session: AsyncSession, person: Person, *, topic: str, text: str, language: str,
                 aiyl_aimak_id: int | None, attachments: list[dict[str, Any]] | None = None,
                 config: HelpdeskConfig, now: datetime | None = None) -> Question:
    now = _now(now)
    if topic not in TOPICS:
        raise HelpdeskError("topic")
    question = Question(asker_id=person.id, aiyl_aimak_id=aiyl_aimak_id, topic=topic, language=language,
                        text=text.strip(), status=WAITING, created_at=now, queued_since=now, paused_seconds=0.0,
                        followups=0)
    session.add(question)
    await session.flush()
    _log(session, question.id, "asker", "question", by=person.telegram_id, text=question.text,
         attachments=attachments, now=now)
    await plan_checks(session, question, config)
    await session.flush()
    return question


def _require_asker(question: Question, person: Person) -> None:
    if question.asker_id != person.id:
        raise HelpdeskError("not_asker", question)


async def add_details(session: AsyncSession, question_id: int, person: Person, *, text: str | None,
                      attachments: list[dict[str, Any]] | None = None, config: HelpdeskConfig,
                      now: datetime | None = None) -> Question:
    """The asker adds details; a question that waited for them goes back to its lawyer and the clock runs."""
    now = _now(now)
    question = await get(session, question_id)
    _require_asker(question, person)
    if question.status not in OPEN:
        raise HelpdeskError("wrong_state", question)
    _log(session, question.id, "asker", "details", by=person.telegram_id, text=text, attachments=attachments, now=now)
    if question.status == NEEDS_DETAILS:
        paused = (question.paused_seconds or 0.0) + config.hours.seconds(question.paused_since or now, now)
        question = await _move(session, question, TAKEN, expect=[NEEDS_DETAILS], paused_since=None,
                               paused_seconds=paused)
        _log(session, question.id, "system", "event", now=now, event="resumed")
        await plan_checks(session, question, config)
    await session.flush()
    return question


async def claim(session: AsyncSession, question_id: int, lawyer_id: int, *, config: HelpdeskConfig,
                now: datetime | None = None) -> Question:
    """Take a waiting question; a second claim raises ``HelpdeskError("taken", holder=…)``.

    One conditional UPDATE decides: on PostgreSQL the second of two concurrent claims waits for the first's row
    lock, then finds the row no longer waiting; SQLite runs one writer at a time."""
    now = _now(now)
    result = await session.execute(
        update(Question)
        .where(Question.id == question_id, Question.status == WAITING, Question.lawyer_id.is_(None))
        .values(status=TAKEN, lawyer_id=lawyer_id, taken_at=now)
        .execution_options(synchronize_session=False)
    )
    question = await get(session, question_id)
    if result.rowcount != 1:
        if question.lawyer_id == lawyer_id:
            raise HelpdeskError("yours", question, lawyer_id)
        if question.lawyer_id is not None:
            raise HelpdeskError("taken", question, question.lawyer_id)
        raise HelpdeskError("wrong_state", question)
    _log(session, question.id, "lawyer", "event", by=lawyer_id, now=now, event="claimed")
    await plan_checks(session, question, config)
    await session.flush()
    return question


def _require_holder(question: Question, lawyer_id: int) -> None:
    if question.lawyer_id != lawyer_id:
        raise HelpdeskError("not_yours", question, question.lawyer_id)


async def release(session: AsyncSession, question_id: int, lawyer_id: int, *, config: HelpdeskConfig,
                  now: datetime | None = None) -> Question:
    """Put a held question back in the queue (not once it waits for the asker's details)."""
    now = _now(now)
    question = await get(session, question_id)
    _require_holder(question, lawyer_id)
    question = await _move(session, question, WAITING, expect=[TAKEN], lawyer=lawyer_id, lawyer_id=None,
                           queued_since=now, reminded_at=None)
    _log(session, question.id, "lawyer", "event", by=lawyer_id, now=now, event="released")
    await plan_checks(session, question, config)
    await session.flush()
    return question


async def pass_to(session: AsyncSession, question_id: int, lawyer_id: int, other_id: int, *,
                  now: datetime | None = None) -> Question:
    now = _now(now)
    if other_id == lawyer_id or other_id not in await lawyer_ids(session):
        raise HelpdeskError("not_a_lawyer")
    question = await get(session, question_id)
    _require_holder(question, lawyer_id)
    question = await _move(session, question, question.status, expect=[TAKEN, NEEDS_DETAILS], lawyer=lawyer_id,
                           lawyer_id=other_id, taken_at=now)
    _log(session, question.id, "lawyer", "event", by=lawyer_id, now=now, event="passed", to=other_id)
    await session.flush()
    return question


async def request_details(session: AsyncSession, question_id: int, lawyer_id: int, *, text: str,
                          attachments: list[dict[str, Any]] | None = None, config: HelpdeskConfig,
                          now: datetime | None = None) -> Question:
    """Ask the asker for details: the question waits for them and its clock pauses."""
    now = _now(now)
    question = await get(session, question_id)
    _require_holder(question, lawyer_id)
    if question.status == NEEDS_DETAILS:  # a second request while waiting: relayed, the pause goes on
        _log(session, question.id, "lawyer", "request", by=lawyer_id, text=text, attachments=attachments, now=now)
        await session.flush()
        return question
    question = await _move(session, question, NEEDS_DETAILS, expect=[TAKEN], lawyer=lawyer_id, paused_since=now,
                           paused_seconds=question.paused_seconds or 0.0)
    _log(session, question.id, "lawyer", "request", by=lawyer_id, text=text, attachments=attachments, now=now)
    await plan_checks(session, question, config)
    await session.flush()
    return question


async def answer(session: AsyncSession, question_id: int, lawyer_id: int, *, text: str,
                 attachments: list[dict[str, Any]] | None = None, law_refs: str | None = None,
                 config: HelpdeskConfig, now: datetime | None = None) -> Question:
    now = _now(now)
    question = await get(session, question_id)
    _require_holder(question, lawyer_id)
    values: dict[str, Any] = {"answered_at": now}
    if question.first_answer_at is None:
        values["first_answer_at"] = now
        values["first_answer_seconds"] = elapsed(question, config, now)
    question = await _move(session, question, ANSWERED, expect=[TAKEN], lawyer=lawyer_id, **values)
    _log(session, question.id, "lawyer", "answer", by=lawyer_id, text=text, attachments=attachments, now=now,
         law_refs=law_refs or "")
    await plan_checks(session, question, config)
    # Scheduling the same key again after a follow-up's answer moves it.
    await _schedule(session, AUTOCLOSE_TASK, autoclose_key(question.id), now + config.close_unrated_after,
                    {"question_id": question.id})
    await session.flush()
    return question


async def mark_helped(session: AsyncSession, question_id: int, person: Person, *,
                      now: datetime | None = None) -> Question:
    now = _now(now)
    question = await get(session, question_id)
    _require_asker(question, person)
    if question.status != ANSWERED:
        raise HelpdeskError("wrong_state", question)
    question.helped = True
    _log(session, question.id, "asker", "event", by=person.telegram_id, now=now, event="helped")
    await session.flush()
    return question


async def follow_up(session: AsyncSession, question_id: int, person: Person, *, text: str,
                    attachments: list[dict[str, Any]] | None = None, now: datetime | None = None) -> Question:
    """One follow-up question after the answer; it goes back to the lawyer who answered."""
    now = _now(now)
    question = await get(session, question_id)
    _require_asker(question, person)
    if question.followups >= MAX_FOLLOWUPS:
        raise HelpdeskError("followup_used", question)
    if question.helped:
        raise HelpdeskError("wrong_state", question)
    question = await _move(session, question, TAKEN, expect=[ANSWERED], followups=question.followups + 1)
    _log(session, question.id, "asker", "followup", by=person.telegram_id, text=text, attachments=attachments, now=now)
    await session.flush()
    return question


async def rate(session: AsyncSession, question_id: int, person: Person, rating: int, *, config: HelpdeskConfig,
               now: datetime | None = None) -> Question:
    """The asker rates the answer 1–5; the question closes."""
    now = _now(now)
    if not 1 <= rating <= 5:
        raise HelpdeskError("rating")
    question = await get(session, question_id)
    _require_asker(question, person)
    question = await _move(session, question, CLOSED, expect=[ANSWERED], rating=rating, closed_at=now,
                           close_seconds=max(config.hours.seconds(question.created_at, now)
                                             - (question.paused_seconds or 0.0), 0.0))
    _log(session, question.id, "asker", "rating", by=person.telegram_id, now=now, rating=rating)
    await _cancel(session, autoclose_key(question.id))
    await session.flush()
    return question


async def close_unrated(session: AsyncSession, question_id: int, *, config: HelpdeskConfig,
                        now: datetime | None = None) -> Question | None:
    """Close an answered question the asker neither rated nor followed up; None when it has moved on."""
    now = _now(now)
    question = await get(session, question_id)
    if question.status != ANSWERED or question.answered_at is None \
            or question.answered_at + config.close_unrated_after > now + timedelta(seconds=1):
        return None
    try:
        question = await _move(session, question, CLOSED, expect=[ANSWERED], closed_at=now,
                               close_seconds=max(config.hours.seconds(question.created_at, now)
                                                 - (question.paused_seconds or 0.0), 0.0))
    except HelpdeskError:
        return None
    _log(session, question.id, "system", "event", now=now, event="closed_unrated")
    await session.flush()
    return question


# ---------------------------------------------------------------- reading


async def queue(session: AsyncSession, *, topic: str | None = None, limit: int = 10, offset: int = 0) -> list[Question]:
    """Waiting questions, oldest first."""
    query = select(Question).where(Question.status == WAITING)
    if topic:
        query = query.where(Question.topic == topic)
    query = query.order_by(Question.queued_since, Question.id).limit(limit).offset(offset)
    return list((await session.scalars(query)).unique().all())


async def queue_size(session: AsyncSession, topic: str | None = None) -> int:
    query = select(func.count(Question.id)).where(Question.status == WAITING)
    if topic:
        query = query.where(Question.topic == topic)
    return int(await session.scalar(query) or 0)


async def held_by(session: AsyncSession, lawyer_id: int) -> list[Question]:
    query = (select(Question).where(Question.lawyer_id == lawyer_id, Question.status.in_((TAKEN, NEEDS_DETAILS)))
             .order_by(Question.created_at))
    return list((await session.scalars(query)).unique().all())


async def questions_of(session: AsyncSession, person: Person, limit: int = 20) -> list[Question]:
    query = select(Question).where(Question.asker_id == person.id).order_by(Question.id.desc()).limit(limit)
    return list((await session.scalars(query)).unique().all())


async def entries(session: AsyncSession, question_id: int) -> list[QuestionEntry]:
    query = select(QuestionEntry).where(QuestionEntry.question_id == question_id).order_by(QuestionEntry.id)
    return list((await session.scalars(query)).all())


async def last_answer(session: AsyncSession, question_id: int) -> QuestionEntry | None:
    query = (select(QuestionEntry).where(QuestionEntry.question_id == question_id, QuestionEntry.kind == "answer")
             .order_by(QuestionEntry.id.desc()).limit(1))
    return await session.scalar(query)


async def first_attachments(session: AsyncSession, question_id: int) -> list[dict[str, Any]]:
    query = (select(QuestionEntry).where(QuestionEntry.question_id == question_id, QuestionEntry.kind == "question")
             .limit(1))
    entry = await session.scalar(query)
    return list(entry.attachments) if entry else []
