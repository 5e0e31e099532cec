"""Rounds and their phases: creating and finding rounds, opening collection, closing, end dates and
reminders, publishing results (``ballots.publish_ballot`` opens voting)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import audit
from services.durations import HOUR, parse_durations
from services.roles import Roles
from services.voting.common import MODES, VotingError, _require_phase, _require_phone, messages_villagers
from storage import direct
from storage.direct import Direct, Entity
from storage.models import Person, Village, utcnow
from storage.voting import RoundVillage, VotingRound


async def create_round(session: AsyncSession, *, aiyl_aimak_id: int, title: str, description: str = "",
                       village_ids: Iterable[int] | None = None, collect_ends_at: datetime | None = None,
                       vote_ends_at: datetime | None = None, reminder_hours: Sequence[int] = (24, 2),
                       created_by: int | None = None, mode: str = "both") -> VotingRound:
    """A round in draft for an aiyl aimak: all its villages unless ``village_ids`` names some. ``mode``: where
    its votes come from (``MODES``), chosen at creation."""
    title = title.strip()
    if not title:
        raise VotingError("empty_title")
    if mode not in MODES:
        raise VotingError("bad_mode")
    own = set(await session.scalars(select(Village.id).where(Village.aiyl_aimak_id == aiyl_aimak_id)))
    chosen = set(village_ids) if village_ids is not None else own
    if not chosen or not chosen <= own:
        raise VotingError("bad_villages")
    if collect_ends_at and vote_ends_at and vote_ends_at <= collect_ends_at:
        raise VotingError("bad_dates")
    rnd = VotingRound(aiyl_aimak_id=aiyl_aimak_id, title=title[:200], description=description.strip(),
                      phase="draft", mode=mode, collect_ends_at=collect_ends_at, vote_ends_at=vote_ends_at,
                      reminder_hours=sorted({int(h) for h in reminder_hours if int(h) > 0}, reverse=True),
                      created_by=created_by)
    session.add(rnd)
    await session.flush()
    session.add_all(RoundVillage(round_id=rnd.id, village_id=v) for v in sorted(chosen))
    audit(session, created_by, "voting.round.create", "voting_round", rnd.id, villages=sorted(chosen), mode=mode)
    await session.flush()
    return rnd


async def get_round(session: AsyncSession, round_id: int) -> VotingRound | None:
    """Read afresh (its phase may have moved in another process), straight on the driver: every ballot button
    reads its round (``storage.direct``)."""
    return await direct.get(session, VotingRound, round_id)


async def round_for_organiser(session: AsyncSession, roles: Roles, round_id: int) -> VotingRound:
    """The round if this organiser may manage it; another aiyl aimak's round is as good as missing."""
    rnd = await get_round(session, round_id)
    if rnd is None or not roles.may_organise(rnd.aiyl_aimak_id):
        raise VotingError("not_found")
    return rnd


async def rounds_of(session: AsyncSession, aiyl_aimak_ids: Iterable[int]) -> list[VotingRound]:
    query = (select(VotingRound).where(VotingRound.aiyl_aimak_id.in_(list(aiyl_aimak_ids)))
             .order_by(VotingRound.created_at.desc(), VotingRound.id.desc()))
    return list((await session.scalars(query)).all())


async def round_villages(session: AsyncSession, round_id: int) -> list[Village]:
    query = (select(Village).join(RoundVillage, RoundVillage.village_id == Village.id)
             .where(RoundVillage.round_id == round_id).order_by(Village.name_ky))
    return list((await session.scalars(query)).all())


_ROUND = Entity(VotingRound)
# Straight on the driver (``storage.direct``): every /vote asks.
_OPEN_ROUNDS = Direct(
    select(*_ROUND.columns)
    .join_from(VotingRound.__table__, RoundVillage.__table__,
               RoundVillage.__table__.c.round_id == VotingRound.__table__.c.id)
    .where(RoundVillage.__table__.c.village_id == bindparam("village_id"),
           or_(VotingRound.__table__.c.phase == "collecting", VotingRound.__table__.c.phase == "voting"),
           VotingRound.__table__.c.mode != "sessions")
    .order_by(VotingRound.__table__.c.id.desc()))


async def open_rounds_for(session: AsyncSession, person: Person) -> list[VotingRound]:
    """Rounds collecting or voting in the person's village."""
    if person.village_id is None:
        return []
    found = await direct.rows(session, _OPEN_ROUNDS, {"village_id": person.village_id}, autoflush=True)
    return [_ROUND.attach(session, row) for row in found]


async def open_collection(session: AsyncSession, rnd: VotingRound, *, by: int | None,
                          now: datetime | None = None) -> None:
    _require_phase(rnd, "draft")
    _require_phone(rnd)
    now = now or utcnow()
    if rnd.collect_ends_at is not None and rnd.collect_ends_at <= now:
        raise VotingError("bad_dates")
    rnd.phase, rnd.collecting_at = "collecting", now
    audit(session, by, "voting.round.collect", "voting_round", rnd.id)
    await session.flush()


async def close_round(session: AsyncSession, rnd: VotingRound, *, by: int | None,
                      now: datetime | None = None) -> bool:
    """Close voting (``by`` None: at its end time). False when it was closed already."""
    if rnd.phase == "closed":
        return False
    # A sessions-only round has no ballot: it closes from whatever phase it is in.
    open_phases = ("voting",) if messages_villagers(rnd) else ("draft", "collecting", "voting")
    _require_phase(rnd, *open_phases)
    now = now or utcnow()
    claimed = await session.execute(
        update(VotingRound).where(VotingRound.id == rnd.id, VotingRound.phase.in_(open_phases))
        .values(phase="closed", closed_at=now, closed_by=by)
    )
    await session.refresh(rnd)
    if not claimed.rowcount:
        return False
    audit(session, by, "voting.round.close", "voting_round", rnd.id, at_end_time=by is None)
    await session.flush()
    return True


async def due_to_close(session: AsyncSession, now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    query = select(VotingRound.id).where(VotingRound.phase == "voting", VotingRound.vote_ends_at <= now)
    return list((await session.scalars(query)).all())


def future_example(now: datetime | None = None) -> datetime:
    """An end time to show as an example when one in the past was given: a week ahead, at 18:00 UTC."""
    ahead = (now or utcnow()) + timedelta(days=7)
    return ahead.replace(hour=18, minute=0, second=0, microsecond=0)


async def change_dates(session: AsyncSession, rnd: VotingRound, *, collect_ends_at: datetime | None = None,
                       vote_ends_at: datetime | None = None, by: int | None, now: datetime | None = None) -> bool:
    """Move the end of collection and/or voting while the round is open. A time in the past is refused at once
    (``detail['example']``: one in the future). Returns whether anything changed; callers reschedule the
    round's tasks and tell those who have not voted (``villagers_to_message(..., "remind")``)."""
    _require_phase(rnd, "draft", "collecting", "voting")
    now = now or utcnow()
    for moment in (collect_ends_at, vote_ends_at):
        if moment is not None and moment <= now:
            raise VotingError("past_date", example=future_example(now))
    if collect_ends_at is not None and rnd.phase not in ("draft", "collecting"):
        raise VotingError("wrong_phase", phase=rnd.phase)
    new_collect = collect_ends_at or rnd.collect_ends_at
    new_vote = vote_ends_at or rnd.vote_ends_at
    if new_collect and new_vote and new_vote <= new_collect:
        raise VotingError("bad_dates")
    if (new_collect, new_vote) == (rnd.collect_ends_at, rnd.vote_ends_at):
        return False
    before = [str(rnd.collect_ends_at), str(rnd.vote_ends_at)]
    rnd.collect_ends_at, rnd.vote_ends_at = new_collect, new_vote
    audit(session, by, "voting.round.dates", "voting_round", rnd.id, before=before,
          after=[str(new_collect), str(new_vote)])
    await session.flush()
    return True


def parse_reminder_hours(text: str) -> list[int]:
    """Reminder offsets before the close, in whole hours: "48,24,2" (hours), "2d, 2h", Kyrgyz "1к, 2с" or
    "1 күн", Russian "1д, 2ч" (``services.durations``). Distinct, largest first."""
    minutes = parse_durations(text, plain=HOUR)
    if minutes is None or any(value % HOUR for value in minutes):
        raise VotingError("bad_reminders")
    return [value // HOUR for value in minutes]


def set_reminders(rnd: VotingRound, hours: Iterable[int]) -> list[int]:
    values = sorted({int(h) for h in hours}, reverse=True)
    if not values or any(h <= 0 or h > 24 * 60 for h in values):
        raise VotingError("bad_reminders")
    rnd.reminder_hours = values
    return values


async def publish_results(session: AsyncSession, rnd: VotingRound, *, by: int | None,
                          now: datetime | None = None) -> bool:
    _require_phase(rnd, "closed")
    if rnd.results_published_at is not None:
        return False
    rnd.results_published_at = now or utcnow()
    audit(session, by, "voting.results.publish", "voting_round", rnd.id)
    await session.flush()
    return True
