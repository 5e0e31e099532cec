"""The joint action plan (БАП) and citizen monitoring: plans built from a closed round's priorities, activities
with funding, initiative and monitoring groups (БМжБТ), monitoring occasions and answers, followers and
satisfaction surveys about municipal services."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
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


class Plan(Base):
    """One joint action plan of an aiyl aimak, made from a closed voting round (one plan per round)."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aiyl_aimak_id: Mapped[int] = mapped_column(ForeignKey("aiyl_aimak.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("voting_round.id", ondelete="SET NULL"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    council_approved_on: Mapped[date | None] = mapped_column(Date)
    council_decision: Mapped[str | None] = mapped_column(String(200))  # e.g. "decision No. 12"
    # A member who has not answered a monitoring prompt is reminded after this many days; the organiser is told
    # this many days after the reminder.
    remind_after_days: Mapped[int] = mapped_column(Integer, default=3)
    escalate_after_days: Mapped[int] = mapped_column(Integer, default=3)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlanPriority(Base):
    """A priority problem of the plan, copied from the round's top five (with its votes) so the plan stands alone."""

    __tablename__ = "plan_priority"
    __table_args__ = (UniqueConstraint("plan_id", "position", name="uq_plan_priority_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("voting_problem.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(Integer)
    title_ky: Mapped[str] = mapped_column(String(200))
    title_ru: Mapped[str] = mapped_column(String(200))
    votes: Mapped[int] = mapped_column(Integer, default=0)
    competence: Mapped[str] = mapped_column(String(16), default="local")


class PlanActivity(Base):
    """An activity of the plan: who, when, how much, what result, and how it goes."""

    __tablename__ = "plan_activity"
    __table_args__ = (
        CheckConstraint("status IN ('planned', 'in_progress', 'done', 'stalled', 'cancelled')", name="status"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        CheckConstraint("responsible_kind IN ('aiyl_okmotu', 'council', 'initiative_group', 'person')",
                        name="responsible_kind"),
        CheckConstraint("due_on >= starts_on", name="dates"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    priority_id: Mapped[int | None] = mapped_column(ForeignKey("plan_priority.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text, default="")  # content / steps
    responsible_kind: Mapped[str] = mapped_column(String(20))
    responsible_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    responsible_name: Mapped[str] = mapped_column(String(200), default="")
    starts_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    expected_result: Mapped[str] = mapped_column(Text, default="")
    indicators: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="planned")
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent done
    # Monitoring schedule: every N months from ``monitor_from`` (N = ``monitor_every_months``), and/or set dates.
    monitor_every_months: Mapped[int | None] = mapped_column(Integer)
    monitor_from: Mapped[date | None] = mapped_column(Date)
    monitor_dates: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO dates
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PlanFunding(Base):
    """Money for an activity from one source, in som: planned (the estimate) and spent so far."""

    __tablename__ = "plan_funding"
    __table_args__ = (
        UniqueConstraint("activity_id", "source", name="uq_plan_funding_source"),
        CheckConstraint("planned_som >= 0 AND spent_som >= 0", name="amounts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("plan_activity.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # local_budget | grant | donor | community | sponsor | other
    planned_som: Mapped[int] = mapped_column(BigInteger, default=0)
    spent_som: Mapped[int] = mapped_column(BigInteger, default=0)


class PlanStatusChange(Base):
    """Every status change of an activity: from, to, by whom, how (organiser or a monitoring answer)."""

    __tablename__ = "plan_status_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("plan_activity.id", ondelete="CASCADE"), index=True)
    old_status: Mapped[str] = mapped_column(String(16))
    new_status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer)
    by_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16))  # organiser | monitoring
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlanGroup(Base):
    """An initiative group or the monitoring group of a plan, with its mandate (an order of the head of the
    aiyl okmotu naming its members; contractors ask for it)."""

    __tablename__ = "plan_group"
    __table_args__ = (
        UniqueConstraint("plan_id", "kind", "name", name="uq_plan_group_name"),
        CheckConstraint("kind IN ('initiative', 'monitoring')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    mandate_ref: Mapped[str | None] = mapped_column(String(200))
    mandate_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlanGroupMember(Base):
    __tablename__ = "plan_group_member"

    group_id: Mapped[int] = mapped_column(ForeignKey("plan_group.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True,
                                           index=True)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MonitoringOccasion(Base):
    """One monitoring date of an activity: its members are asked once (unique per activity and time)."""

    __tablename__ = "plan_monitoring"
    __table_args__ = (UniqueConstraint("activity_id", "due_at", name="uq_plan_monitoring_due"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("plan_activity.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MonitoringAnswer(Base):
    """A monitoring group member's answer on one occasion: one per member (answering again replaces it)."""

    __tablename__ = "plan_monitoring_answer"
    __table_args__ = (
        UniqueConstraint("occasion_id", "person_id", name="uq_plan_monitoring_answer_person"),
        CheckConstraint("percent BETWEEN 0 AND 100", name="percent"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occasion_id: Mapped[int] = mapped_column(ForeignKey("plan_monitoring.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("plan_activity.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))
    percent: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    voice_file_id: Mapped[str | None] = mapped_column(String(255))  # a voice note kept as said (no transcript)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlanFollower(Base):
    """A villager who follows a plan and is told when an activity changes status."""

    __tablename__ = "plan_follower"

    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True,
                                           index=True)
    followed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SatisfactionSurvey(Base):
    """A short question about a municipal service, asked of the plan's villagers on the organiser's schedule."""

    __tablename__ = "plan_survey"
    __table_args__ = (CheckConstraint("service IN ('water', 'school', 'health_post', 'roads')", name="service"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(16))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    every_months: Mapped[int | None] = mapped_column(Integer)  # None: asked once
    times: Mapped[int] = mapped_column(Integer, default=1)  # how many times in all
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SurveyOccasion(Base):
    __tablename__ = "plan_survey_occasion"
    __table_args__ = (UniqueConstraint("survey_id", "number", name="uq_plan_survey_occasion_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("plan_survey.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … in the survey's schedule
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SurveyAnswer(Base):
    """A score 1–5; village, sex and age group are copied at answering, as ballots do. One per person and
    occasion."""

    __tablename__ = "plan_survey_answer"
    __table_args__ = (
        UniqueConstraint("occasion_id", "person_id", name="uq_plan_survey_answer_person"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
        Index("ix_plan_survey_answer_survey", "survey_id", "village_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("plan_survey.id", ondelete="CASCADE"))
    occasion_id: Mapped[int] = mapped_column(ForeignKey("plan_survey_occasion.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id", ondelete="SET NULL"))
    sex: Mapped[str | None] = mapped_column(String(1))
    age_band: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
