"""Events: public hearings, gatherings, kurultais and council sessions, their invitations, answers, questions,
and the outcome (attendance, minutes, decisions with their votes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models import Base, UTCDateTime, utcnow

EVENT_KINDS = ("hearing", "gathering", "kurultai", "council")


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (Index("ix_event_aimak_start", "aiyl_aimak_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aiyl_aimak_id: Mapped[int] = mapped_column(ForeignKey("aiyl_aimak.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # one of EVENT_KINDS
    topic: Mapped[str] = mapped_column(String(300))
    agenda: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(Integer, default=120)
    place: Mapped[str] = mapped_column(String(300))
    whole_aimak: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="announced")  # announced | cancelled | held
    version: Mapped[int] = mapped_column(Integer, default=1)  # +1 per change sent to the villagers
    reminder_minutes: Mapped[list[int]] = mapped_column(JSON, default=list)
    # How a decision is taken: "present" (majority of those present) or "cast" (more for than against),
    # then "+chair" when the chair's vote decides a tie.
    decision_rule: Mapped[str] = mapped_column(String(32), default="present+chair")
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Outcome
    attended: Mapped[int | None] = mapped_column(Integer)
    attended_women: Mapped[int | None] = mapped_column(Integer)
    minutes: Mapped[str | None] = mapped_column(Text)
    accepted_proposals: Mapped[list[str]] = mapped_column(JSON, default=list)
    outcome_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    villages: Mapped[list[EventVillage]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    documents: Mapped[list[EventDocument]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                          order_by="EventDocument.id")
    decisions: Mapped[list[EventDecision]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                          order_by="EventDecision.position")

    @property
    def village_ids(self) -> list[int]:
        return [v.village_id for v in self.villages]


class EventVillage(Base):
    __tablename__ = "event_village"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id", ondelete="CASCADE"), primary_key=True)


class EventDocument(Base):
    """A file sent with the notice: the PDF of a budget draft, a photo of the poster."""

    __tablename__ = "event_document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # document | photo
    filename: Mapped[str] = mapped_column(String(255))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class EventInvite(Base):
    """One villager the notice went to, and their answer (None until they answer)."""

    __tablename__ = "event_invite"
    __table_args__ = (UniqueConstraint("event_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    response: Mapped[str | None] = mapped_column(String(8))  # yes | no
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Answered on the villager's behalf by an organiser or village representative (their Telegram id).
    assisted_by: Mapped[int | None] = mapped_column(BigInteger)


class EventQuestion(Base):
    """A question or proposal a villager sent before the event, collected for the organiser."""

    __tablename__ = "event_question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EventDecision(Base):
    """A decision put to the vote: for / against / abstained, and the chair's vote if it decided a tie."""

    __tablename__ = "event_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    votes_for: Mapped[int] = mapped_column(Integer)
    votes_against: Mapped[int] = mapped_column(Integer)
    abstained: Mapped[int] = mapped_column(Integer)
    chair_vote: Mapped[str | None] = mapped_column(String(8))  # for | against, when the chair broke a tie
    adopted: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
