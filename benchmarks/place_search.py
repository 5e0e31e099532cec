"""Typed place search over the whole country (453 aiyl aimaks, 1,855 villages), on SQLite and PostgreSQL.

Prints the time per search and its ratio to a baseline measured in the same run: loading one aiyl aimak's
villages by primary key (what a button tap costs), so the ratio says how many taps one search is worth.

    .venv/bin/python benchmarks/place_search.py [--rounds 20] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.places import COUNTRY_PLACES, find_aiyl_aimak, import_places, list_villages, search_places  # noqa: E402
from tests.backends import database  # noqa: E402

QUERIES = ["көк-ирим", "kok irim", "Кок", "ак-суу", "kara", "бирдик", "сары", "чон-", "tash", "кызыл"]


async def measure(backend: str, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with database(backend, Path(folder)) as db:
            async with db.session() as session:
                await import_places(session, COUNTRY_PLACES)
            async with db.session() as session:
                aimak = await find_aiyl_aimak(session, "41703223806000")
                assert aimak is not None
                started = time.perf_counter()
                for _ in range(rounds * len(QUERIES)):
                    await list_villages(session, aimak.id)
                tap = (time.perf_counter() - started) / (rounds * len(QUERIES))
                started = time.perf_counter()
                for _ in range(rounds):
                    for query in QUERIES:
                        assert await search_places(session, query)
                search = (time.perf_counter() - started) / (rounds * len(QUERIES))
    print(f"{backend:8} search {search * 1000:7.2f} ms   village list {tap * 1000:6.2f} ms   "
          f"ratio {search / tap:5.1f}x")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        await measure(backend, args.rounds)


if __name__ == "__main__":
    asyncio.run(main())
