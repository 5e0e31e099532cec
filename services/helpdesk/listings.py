"""Reading questions: the queue, a lawyer's and an asker's questions, a question's entries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.common import NEEDS_DETAILS, TAKEN, WAITING
from storage.helpdesk import Question, QuestionEntry
from storage.models import Person


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
