"""A broadcast's progress message and final report, for the organiser who sent it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiogram.exceptions import (
    TelegramAPIError,
)
from aiogram.utils.i18n import gettext as _

from bot.i18n import Formatter, in_language
from bot.text import escape
from jobs.sender.common import log
from services import outbox
from services.channels import is_whatsapp_chat
from services.people import person_by_telegram_id
from storage.delivery import Broadcast

if TYPE_CHECKING:
    from bot.runtime import App


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


async def _broadcasts(app: App, clock: Callable[[], datetime]) -> None:
    """Progress and final reports of the open broadcasts; ``clock`` is the run's (``now`` as given, moving on)."""
    every = timedelta(seconds=app.settings.outbox_progress_seconds)
    async with app.db.session() as session:
        broadcasts = await outbox.open_broadcasts(session)
    for broadcast in broadcasts:
        try:
            await _one_broadcast(app, clock, broadcast, every)
        except Exception:  # noqa: BLE001 - progress is a courtesy; sending goes on
            log.exception("progress of broadcast %s", broadcast.id)


async def _one_broadcast(app: App, clock: Callable[[], datetime], broadcast: Broadcast, every: timedelta) -> None:
    """The organiser's one message about a broadcast: on Telegram the progress message, edited every
    ``outbox_progress_seconds`` and at the end into the final report; a broadcast done before any progress was
    shown, or one whose organiser is on WhatsApp (no edits there: each would be a new message), gets only the final
    report, queued in the outbox. Either way the report reaches them once."""
    now = clock()
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
