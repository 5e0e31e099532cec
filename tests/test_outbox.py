"""The outbox and its sender: exactly once per message, within Telegram's limits, on both back ends."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy import func, select, update

from bot.app import Jamaat
from bot.client import flood_bucket
from bot.emulator import Emulator, Limits
from jobs.sender import SendReport, send_pending
from services import outbox
from services.outbox import Attachment
from storage.db import Database
from storage.delivery import OutboxFile, OutboxMessage
from storage.models import Person, utcnow
from tests.backends import POSTGRES_URL, postgres_schema
from tests.harness import PATIENCE, harness_settings

FAST = {"outbox_per_second": 2000.0, "outbox_chat_interval": 0.0, "outbox_progress_seconds": 0.0,
        "outbox_concurrency": 8}
FIRST_ID = 500_000


@asynccontextmanager
async def senders(db: Database, *, limits: Limits | None = None, apps: int = 1,
                  **overrides: Any) -> AsyncIterator[tuple[Emulator, list[Jamaat]]]:
    """The emulator and sender apps on ``db`` (not polling, no background jobs: tests call the sender)."""
    async with Emulator(limits=limits) as emu:
        settings = harness_settings(emu, db, **{**FAST, **overrides})
        made = [Jamaat.create(settings, db=db) for _ in range(apps)]
        try:
            yield emu, made
        finally:
            for app in made:
                await app.close()


async def people(db: Database, emu: Emulator, count: int, *, first: int = FIRST_ID,
                 languages: tuple[str, ...] = ("ky", "ru", "en")) -> list[tuple[int, int]]:
    """Registered people with Telegram chats in the emulator: [(person_id, telegram_id)]."""
    async with db.session() as session:
        rows = [Person(telegram_id=first + i, first_name=f"P{i}", language=languages[i % len(languages)],
                       registered_at=utcnow()) for i in range(count)]
        session.add_all(rows)
        await session.flush()
        result = [(p.id, p.telegram_id) for p in rows]
    for _, telegram_id in result:
        emu.user(telegram_id, f"P{telegram_id}")
    return result


async def queue(db: Database, recipients: list[tuple[int, int]], *, key: str = "notice",
                broadcast: bool = True, progress_chat_id: int | None = None) -> int | None:
    async with db.session() as session:
        broadcast_id = None
        if broadcast:
            broadcast_id = await outbox.create_broadcast(session, kind="test", subject="test:1", created_by=None,
                                                         title="Test <notice>", progress_chat_id=progress_chat_id)
        for person_id, telegram_id in recipients:
            await outbox.enqueue(session, chat_id=telegram_id, person_id=person_id, broadcast_id=broadcast_id,
                                 text=f"<b>Notice</b> for {telegram_id}", dedupe_key=f"{key}:{person_id}")
    return broadcast_id


async def drain(app: Jamaat, start=None, *, step: float = 1.0, rounds: int = 60, **kwargs: Any) -> SendReport:
    """Call the sender, moving time by ``step`` seconds a call, until nothing is left to do."""
    now = start or utcnow()
    total = SendReport()
    for _ in range(rounds):
        report = await send_pending(app, now=now, **kwargs)
        for name in ("claimed", "sent", "retried", "failed", "unreachable", "rate_limited", "in_doubt"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        async with app.db.session() as session:
            open_rows = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                             .where(OutboxMessage.status.in_(outbox.OPEN_STATES)))
        if not open_rows and report.claimed == 0:
            return total
        now += timedelta(seconds=step)
    raise AssertionError(f"the outbox was not drained: {total}")


def delivered(emu: Emulator, chat_ids: list[int]) -> Counter[int]:
    """Bot messages per chat (every message the emulator recorded, edits not counted)."""
    return Counter({chat_id: len(emu.user(chat_id).messages) for chat_id in chat_ids})


async def test_enqueue_is_deduplicated_by_key(db: Database) -> None:
    async with db.session() as session:
        broadcast_id = await outbox.create_broadcast(session, kind="test", subject="s", created_by=1, title="T")
        assert await outbox.enqueue(session, chat_id=1, text="a", dedupe_key="k1", broadcast_id=broadcast_id)
        assert not await outbox.enqueue(session, chat_id=1, text="b", dedupe_key="k1", broadcast_id=broadcast_id)
        assert await outbox.enqueue(session, chat_id=2, text="c", dedupe_key="k2", broadcast_id=broadcast_id)
        with pytest.raises(ValueError):
            await outbox.enqueue(session, chat_id=1, text="x" * 5000, dedupe_key="long")
        progress = await outbox.broadcast_progress(session, broadcast_id)
    assert (progress.total, progress.pending, progress.sent, progress.done) == (2, 2, 0, False)


async def test_messages_arrive_once_in_order_with_attachments(db: Database) -> None:
    pdf = b"%PDF-1.4 budget draft"
    async with senders(db) as (emu, [app]):
        recipients = await people(db, emu, 3)
        async with db.session() as session:
            for person_id, chat_id in recipients:
                await outbox.enqueue(session, chat_id=chat_id, person_id=person_id, text="First",
                                     dedupe_key=f"a:{person_id}")
                await outbox.enqueue(session, chat_id=chat_id, person_id=person_id, text="The <i>draft</i>",
                                     attachment=Attachment("document", "budget.pdf", pdf), dedupe_key=f"b:{person_id}")
                await outbox.enqueue(session, chat_id=chat_id, person_id=person_id, text="",
                                     attachment=Attachment("photo", "poster.png", _png()),
                                     dedupe_key=f"c:{person_id}", reply_markup={"inline_keyboard": [[
                                         {"text": "I will come", "callback_data": "x"}]]})
        report = await drain(app)
        assert report.sent == 9
        for _, chat_id in recipients:
            messages = emu.user(chat_id).messages
            assert [m.text for m in messages] == ["First", "The draft", None]
            assert messages[1].document.data == pdf and messages[1].document.filename == "budget.pdf"
            assert messages[2].photo is not None and messages[2].buttons == [["I will come"]]
        async with db.session() as session:
            files = (await session.scalars(select(OutboxFile))).all()
        # One row per file however many people get it; Telegram's file_id is reused after the first upload.
        assert len(files) == 2 and all(f.telegram_file_id for f in files)


async def test_limits_are_kept_and_429_retry_after_is_obeyed(db: Database) -> None:
    # The emulator's limits run on the real clock while this test moves time: a burst of two per chat.
    limits = Limits(global_per_second=200.0, private_per_second=1.0, private_burst=2)
    # One lane, so that no other call is already in flight when the 429 comes back.
    async with senders(db, limits=limits, outbox_per_second=150.0, outbox_chat_interval=1.0,
                       outbox_concurrency=1) as (emu, [app]):
        recipients = await people(db, emu, 40)
        await queue(db, recipients)
        await queue(db, recipients, key="second", broadcast=False)  # a second message to each chat
        start = utcnow()
        emu.inject_429(2, retry_after=5)
        first = await send_pending(app, now=start)
        assert first.rate_limited == 1 and first.sent == 0 and first.paused_until is not None
        assert first.paused_until >= start + timedelta(seconds=5)
        # Within retry_after the sender does not call Telegram at all.
        calls = emu.stats.count("429") + emu.stats.ok
        paused = await send_pending(app, now=start + timedelta(seconds=3))
        assert paused.claimed == 0 and emu.stats.count("429") + emu.stats.ok == calls
        report = await drain(app, start + timedelta(seconds=5.5), step=1.0)
        assert report.rate_limited == 1  # the second injected 429
        assert delivered(emu, [c for _, c in recipients]) == Counter({c: 2 for _, c in recipients})
        # The emulator's own limits (200/s overall, 1/s per chat) were never exceeded.
        assert emu.stats.count("429") == 2


async def test_blocked_person_is_unreachable_and_skipped(db: Database) -> None:
    async with senders(db) as (emu, [app]):
        recipients = await people(db, emu, 5)
        blocked_person, blocked_chat = recipients[2]
        emu.block(blocked_chat)
        broadcast_id = await queue(db, recipients)
        await queue(db, recipients, key="later", broadcast=False)
        report = await drain(app)
        assert report.unreachable == 1 and emu.stats.forbidden == 1  # the second message was never tried
        async with db.session() as session:
            person = await session.get(Person, blocked_person)
            assert person is not None and person.unreachable_at is not None
            progress = await outbox.broadcast_progress(session, broadcast_id)
        assert (progress.sent, progress.unreachable, progress.pending) == (4, 1, 0)
        # Later messages to an unreachable person are closed without a call.
        await queue(db, [recipients[2]], key="third", broadcast=False)
        await drain(app)
        assert emu.stats.forbidden == 1
        counts = delivered(emu, [c for _, c in recipients])
        assert counts[blocked_chat] == 0 and all(counts[c] == 2 for _, c in recipients if c != blocked_chat)


async def test_other_failures_are_retried_with_backoff_then_given_up(db: Database) -> None:
    async with senders(db, outbox_retry_seconds=10.0, outbox_max_attempts=3) as (emu, [app]):
        recipients = await people(db, emu, 2)
        await queue(db, recipients, broadcast=False)
        emu.inject_error(1, 502, "Bad Gateway", chat_id=recipients[0][1])  # fails once
        emu.inject_error(99, 502, "Bad Gateway", chat_id=recipients[1][1])  # keeps failing
        start = utcnow()
        first = await send_pending(app, now=start)
        assert first.retried == 2 and first.sent == 0
        assert (await send_pending(app, now=start + timedelta(seconds=9))).claimed == 0  # backoff: 10 s
        second = await send_pending(app, now=start + timedelta(seconds=11))
        assert second.sent == 1 and second.retried == 1
        assert (await send_pending(app, now=start + timedelta(seconds=25))).claimed == 0  # then 20 s
        third = await send_pending(app, now=start + timedelta(seconds=40))
        assert third.failed == 1
        async with db.session() as session:
            statuses = dict((await session.execute(select(OutboxMessage.chat_id, OutboxMessage.status))).all())
        assert statuses == {recipients[0][1]: "sent", recipients[1][1]: "failed"}


async def test_a_stopped_sender_resumes_and_delivers_exactly_once(db: Database) -> None:
    async with senders(db, outbox_per_second=300.0) as (emu, [app]):
        recipients = await people(db, emu, 200)
        chats = [c for _, c in recipients]
        await queue(db, recipients)
        start = utcnow()
        task = asyncio.create_task(send_pending(app, now=start, limit=200))
        await emu.wait_for(lambda: sum(delivered(emu, chats).values()) >= 40)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        before = sum(delivered(emu, chats).values())
        assert 40 <= before < 200
        async with db.session() as session:
            sent = await session.scalar(select(func.count()).where(OutboxMessage.status == "sent"))
        assert sent == before  # every answer that came back was recorded, even while being cancelled
        await drain(app, start)  # the same moment: the claims were given back, no lease to wait for
        assert delivered(emu, chats) == Counter({c: 1 for c in chats})


async def test_a_stop_during_the_last_record_still_records_it(backend: str, tmp_path: Path) -> None:
    """A stop (the bot shutting down) that falls while the sender writes its last answers down lets that write
    finish: a message the person already has is not left "sending", to go out again after the restart. Here
    another process holds the first message's row, so the last write waits exactly when the stop comes."""
    async with two_databases(backend, tmp_path) as (db, other), \
            senders(db, outbox_per_second=0.25, outbox_concurrency=2) as (emu, [app]):
        recipients = await people(db, emu, 2)
        (first_id, first_chat), (_, second_chat) = recipients
        await queue(db, recipients, broadcast=False)
        task = asyncio.create_task(send_pending(app, now=utcnow(), limit=2))
        # The second message waits ~4 s for its token (one message every 4 s): time to take the first one's row.
        await emu.wait_for(lambda: delivered(emu, [first_chat])[first_chat] == 1, PATIENCE)
        async with other.session() as holder:
            await holder.execute(update(OutboxMessage).where(OutboxMessage.person_id == first_id)
                                 .values(attempts=OutboxMessage.attempts))  # the row is held until rollback
            await emu.wait_for(lambda: delivered(emu, [second_chat])[second_chat] == 1, PATIENCE)
            await asyncio.sleep(0.3)  # the sender is now writing both answers down, waiting for the row
            assert not task.done()
            task.cancel()
            await asyncio.sleep(0.2)
            await holder.rollback()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with db.session() as session:
            statuses = (await session.scalars(select(OutboxMessage.status))).all()
        assert sorted(statuses) == ["sent", "sent"]
        await drain(app)  # nothing is sent again
        assert delivered(emu, [first_chat, second_chat]) == Counter({first_chat: 1, second_chat: 1})


async def test_a_killed_workers_claims_wait_for_their_lease(db: Database) -> None:
    async with senders(db, outbox_lease_seconds=60) as (emu, [app]):
        recipients = await people(db, emu, 10)
        await queue(db, recipients)
        start = utcnow()
        async with db.session() as session:  # a worker claims and dies without a word
            claimed = await outbox.claim(session, worker="dead", now=start, limit=4, lease=timedelta(seconds=60))
        async with db.session() as session:  # …one of them in the middle of the call
            assert await outbox.start_sending(session, claimed[0].id, worker="dead", now=start,
                                              lease=timedelta(seconds=60))
        report = await send_pending(app, now=start)
        assert report.sent == 6 and (await send_pending(app, now=start + timedelta(seconds=30))).claimed == 0
        report = await drain(app, start + timedelta(seconds=61))
        assert report.sent == 4 and report.in_doubt == 1  # in doubt: sent again rather than skipped
        assert delivered(emu, [c for _, c in recipients]) == Counter({c: 1 for _, c in recipients})


@asynccontextmanager
async def two_databases(backend: str, tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    """Two engines on one database, as two bot processes have."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        first, second = Database(url), Database(url)
        try:
            await first.upgrade()
            yield first, second
        finally:
            await first.dispose()
            await second.dispose()
        return
    async with postgres_schema() as schema:
        first, second = Database(POSTGRES_URL, schema=schema), Database(POSTGRES_URL, schema=schema)
        try:
            await first.upgrade()
            yield first, second
        finally:
            await first.dispose()
            await second.dispose()


async def test_two_senders_deliver_each_message_exactly_once(backend: str, tmp_path: Path) -> None:
    async with two_databases(backend, tmp_path) as (db1, db2), Emulator() as emu:
        apps = [Jamaat.create(harness_settings(emu, db, **FAST), db=db) for db in (db1, db2)]
        try:
            recipients = await people(db1, emu, 240)
            chats = [c for _, c in recipients]
            await queue(db1, recipients)
            start = utcnow()

            async def worker(app: Jamaat, name: str) -> int:
                sent = 0
                for step in range(40):
                    report = await send_pending(app, now=start + timedelta(seconds=step), worker=name, limit=30)
                    sent += report.sent
                    if report.claimed == 0 and sum(delivered(emu, chats).values()) == len(chats):
                        break
                return sent

            first, second = await asyncio.gather(worker(apps[0], "one"), worker(apps[1], "two"))
            assert first + second == 240 and first > 0 and second > 0
            assert delivered(emu, chats) == Counter({c: 1 for c in chats})
        finally:
            for app in apps:
                await app.close()


async def test_progress_is_one_edited_message_that_becomes_the_final_report(db: Database) -> None:
    """The organiser gets one message: the progress, edited in place until it is the final report (issue 12: a
    report is sent once)."""
    async with senders(db, outbox_progress_seconds=0.0) as (emu, [app]):
        await people(db, emu, 1, first=777, languages=("en",))  # the organiser reads English
        organiser = emu.user(777, "Organiser")
        recipients = await people(db, emu, 30)
        emu.block(recipients[0][1])
        await queue(db, recipients, progress_chat_id=777)
        start = utcnow()
        await send_pending(app, now=start, limit=10)
        progress = organiser.messages[0]
        assert progress.text.startswith("📤 Sending: Test <notice>")
        await drain(app, start, limit=10)
        await drain(app, start + timedelta(seconds=60))  # nothing more for the organiser
        texts = organiser.texts
        assert len(texts) == 1 and progress.edited
        assert texts[0].startswith("✅ Sent: Test <notice>")
        assert "Delivered: 29 of 30" in texts[0] and "Unreachable (blocked the bot): 1" in texts[0]
        assert "Waiting" not in texts[0]


@pytest.mark.parametrize(("language", "sent", "delivered_line"), [
    ("ky", "✅ Жөнөтүлдү: ", "Жеткирилди"), ("ru", "✅ Отправлено: ", "Доставлено"),
    ("uz", "✅ Yuborildi: ", "Yetkazildi")])
async def test_the_one_report_is_in_the_organisers_language(db: Database, language: str, sent: str,
                                                           delivered_line: str) -> None:
    async with senders(db, outbox_progress_seconds=0.0) as (emu, [app]):
        await people(db, emu, 1, first=779, languages=(language,))
        recipients = await people(db, emu, 12)
        await queue(db, recipients, progress_chat_id=779)
        start = utcnow()
        await send_pending(app, now=start, limit=4)  # the progress message is shown
        await drain(app, start, limit=4)
        await drain(app, start + timedelta(seconds=60))
        texts = emu.user(779).texts
        assert len(texts) == 1 and texts[0].startswith(sent + "Test <notice>"), texts
        assert delivered_line in texts[0] and "12" in texts[0]


def _png() -> bytes:
    from bot.emulator.driver import tiny_png

    return tiny_png()


async def test_each_bot_process_paces_with_its_own_bucket() -> None:
    """Two bot objects with one token (the tests' emulator token; two processes of one bot) each pace by their own
    settings: a bucket found by the token would hand the second one the first one's rate (aiogram's ``Bot``
    compares by token), which made a slow-paced test send at 2,000/s after a fast one in the same process."""
    fast, slow = Bot("123456:TEST-TOKEN"), Bot("123456:TEST-TOKEN")
    try:
        assert flood_bucket(fast, 2000.0).rate == 2000.0
        assert flood_bucket(slow, 0.25).rate == 0.25
        assert flood_bucket(fast, 1.0) is flood_bucket(fast, 1.0)  # one bucket a bot, made on first use
    finally:
        await fast.session.close()
        await slow.session.close()
