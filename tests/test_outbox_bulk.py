"""A notice to many people, queued set-based in committed chunks: rendered once per language and village, each
person queued once (also when queuing runs again), the broadcast not reported finished before it is all queued,
and every message delivered exactly once; SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from jobs.sender import send_pending
from services import outbox
from services.places import SAMPLE_PLACES, import_places
from storage.db import Database
from storage.delivery import Broadcast, OutboxMessage
from storage.models import Person, Village, utcnow
from tests.test_outbox import delivered, drain, senders


async def villagers(db: Database, count: int, first: int = 700_000) -> list[tuple[int, int]]:
    async with db.session() as session:
        await import_places(session, SAMPLE_PLACES)
        villages = list((await session.scalars(select(Village.id).order_by(Village.id))).all())[:2]
        rows = [Person(telegram_id=first + i, first_name=f"P{i}", language=("ky", "ru", None)[i % 3],
                       village_id=villages[i % 2], registered_at=utcnow()) for i in range(count)]
        session.add_all(rows)
        await session.flush()
        return [(p.id, p.telegram_id) for p in rows]


async def test_a_notice_to_many_is_rendered_per_group_and_queued_once(db: Database) -> None:
    async with senders(db) as (emu, [app]):
        recipients = await villagers(db, 40)
        for _, telegram_id in recipients:
            emu.user(telegram_id)
        async with db.session() as session:
            broadcast_id = await outbox.create_broadcast(session, kind="test", subject="bulk", created_by=None,
                                                         title="Bulk", ready=False)
        # Not ready: even with nothing queued yet, the sender does not report it finished.
        await send_pending(app)
        async with db.session() as session:
            assert (await session.get(Broadcast, broadcast_id)).finished_at is None
        rendered: list[tuple[str | None, int | None]] = []

        def render(language: str | None, village_id: int | None) -> outbox.Notice:
            rendered.append((language, village_id))
            return outbox.Notice(text=f"<b>Notice</b> in {language} for village {village_id}",
                                 reply_markup={"inline_keyboard": [[{"text": "Open", "callback_data": "x"}]]})

        people = Person.telegram_id >= 700_000
        queued = await outbox.enqueue_to_people(db, broadcast_id=broadcast_id, dedupe_prefix="bulk:person:",
                                                people=people, render=render, chunk=3)
        assert queued == 40 and len(rendered) == len(set(rendered)) == 6  # three languages x two villages
        again = await outbox.enqueue_to_people(db, broadcast_id=broadcast_id, dedupe_prefix="bulk:person:",
                                               people=people, render=render, chunk=7)
        assert again == 0
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 40
        await drain(app, utcnow() + timedelta(seconds=1))
        chats = [c for _, c in recipients]
        assert delivered(emu, chats) == Counter({c: 1 for c in chats})
        first = emu.user(recipients[0][1]).messages[0]
        assert first.text.startswith("Notice in ky for village") and first.buttons == [["Open"]]
        async with db.session() as session:
            assert (await session.get(Broadcast, broadcast_id)).finished_at is not None
