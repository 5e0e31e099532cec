"""What every part of events shares: the error, the documents and answers carried around, and parsing what
organisers type (dates, reminder lead times)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.audit import RuleError
from storage.models import utcnow

REMINDER_TASK = "event.reminder"
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


class EventError(RuleError):
    """Something an event cannot do; ``code`` names it for the message shown."""


@dataclass(frozen=True)
class Document:
    kind: str  # document | photo
    filename: str
    data: bytes


@dataclass(frozen=True)
class Answers:
    invited: int
    coming: int
    not_coming: int
    no_answer: int
    questions: int
    # Of those coming: women, and those who did not say their sex (a group of their own, outside the share).
    coming_women: int = 0
    coming_not_said: int = 0

    @property
    def coming_women_share(self) -> float | None:
        said = self.coming - self.coming_not_said
        return self.coming_women / said if said > 0 else None


# --------------------------------------------------------------------------- parsing what organisers type

_DATE_FORMATS = ("%d.%m.%Y %H:%M", "%d.%m.%y %H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M")


def parse_when(text: str, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """"25.12.2026 15:00" in the municipality's time zone → UTC. Must be in the future."""
    cleaned = re.sub(r"\s+", " ", text.strip().replace(",", " ")).replace(" :", ":")
    for pattern in _DATE_FORMATS:
        try:
            local = datetime.strptime(cleaned, pattern)
        except ValueError:
            continue
        moment = local.replace(tzinfo=zone).astimezone(UTC)
        if moment <= (now or utcnow()):
            raise EventError("past")
        return moment
    raise EventError("bad_date")


_LEAD = re.compile(r"^(\d+)\s*([dhm]|д|ч|м|к|с|k|s|min|мин)?$", re.IGNORECASE)  # к(үн), с(аат): Kyrgyz
_UNIT_MINUTES = {"d": 1440, "д": 1440, "k": 1440, "к": 1440, "h": 60, "ч": 60, "s": 60, "с": 60, "m": 1, "м": 1,
                 "min": 1, "мин": 1}


def parse_lead_times(text: str) -> list[int]:
    """Reminder lead times: "1d, 2h", "24h 30m", "1440 120" (plain numbers are minutes). Distinct, largest
    first; at most five; nothing ("0" or "-") means no reminders."""
    text = text.strip()
    if text in ("0", "-", "—"):
        return []
    minutes: set[int] = set()
    for part in re.split(r"[,;\s]+(?=\d)", text):
        part = part.strip().rstrip(",;")
        if not part:
            continue
        match = _LEAD.match(part)
        if not match:
            raise EventError("bad_lead_times")
        value = int(match.group(1)) * _UNIT_MINUTES.get((match.group(2) or "m").lower(), 1)
        if not 1 <= value <= 60 * 24 * 60:
            raise EventError("bad_lead_times")
        minutes.add(value)
    if not minutes or len(minutes) > 5:
        raise EventError("bad_lead_times")
    return sorted(minutes, reverse=True)
