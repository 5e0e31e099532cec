"""Priority voting (the participatory needs assessment): rounds, submissions, problems, ballots, sessions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UTCDateTime, utcnow


class VotingRound(Base):
    """One needs assessment of an aiyl aimak: draft → collecting → voting → closed."""

    __tablename__ = "voting_round"
    __table_args__ = (
        CheckConstraint("phase IN ('draft', 'collecting', 'voting', 'closed')", name="phase"),
        CheckConstraint("mode IN ('phone', 'sessions', 'both')", name="mode"),
        Index("ix_voting_round_phase_ends", "phase", "vote_ends_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aiyl_aimak_id: Mapped[int] = mapped_column(ForeignKey("aiyl_aimak.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    phase: Mapped[str] = mapped_column(String(16), default="draft")
    # Where the votes come from: phone ballots only, offline sessions only (no villager is messaged), or both
    # (then a villager who took part in their village's session is refused a phone ballot).
    mode: Mapped[str] = mapped_column(String(16), default="both", server_default="both")
    collect_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    vote_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Hours before the end of voting at which those who have not voted are reminded.
    reminder_hours: Mapped[list[int]] = mapped_column(JSON, default=lambda: [24, 2])
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    collecting_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voting_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[int | None] = mapped_column(BigInteger)  # NULL: closed at its end time
    results_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Moves on by one with every change of what its ballots show (a problem renamed), in the same transaction: each
    # process keeps a voting round's ballots by it (``services.voting.ballot_items``).
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RoundVillage(Base):
    """The villages taking part in a round."""

    __tablename__ = "voting_round_village"

    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id", ondelete="CASCADE"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id", ondelete="CASCADE"), primary_key=True)


class Problem(Base):
    """A named problem on a ballot; similar submissions and problems are merged into one."""

    __tablename__ = "voting_problem"
    __table_args__ = (
        CheckConstraint("competence IN ('local', 'delegated', 'outside')", name="competence"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id", ondelete="CASCADE"), index=True)
    title_ky: Mapped[str] = mapped_column(String(200))
    title_ru: Mapped[str] = mapped_column(String(200))
    # issue of local significance / delegated state power / outside the powers of local self-government
    competence: Mapped[str] = mapped_column(String(16), default="local")
    # On every village's ballot of the round, not only those of the submissions behind it.
    all_villages: Mapped[bool] = mapped_column(Boolean, default=False)
    # The problem it is counted with now (the end of the chain of active merges); NULL when it stands alone.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("voting_problem.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProblemMerge(Base):
    """A merge of one problem into another, kept with who did it; undoing it keeps the row."""

    __tablename__ = "voting_problem_merge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("voting_problem.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("voting_problem.id", ondelete="CASCADE"))
    phase: Mapped[str] = mapped_column(String(16))  # the phase of the round when it was merged
    # Counted together in this village only (the method merges within a village's gallery); NULL: everywhere.
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id", ondelete="CASCADE"))
    merged_by: Mapped[int | None] = mapped_column(BigInteger)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    undone_by: Mapped[int | None] = mapped_column(BigInteger)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Submission(Base):
    """A problem as a villager wrote it during collection; up to five per person (slots 1–5)."""

    __tablename__ = "voting_submission"
    __table_args__ = (
        UniqueConstraint("round_id", "person_id", "slot", name="uq_voting_submission_slot"),
        CheckConstraint("slot BETWEEN 1 AND 5", name="slot"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id", ondelete="CASCADE"))
    slot: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(500))
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("voting_problem.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BallotItem(Base):
    """The published ballot of one village: which problems, in which order. Frozen when voting opens."""

    __tablename__ = "voting_ballot_item"
    __table_args__ = (UniqueConstraint("round_id", "village_id", "position", name="uq_voting_ballot_item_position"),)

    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id", ondelete="CASCADE"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id", ondelete="CASCADE"), primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("voting_problem.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class Ballot(Base):
    """A person's ballot in a round: one per person per round, enforced here. The last confirmed counts.

    Village, sex and age group are copied at the first vote, so a later move or a deleted profile does not
    move the vote."""

    __tablename__ = "voting_ballot"
    __table_args__ = (
        UniqueConstraint("round_id", "person_id", name="uq_voting_ballot_round_person"),
        UniqueConstraint("round_id", "receipt", name="uq_voting_ballot_round_receipt"),
        Index("ix_voting_ballot_round_village", "round_id", "village_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id", ondelete="CASCADE"))
    sex: Mapped[str | None] = mapped_column(String(1))
    age_band: Mapped[str | None] = mapped_column(String(16))
    receipt: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Cast on the villager's behalf by an organiser or village representative (their Telegram id): "assisted".
    assisted_by: Mapped[int | None] = mapped_column(BigInteger)


class BallotChoice(Base):
    """One problem chosen on a ballot (one vote). Distinct by the primary key."""

    __tablename__ = "voting_ballot_choice"

    ballot_id: Mapped[int] = mapped_column(ForeignKey("voting_ballot.id", ondelete="CASCADE"), primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("voting_problem.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)


class TallyCount(Base):
    """Phone votes counted as ballots are cast and changed (``services.voting.cast_ballot``, same transaction):
    one row per round, village, age group, sex and problem as voted (merges are applied when it is read).
    Unknown age group or sex is stored as "" so that the key is unique. ``services.voting.recount`` rebuilds it
    from the ballots."""

    __tablename__ = "voting_tally"

    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id", ondelete="CASCADE"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id", ondelete="CASCADE"), primary_key=True)
    age_band: Mapped[str] = mapped_column(String(16), primary_key=True)
    sex: Mapped[str] = mapped_column(String(1), primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("voting_problem.id", ondelete="CASCADE"), primary_key=True)
    votes: Mapped[int] = mapped_column(Integer, default=0)


class BallotChange(Base):
    """Every confirmed version of a ballot: who, when, what."""

    __tablename__ = "voting_ballot_change"
    __table_args__ = (UniqueConstraint("ballot_id", "version", name="uq_voting_ballot_change_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("voting_ballot.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    problem_ids: Mapped[list[int]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OfflineSession(Base):
    """A needs-assessment session held in the village (problem gallery), entered by an organiser."""

    __tablename__ = "voting_session"
    __table_args__ = (
        UniqueConstraint("round_id", "village_id", "age_band", "held_on", "place", name="uq_voting_session_key"),
        CheckConstraint("women >= 0 AND women <= participants", name="women"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id", ondelete="CASCADE"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id", ondelete="CASCADE"))
    age_band: Mapped[str] = mapped_column(String(16))
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    participants: Mapped[int] = mapped_column(Integer)
    women: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(8), default="chat")  # chat | csv
    entered_by: Mapped[int | None] = mapped_column(BigInteger)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SessionVote(Base):
    """Votes (stickers) one problem got in an offline session."""

    __tablename__ = "voting_session_vote"
    __table_args__ = (CheckConstraint("votes >= 0", name="votes"),)

    session_id: Mapped[int] = mapped_column(ForeignKey("voting_session.id", ondelete="CASCADE"), primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("voting_problem.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)
    votes: Mapped[int] = mapped_column(Integer)



class Attendance(Base):
    """A villager's answer, asked once per round with both sources: did they take part in their village's
    session? A yes is refused a phone ballot (their stickers were counted there)."""

    __tablename__ = "voting_attendance"

    round_id: Mapped[int] = mapped_column(ForeignKey("voting_round.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id", ondelete="CASCADE"))
    attended: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
