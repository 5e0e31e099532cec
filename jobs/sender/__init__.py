"""The outbox sender: drains ``services.outbox`` within Telegram's limits, exactly once per message.

Where a stop can fall, and what happens:
- before a row is claimed, or while it is claimed but not tried: nothing was sent; a stopping worker gives its
  claims back, a killed one's lease runs out and another worker takes them;
- between marking a row ``sending`` and recording Telegram's answer: the calls run in lanes that are tasks of
  their own, so a stop (task cancelled, bot shut down) waits for the answers in flight to be recorded. Only a
  hard kill of the process inside that window (milliseconds per message in flight) leaves a row in doubt:
  Telegram has no idempotency key, so it is sent again when the lease ends and logged as in doubt — at most
  ``outbox_concurrency`` messages per killed process, chosen over skipping somebody's notice.

Rates: one token bucket (``bot.client.flood_bucket``) keeps everything the bot sends under ``outbox_per_second``
(WhatsApp chats have a bucket of their own), the per-chat interval is checked in the database (so it holds across
processes), and a 429's ``retry_after`` pauses this sender and puts the chat's message back until then.

The package by concern (each module imports only those before it; callers use ``jobs.sender`` as one):
``common`` (rates, sizes, ``SendReport``, the state per application), ``calls`` (one Bot API call), ``reports``
(a broadcast's progress message and final report), ``run`` (``send_pending``: claim, send, record),
``background`` (the drainer, ``kick_sender``, ``stop_sender``, ``sender_held``)."""

from __future__ import annotations

from jobs.sender.background import drain, kick_sender, sender_held, stop_sender
from jobs.sender.common import (
    PAID_PER_SECOND,
    WINDOWS_PER_BATCH,
    Answer,
    SendReport,
    batch_size,
    sending_rate,
    window_size,
)
from jobs.sender.run import LANES, send_pending

__all__ = [
    "Answer", "LANES", "PAID_PER_SECOND", "SendReport", "WINDOWS_PER_BATCH", "batch_size", "drain", "kick_sender",
    "send_pending", "sender_held", "sending_rate", "stop_sender", "window_size",
]
