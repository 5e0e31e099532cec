"""The outbox's limits, attachments, a broadcast's progress figures, and the count of throttling answers."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from storage.models import utcnow

MAX_TEXT = 4096
ANALYZE_AFTER = 10_000  # messages queued at once after which the outbox's statistics are refreshed
MAX_CAPTION = 1024
ATTACHMENT_KINDS = ("document", "photo")


@dataclass(frozen=True)
class Attachment:
    """A file sent with sendDocument / sendPhoto; the message text becomes its caption (1024 characters)."""

    kind: str  # "document" | "photo"
    filename: str
    data: bytes


@dataclass(frozen=True)
class Progress:
    total: int = 0
    sent: int = 0
    pending: int = 0  # waiting, being sent or waiting for a retry
    failed: int = 0
    unreachable: int = 0  # blocked the bot or left Telegram
    cancelled: int = 0  # the person asked to be forgotten before it went out
    throttled: int = 0  # messages the messenger slowed down (throttling answers, retried)

    @property
    def done(self) -> bool:
        return self.pending == 0




# Throttling answers the messenger gave while the sender sent one message: the sender sets a counter, a channel's
# client adds to it (``count_throttle``), and a message slowed down is marked so the broadcast report counts it.
THROTTLES: ContextVar[list[int] | None] = ContextVar("jamaat_throttles", default=None)
THROTTLED_NOTE = "throttled"


def count_throttle() -> None:
    box = THROTTLES.get()
    if box is not None:
        box[0] += 1


def now_or_utc(now: datetime | None) -> datetime:
    return now if now is not None else utcnow()
