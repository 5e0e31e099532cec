"""The life of a question: one atomic transition per step, each written down as an entry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.checks import _cancel, _schedule, autoclose_key, plan_checks
from services.helpdesk.common import (
    ANSWERED,
    AUTOCLOSE_TASK,
    CLOSED,
    MAX_FOLLOWUPS,
    NEEDS_DETAILS,
    OPEN,
    TAKEN,
    TOPICS,
    WAITING,
    HelpdeskError,
)
from services.helpdesk.hours import HelpdeskConfig, elapsed
from services.helpdesk.members import lawyer_ids
from storage.helpdesk import Question, QuestionEntry
from storage.models import Person, utcnow


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
