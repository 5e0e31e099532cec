"""Decision rules: adopted or not under the event's rule (no database)."""

from __future__ import annotations

from dataclasses import dataclass

from services.events.common import EventError

DECISION_BASES = ("present", "cast")


def check_rule(rule: str) -> tuple[str, bool]:
    base, _, tie = rule.partition("+")
    if base not in DECISION_BASES or tie not in ("", "chair"):
        raise EventError("bad_rule")
    return base, tie == "chair"


def is_tie(votes_for: int, votes_against: int) -> bool:
    return votes_for == votes_against


def decide(rule: str, votes_for: int, votes_against: int, abstained: int, present: int | None,
           chair_vote: str | None = None) -> bool:
    """Adopted or not under the event's rule. "present": more than half of those present voted for;
    "cast": more for than against. With "+chair", a tie (as many for as against) goes the chair's way."""
    base, chair_decides = check_rule(rule)
    if min(votes_for, votes_against, abstained) < 0:
        raise EventError("bad_votes")
    voted = votes_for + votes_against + abstained
    if present is not None and voted > present:
        raise EventError("more_votes_than_present")
    if chair_decides and is_tie(votes_for, votes_against) and chair_vote in ("for", "against"):
        return chair_vote == "for"
    if base == "present":
        return votes_for * 2 > (present if present is not None else voted)
    return votes_for > votes_against


@dataclass(frozen=True)
class DecisionInput:
    text: str
    votes_for: int
    votes_against: int
    abstained: int
    chair_vote: str | None = None
