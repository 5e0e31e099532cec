"""Erasing one person on /forget: every column that holds their Telegram id, and every text they wrote.

Rows stay where they are counted (questions, thread entries, submissions, answers, ballots): their texts are
replaced by ``ERASED`` and their links to the person's account are cut. Telegram ids are found by column:
a nullable "who" column (``*_by``, ``*telegram_id``, ``lawyer_id``) is set to NULL, a row that exists only for
the account (a role, a helpdesk membership) is deleted. A new table that follows these names is covered."""

from __future__ import annotations

from sqlalchemy import BigInteger, Table, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import conversation, schema  # schema: every model module, so every table is searched
from storage.delivery import CANCELLED, OPEN_STATES, Broadcast, OutboxMessage
from storage.events import EventQuestion
from storage.helpdesk import Question, QuestionEntry
from storage.models import AuditEntry, FsmRecord, utcnow
from storage.plan import MonitoringAnswer
from storage.voting import Submission

ERASED = "[deleted at the person's request]"
WHO_COLUMNS = ("telegram_id", "author_telegram_id", "actor_telegram_id", "lawyer_id")
HELD = ("taken", "needs_details")  # a question held by a lawyer who leaves goes back to the queue


def telegram_id_columns() -> list[tuple[Table, str, bool]]:
    """(table, column, nullable) of every column that holds somebody's Telegram id."""
    found = []
    for table in schema.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, BigInteger) and (column.name in WHO_COLUMNS or column.name.endswith("_by")):
                found.append((table, column.name, bool(column.nullable)))
    return found


async def erase_person(session: AsyncSession, person_id: int, telegram_id: int | None) -> None:
    """Texts the person wrote replaced, their Telegram id removed from every table (the person row aside)."""
    await _erase_texts(session, person_id)
    if telegram_id is None:
        return
    # Questions a leaving lawyer holds go back to the queue before their id is cleared.
    await session.execute(update(Question).where(Question.lawyer_id == telegram_id, Question.status.in_(HELD))
                          .values(status="waiting", lawyer_id=None, queued_since=utcnow(), paused_since=None))
    await session.execute(update(QuestionEntry).where(QuestionEntry.author_telegram_id == telegram_id,
                                                      QuestionEntry.author == "asker")
                          .values(text=ERASED, attachments=[], detail={}))
    for table, name, nullable in telegram_id_columns():
        if table.name == "person":
            continue
        column = table.c[name]
        if nullable:
            await session.execute(update(table).where(column == telegram_id).values({name: None}))
        else:
            await session.execute(delete(table).where(column == telegram_id))
    await session.execute(update(AuditEntry).where(AuditEntry.subject_type == "telegram_user",
                                                   AuditEntry.subject_id == str(telegram_id))
                          .values(subject_id="forgotten"))
    # Messages to their chat: those still to go are cancelled; every text is gone.
    await session.execute(update(OutboxMessage).where(OutboxMessage.chat_id == telegram_id,
                                                      OutboxMessage.status.in_(OPEN_STATES))
                          .values(status=CANCELLED, claimed_by=None, claimed_until=None))
    await session.execute(update(OutboxMessage).where(OutboxMessage.chat_id == telegram_id)
                          .values(chat_id=0, text=ERASED, reply_markup=None, person_id=None))
    await session.execute(update(Broadcast).where(Broadcast.progress_chat_id == telegram_id)
                          .values(progress_chat_id=None, progress_message_id=None))
    pattern = f"%:{telegram_id}:%"
    await conversation.forget(session)  # pending state changes first; read afresh after
    await session.execute(delete(FsmRecord).where(or_(FsmRecord.key.like(pattern),
                                                      FsmRecord.key.like(f"%:{telegram_id}"))))


async def _erase_texts(session: AsyncSession, person_id: int) -> None:
    asked = select(Question.id).where(Question.asker_id == person_id)
    await session.execute(update(Question).where(Question.asker_id == person_id).values(text=ERASED))
    await session.execute(update(QuestionEntry).where(QuestionEntry.question_id.in_(asked),
                                                      QuestionEntry.author == "asker")
                          .values(text=ERASED, attachments=[], detail={}))
    await session.execute(update(Submission).where(Submission.person_id == person_id).values(text=ERASED))
    await session.execute(update(EventQuestion).where(EventQuestion.person_id == person_id).values(text=ERASED))
    await session.execute(update(MonitoringAnswer).where(MonitoringAnswer.person_id == person_id)
                          .values(comment=ERASED, photo_file_id=None))
