"""Soak: the fuzz generator of ``tests/fuzzing.py`` for many updates, on SQLite and PostgreSQL.

Prints, per back end, the updates fed, the unhandled errors (logged by the error handler or aiogram) and the
violated database invariants (one ballot per person and round, choices only from the ballot, no orphan rows,
no outbox row left claimed). It is a robustness run, not a timing; the rate is printed for information.

    .venv/bin/python benchmarks/soak.py [--updates 10000] [--backends sqlite,postgres] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.backends import database  # noqa: E402
from tests.fuzzing import LAWYERS_GROUP, ErrorLog, Fuzzer, invariant_violations, seed_world  # noqa: E402
from tests.harness import running_bot  # noqa: E402


async def soak(backend: str, updates: int, seed: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="jamaat-soak-") as tmp:
        async with database(backend, Path(tmp)) as db, running_bot(db, helpdesk_group_chat_id=LAWYERS_GROUP) as bot:
            world = await seed_world(bot)
            fuzzer = Fuzzer(bot.emu, world, seed=seed)
            started = time.monotonic()
            with ErrorLog() as errors:
                fed = await fuzzer.run(bot, updates)
            seconds = time.monotonic() - started
            violations = await invariant_violations(db)
    kinds = Counter(type(r.exc_info[1]).__name__ if r.exc_info and r.exc_info[1] else "logged" for r in errors.records)
    return {"backend": backend, "updates": fed, "errors": len(errors.records), "violations": len(violations),
            "rate": fed / seconds, "error_kinds": dict(kinds), "violation_list": violations,
            "sample": errors.summary(5), "kinds": dict(fuzzer.counts)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the counts are the output; errors are collected, not printed
    for backend in args.backends.split(","):
        result = await soak(backend, args.updates, args.seed)
        print(f"{backend:8} updates={result['updates']} unhandled_errors={result['errors']} "
              f"invariant_violations={result['violations']} ({result['rate']:.0f} updates/s)")
        print(f"         update kinds: {result['kinds']}")
        if result["errors"]:
            print(f"         errors by kind: {result['error_kinds']}\n{result['sample']}")
        for violation in result["violation_list"]:
            print(f"         violation: {violation}")


if __name__ == "__main__":
    asyncio.run(main())
