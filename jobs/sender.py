"""The outbox sender: drains ``services.outbox`` within Telegram's limits, exactly once per message.

Where a stop can fall, and what happens:
- before a row is claimed, or while it is claimed but not tried: nothing was sent; a stopping worker gives its
  claims back, a killed one's lease runs out and another worker takes them;
- between marking a row ``sending`` and recording Telegram's answer: the calls run in lanes that are tasks of
  their own, so a stop (task cancelled, bot shut down) waits for the answers in flight to be recorded. Only a
  hard kill of the process inside that window (milliseconds per message in flight) leaves a row in doubt:
  Telegram has no idempotency key, so it is sent again when the lease ends and logged as in doubt — at most
  ``outbox_concurrency`` messages per killed process, chosen over skipping somebody's notice.

Rates: a pacer keeps this process under ``outbox_per_second`` (halved on a 429 and creeping back), the per-chat
interval is checked in the database (so it holds across processes), and a 429's ``retry_after`` pauses this
sender and puts the chat's message back until then."""

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
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _

from bot.i18n import Formatter, in_language
from jobs.tasks import worker_name
from services import outbox
from services.channels import is_whatsapp_chat
from services.people import person_by_telegram_id
from storage.delivery import Broadcast
from storage.models import utcnow

if TYPE_CHECKING:
    from bot.runtime import App

log = logging.getLogger(__name__)


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


class _Pacer:
    """Spaces the Bot API calls of one process: at most ``rate`` a second, halved on a 429, creeping back."""

    def __init__(self, rate: float) -> None:
        self.ceiling = rate
        self.rate = rate
        self.next_slot = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(self.next_slot, now)
        self.next_slot = slot + 1.0 / self.rate
        if slot > now:
            await asyncio.sleep(slot - now)

    def slow_down(self) -> None:
        self.rate = max(1.0, self.rate / 2)

    def recover(self) -> None:
        self.rate = min(self.ceiling, self.rate * 1.02)


@dataclass
class _State:
    pacer: _Pacer  # Telegram's
    whatsapp: _Pacer | None = None  # the WhatsApp number's (its own limit: the two channels send side by side)
    paused_until: datetime | None = None
    drainer: asyncio.Task[None] | None = None
    stopping: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


_STATES: dict[int, _State] = {}


def _state(app: App) -> _State:
    key = id(app)
    state = _STATES.get(key)
    if state is None:
        state = _STATES[key] = _State(pacer=_Pacer(app.settings.outbox_per_second),
                                      whatsapp=_Pacer(app.settings.whatsapp_per_second))
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


async def _call(app: App, message: outbox.Claimed) -> tuple[Message, str | None]:
    """The Bot API call; returns Telegram's message and, for a first upload, the new file_id."""
    bot = app.bot
    markup = _markup(message.reply_markup)
    if message.file is None:
        sent = await bot.send_message(message.chat_id, message.text, parse_mode=message.parse_mode,
                                      reply_markup=markup)
        return sent, None
    source: Any = message.file.telegram_file_id
    if source is None:
        async with app.db.session() as session:
            source = BufferedInputFile(await outbox.file_data(session, message.file.id), message.file.filename)
    caption = message.text or None
    if message.file.kind == "photo":
        sent = await bot.send_photo(message.chat_id, source, caption=caption, parse_mode=message.parse_mode,
                                    reply_markup=markup)
        new_id = sent.photo[-1].file_id if sent.photo else None
    else:
        sent = await bot.send_document(message.chat_id, source, caption=caption, parse_mode=message.parse_mode,
                                       reply_markup=markup)
        new_id = sent.document.file_id if sent.document else None
    return sent, new_id if message.file.telegram_file_id is None else None


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

    def clock(self) -> datetime:
        """``now`` as given, moving on with the real time spent in this run."""
        return self.start + timedelta(seconds=time.monotonic() - self.mono)

    async def send(self, claimed: list[outbox.Claimed]) -> None:
        """Send over ``outbox_concurrency`` lanes (``whatsapp_concurrency`` for WhatsApp chats). The lanes are tasks
        of their own: when this run is cancelled they finish the call in flight and record its answer, then the
        untried messages are given back."""
        # Each channel has its own lanes and pace, so WhatsApp's 80/s is not held up behind Telegram's 30/s.
        queues: dict[bool, deque[outbox.Claimed]] = {}
        for message in claimed:
            queues.setdefault(is_whatsapp_chat(message.chat_id), deque()).append(message)
        lanes = []
        for whatsapp, queue in queues.items():
            pacer = self.state.whatsapp if whatsapp and self.state.whatsapp else self.state.pacer
            width = self.settings.whatsapp_concurrency if whatsapp else self.settings.outbox_concurrency
            lanes += [asyncio.ensure_future(self._lane(queue, pacer)) for _ in range(min(width, len(queue)))]
        try:
            await asyncio.wait(lanes)
        finally:
            self.stop = True
            if not all(lane.done() for lane in lanes):
                await asyncio.wait(lanes)
            left = [m.id for queue in queues.values() for m in queue]
            if left:
                self.report.released += len(left)
                with contextlib.suppress(Exception):
                    async with self.app.db.session() as session:
                        await outbox.release(session, left, worker=self.worker)

    async def _lane(self, queue: deque[outbox.Claimed], pacer: _Pacer) -> None:
        """One message after another. The answer of one is recorded in the same transaction that marks the next
        ``sending``, so each message costs one commit, and an answer is always on record before the next call."""
        answered: tuple[outbox.Claimed, Message, str | None, int] | None = None
        try:
            while queue and not self.stop:
                await pacer.wait()
                if self.stop or not queue:
                    break
                message = queue.popleft()
                async with self.app.db.session() as session:
                    if answered is not None:
                        await self._record(session, *answered)
                        answered = None
                    mine = await outbox.start_sending(session, message.id, worker=self.worker, now=self.clock(),
                                                      lease=self.lease)
                if not mine:
                    self.report.lost += 1
                    continue
                if message.in_doubt:
                    self.report.in_doubt += 1
                throttles = [0]  # throttling answers on the way (a channel's client counts them)
                token = outbox.THROTTLES.set(throttles)
                try:
                    sent, new_file_id = await _call(self.app, message)
                except Exception as exc:  # noqa: BLE001 - sorted out in _failed
                    await self._failed(message, exc)
                    continue
                finally:
                    outbox.THROTTLES.reset(token)
                answered = (message, sent, new_file_id, throttles[0])
        except Exception:  # noqa: BLE001 - a database error: rows stay claimed or in doubt until the lease ends
            log.exception("outbox lane stopped")
        finally:
            if answered is not None:
                try:
                    async with self.app.db.session() as session:
                        await self._record(session, *answered)
                except Exception:  # noqa: BLE001
                    log.exception("outbox message %s: sent, but could not record it", answered[0].id)

    async def _record(self, session: Any, message: outbox.Claimed, sent: Message, new_file_id: str | None,
                      throttled: int = 0) -> None:
        await outbox.mark_sent(session, message.id, now=self.clock(), telegram_message_id=sent.message_id,
                               throttled=throttled)
        if new_file_id is not None and message.file is not None:
            await outbox.remember_file_id(session, message.file.id, new_file_id)
        self.state.pacer.recover()
        self.report.sent += 1

    async def _failed(self, message: outbox.Claimed, exc: Exception) -> None:
        db, report, settings = self.app.db, self.report, self.settings
        if isinstance(exc, TelegramRetryAfter):
            report.rate_limited += 1
            self.stop = True
            until = self.clock() + timedelta(seconds=exc.retry_after)
            self.state.paused_until = max(self.state.paused_until or until, until)
            self.state.pacer.slow_down()
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


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
    app = run.app
    now = run.clock()
    async with app.db.session() as session:
        progress = await outbox.broadcast_progress(session, broadcast.id)
        final = progress.done and await outbox.finish_broadcast(session, broadcast.id, now=now)
        if not final and (progress.done or broadcast.progress_chat_id is None
                          or not await outbox.claim_progress(session, broadcast.id, now=now, every=every)):
            return
    if broadcast.progress_chat_id is None:
        return
    language = await _language_of(app, broadcast.created_by or broadcast.progress_chat_id)
    with in_language(app.i18n, language):
        text = _progress_text(_escape(broadcast.title), progress, Formatter(language, app.settings.zone), final)
    async with app.db.session() as session:
        # The first progress message is sent by whoever sets the placeholder 0 (exactly one worker).
        message_id = await outbox.progress_message(session, broadcast.id)
    try:
        await run.state.pacer.wait()
        if message_id is None:
            sent = await app.bot.send_message(broadcast.progress_chat_id, text)
            async with app.db.session() as session:
                await outbox.set_progress_message(session, broadcast.id, sent.message_id)
        elif message_id > 0:
            await app.bot.edit_message_text(text=text, chat_id=broadcast.progress_chat_id, message_id=message_id)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            log.warning("progress of broadcast %s: %s", broadcast.id, exc.message)
    except TelegramAPIError as exc:
        log.warning("progress of broadcast %s: %s", broadcast.id, exc)
    if final:
        # The final report as a new message (an edit does not notify), through the outbox: exactly once.
        async with app.db.session() as session:
            await outbox.enqueue(session, chat_id=broadcast.progress_chat_id, text=text,
                                 dedupe_key=f"broadcast:{broadcast.id}:report")


# --------------------------------------------------------------------------- in the background


async def drain(app: App) -> None:
    """Send until nothing is due (what the scheduled job starts)."""
    state = _state(app)
    while not state.stopping:
        report = await send_pending(app, limit=app.settings.outbox_batch)
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
    state.drainer = asyncio.create_task(_logged(drain(app)), name="outbox-drainer")


async def _logged(coroutine: Any) -> None:
    try:
        await coroutine
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001
        log.exception("outbox sender")


async def stop_sender(app: App) -> None:
    """Stop draining: calls in flight record their answers, claimed messages are given back."""
    state = _state(app)
    state.stopping = True
    task = state.drainer
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
