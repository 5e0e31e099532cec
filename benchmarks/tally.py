"""Tally benchmark: the priority-voting tally (``services.voting.tally``: phone choices and session votes, merge
mapping applied, grouped by village, age group, sex, source and problem, in one SQL statement) over N ballots
of five choices each, 2,000 problems and 50 villages, next to a plain ``GROUP BY problem_id`` count of the same
choice table in the same run, as a ratio.

    .venv/bin/python -m benchmarks.tally                 # 1,000,000 ballots, SQLite and PostgreSQL
    .venv/bin/python -m benchmarks.tally 200000 --backend sqlite

PostgreSQL: JAMAAT_BENCH_POSTGRES_URL (default: the tests' server); a scratch schema is dropped afterwards.
Data is bulk-loaded (sqlite3 executemany, PostgreSQL COPY), bypassing ``cast_ballot``, so the vote counters it
keeps are then rebuilt with ``voting.recount`` (what migration 0015 does for ballots already cast); neither is
timed. The full recount (``voting.tally(full=True)``, every choice joined and grouped) is printed too. Target:
tally / plain count <= 1.5 on both databases."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import astuple
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy import text

from benchmarks.result import result
from services import voting
from storage.db import Database

POSTGRES_URL = os.environ.get("JAMAAT_BENCH_POSTGRES_URL",
                              os.environ.get("JAMAAT_TEST_POSTGRES_URL",
                                             "postgresql+asyncpg://postgres@127.0.0.1:5432/test"))
BANDS = ("18-35", "36-55", "56+", None)
SEXES = ("f", "m", None)
CHOICES = 5
BASELINE = "SELECT problem_id, count(*) FROM voting_ballot_choice GROUP BY problem_id"


def rows(ballots: int, problems: int, villages: int, seed: int = 7) -> dict[str, list[tuple]]:
    """Places, a round, problems (a tenth merged into another of the same village), people, ballots, choices."""
    rng = random.Random(seed)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    per_village = problems // villages
    data: dict[str, list[tuple]] = {
        "aiyl_aimak": [(1, "bench", "Бенч", "Бенч")],
        "village": [(v, 1, f"v{v}", f"Айыл {v}", f"Село {v}") for v in range(1, villages + 1)],
        "voting_round": [(1, 1, "bench", "", "closed", "[24, 2]", now)],
        "voting_round_village": [(1, v) for v in range(1, villages + 1)],
        "voting_problem": [], "voting_ballot_item": [], "person": [], "voting_ballot": [],
    }
    for v in range(1, villages + 1):
        for i in range(per_village):
            pid = (v - 1) * per_village + i + 1
            merged = (v - 1) * per_village + 1 if i and i % 10 == 0 else None
            data["voting_problem"].append((pid, 1, f"к{pid}", f"п{pid}", "local", False, merged, now))
            data["voting_ballot_item"].append((1, v, pid, i))
    for b in range(1, ballots + 1):
        village = rng.randrange(1, villages + 1)
        sex, band = rng.choice(SEXES), rng.choice(BANDS)
        data["person"].append((b, village, sex, band, now, now))
        data["voting_ballot"].append((b, 1, b, village, sex, band, f"R{b:08d}", 1, now, now))
    return data


def choices(ballots: list[tuple], problems: int, villages: int, seed: int = 11) -> Iterator[tuple[int, int]]:
    rng = random.Random(seed)
    per_village = problems // villages
    for ballot_id, _round, _person, village, *_rest in ballots:
        base = (village - 1) * per_village + 1
        for pid in rng.sample(range(base, base + per_village), CHOICES):
            yield ballot_id, pid


COLUMNS = {
    "aiyl_aimak": ("id", "code", "name_ky", "name_ru"),
    "village": ("id", "aiyl_aimak_id", "code", "name_ky", "name_ru"),
    "voting_round": ("id", "aiyl_aimak_id", "title", "description", "phase", "reminder_hours", "created_at"),
    "voting_round_village": ("round_id", "village_id"),
    "voting_problem": ("id", "round_id", "title_ky", "title_ru", "competence", "all_villages", "merged_into_id",
                       "created_at"),
    "voting_ballot_item": ("round_id", "village_id", "problem_id", "position"),
    "person": ("id", "village_id", "sex", "age_band", "registered_at", "created_at"),
    "voting_ballot": ("id", "round_id", "person_id", "village_id", "sex", "age_band", "receipt", "version", "cast_at",
                      "changed_at"),
}


def load_sqlite(path: Path, data: dict[str, list[tuple]], problems: int, villages: int) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA foreign_keys=OFF")
    connection.execute("PRAGMA synchronous=OFF")

    def plain(value: object) -> object:
        return value.replace(tzinfo=None).isoformat(sep=" ") if isinstance(value, datetime) else value

    with connection:
        for table, columns in COLUMNS.items():
            marks = ", ".join("?" for _ in columns)
            connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                   ([plain(v) for v in row] for row in data[table]))
        connection.executemany("INSERT INTO voting_ballot_choice (ballot_id, problem_id) VALUES (?, ?)",
                               choices(data["voting_ballot"], problems, villages))
    connection.execute("ANALYZE")
    connection.close()


async def load_postgres(dsn: str, schema: str, data: dict[str, list[tuple]], problems: int, villages: int) -> None:
    connection = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        for table, columns in COLUMNS.items():
            records = data[table]
            if table == "voting_round":
                await connection.execute(
                    "INSERT INTO voting_round (id, aiyl_aimak_id, title, description, phase, reminder_hours, "
                    "created_at) VALUES ($1, $2, $3, $4, $5, $6::json, $7)", *records[0])
                continue
            await connection.copy_records_to_table(table, records=records, columns=list(columns))
        await connection.copy_records_to_table("voting_ballot_choice", columns=["ballot_id", "problem_id"],
                                               records=list(choices(data["voting_ballot"], problems, villages)))
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


TARGET = 1.5


async def timed(db: Database, repeat: int) -> tuple[float, float, float, int]:
    """Best of ``repeat`` for the tally, the baseline and the full recount, alternating; and the tally's row count.
    The fast tally and the recount must agree."""
    async with db.session() as session:
        await voting.recount(session)
    tally_times, baseline_times, full_times, count = [], [], [], 0
    async with db.session() as session:
        for _ in range(repeat):
            start = time.perf_counter()
            result = await voting.tally(session, 1)
            tally_times.append(time.perf_counter() - start)
            count = len(result.rows)
            start = time.perf_counter()
            (await session.execute(text(BASELINE))).all()
            baseline_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            full = await voting.tally(session, 1, full=True)
            full_times.append(time.perf_counter() - start)
        assert Counter(map(astuple, result.rows)) == Counter(map(astuple, full.rows)), "tally != recount"
    return min(tally_times), min(baseline_times), min(full_times), count


async def run(backend: str, ballots: int, problems: int, villages: int, repeat: int) -> None:
    started = time.perf_counter()
    data = rows(ballots, problems, villages)
    if backend == "sqlite":
        folder = tempfile.TemporaryDirectory(prefix="jamaat-bench-")
        path = Path(folder.name) / "tally.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.upgrade()
        load_sqlite(path, data, problems, villages)
    else:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
        admin = await asyncpg.connect(dsn)
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        db = Database(POSTGRES_URL, schema=schema)
        await db.upgrade()
        await load_postgres(dsn, schema, data, problems, villages)
    loaded = time.perf_counter() - started
    try:
        tally_s, baseline_s, full_s, groups = await timed(db, repeat)
    finally:
        await db.dispose()
        if backend == "sqlite":
            folder.cleanup()
        else:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await admin.close()
    print(f"{backend:9} ballots {ballots:>9,}  choices {ballots * CHOICES:>10,}  problems {problems:,}  "
          f"villages {villages}  (loaded in {loaded:.1f} s)")
    print(f"{'':9} tally (merges applied, by village/age/sex/source/problem, {groups:,} groups): "
          f"{tally_s * 1000:9.1f} ms")
    print(f"{'':9} plain GROUP BY problem_id count:                                   {baseline_s * 1000:9.1f} ms")
    print(f"{'':9} full recount (every choice joined and grouped, same rows):          {full_s * 1000:9.1f} ms")
    print(f"{'':9} ratio tally / plain count: {tally_s / baseline_s:.2f} (target <= {TARGET}); "
          f"full recount / plain count: {full_s / baseline_s:.2f}")
    result("tally", backend, ratio=tally_s / baseline_s, tally_ms=tally_s * 1000, full_ratio=full_s / baseline_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ballots", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--problems", type=int, default=2000)
    parser.add_argument("--villages", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        asyncio.run(run(backend, args.ballots, args.problems, args.villages, args.repeat))


if __name__ == "__main__":
    main()
