"""The sender's rates and sizes, its report, and its state per application (buckets, pause, drainer)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.client import FloodBucket, flood_bucket
from bot.lean import LeanSender
from bot.resilience import Outage
from services import outbox

if TYPE_CHECKING:
    from bot.runtime import App

log = logging.getLogger("jobs.sender")  # the name it always had

PAID_PER_SECOND = 1000.0  # Telegram's ceiling for paid broadcasts (allow_paid_broadcast)
WINDOWS_PER_BATCH = 4  # a drain claims at least this many windows at once (``batch_size``)


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0  # failed for now, tried again later with backoff
    failed: int = 0  # given up
    unreachable: int = 0  # 403: blocked the bot (every open message to the chat closed)
    rate_limited: int = 0  # 429 answers
    released: int = 0  # claimed but not tried (a 429 pause or a stop)
    in_doubt: int = 0  # re-sent after a worker died mid-call
    lost: int = 0  # the lease ran out and another worker took the row first
    paused_until: datetime | None = None


@dataclass
class _State:
    bucket: FloodBucket  # Telegram's: the bot's own, shared with everything else it sends
    whatsapp: FloodBucket | None = None  # the WhatsApp number's (its own limit: the two channels send side by side)
    lean: LeanSender | None = None  # text messages to Telegram chats without aiogram's models (``bot.lean``)
    paused_until: datetime | None = None
    drainer: asyncio.Task[None] | None = None
    stopping: bool = False
    progress_checked: float | None = None  # time.monotonic() of the last look at the broadcasts' progress
    extra: dict[str, Any] = field(default_factory=dict)
    outage: Outage = field(default_factory=lambda: Outage(log, "outbox sender"))


# A message sent: its row, the messenger's message id, a new file id to remember, throttling answers on the way.
Answer = tuple[outbox.Claimed, int | None, str | None, int]

_STATES: dict[int, _State] = {}


def sending_rate(settings: Any) -> float:
    """Messages a second: the setting, or Telegram's paid-broadcast ceiling when that is switched on."""
    return PAID_PER_SECOND if settings.allow_paid_broadcast else settings.outbox_per_second


def window_size(settings: Any) -> int:
    """Telegram messages in flight at once: ``outbox_concurrency`` (at least a tenth of a second's worth when
    paid broadcasts are on)."""
    if settings.allow_paid_broadcast:
        return max(settings.outbox_concurrency, int(PAID_PER_SECOND / 10))
    return int(settings.outbox_concurrency)


def batch_size(settings: Any) -> int:
    """Messages a drain claims at once: ``outbox_batch``, and at least a few windows (at a high rate a claim of
    one window would stop the sending at every window's end)."""
    return max(settings.outbox_batch, min(1000, WINDOWS_PER_BATCH * window_size(settings)))


def _state(app: App) -> _State:
    key = id(app)
    state = _STATES.get(key)
    if state is None:
        state = _STATES[key] = _State(bucket=flood_bucket(app.bot, sending_rate(app.settings)),
                                      whatsapp=FloodBucket(app.settings.whatsapp_per_second),
                                      lean=LeanSender(app.bot))
        weakref.finalize(app, _STATES.pop, key, None)
    return state
