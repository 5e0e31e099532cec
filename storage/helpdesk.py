"""The LSG Union's legal helpdesk: member askers, questions, the exchange on each question, the FAQ.

Full-text search over the FAQ lives outside these models (see migration 0005): on SQLite an FTS5 table
``faq_fts`` kept in step by triggers, on PostgreSQL a GIN index over ``to_tsvector('simple', search_text)``.
Both index ``search_text``, which ``services.faq`` fills with normalised word stems."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models import AiylAimak, Base, Person, UTCDateTime, postgresql_index, utcnow


class HelpdeskMember(Base):
    """Staff or a council deputy of a member municipality: may ask the helpdesk (granted by admins).

    Keyed by Telegram id like ``RoleGrant``, so it can be granted before the person registers; the
    municipality is the one they work for, which is the municipality their questions count for."""

    __tablename__ = "helpdesk_member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    aiyl_aimak_id: Mapped[int] = mapped_column(ForeignKey("aiyl_aimak.id", ondelete="CASCADE"))
    capacity: Mapped[str] = mapped_column(String(16))  # staff | deputy
    granted_by: Mapped[int | None] = mapped_column(BigInteger)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    aiyl_aimak: Mapped[AiylAimak] = relationship(lazy="joined")


class Question(Base):
    """One question to the helpdesk; its id is the number the asker sees."""

    __tablename__ = "helpdesk_question"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
        Index("ix_helpdesk_question_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asker_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    aiyl_aimak_id: Mapped[int | None] = mapped_column(ForeignKey("aiyl_aimak.id", ondelete="SET NULL"))
    topic: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    # waiting | taken | needs_details | answered | closed
    status: Mapped[str] = mapped_column(String(16))
    # Telegram id of the lawyer who holds it; set and cleared only by conditional UPDATEs (atomic claims).
    lawyer_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Since when it waits in the queue (creation, or the last release): the "take" target counts from here.
    queued_since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The clock pauses while the lawyer waits for the asker's details; pauses are counted in working seconds.
    paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # Working seconds (pauses left out) from submission to the first answer and to closing.
    first_answer_seconds: Mapped[float | None] = mapped_column(Float)
    close_seconds: Mapped[float | None] = mapped_column(Float)
    followups: Mapped[int] = mapped_column(Integer, default=0)
    helped: Mapped[bool | None] = mapped_column(Boolean)
    rating: Mapped[int | None] = mapped_column(Integer)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The card in the lawyers' group chat, edited when somebody takes the question.
    group_message_id: Mapped[int | None] = mapped_column(BigInteger)

    asker: Mapped[Person | None] = relationship(lazy="joined")
    aiyl_aimak: Mapped[AiylAimak | None] = relationship(lazy="joined")


class QuestionEntry(Base):
    """Every message of the exchange and every change of a question, in order."""

    __tablename__ = "helpdesk_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("helpdesk_question.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    author: Mapped[str] = mapped_column(String(8))  # asker | lawyer | admin | system
    author_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    # question | details | request | answer | followup | rating | event
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    # [{"type": "photo" | "document", "file_id": ..., "name": ...}]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FaqEntry(Base):
    """A published, anonymised question and answer, under a topic, in one language."""

    __tablename__ = "faq_entry"
    __table_args__ = (
        UniqueConstraint("question_id", "language"),
        Index("ix_faq_entry_topic_language", "topic", "language"),
        # PostgreSQL full-text index (migration 0005); SQLite uses the FTS5 table faq_fts instead.
        postgresql_index(Index("ix_faq_entry_search", text("to_tsvector('simple'::regconfig, search_text)"))
                         .ddl_if(dialect="postgresql"), using="gin"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("helpdesk_question.id", ondelete="SET NULL"))
    topic: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    law_refs: Mapped[str | None] = mapped_column(Text)
    # Normalised stems of question, answer and references: what full-text search indexes.
    search_text: Mapped[str] = mapped_column(Text)
    published_by: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
