"""The outcome: attendance (women counted separately), minutes, decisions with their votes, accepted proposals."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import audit
from services.events.common import EventError
from services.events.rules import DecisionInput, decide, is_tie
from services.roles import Roles
from storage.events import Event, EventDecision


async def record_outcome(session: AsyncSession, event: Event, roles: Roles, *, attended: int, women: int,
                         minutes: str, decisions: list[DecisionInput], accepted_proposals: list[str]) -> Event:
    """Attendance (women counted separately), minutes, decisions with their votes, accepted proposals."""
    if not roles.may_organise(event.aiyl_aimak_id):
        raise EventError("not_organiser")
    if event.status == "cancelled":
        raise EventError("cancelled")
    if attended < 0 or not 0 <= women <= attended:
        raise EventError("bad_attendance")
    event.attended, event.attended_women = attended, women
    event.minutes = minutes.strip()
    event.accepted_proposals = [p.strip() for p in accepted_proposals if p.strip()]
    event.decisions.clear()
    await session.flush()
    for position, item in enumerate(decisions, start=1):
        adopted = decide(event.decision_rule, item.votes_for, item.votes_against, item.abstained, attended,
                         item.chair_vote)
        event.decisions.append(EventDecision(
            position=position, text=item.text.strip(), votes_for=item.votes_for, votes_against=item.votes_against,
            abstained=item.abstained, chair_vote=item.chair_vote if is_tie(item.votes_for, item.votes_against)
            else None, adopted=adopted, detail={"rule": event.decision_rule}))
    event.status = "held"
    audit(session, roles.telegram_id, "event.outcome", "event", event.id, attended=attended, women=women,
          decisions=len(decisions))
    await session.flush()
    return event
