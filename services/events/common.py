"""What every part of events shares: the error, the documents and answers carried around, and parsing what
organisers type (dates, reminder lead times)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.audit import RuleError
from services.durations import DAY, MINUTE, parse_durations
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


def parse_lead_times(text: str) -> list[int]:
    """Reminder lead times in minutes: "1d, 2h", "24h 30m", "2 күн", "1440 120" (plain numbers are minutes;
    ``services.durations``). Distinct, largest first; at most five; nothing ("0" or "-") means no reminders."""
    if text.strip() in ("0", "-", "—"):
        return []
    minutes = parse_durations(text, plain=MINUTE)
    if minutes is None or len(minutes) > 5 or not all(1 <= value <= 60 * DAY for value in minutes):
        raise EventError("bad_lead_times")
    return minutes
