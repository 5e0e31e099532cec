"""What an update costs the database, counted (not timed): the registration and vote steps of
``benchmarks/registration.py`` run one transaction each, with about five statements on the common path — the
update claim, the person with roles, channel link and conversation state in one read, the handler's own work —
and the conversation state written at most once."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import event

from benchmarks.registration import register, vote, voters
from storage import direct
from storage.db import current_session
from tests.harness import Harness


class PerUpdate:
    """Statements and commits of each update's session (``storage.db.current_session``), in order; the
    background jobs' own sessions are not counted. Statements run straight on the driver (``storage.direct``)
    count too."""

    def __init__(self, bot: Harness) -> None:
        self.statements: Counter[int] = Counter()
        self.commits: Counter[int] = Counter()
        self.texts: dict[int, list[str]] = {}
        # connection → the update session that holds it: from its first statement (the statements its commit
        # flushes run after the middleware has let go of ``current_session``) to its commit or rollback
        self.owner: dict[int, int] = {}
        engine = bot.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)
        direct.OBSERVERS.append(self._direct)
        direct.COMMIT_OBSERVERS.append(self._commit)  # a transaction of driver statements alone commits there

    def close(self) -> None:
        direct.OBSERVERS.remove(self._direct)
        direct.COMMIT_OBSERVERS.remove(self._commit)

    def _direct(self, statement: str) -> None:
        session = current_session.get()
        if session is not None:  # an update's session has begun its transaction before its direct statement
            sync = session.sync_session  # on the connection it holds (PostgreSQL), else the ORM's
            self._statement(sync.direct_connection or sync.connection(), None, statement)

    def _statement(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        session = current_session.get()
        if session is not None:
            self.owner[id(conn)] = id(session)
        owner = self.owner.get(id(conn))
        if owner is not None:
            self.statements[owner] += 1
            self.texts.setdefault(owner, []).append(" ".join(statement.split())[:80])

    def _commit(self, conn: Any) -> None:
        owner = self.owner.pop(id(conn), None)
        if owner is not None:
            self.commits[owner] += 1

    def _rollback(self, conn: Any) -> None:
        self.owner.pop(id(conn), None)

    def take(self) -> tuple[list[int], list[int], list[list[str]]]:
        keys = list(self.statements)
        taken = [self.statements[k] for k in keys], [self.commits[k] for k in keys], [self.texts[k] for k in keys]
        self.statements.clear()
        self.commits.clear()
        self.texts.clear()
        return taken


async def test_registration_and_vote_updates_are_one_transaction_of_few_statements(bot: Harness) -> None:
    await voters(bot.db, 1, 500000)
    await bot.emu.settle(timeout=30)
    counted = PerUpdate(bot)
    try:
        await _count(bot, counted)
    finally:
        counted.close()


async def _count(bot: Harness, counted: PerUpdate) -> None:
    # SQLite's BEGIN IMMEDIATE is no statement of its own: it runs with the first (storage.sqlite_driver). On
    # PostgreSQL the update's claim runs inside the read of the person (a data-modifying WITH).
    sqlite = bot.db.dialect == "sqlite"

    newcomer = bot.user(100000, "V0", language_code="en", phone="+996770000000")
    await register(newcomer)
    statements, commits, texts = counted.take()
    assert len(statements) == 6 and commits == [1] * 6, (statements, commits)
    # Each update: claim, the combined read, the handler's reads and writes, one write of the state.
    # 27 on SQLite (34 when it counted its BEGINs), 21 on PostgreSQL (the claim in the person's read). 29 and 23
    # while the first contact looked for a linked chat on its own (now a column of the person's read) and the last
    # step read the aiyl aimak, which its answer does not name; 65 and 59 before that.
    assert sum(statements) <= (27 if sqlite else 21), texts
    assert all(sum("fsm_record" in t for t in update) <= 1 for update in texts), texts  # read with the person

    villager = bot.user(500000, "V0", language_code="en")
    await vote(villager)
    statements, commits, texts = counted.take()
    assert len(statements) == 5 and commits == [1] * 5, (statements, commits)
    # A ballot button: claim, person, round (claim and person in one on PostgreSQL). The first one also reads what a
    # voting round keeps (its villages, the village's ballot and its titles, by the round's revision), cached from
    # then on.
    assert statements[2:4] == ([3, 3] if sqlite else [2, 2]), texts
    # 25 on SQLite, 20 on PostgreSQL: the confirmation's INSERT returns the new ballot's id and receipt (26 and 21
    # while a SELECT read them back).
    assert sum(statements) <= (25 if sqlite else 20), texts
    assert not any("channel_identity" in t for update in texts for t in update), texts  # not linked elsewhere
