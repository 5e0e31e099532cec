"""One sender run: claim due messages, send each channel in paced windows, record the answers exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)

from bot.client import FloodBucket, prepaid
from bot.resilience import is_transient
from jobs.sender.calls import _call
from jobs.sender.common import Answer, SendReport, _state, log, window_size
from jobs.sender.reports import _broadcasts
from jobs.tasks import worker_name
from services import outbox
from services.channels import is_whatsapp_chat
from storage.models import utcnow

if TYPE_CHECKING:
    from bot.runtime import App


# Windows of one channel in flight side by side (see ``_Run.send``). 2 is faster, but a cancel then sometimes
# leaves answers unrecorded (tests/test_outbox.py::test_a_stopped_sender_resumes_and_delivers_exactly_once): open.
LANES = 1


class _Run:
    """One ``send_pending`` call."""

    def __init__(self, app: App, start: datetime, worker: str) -> None:
        self.app = app
        self.settings = app.settings
        self.state = _state(app)
        self.worker = worker
        self.start = start
        self.mono = time.monotonic()
        self.report = SendReport()
        self.stop = False
        self.lease = timedelta(seconds=self.settings.outbox_lease_seconds)
        self.window = window_size(self.settings)

    def clock(self) -> datetime:
        """``now`` as given, moving on with the real time spent in this run."""
        return self.start + timedelta(seconds=time.monotonic() - self.mono)

    async def send(self, claimed: list[outbox.Claimed]) -> None:
        """Each channel in windows of its own (``outbox_concurrency`` for Telegram, ``whatsapp_concurrency`` for
        WhatsApp chats) paced by its own bucket, side by side, so WhatsApp's 80/s is not held up behind
        Telegram's 30/s."""
        channels: dict[bool, list[outbox.Claimed]] = {}
        for message in claimed:
            channels.setdefault(is_whatsapp_chat(message.chat_id), []).append(message)
        lanes = []
        for whatsapp, messages in channels.items():
            bucket = self.state.whatsapp if whatsapp and self.state.whatsapp else self.state.bucket
            width = self.settings.whatsapp_concurrency if whatsapp else self.window
            # LANES lanes of a share of the width each: one lane's transaction runs while the other's calls are in
            # flight, so the messenger is never left waiting on the database. Still at most ``width`` messages
            # marked ``sending`` at once (one claim holds at most one message a chat, so order is kept).
            count = min(LANES, width)
            lanes += [self._send_channel(messages[lane::count], bucket, width // count) for lane in range(count)]
        await asyncio.gather(*lanes)

    async def _send_channel(self, claimed: list[outbox.Claimed], bucket: FloodBucket, width: int) -> None:
        """Send in windows of ``outbox_concurrency`` messages: one transaction records the answers of the last
        window and marks the next one ``sending``, then its calls run at once, each after a token of the bot's
        flood bucket. The calls are tasks of their own: when this run is cancelled they finish, their answers
        are recorded, and the untried messages are given back. A hard kill leaves at most one window in doubt."""
        queue = deque(claimed)
        answered: list[Answer] = []
        try:
            while queue and not self.stop:
                window = [queue.popleft() for _ in range(min(width, len(queue)))]
                # The transaction is shielded: a stop arriving now lets it commit (the last answers on record),
                # and the window, marked but not called, goes back to the queue to be given back.
                advance = asyncio.ensure_future(self._advance(answered, window))
                try:
                    mine = await asyncio.shield(advance)
                except asyncio.CancelledError:
                    with contextlib.suppress(Exception):
                        await advance
                    if advance.done() and not advance.cancelled() and advance.exception() is None:
                        answered = []
                    queue.extendleft(reversed(window))
                    raise
                answered = []
                self.report.lost += len(window) - len(mine)
                window = [m for m in window if m.id in mine]
                calls = [asyncio.ensure_future(self._one(message, bucket)) for message in window]
                try:
                    await asyncio.wait(calls)
                finally:
                    if not all(call.done() for call in calls):
                        await asyncio.wait(calls)
                    for call in calls:
                        if not call.cancelled() and call.exception() is None and call.result() is not None:
                            answered.append(call.result())
        except Exception as exc:  # noqa: BLE001 - a database error: rows stay claimed or in doubt until the lease ends
            self.stop = True  # the other channel's windows stop too
            self.state.outage.failed(exc)
        except BaseException:  # cancelled: every channel stops, its answers recorded and the rest given back
            self.stop = True
            raise
        finally:
            # Not ``self.stop`` on a normal end: the other channel (Telegram beside WhatsApp) goes on sending.
            # Shielded like a window's transaction: a stop arriving while the last answers are written down lets
            # the write finish, so a message the person already has is not left ``sending`` to go out again.
            settle = asyncio.ensure_future(self._settle(answered, queue))
            try:
                await asyncio.shield(settle)
            except asyncio.CancelledError:
                await settle
                raise

    async def _settle(self, answered: list[Answer], queue: deque[outbox.Claimed]) -> None:
        """The end of a run: the last answers on record, the untried claims given back."""
        try:
            if answered:
                async with self.app.db.session() as session:
                    await self._record(session, answered)
        except Exception as exc:  # noqa: BLE001 - rows stay in doubt until the lease ends, and are sent again
            if is_transient(exc):
                log.warning("outbox: %s messages sent, but could not record it: %s", len(answered), exc)
            else:
                log.exception("outbox: %s messages sent, but could not record it", len(answered))
        if queue:
            self.report.released += len(queue)
            with contextlib.suppress(Exception):
                async with self.app.db.session() as session:
                    await outbox.release(session, [m.id for m in queue], worker=self.worker)

    async def _advance(self, answered: list[Answer], window: list[outbox.Claimed]) -> set[int]:
        """One transaction: the last window's answers on record, the next window marked ``sending``."""
        async with self.app.db.session() as session:
            await self._record(session, answered)
            return await outbox.start_sending_many(session, [m.id for m in window], worker=self.worker,
                                                   now=self.clock(), lease=self.lease)

    async def _one(self, message: outbox.Claimed, bucket: FloodBucket) -> Answer | None:
        """One call; the answer to record, or None when it failed (handled in ``_failed``) or was not tried."""
        if message.in_doubt:
            self.report.in_doubt += 1
        await bucket.take()
        if self.stop:  # a 429 (or a stop) came while this one waited for its turn: back to the queue
            async with self.app.db.session() as session:
                await outbox.retry_later(session, message.id, not_before=self.clock(), error=None,
                                         failed_attempt=False, max_attempts=self.settings.outbox_max_attempts)
            self.report.released += 1
            return None
        throttles = [0]  # throttling answers on the way (a channel's client counts them)
        token = outbox.THROTTLES.set(throttles)
        try:
            sent, new_file_id = await prepaid(lambda: _call(self.app, message, self.state.lean))
        except Exception as exc:  # noqa: BLE001 - sorted out in _failed
            try:
                await self._failed(message, exc)
            except Exception:  # noqa: BLE001 - the row stays in doubt until its lease ends
                log.exception("outbox message %s: could not record the failure", message.id)
            return None
        finally:
            outbox.THROTTLES.reset(token)
        return message, sent, new_file_id, throttles[0]

    async def _record(self, session: Any, answered: list[Answer]) -> None:
        if not answered:
            return
        await outbox.mark_sent_many(session, [(m.id, sent, throttled) for m, sent, _, throttled in answered],
                                    now=self.clock())
        for message, _sent, new_file_id, _throttled in answered:
            if new_file_id is not None and message.file is not None:
                await outbox.remember_file_id(session, message.file.id, new_file_id)
        self.report.sent += len(answered)

    async def _failed(self, message: outbox.Claimed, exc: Exception) -> None:
        db, report, settings = self.app.db, self.report, self.settings
        if isinstance(exc, TelegramRetryAfter):
            report.rate_limited += 1
            self.stop = True
            until = self.clock() + timedelta(seconds=exc.retry_after)
            self.state.paused_until = max(self.state.paused_until or until, until)
            log.info("429 from Telegram: retry after %s s (chat %s)", exc.retry_after, message.chat_id)
            async with db.session() as session:
                await outbox.retry_later(session, message.id, not_before=until,
                                         error=f"{outbox.THROTTLED_NOTE}: {exc.message}",
                                         failed_attempt=False, max_attempts=settings.outbox_max_attempts)
            report.released += 1
            return
        if isinstance(exc, TelegramForbiddenError) or (
                isinstance(exc, TelegramBadRequest) and ("chat not found" in exc.message.lower()
                                                         or "user not found" in exc.message.lower())):
            async with db.session() as session:
                await outbox.mark_chat_unreachable(session, message.chat_id, message.person_id, exc.message)
            log.info("chat %s is unreachable (%s): its messages are closed", message.chat_id, exc.message)
            report.unreachable += 1
            return
        if isinstance(exc, TelegramBadRequest):
            log.error("outbox message %s to chat %s refused: %s", message.id, message.chat_id, exc.message)
            async with db.session() as session:
                await outbox.mark_failed(session, message.id, exc.message)
            report.failed += 1
            return
        # Server errors, lost connections and the like: try again later, waiting longer each time.
        delay = settings.outbox_retry_seconds * 2 ** message.attempts
        error = f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"
        async with db.session() as session:
            status = await outbox.retry_later(session, message.id, not_before=self.clock() + timedelta(
                seconds=delay), error=error, failed_attempt=True, max_attempts=settings.outbox_max_attempts)
        if status == outbox.FAILED:
            log.error("outbox message %s to chat %s failed for good: %s", message.id, message.chat_id, error)
            report.failed += 1
        else:
            log.warning("outbox message %s to chat %s: %s; retry in %s s", message.id, message.chat_id, error, delay)
            report.retried += 1


async def send_pending(app: App, now: datetime | None = None, worker: str | None = None,
                       limit: int = 100) -> SendReport:
    """Claim up to ``limit`` due messages and send them; then update the progress of open broadcasts.

    ``now`` (default: the clock) decides what is due, leases, backoff and pauses, so tests move time by
    passing it. Real time is only spent on pacing the calls."""
    run = _Run(app, now or utcnow(), worker or worker_name(app))
    state = run.state
    if state.paused_until is not None and run.start < state.paused_until:
        run.report.paused_until = state.paused_until
        return run.report
    settings = app.settings
    async with app.db.session() as session:
        if settings.whatsapp_enabled:
            # Each channel claimed at its pace, so both run at their caps side by side in this run.
            claimed = await outbox.claim(session, worker=run.worker, now=run.start, limit=limit, lease=run.lease,
                                         chat_interval=settings.outbox_chat_interval, whatsapp=False)
            ratio = settings.whatsapp_per_second / settings.outbox_per_second
            claimed += await outbox.claim(session, worker=run.worker, now=run.start, lease=run.lease,
                                          limit=min(1000, max(limit, int(limit * ratio))),
                                          chat_interval=settings.outbox_chat_interval, whatsapp=True)
        else:
            claimed = await outbox.claim(session, worker=run.worker, now=run.start, limit=limit, lease=run.lease,
                                         chat_interval=settings.outbox_chat_interval)
    run.report.claimed = len(claimed)
    if claimed:
        await run.send(claimed)
    if state.paused_until is not None and run.clock() < state.paused_until:
        run.report.paused_until = state.paused_until
    # Counting a big broadcast's rows costs; while the queue is busy, look at most every outbox_progress_seconds
    # (the progress message is not edited more often anyway), and always once the queue runs dry.
    mono = time.monotonic()
    if (run.report.claimed < limit or state.progress_checked is None
            or mono - state.progress_checked >= settings.outbox_progress_seconds):
        state.progress_checked = mono
        await _broadcasts(run.app, run.clock)
    return run.report
