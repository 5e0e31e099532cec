"""The persistent outbox: every notice to many people is queued here and sent by ``jobs.sender``.

Callers render each message in its reader's language and ``enqueue`` it with a ``dedupe_key`` that names what
it is to whom (``event:12:notice:person:345``): queuing the same key again is a no-op, so a handler or task that
runs twice never messages anybody twice. Queue a broadcast's messages in the same transaction as
``create_broadcast``, so the sender never sees half a broadcast and reports it finished early.

The claim/mark functions (``claims``, ``marks``) are the sender's side: a worker claims due rows with a lease,
marks a row ``sending`` just before the Bot API call and ``sent`` right after the answer.

The package by concern (each module imports only those before it; callers use ``services.outbox`` as one):
``common`` (limits, ``Attachment``, ``Progress``, the throttling count), ``queueing`` (broadcasts, ``enqueue``,
``enqueue_to_people``, ``cancel_pending``), ``broadcasts`` (progress and the final report), ``claims`` (the
sender's claim), ``marks`` (the sender's records of each answer)."""

from __future__ import annotations

from services.outbox.broadcasts import (
    broadcast_progress,
    claim_progress,
    finish_broadcast,
    open_broadcasts,
    progress_message,
    set_progress_message,
)
from services.outbox.claims import OPEN_ROWS, Claimed, FileRef, claim, start_sending, start_sending_many
from services.outbox.common import (
    ANALYZE_AFTER,
    ATTACHMENT_KINDS,
    MAX_CAPTION,
    MAX_TEXT,
    THROTTLED_NOTE,
    THROTTLES,
    Attachment,
    Progress,
    count_throttle,
    now_or_utc,
)
from services.outbox.marks import (
    file_data,
    mark_chat_unreachable,
    mark_failed,
    mark_sent,
    mark_sent_many,
    release,
    remember_file_id,
    retry_later,
)
from services.outbox.queueing import Notice, Render, cancel_pending, create_broadcast, enqueue, enqueue_to_people
from storage.delivery import (  # the statuses and tables, offered here as before
    CANCELLED,
    FAILED,
    OPEN_STATES,
    PENDING,
    SENDING,
    SENT,
    UNREACHABLE,
    Broadcast,
    OutboxFile,
    OutboxMessage,
)

__all__ = [
    "ANALYZE_AFTER", "ATTACHMENT_KINDS", "Attachment", "Broadcast", "CANCELLED", "Claimed", "FAILED", "FileRef",
    "MAX_CAPTION", "MAX_TEXT", "Notice", "OPEN_ROWS", "OPEN_STATES", "OutboxFile", "OutboxMessage", "PENDING",
    "Progress", "Render", "SENDING", "SENT", "THROTTLED_NOTE", "THROTTLES", "UNREACHABLE", "broadcast_progress",
    "cancel_pending", "claim", "claim_progress", "count_throttle", "create_broadcast", "enqueue", "enqueue_to_people",
    "file_data", "finish_broadcast", "mark_chat_unreachable", "mark_failed", "mark_sent", "mark_sent_many",
    "now_or_utc", "open_broadcasts", "progress_message", "release", "remember_file_id", "retry_later",
    "set_progress_message", "start_sending", "start_sending_many",
]
