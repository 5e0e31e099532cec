"""The scheduled checks of a question: the reminder to take it, the overdue escalation, their task keys."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services import tasks
from services.helpdesk.common import OVERDUE_TASK, REMIND_TASK, TAKEN, WAITING
from services.helpdesk.hours import HelpdeskConfig, due_at
from storage.helpdesk import Question

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
