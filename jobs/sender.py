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
processes), and a 429's ``retry_after`` pauses this sender and puts the chat's message back until then."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import (
    BufferedInputFile,
    ForceReply,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _

from bot.client import FloodBucket, flood_bucket, prepaid
from bot.i18n import Formatter, in_language
from bot.lean import LeanSender
from bot.resilience import Outage, is_transient
from bot.text import escape
from jobs.tasks import worker_name
from services import outbox
from services.channels import is_whatsapp_chat
from services.people import person_by_telegram_id
from storage.delivery import Broadcast
from storage.models import utcnow

if TYPE_CHECKING:
    from bot.runtime import App

log = logging.getLogger(__name__)

PAID_PER_SECOND = 1000.0  # Telegram's ceiling for paid broadcasts (allow_paid_broadcast)
# Windows of one channel in flight side by side (see ``_Run.send``). 2 is faster, but a cancel then sometimes
# leaves answers unrecorded (tests/test_outbox.py::test_a_stopped_sender_resumes_and_delivers_exactly_once): open.
LANES = 1
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


def _markup(raw: dict[str, Any] | None) -> Any:
    if not raw:
        return None
    if "inline_keyboard" in raw:
        return InlineKeyboardMarkup.model_validate(raw)
    if "keyboard" in raw:
        return ReplyKeyboardMarkup.model_validate(raw)
    if raw.get("remove_keyboard"):
        return ReplyKeyboardRemove.model_validate(raw)
    return ForceReply.model_validate(raw)


async def _call(app: App, message: outbox.Claimed, lean: LeanSender | None) -> tuple[int | None, str | None]:
    """The Bot API call; returns the messenger's message id and, for a first upload, the new file_id. A text
    message to a Telegram chat takes the lean path (prepared JSON, only the answer's ok and message id read)."""
    bot = app.bot
    paid = app.settings.allow_paid_broadcast
    if message.file is None and lean is not None and lean.usable and not is_whatsapp_chat(message.chat_id):
        return await lean.send_message(message.chat_id, message.text, parse_mode=message.parse_mode,
                                       reply_markup=message.reply_markup, paid=paid), None
    markup = _markup(message.reply_markup)
    extra: dict[str, Any] = {"allow_paid_broadcast": True} if paid else {}
    if message.file is None:
        sent = await bot.send_message(message.chat_id, message.text, parse_mode=message.parse_mode,
                                      reply_markup=markup, **extra)
        return sent.message_id, None
    source: Any = message.file.telegram_file_id
    if source is None:
        async with app.db.session() as session:
            source = BufferedInputFile(await outbox.file_data(session, message.file.id), message.file.filename)
    caption = message.text or None
    if message.file.kind == "photo":
        sent = await bot.send_photo(message.chat_id, source, caption=caption, parse_mode=message.parse_mode,
                                    reply_markup=markup, **extra)
        new_id = sent.photo[-1].file_id if sent.photo else None
    else:
        sent = await bot.send_document(message.chat_id, source, caption=caption, parse_mode=message.parse_mode,
                                       reply_markup=markup, **extra)
        new_id = sent.document.file_id if sent.document else None
    return sent.message_id, new_id if message.file.telegram_file_id is None else None


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
        await _broadcasts(run)
    return run.report


# --------------------------------------------------------------------------- progress and final reports


def _progress_text(title: str, progress: outbox.Progress, formatter: Formatter, final: bool) -> str:
    number = formatter.number
    head = (_("✅ Sent: {title}") if final else _("📤 Sending: {title}")).format(title=title)
    lines = [
        head,
        _("Delivered: {sent} of {total}").format(sent=number(progress.sent), total=number(progress.total)),
    ]
    if not final:
        lines.append(_("Waiting: {pending}").format(pending=number(progress.pending)))
    lines.append(_("Failed: {failed}").format(failed=number(progress.failed)))
    lines.append(_("Unreachable (blocked the bot): {unreachable}").format(
        unreachable=number(progress.unreachable)))
    if progress.cancelled:
        lines.append(_("Withdrawn (data deleted): {cancelled}").format(cancelled=number(progress.cancelled)))
    if progress.throttled:
        lines.append(_("Slowed down by the messenger's limits, sent again: {throttled}").format(
            throttled=number(progress.throttled)))
    return "\n".join(lines)


async def _language_of(app: App, telegram_id: int | None) -> str:
    if telegram_id is None:
        return app.settings.default_language
    async with app.db.session() as session:
        person = await person_by_telegram_id(session, telegram_id)
    return (person.language if person is not None else None) or app.settings.default_language


async def _broadcasts(run: _Run) -> None:
    app = run.app
    every = timedelta(seconds=app.settings.outbox_progress_seconds)
    async with app.db.session() as session:
        broadcasts = await outbox.open_broadcasts(session)
    for broadcast in broadcasts:
        try:
            await _one_broadcast(run, broadcast, every)
        except Exception:  # noqa: BLE001 - progress is a courtesy; sending goes on
            log.exception("progress of broadcast %s", broadcast.id)


async def _one_broadcast(run: _Run, broadcast: Broadcast, every: timedelta) -> None:
    """The organiser's one message about a broadcast: on Telegram the progress message, edited every
    ``outbox_progress_seconds`` and at the end into the final report; a broadcast done before any progress was
    shown, or one whose organiser is on WhatsApp (no edits there: each would be a new message), gets only the final
    report, queued in the outbox. Either way the report reaches them once."""
    app = run.app
    now = run.clock()
    chat_id = broadcast.progress_chat_id
    editable = chat_id is not None and not is_whatsapp_chat(chat_id)
    async with app.db.session() as session:
        progress = await outbox.broadcast_progress(session, broadcast.id)
        final = progress.done and await outbox.finish_broadcast(session, broadcast.id, now=now)
        if not final and (progress.done or not editable
                          or not await outbox.claim_progress(session, broadcast.id, now=now, every=every)):
            return
    if chat_id is None:
        return
    language = await _language_of(app, broadcast.created_by or chat_id)
    with in_language(app.i18n, language):
        text = _progress_text(escape(broadcast.title), progress, Formatter(language, app.settings.zone), final)
    message_id: int | None = None
    if editable:
        async with app.db.session() as session:
            # The first progress message is sent by whoever sets the placeholder 0 (exactly one worker).
            message_id = await outbox.progress_message(session, broadcast.id)
    if final and not message_id:
        # No progress message to turn into the report (none shown, or WhatsApp): the report as a message of its
        # own, through the outbox (exactly once, retried like any notice).
        await _queue_report(app, broadcast, text)
        return
    try:
        if message_id is None:
            sent = await app.bot.send_message(chat_id, text)
            async with app.db.session() as session:
                await outbox.set_progress_message(session, broadcast.id, sent.message_id)
        elif message_id > 0:
            await app.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id)
    except TelegramAPIError as exc:
        log.warning("progress of broadcast %s: %s", broadcast.id, exc)
        if final:  # the progress message could not become the report (deleted, say): the report on its own
            await _queue_report(app, broadcast, text)


async def _queue_report(app: App, broadcast: Broadcast, text: str) -> None:
    assert broadcast.progress_chat_id is not None
    async with app.db.session() as session:
        await outbox.enqueue(session, chat_id=broadcast.progress_chat_id, text=text,
                             dedupe_key=f"broadcast:{broadcast.id}:report")


# --------------------------------------------------------------------------- in the background


async def drain(app: App) -> None:
    """Send until nothing is due (what the scheduled job starts)."""
    state = _state(app)
    while not state.stopping:
        report = await send_pending(app, limit=batch_size(app.settings))
        if report.paused_until is not None:
            await asyncio.sleep(max(0.05, (report.paused_until - utcnow()).total_seconds()))
            continue
        if report.claimed == 0:
            return


async def kick_sender(app: App) -> None:
    """The scheduled job: start a drainer unless one is running (so runs never overlap in a process)."""
    state = _state(app)
    if state.stopping or (state.drainer is not None and not state.drainer.done()):
        return
    state.drainer = asyncio.create_task(_logged(drain(app), state.outage), name="outbox-drainer")


async def _logged(coroutine: Any, outage: Outage) -> None:
    """A database or Bot API outage is one line when it starts and one when it ends, not a traceback a run."""
    try:
        await coroutine
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001
        outage.failed(exc)
    else:
        outage.ok()


async def stop_sender(app: App) -> None:
    """Stop draining: calls in flight record their answers, claimed messages are given back."""
    state = _state(app)
    state.stopping = True
    task = state.drainer
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
