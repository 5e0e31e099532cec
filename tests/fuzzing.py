"""Fuzzing the bot: random updates of every kind fed through the real dispatcher and the Bot API emulator.

Used by ``tests/test_fuzz.py`` (a few hundred updates in CI) and ``benchmarks/soak.py`` (ten thousand):

    world = await seed_world(harness)            # people with roles, an open voting round, a helpdesk
    fuzzer = Fuzzer(harness.emu, world, seed=7)
    with ErrorLog() as errors:
        await fuzzer.run(harness, 300)
    violations = await invariant_violations(harness.db)
"""

from __future__ import annotations

import importlib
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from aiogram.filters.callback_data import CallbackData
from sqlalchemy import MetaData, and_, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.emulator import Emulator
from bot.emulator.driver import tiny_png
from bot.emulator.server import Delivery, StoredMessage
from handlers import FLOWS
from services import helpdesk as desk
from services import voting
from services.places import find_aiyl_aimak
from services.roles import Role, grant
from storage.db import Database
from storage.delivery import SENDING, OutboxMessage
from storage.models import Person, Village, utcnow
from storage.voting import Ballot, BallotChoice, BallotItem
from tests.harness import ADMIN_ID, Harness

ORGANISER, LAWYER, MEMBER = 6001, 6002, 6003
VILLAGERS = tuple(range(6101, 6109))
NEWCOMERS = tuple(range(6201, 6206))
GROUP, LAWYERS_GROUP = -1006300, -1006400
COMMANDS = ("/start", "/help", "/vote", "/receipt", "/plan", "/ask", "/myquestions", "/profile", "/language",
            "/forget", "/people", "/rounds", "/newround", "/event", "/events", "/plans", "/queue", "/grant",
            "/revoke", "/roles", "/member", "/stats", "/dance", "/start event_1", "/start plan_99999999999999999999")
ODD_TEXTS = (
    "", " ", "\u200b", "\u202eevil", "\x00", "a\x00b", "<i>Ичүүчү суу жок", "<b>Жол курулушу 2027", "a & b < c",
    "</b>", "<a href='javascript:alert(1)'>x</a>", "&amp;&lt;", "𝕳𝖊𝖑𝖑𝖔 🇰🇬👨‍👩‍👧‍👦", "Ё" * 5000, "9" * 400,
    "-1", "0", "99999999999999999999999", "2147483648", "-9223372036854775809", "1e309", "NaN", "01.01.0001 00:00",
    "31.02.2026 25:61", "+996 555 123 456", "Да", "Skip", "English", "Кыргызча", "%s %d {0} {name}", "' OR 1=1 --",
    "\ud7ff\ue000\uffff", "\n\n\n", "\t", "/", "/ ", "/start@other_bot", "@jamaat_bot", "#tag",
)
NUMBERS = ("0", "1", "-1", "2", "7", "2147483647", "2147483648", "-2147483649", "9223372036854775807",
           "9223372036854775808", "99999999999999999999999999", "1.5", "x", "", "\x00")
PHONES = ("", "abc", "+", "0", "+996", "+996700000000", "++--", "７００１２３", "+9967001234567890123", "\x00")


@dataclass
class World:
    """Who the fuzzer plays: ids of every person, and of some with roles."""

    users: tuple[int, ...]
    groups: tuple[int, ...]
    round_id: int


async def seed_world(bot: Harness) -> World:
    """Registered villagers, an organiser, a lawyer, a helpdesk member, an open voting round, two groups."""
    async with bot.db.session() as session:
        aimak = await find_aiyl_aimak(session, "kok-irim")
        assert aimak is not None
        villages = {v.code: v for v in (await session.scalars(select(Village))).all()}
        for telegram_id in (ORGANISER, LAWYER, MEMBER, ADMIN_ID, *VILLAGERS):
            village = villages["aral" if telegram_id % 2 else "birdik"]
            session.add(Person(telegram_id=telegram_id, first_name=f"P{telegram_id}", language="en",
                               phone_hash=f"fuzz-hash-{telegram_id}", phone_tail="00", village_id=village.id,
                               aiyl_aimak_id=village.aiyl_aimak_id, sex="f" if telegram_id % 3 else "m",
                               age_band="36-55", registered_at=utcnow()))
        await session.flush()
        await grant(session, ORGANISER, Role.ORGANISER, aimak.id)
        await grant(session, LAWYER, Role.LAWYER)
        await desk.add_member(session, MEMBER, aimak.id, "staff")
        rnd = await voting.create_round(session, aiyl_aimak_id=aimak.id, title="Fuzz round", created_by=ORGANISER,
                                        vote_ends_at=utcnow() + timedelta(days=7))
        await voting.open_collection(session, rnd, by=ORGANISER)
        for ky, ru in (("Суу жок", "Нет воды"), ("Жол", "Дорога"), ("Мектеп", "Школа")):
            await voting.add_problem(session, rnd, title_ky=ky, title_ru=ru, by=ORGANISER)
        await voting.publish_ballot(session, rnd, by=ORGANISER)
        round_id = rnd.id
    users = (ORGANISER, LAWYER, MEMBER, ADMIN_ID, *VILLAGERS, *NEWCOMERS)
    for telegram_id in users:
        bot.emu.user(telegram_id, f"P{telegram_id}", language_code=("en", "ky", "ru", "uz", "de")[telegram_id % 5])
    bot.emu.group(GROUP, "Village chat", supergroup=True)
    bot.emu.group(LAWYERS_GROUP, "Lawyers")
    return World(users=users, groups=(GROUP, LAWYERS_GROUP), round_id=round_id)


def callback_classes() -> list[type[CallbackData]]:
    """Every button kind of the bot (its CallbackData classes), to forge data for."""
    for flow in FLOWS:
        importlib.import_module(f"handlers.{flow}")
    found: list[type[CallbackData]] = []
    todo = list(CallbackData.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return sorted(found, key=lambda c: c.__prefix__)


@dataclass
class Fuzzer:
    emu: Emulator
    world: World
    seed: int = 7
    counts: dict[str, int] = field(default_factory=dict)
    direct: list[dict] = field(default_factory=list)  # updates for the dispatcher itself

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)
        self.classes = callback_classes()

    # ----------------------------------------------------------------- pieces

    def _user(self) -> int:
        return self.random.choice(self.world.users)

    def _text(self) -> str:
        r = self.random.random()
        if r < 0.3:
            command = self.random.choice(COMMANDS)
            if self.random.random() < 0.4:
                command += " " + self.random.choice(NUMBERS + ODD_TEXTS[:12])
            return command
        if r < 0.6:
            return self.random.choice(ODD_TEXTS)
        if r < 0.8:
            return "".join(chr(self.random.choice((self.random.randint(32, 0x2FF), self.random.randint(0x400, 0x4FF),
                                                   self.random.randint(0x1F300, 0x1F6FF))))
                           for _ in range(self.random.randint(1, 60)))
        # what the person is probably being asked for: a button's text
        return self.random.choice(("Skip", "English", "Done", "Yes", "No", "Арал", "Көк-Ирим", "1", "2026"))

    def _bot_messages(self, chat_id: int) -> list[StoredMessage]:
        chat = self.emu.chats.get(chat_id)
        return [m for m in chat.messages if m.outgoing and not m.deleted] if chat else []

    def _forged_data(self) -> str:
        cls = self.random.choice(self.classes)
        values = []
        for name, info in cls.model_fields.items():
            annotation = str(info.annotation)
            if "int" in annotation:
                values.append(self.random.choice(NUMBERS))
            elif "bool" in annotation:
                values.append(self.random.choice(("0", "1", "true", "2", "")))
            else:
                values.append(self.random.choice(("", "x", "view", "open", "take", "1", "\x00", "é" * 30, name)))
        data = cls.__separator__.join((cls.__prefix__, *values))
        return data.encode()[:64].decode(errors="ignore")

    # ----------------------------------------------------------------- one update

    def one(self) -> Delivery:
        emu, rnd = self.emu, self.random
        user = self._user()
        kind = rnd.choices(
            ("text", "tap", "forged", "foreign_tap", "reply_button", "contact", "media", "edited", "group",
             "service", "member"),
            weights=(30, 30, 8, 4, 8, 4, 6, 2, 4, 2, 2))[0]
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "tap" or kind == "foreign_tap" or kind == "forged":
            owner = user if kind != "foreign_tap" else self._user()
            messages = [m for m in self._bot_messages(owner)
                        if (m.raw.get("reply_markup") or {}).get("inline_keyboard")]
            if kind == "forged" or not messages:
                target = rnd.choice(self._bot_messages(owner) or [None])  # type: ignore[list-item]
                if target is None:
                    return emu.user_text(user, "/start")
                return emu.user_callback(user, target, self._forged_data(), chat_id=owner)
            # mostly the newest keyboard, sometimes a stale one
            message = messages[-1] if rnd.random() < 0.7 else rnd.choice(messages)
            buttons = [b for row in message.raw["reply_markup"]["inline_keyboard"] for b in row
                       if "callback_data" in b]
            if not buttons:
                return emu.user_text(user, "/help")
            return emu.user_callback(user, message, rnd.choice(buttons)["callback_data"], chat_id=owner)
        if kind == "reply_button":
            keyboard = emu.chats[user].reply_keyboard
            rows = (keyboard or {}).get("keyboard", [])
            texts = [b if isinstance(b, str) else b["text"] for row in rows for b in row]
            return emu.press_reply_button(user, rnd.choice(texts)) if texts else emu.user_text(user, self._text())
        if kind == "contact":
            if rnd.random() < 0.5:
                return emu.user_contact(user, contact_user_id=user)
            return emu.user_contact(user, rnd.choice(PHONES), rnd.choice((user, None, self._user())),
                                    first_name=rnd.choice(("", "<b>x</b>", "Имя")))
        if kind == "media":
            choice = rnd.randrange(5)
            if choice == 0:
                return emu.user_sticker(user)
            if choice == 1:
                return emu.user_voice(user, rnd.choice((0, 1, 10**6)))
            if choice == 2:
                return emu.user_location(user, rnd.uniform(-90, 90), rnd.uniform(-180, 180))
            if choice == 3:
                return emu.user_file(user, tiny_png(), "p.png", as_photo=True, caption=rnd.choice((None, *ODD_TEXTS)))
            return emu.user_file(user, b"%PDF-1.4 " + bytes(rnd.randrange(256) for _ in range(64)), "d.pdf",
                                 as_photo=False, caption=rnd.choice((None, "<b>doc", "\x00")))
        if kind == "edited":  # the bot does not ask for edits: fed straight to the dispatcher (see ``run``)
            delivery = emu.user_text(user, self._text())
            update = dict(delivery.update)
            message = dict(update.pop("message"), edit_date=int(time.time()))
            self.direct.append({**update, "edited_message": message})
            emu._finish(delivery)
            return delivery
        if kind == "group":
            group = rnd.choice(self.world.groups)
            return emu.user_text(user, self._text(), chat_id=group)
        if kind == "service":
            group = rnd.choice(self.world.groups)
            content = rnd.choice(({"new_chat_members": [{"id": 1, "is_bot": False, "first_name": "N"}]},
                                  {"left_chat_member": {"id": 1, "is_bot": False, "first_name": "N"}},
                                  {"new_chat_title": "<b>t"}, {"migrate_to_chat_id": -1009999},
                                  {"pinned_message": {"message_id": 1, "date": 0,
                                                      "chat": dict(emu.chats[group].chat)}}))
            return emu.user_service_message(user, group, **content)
        if kind == "member":
            return emu.bot_membership(rnd.choice(self.world.groups), user,
                                      rnd.choice(("member", "administrator", "left", "kicked")))
        return emu.user_text(user, self._text())

    async def run(self, bot: Harness, updates: int, *, batch: int = 10) -> int:
        """Feed ``updates`` updates, ``batch`` at a time (several in the queue at once, as in real life)."""
        sent = 0
        while sent < updates:
            deliveries = [self.one() for _ in range(min(batch, updates - sent))]
            sent += len(deliveries)
            await bot.emu.wait_handled(deliveries, timeout=120)
            assert bot.app is not None
            while self.direct:
                try:
                    await bot.app.dispatcher.feed_raw_update(bot.app.bot, self.direct.pop(0))
                except Exception:  # noqa: BLE001, S110 - logged by aiogram, counted by ErrorLog
                    pass
        await bot.emu.settle(timeout=120)
        return sent


class ErrorLog(logging.Handler):
    """Collects unhandled errors: the error handler's and aiogram's "Cause exception" records."""

    LOGGERS = ("jamaat.errors", "aiogram.event", "aiogram.dispatcher", "jamaat.resilience")

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> ErrorLog:
        for name in self.LOGGERS:
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeHandler(self)

    def summary(self, limit: int = 10) -> str:
        lines = []
        for record in self.records[:limit]:
            lines.append(record.getMessage()[:300])
            if record.exc_info and record.exc_info[1] is not None:
                lines.append(f"  {type(record.exc_info[1]).__name__}: {str(record.exc_info[1])[:300]}")
        return "\n".join(lines)


async def _orphans(connection: AsyncConnection) -> Iterator[str]:
    metadata = MetaData()
    await connection.run_sync(metadata.reflect)
    found = []
    for table in metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            parent = fk.referred_table
            children = [c for c in fk.columns]
            parents = [e.column for e in fk.elements]
            missing = select(func.count()).select_from(table).where(
                and_(*(c.is_not(None) for c in children)),
                ~select(text("1")).select_from(parent).where(and_(*(p == c for p, c in zip(parents, children,
                                                                                          strict=True)))).exists())
            count = await connection.scalar(missing)
            if count:
                found.append(f"{count} rows of {table.name} point to no {parent.name}")
    return iter(found)


async def invariant_violations(db: Database) -> list[str]:
    """The database's promises: one ballot per person and round, choices only from the ballot, no orphan rows,
    no outbox message left claimed or in the middle of sending."""
    problems: list[str] = []
    async with db.session() as session:
        doubles = await session.scalar(select(func.count()).select_from(
            select(Ballot.round_id, Ballot.person_id).group_by(Ballot.round_id, Ballot.person_id)
            .having(func.count() > 1).subquery()))
        if doubles:
            problems.append(f"{doubles} people with more than one ballot in a round")
        outside = await session.scalar(
            select(func.count()).select_from(BallotChoice).join(Ballot, Ballot.id == BallotChoice.ballot_id)
            .where(~select(BallotItem.problem_id).where(BallotItem.round_id == Ballot.round_id,
                                                        BallotItem.village_id == Ballot.village_id,
                                                        BallotItem.problem_id == BallotChoice.problem_id).exists()))
        if outside:
            problems.append(f"{outside} ballot choices outside the voter's ballot")
        stuck = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
            (OutboxMessage.status == SENDING) | OutboxMessage.claimed_by.is_not(None)))
        if stuck:
            problems.append(f"{stuck} outbox messages left claimed or sending")
    async with db.engine.connect() as connection:
        problems += list(await _orphans(connection))
    return problems
