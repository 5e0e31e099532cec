"""What every part of priority voting shares: the phases, modes, limits and competence tags, the refusal
(``VotingError``) and the checks of a round's phase and mode."""

from __future__ import annotations

from services.audit import RuleError
from storage.voting import VotingRound

PHASES = ("draft", "collecting", "voting", "closed")
COMPETENCES = ("local", "delegated", "outside")
MAX_CHOICES = 5  # the five stickers
MAX_SUBMISSIONS = 5
MAX_BALLOT_ITEMS = 40  # one village's ballot: buttons on one message, positions in 64 bytes of button data
MIN_TEXT, MAX_TEXT = 3, 300
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
SOURCES = ("phone", "session")
# Where a round's votes come from: phone ballots only, offline sessions only (nothing goes to villagers), or both
# (a villager who took part in their village's session is refused a phone ballot: nobody is counted twice).
MODES = ("phone", "sessions", "both")
MIN_SESSION_PARTICIPANTS = 20  # the method: a session has at least 20 people

# The organiser's words for the competence tags (English, Kyrgyz, Russian; any case, first letters do).
COMPETENCE_WORDS: dict[str, tuple[str, ...]] = {
    "local": ("local", "жергиликтүү", "жергиликтуу", "жергиликтүү маанидеги", "местное", "местный", "местного",
              "вмз", "вопрос местного значения", "mahalliy"),
    "delegated": ("delegated", "өткөрүлүп берилген", "откорулуп берилген", "өткөрүлгөн", "мамлекеттик",
                  "делегированное", "делегированный", "делегированные", "госполномочия",
                  "государственные полномочия", "davlat", "topshirilgan"),
    "outside": ("outside", "тышкары", "ыйгарым укуктан тышкары", "сырткы", "вне", "вне полномочий", "вне компетенции",
                "не входит", "tashqari"),
}


class VotingError(RuleError):
    """Something the rules refuse; ``code`` names it, ``detail`` carries what the message needs."""


def _require_phase(rnd: VotingRound, *phases: str) -> None:
    if rnd.phase not in phases:
        raise VotingError("wrong_phase", phase=rnd.phase)


def messages_villagers(rnd: VotingRound) -> bool:
    """Whether villagers hear of this round at all: a sessions-only round sends them nothing."""
    return (rnd.mode or "both") != "sessions"


def _require_phone(rnd: VotingRound) -> None:
    if not messages_villagers(rnd):
        raise VotingError("sessions_only")


def _clean(text: str) -> str:
    return " ".join(text.split())
