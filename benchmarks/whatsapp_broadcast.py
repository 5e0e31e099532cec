"""Broadcast benchmark on WhatsApp: the outbox sender through the WhatsApp channel to the Cloud API emulator.

    .venv/bin/python -m benchmarks.broadcast --channel whatsapp            # 10,000 WhatsApp villagers
    .venv/bin/python -m benchmarks.broadcast --channel mixed --count 3000  # 3,000 on Telegram + 3,000 on WhatsApp

(a) whatsapp: the emulator enforces the business number's throughput (80/s by default, 130429 beyond) and the
    pair rate; the figure is messages per second as a share of the configured rate, with the throttling answers
    the client retried. Villagers wrote within the last day (free-form messages; no templates).
(b) mixed: Telegram's limits (30/s) and WhatsApp's (80/s) at once; the time is compared with what the sum of
    both caps allows (every message of both channels at the two caps together).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bot.app import Jamaat
from bot.emulator import Emulator, Limits
from bot.emulator.whatsapp import WhatsAppEmulator, WhatsAppLimits
from services.channels import WHATSAPP, WHATSAPP_BASE
from storage.channels import ChannelIdentity
from storage.db import Database
from storage.models import Person, utcnow
from tests.harness import harness_settings, whatsapp_settings

TELEGRAM_CAP = 30.0


async def whatsapp_villagers(db: Database, wa: WhatsAppEmulator, count: int, first: int) -> list[tuple[int, int]]:
    """``count`` registered villagers on WhatsApp who wrote in the last hour: (person id, chat id)."""
    now = utcnow()
    async with db.session() as session:
        for start in range(0, count, 1000):
            batch = range(start, min(count, start + 1000))
            session.add_all(ChannelIdentity(channel=WHATSAPP, chat_id=WHATSAPP_BASE + first + i,
                                            wa_id=f"99677{first + i:07d}", last_inbound_at=now) for i in batch)
            session.add_all(Person(telegram_id=WHATSAPP_BASE + first + i, language=("ky", "ru")[i % 2],
                                   registered_at=now) for i in batch)
    async with db.session() as session:
        from sqlalchemy import select

        rows = (await session.execute(select(Person.id, Person.telegram_id).where(
            Person.telegram_id >= WHATSAPP_BASE + first, Person.telegram_id < WHATSAPP_BASE + first + count)
            .order_by(Person.id))).all()
    for i in range(count):
        wa.ensure_user(f"99677{first + i:07d}", "Villager").last_inbound = wa.now()
    return [(int(p), int(c)) for p, c in rows]


async def _ceiling(db: Database, emu: Emulator, concurrency: int, count: int) -> float:
    """The sender's own pace on WhatsApp, no limit anywhere (database work and the adapter included)."""
    from benchmarks.broadcast import drain, queue

    async with WhatsAppEmulator(limits=WhatsAppLimits()) as wa:
        settings: dict[str, Any] = {**whatsapp_settings(wa), "whatsapp_per_second": 100_000.0,
                                    "outbox_per_second": 100_000.0, "outbox_chat_interval": 0.0,
                                    "outbox_concurrency": concurrency}
        app = Jamaat.create(harness_settings(emu, db, **settings), db=db)
        try:
            people = await whatsapp_villagers(db, wa, count, 5_000_000)
            seconds, report = await drain(app, await queue(db, people, f"ceiling-{count}"))
            return report.sent / seconds
        finally:
            await app.close()


async def run(db: Database, channel: str, count: int, concurrency: int, tmp: Path) -> None:
    from benchmarks.broadcast import FIRST_ID, drain, queue, subscribers

    del tmp
    async with Emulator(limits=Limits()) as emu, WhatsAppEmulator(limits=WhatsAppLimits(per_second=80.0)) as wa:
        settings: dict[str, Any] = {**whatsapp_settings(wa), "whatsapp_per_second": 80.0,
                                    "outbox_per_second": 1000.0 if channel == "whatsapp" else TELEGRAM_CAP - 5,
                                    "outbox_chat_interval": 0.0, "outbox_concurrency": concurrency}
        app = Jamaat.create(harness_settings(emu, db, **settings), db=db)
        try:
            people = await whatsapp_villagers(db, wa, count, 1)
            if channel == "mixed":
                people += await subscribers(db, emu, count, FIRST_ID)
            broadcast_id = await queue(db, people, f"{channel}-{count}")
            started = time.perf_counter()
            seconds, report = await drain(app, broadcast_id)
            del started
            per_second = report.sent / seconds
            api = app.whatsapp.api.stats
            throttled = sum(wa.stats[code] for code in ("130429", "131056"))
            if channel == "whatsapp":
                print(f"(a) WhatsApp, limits on: {count:,} villagers; throughput setting 80/s")
                print(f"    sent {report.sent:,} in {seconds:.1f} s = {per_second:.1f} msg/s = {per_second / 80:.0%} "
                      f"of the configured 80/s; throttling answers {throttled} (client retried {api.throttled}, "
                      f"gave up {api.gave_up}); sender saw 429 {report.rate_limited}, failed {report.failed}")
                ceiling = await _ceiling(db, emu, concurrency, min(count, 2000))
                print(f"    baseline, same run: the sender's WhatsApp ceiling with every limit lifted {ceiling:.1f} "
                      f"msg/s; (a) reached {per_second / min(80.0, ceiling):.0%} of min(80/s, that ceiling)")
            else:
                telegram_rate = TELEGRAM_CAP - 5  # the sender's Telegram setting, under the cap
                side_by_side = max(count / telegram_rate, count / 80)
                one_after_other = count / telegram_rate + count / 80
                print(f"(b) mixed: {count:,} on Telegram (30/s cap, sender at {telegram_rate:g}/s) + {count:,} on "
                      f"WhatsApp (80/s)")
                print(f"    sent {report.sent:,} in {seconds:.1f} s = {per_second:.1f} msg/s (sum of both caps "
                      f"{TELEGRAM_CAP + 80:g}/s); both channels side by side at their rates need {side_by_side:.1f} s, "
                      f"one after the other {one_after_other:.1f} s: took {seconds / side_by_side:.2f}x the "
                      f"side-by-side time; Telegram 429s {emu.stats.rate_limited}, WhatsApp throttling {throttled}")
        finally:
            await app.close()
