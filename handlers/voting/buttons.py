"""The voting flow's buttons. The prefixes and field order are wire formats: buttons already sent keep working."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from services.voting import MAX_CHOICES, BallotEntry, VotingError


class BallotCB(CallbackData, prefix="vb"):
    """A ballot button: ``a`` open / toggle / summary / edit / confirm, round, village, the choice so far as a
    bit mask of ballot positions (hex), and the problem a toggle is about."""

    a: str
    r: int
    v: int
    m: str = "0"
    p: int = 0


class CollectCB(CallbackData, prefix="vc"):
    a: str  # "start" or "done"
    r: int


# The ballot


def mask_of(positions: set[int]) -> str:
    return format(sum(1 << p for p in positions), "x")


def positions_of(mask: str) -> set[int]:
    try:
        value = int(mask, 16)
    except ValueError:
        raise VotingError("not_on_ballot") from None
    if value < 0:
        raise VotingError("not_on_ballot")
    return {bit for bit in range(value.bit_length()) if value >> bit & 1}


def choice_from(mask: str, items: list[BallotEntry]) -> list[int]:
    positions = positions_of(mask)
    if len(positions) > MAX_CHOICES:
        raise VotingError("too_many", limit=MAX_CHOICES)
    if any(p >= len(items) for p in positions):
        raise VotingError("not_on_ballot")
    return [items[p].id for p in sorted(positions)]




class RoundCB(CallbackData, prefix="vr"):
    a: str
    r: int


class NewRoundCB(CallbackData, prefix="vn"):
    a: str  # "aimak", "village" (toggle), "done"
    id: int


class SessionCB(CallbackData, prefix="vs"):
    a: str  # "village", "band", "save"
    r: int
    id: int


class PickCB(CallbackData, prefix="vp"):
    """Organisers pick from lists instead of typing numbers: ``a`` the step (group: gs toggle, gn next; merge: ms
    source, mt target, mw where, mok confirm; unmerge: uk pick, uok confirm; tag: tp problem, tc competence; x
    cancel), round, and the item tapped."""

    a: str
    r: int
    id: int = 0


class AttendCB(CallbackData, prefix="va"):
    """The villager's answer, asked once per round with both sources: did they take part in the village meeting
    (``a`` "y" or "n")."""

    a: str
    r: int
    v: int
