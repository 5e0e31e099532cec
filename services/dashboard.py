"""The web dashboard's rules: one-time sign-in links, browser sessions, who sees which aiyl aimak, and the
read-only listings its pages show (people by village, sex and age group; the audit trail)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import RuleError
from services.roles import Roles
from services.voting import Turnout
from storage.dashboard import DashboardLink, DashboardSession
from storage.events import Event
from storage.models import AiylAimak, AuditEntry, Person, Village, utcnow
from storage.plan import Plan, PlanActivity
from storage.voting import OfflineSession, Problem, VotingRound


class DashboardError(RuleError):
    """``link_unknown``, ``link_used``, ``link_expired``, ``not_found`` (or not yours), ``forbidden``."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def may_use_dashboard(roles: Roles | None) -> bool:
    return roles is not None and (roles.organiser or roles.lawyer or roles.admin)


def may_see(roles: Roles, aiyl_aimak_id: int | None) -> bool:
    """Read access to an aiyl aimak's pages: its organisers, and admins. Changes stay with organisers, as in chat."""
    return aiyl_aimak_id is not None and (roles.admin or roles.may_organise(aiyl_aimak_id))


def may_see_helpdesk(roles: Roles) -> bool:
    return roles.lawyer or roles.admin


# --------------------------------------------------------------------------- sign-in


async def issue_link(session: AsyncSession, telegram_id: int, *, minutes: int, now: datetime | None = None) -> str:
    """A one-time sign-in token valid for ``minutes``; only its hash is stored."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(DashboardLink(token_hash=token_hash(token), telegram_id=telegram_id, created_at=now,
                              expires_at=now + timedelta(minutes=minutes)))
    await session.flush()
    return token


async def claim_link(session: AsyncSession, token: str, *, now: datetime | None = None) -> int:
    """Use a link once: one atomic UPDATE claims it, so two browsers racing get one session between them.
    Returns the Telegram id it was issued to."""
    now = now or utcnow()
    digest = token_hash(token)
    claimed = await session.execute(
        update(DashboardLink)
        .where(DashboardLink.token_hash == digest, DashboardLink.used_at.is_(None), DashboardLink.expires_at > now)
        .values(used_at=now)
    )
    link = await session.scalar(select(DashboardLink).where(DashboardLink.token_hash == digest)
                                .execution_options(populate_existing=True))
    if claimed.rowcount == 1 and link is not None:
        return link.telegram_id
    if link is None:
        raise DashboardError("link_unknown")
    if link.used_at is not None:
        raise DashboardError("link_used")
    raise DashboardError("link_expired")


async def start_session(session: AsyncSession, telegram_id: int, *, hours: int, now: datetime | None = None) -> str:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(DashboardSession(token_hash=token_hash(token), telegram_id=telegram_id, created_at=now,
                                 expires_at=now + timedelta(hours=hours)))
    await session.flush()
    return token


async def session_owner(session: AsyncSession, token: str, *, now: datetime | None = None) -> int | None:
    """The Telegram id of a live session, None for an unknown, ended or expired one."""
    now = now or utcnow()
    return await session.scalar(select(DashboardSession.telegram_id).where(
        DashboardSession.token_hash == token_hash(token), DashboardSession.ended_at.is_(None),
        DashboardSession.expires_at > now))


async def end_session(session: AsyncSession, token: str, *, now: datetime | None = None) -> None:
    await session.execute(update(DashboardSession).where(DashboardSession.token_hash == token_hash(token))
                          .values(ended_at=now or utcnow()))


def csrf_token(session_token: str) -> str:
    """The form token of a session: derived from the cookie's secret, so a page of another site cannot know it."""
    return hmac.new(session_token.encode(), b"jamaat-dashboard-csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_token: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(session_token), given or "")


# --------------------------------------------------------------------------- scope


async def visible_aimaks(session: AsyncSession, roles: Roles) -> list[AiylAimak]:
    query = select(AiylAimak).order_by(AiylAimak.name_ky)
    if not roles.admin:
        query = query.where(AiylAimak.id.in_(sorted(roles.organiser_of)))
    return list((await session.scalars(query)).all())


async def aimak_for(session: AsyncSession, roles: Roles, aiyl_aimak_id: int) -> AiylAimak:
    aimak = await session.get(AiylAimak, aiyl_aimak_id)
    if aimak is None or not may_see(roles, aimak.id):
        raise DashboardError("not_found")
    return aimak


# --------------------------------------------------------------------------- people


@dataclass
class PeopleCounts:
    """Registered villagers of one aiyl aimak: no names, no phone numbers."""

    villages: list[Village]
    by_village: dict[int, int] = field(default_factory=dict)
    by_sex: dict[int, dict[str | None, int]] = field(default_factory=dict)  # village → f/m/None → people
    by_band: dict[int, dict[str | None, int]] = field(default_factory=dict)  # village → age group → people

    def total(self) -> int:
        return sum(self.by_village.values())

    def sex_total(self, sex: str | None) -> int:
        return sum(counts.get(sex, 0) for counts in self.by_sex.values())

    def band_total(self, band: str | None) -> int:
        return sum(counts.get(band, 0) for counts in self.by_band.values())


async def people_counts(session: AsyncSession, aiyl_aimak_id: int) -> PeopleCounts:
    villages = list((await session.scalars(select(Village).where(Village.aiyl_aimak_id == aiyl_aimak_id)
                                           .order_by(Village.name_ky))).all())
    rows = (await session.execute(
        select(Person.village_id, Person.sex, Person.age_band, func.count(Person.id))
        .join(Village, Village.id == Person.village_id)
        .where(Village.aiyl_aimak_id == aiyl_aimak_id, Person.registered_at.is_not(None),
               Person.forgotten_at.is_(None))
        .group_by(Person.village_id, Person.sex, Person.age_band))).all()
    counts = PeopleCounts(villages, {v.id: 0 for v in villages})
    by_sex: dict[int, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    by_band: dict[int, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    for village_id, sex, band, number in rows:
        counts.by_village[village_id] = counts.by_village.get(village_id, 0) + int(number)
        by_sex[village_id][sex] += int(number)
        by_band[village_id][band] += int(number)
    counts.by_sex = {v: dict(c) for v, c in by_sex.items()}
    counts.by_band = {v: dict(c) for v, c in by_band.items()}
    return counts


# --------------------------------------------------------------------------- audit

AUDIT_GROUPS: dict[str, tuple[str, ...]] = {
    "roles": ("role.",),
    "merges": ("voting.problem.merge", "voting.problem.unmerge"),
    "dates": ("event.change", "event.cancel", "plan.activity.due", "voting.round.collect", "voting.round.vote",
              "voting.round.close"),
    "results": ("voting.results.publish", "event.outcome", "voting.session."),
    "helpdesk": ("helpdesk.",),
}


def _ids(column: object) -> object:
    return cast(column, String)


def _aimak_subjects(aimaks: Iterable[int]) -> object:
    """Audit entries about one of these aiyl aimaks' rounds, problems, sessions, events, plans and activities."""
    ids = sorted(aimaks)
    rounds = select(VotingRound.id).where(VotingRound.aiyl_aimak_id.in_(ids))
    return or_(
        and_(AuditEntry.subject_type == "voting_round",
             AuditEntry.subject_id.in_(select(_ids(VotingRound.id)).where(VotingRound.aiyl_aimak_id.in_(ids)))),
        and_(AuditEntry.subject_type == "voting_problem",
             AuditEntry.subject_id.in_(select(_ids(Problem.id)).where(Problem.round_id.in_(rounds)))),
        and_(AuditEntry.subject_type == "voting_session",
             AuditEntry.subject_id.in_(select(_ids(OfflineSession.id)).where(OfflineSession.round_id.in_(rounds)))),
        and_(AuditEntry.subject_type == "event",
             AuditEntry.subject_id.in_(select(_ids(Event.id)).where(Event.aiyl_aimak_id.in_(ids)))),
        and_(AuditEntry.subject_type == "plan",
             AuditEntry.subject_id.in_(select(_ids(Plan.id)).where(Plan.aiyl_aimak_id.in_(ids)))),
        and_(AuditEntry.subject_type == "plan_activity",
             AuditEntry.subject_id.in_(select(_ids(PlanActivity.id)).join(Plan, Plan.id == PlanActivity.plan_id)
                                       .where(Plan.aiyl_aimak_id.in_(ids)))),
    )


async def audit_entries(session: AsyncSession, roles: Roles, *, group: str | None = None, actor: int | None = None,
                        since: datetime | None = None, limit: int = 200) -> list[AuditEntry]:
    """The audit trail as the reader may see it: admins everything, organisers what concerns their aiyl aimaks
    (role grants only for admins)."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if not roles.admin:
        if not roles.organiser:
            raise DashboardError("forbidden")
        query = query.where(_aimak_subjects(roles.organiser_of))
    if group in AUDIT_GROUPS:
        query = query.where(or_(*(AuditEntry.action.startswith(prefix) for prefix in AUDIT_GROUPS[group])))
    if actor is not None:
        query = query.where(AuditEntry.actor_telegram_id == actor)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    return list((await session.scalars(query)).all())


# --------------------------------------------------------------------------- events


async def rsvp_women(session: AsyncSession, event_id: int) -> dict[str, Turnout]:
    """Answers to an event's notice by response (yes / no / "-" for none yet): people, women among them and those
    who did not say their sex (their own group, outside the women's share)."""
    from sqlalchemy import case

    from storage.events import EventInvite

    women = func.sum(case((Person.sex == "f", 1), else_=0))
    not_said = func.sum(case((Person.sex.is_(None), 1), else_=0))
    rows = (await session.execute(
        select(EventInvite.response, func.count(EventInvite.id), women, not_said)
        .join(Person, Person.id == EventInvite.person_id)
        .where(EventInvite.event_id == event_id).group_by(EventInvite.response))).all()
    return {response or "-": Turnout(int(n), int(w or 0), int(u or 0)) for response, n, w, u in rows}


# --------------------------------------------------------------------------- helpdesk FAQ


async def faq_entries(session: AsyncSession, *, topic: str | None = None, limit: int = 100) -> list[Any]:
    from storage.helpdesk import FaqEntry

    query = select(FaqEntry).order_by(FaqEntry.id.desc()).limit(limit)
    if topic:
        query = query.where(FaqEntry.topic == topic)
    return list((await session.scalars(query)).all())


async def edit_faq_entry(session: AsyncSession, roles: Roles, entry_id: int, *, question: str, answer: str,
                         law_refs: str | None, by: int) -> Any:
    """Lawyers and admins correct a published entry; its search words follow, and the change is audited."""
    from services.audit import audit
    from services.faq import search_text
    from storage.helpdesk import FaqEntry

    if not may_see_helpdesk(roles):
        raise DashboardError("forbidden")
    entry = await session.get(FaqEntry, entry_id)
    if entry is None:
        raise DashboardError("not_found")
    question, answer, law_refs = question.strip(), answer.strip(), (law_refs or "").strip() or None
    if not question or not answer:
        raise DashboardError("faq_empty")
    entry.question, entry.answer, entry.law_refs = question[:4000], answer[:8000], law_refs
    entry.search_text = search_text(question, answer, law_refs)
    audit(session, by, "helpdesk.faq.edit", "faq_entry", entry.id)
    await session.flush()
    return entry


# --------------------------------------------------------------------------- helpdesk figures per group


@dataclass
class GroupFigures:
    """Questions of one topic or municipality in a period: first-answer times (working hours) and ratings."""

    asked: int = 0
    first_answer_hours: list[float] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        from services.helpdesk_stats import percentile

        return percentile(self.first_answer_hours, 0.5)

    @property
    def p90(self) -> float | None:
        from services.helpdesk_stats import percentile

        return percentile(self.first_answer_hours, 0.9)

    @property
    def average_rating(self) -> float | None:
        return sum(self.ratings) / len(self.ratings) if self.ratings else None


async def helpdesk_groups(session: AsyncSession, start: datetime, end: datetime
                          ) -> tuple[dict[str, GroupFigures], dict[int | None, GroupFigures]]:
    """The period's questions by topic and by aiyl aimak (None: no municipality), with the same measures as
    ``helpdesk_stats.compute`` gives for all of them."""
    from storage.helpdesk import Question

    rows = (await session.execute(
        select(Question.topic, Question.aiyl_aimak_id, Question.first_answer_seconds, Question.rating)
        .where(Question.created_at >= start, Question.created_at < end))).all()
    topics: dict[str, GroupFigures] = defaultdict(GroupFigures)
    places: dict[int | None, GroupFigures] = defaultdict(GroupFigures)
    for topic, aimak_id, seconds, rating in rows:
        for figures in (topics[topic], places[aimak_id]):
            figures.asked += 1
            if seconds is not None:
                figures.first_answer_hours.append(seconds / 3600)
            if rating is not None:
                figures.ratings.append(int(rating))
    return dict(topics), dict(places)
