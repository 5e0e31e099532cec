"""Participation (phone voters and session participants, women among them) and everything a round's
results need, read once."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.voting.counting import Tally, Top, tally, top
from services.voting.merges import merged_tally, merges_of
from services.voting.problems import problems_of
from services.voting.rounds import round_villages
from services.voting.sessions import sessions_of
from storage.models import AiylAimak, Person, Village
from storage.voting import Ballot, OfflineSession, Problem, ProblemMerge, RoundVillage, SessionVote, VotingRound


@dataclass(frozen=True)
class Turnout:
    """People taking part, the women among them, and those who did not say their sex (their own group: the
    women's share is of those whose sex is known, so it does not read low)."""

    people: int
    women: int
    not_said: int = 0

    @property
    def said(self) -> int:
        return self.people - self.not_said

    @property
    def men(self) -> int:
        return self.said - self.women

    @property
    def women_share(self) -> float | None:
        return self.women / self.said if self.said > 0 else None

    def __add__(self, other: Turnout) -> Turnout:
        return Turnout(self.people + other.people, self.women + other.women, self.not_said + other.not_said)


@dataclass
class Participation:
    phone: dict[int, Turnout]  # village → voters by phone (women: those who said so)
    sessions: dict[int, Turnout]  # village → session participants
    eligible: dict[int, int]  # village → registered, phone-verified villagers
    phone_by_band: dict[tuple[int, str | None], Turnout]
    sessions_by_band: dict[tuple[int, str], Turnout]
    # village → phone ballots cast with help for people without a smartphone (already in ``phone``)
    assisted: dict[int, int] = field(default_factory=dict)

    def village(self, village_id: int) -> Turnout:
        return self.phone.get(village_id, Turnout(0, 0)) + self.sessions.get(village_id, Turnout(0, 0))

    def total(self) -> Turnout:
        result = Turnout(0, 0)
        for turnout in [*self.phone.values(), *self.sessions.values()]:
            result = result + turnout
        return result


async def participation(session: AsyncSession, round_id: int) -> Participation:
    women = func.sum(case((Ballot.sex == "f", 1), else_=0))
    not_said = func.sum(case((Ballot.sex.is_(None), 1), else_=0))
    phone_rows = (await session.execute(
        select(Ballot.village_id, Ballot.age_band, func.count(), women, not_said).where(Ballot.round_id == round_id)
        .group_by(Ballot.village_id, Ballot.age_band))).all()
    session_rows = (await session.execute(
        select(OfflineSession.village_id, OfflineSession.age_band, func.sum(OfflineSession.participants),
               func.sum(OfflineSession.women)).where(OfflineSession.round_id == round_id)
        .group_by(OfflineSession.village_id, OfflineSession.age_band))).all()
    eligible_rows = (await session.execute(
        select(RoundVillage.village_id, func.count(Person.id))
        .select_from(RoundVillage)
        .outerjoin(Person, and_(Person.village_id == RoundVillage.village_id, Person.registered_at.is_not(None),
                                Person.forgotten_at.is_(None), Person.phone_hash.is_not(None)))
        .where(RoundVillage.round_id == round_id).group_by(RoundVillage.village_id))).all()
    phone: dict[int, Turnout] = defaultdict(lambda: Turnout(0, 0))
    sessions: dict[int, Turnout] = defaultdict(lambda: Turnout(0, 0))
    phone_by_band: dict[tuple[int, str | None], Turnout] = {}
    sessions_by_band: dict[tuple[int, str], Turnout] = {}
    for village_id, band, count, w, unknown in phone_rows:
        turnout = Turnout(int(count), int(w or 0), int(unknown or 0))
        phone[village_id] = phone[village_id] + turnout
        phone_by_band[(village_id, band)] = turnout
    for village_id, band, count, w in session_rows:
        turnout = Turnout(int(count or 0), int(w or 0))
        sessions[village_id] = sessions[village_id] + turnout
        sessions_by_band[(village_id, band)] = turnout
    assisted_rows = (await session.execute(
        select(Ballot.village_id, func.count()).where(Ballot.round_id == round_id, Ballot.assisted_by.is_not(None))
        .group_by(Ballot.village_id))).all()
    return Participation(dict(phone), dict(sessions), {v: int(n) for v, n in eligible_rows}, phone_by_band,
                         sessions_by_band, {v: int(n) for v, n in assisted_rows})


@dataclass
class Results:
    """Everything a results message, chart or report needs, read once."""

    round: VotingRound
    aiyl_aimak: AiylAimak
    villages: list[Village]
    problems: dict[int, Problem]
    merged: Tally
    as_voted: Tally
    participation: Participation
    sessions: list[OfflineSession]
    session_votes: dict[int, int]  # session id → votes given in it
    merges: list[ProblemMerge]

    @property
    def active_merges(self) -> list[ProblemMerge]:
        return [m for m in self.merges if m.undone_at is None]

    def top(self, village_id: int | None = None, *, merged: bool = True) -> Top:
        tally_ = self.merged if merged else self.as_voted
        return top(tally_.total() if village_id is None else tally_.village(village_id))


async def results(session: AsyncSession, rnd: VotingRound) -> Results:
    aimak = await session.get(AiylAimak, rnd.aiyl_aimak_id)
    assert aimak is not None
    return Results(
        round=rnd, aiyl_aimak=aimak, villages=await round_villages(session, rnd.id),
        problems={p.id: p for p in await problems_of(session, rnd.id)},
        merged=await merged_tally(session, rnd.id), as_voted=await tally(session, rnd.id, merged=False),
        participation=await participation(session, rnd.id), sessions=await sessions_of(session, rnd.id),
        session_votes={sid: int(n) for sid, n in (await session.execute(
            select(SessionVote.session_id, func.sum(SessionVote.votes))
            .join(OfflineSession, OfflineSession.id == SessionVote.session_id)
            .where(OfflineSession.round_id == rnd.id).group_by(SessionVote.session_id))).all()},
        merges=await merges_of(session, rnd.id),
    )
