"""FAQ search latency over N published answers (20,000 by default), on SQLite (FTS5) and PostgreSQL (GIN over
to_tsvector('simple', …)), next to a plain indexed lookup measured in the same run on the same table.

For each back end it prints the median and the 95th percentile of:
- ``lookup``: the baseline, the three newest entries of a topic and language (B-tree index on topic, language);
- ``fts``: the full-text candidate query alone (``services.faq.candidate_rows`` with the query's selective stems,
  30 candidates);
- ``search``: what an asker waits for (``services.faq.search``: stems, full-text candidates, loading them and
  scoring the overlap, up to three hits);
and their ratios to the baseline.

    .venv/bin/python benchmarks/faq_search.py [--entries 20000] [--queries 300] [--backends sqlite,postgres]
                                              [--vocabulary 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text  # noqa: E402

from benchmarks.result import result  # noqa: E402
from services import faq  # noqa: E402
from services.helpdesk import TOPICS  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.helpdesk import FaqEntry  # noqa: E402
from tests.backends import database  # noqa: E402

TARGET_P95_MS = {"sqlite": 10.0, "postgres": 20.0}
WORDS = {
    "ru": ("бюджет кенеш сессия решение изменение статья закон айыл окмоту глава освобождение досрочно отпуск "
           "отпускные служащий муниципальный имущество аренда аукцион земля участок пастбище чрезвычайная "
           "ситуация паводок сель эвакуация резервный фонд зарплата премия депутат комиссия протокол кворум "
           "голосование налог сбор договор приватизация передача баланс школа дорога вода ремонт").split(),
    "ky": ("бюджет кеңеш сессия чечим өзгөртүү берене мыйзам айыл өкмөтү башчы бошотуу мөөнөтүнөн эмгек өргүү "
           "кызматкер муниципалдык мүлк ижара аукцион жер участок жайыт өзгөчө кырдаал суу ташкын сел "
           "көчүрүү резерв фонд айлык сыйлык депутат комиссия протокол кворум добуш салык келишим менчик "
           "мектеп жол суу оңдоо").split(),
}


LETTERS = {"ru": "абвгдежзиклмнопрстуфхцчшэюя", "ky": "абвгдежзийклмнңоөпрстуүхчшыэя"}
VOCABULARY: dict[str, tuple[list[str], list[float]]] = {}


def make_vocabulary(rng: random.Random, rich: int) -> None:
    """The legal words, plus ``rich`` made-up words per language; word frequencies follow Zipf's law."""
    for language, legal in WORDS.items():
        made_up = ["".join(rng.choice(LETTERS[language]) for _ in range(rng.randint(4, 9))) for _ in range(rich)]
        words = list(legal) + made_up
        rng.shuffle(words)
        VOCABULARY[language] = (words, [1 / (rank + 1) for rank in range(len(words))])


def sentence(rng: random.Random, language: str, length: int) -> str:
    words, weights = VOCABULARY[language]
    return " ".join(rng.choices(words, weights, k=length)).capitalize() + "?"


async def fill(db: Database, entries: int, rng: random.Random) -> None:
    rows = []
    for _ in range(entries):
        language = rng.choice(("ky", "ru"))
        question, answer = sentence(rng, language, rng.randint(8, 20)), sentence(rng, language, rng.randint(30, 80))
        rows.append({"topic": rng.choice(TOPICS), "language": language, "question": question, "answer": answer,
                     "law_refs": None, "search_text": faq.search_text(question, answer)})
    async with db.session() as session:
        for start in range(0, len(rows), 2000):
            await session.execute(insert(FaqEntry), rows[start:start + 2000])
    async with db.engine.begin() as connection:
        await connection.execute(text("ANALYZE"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(round(share * (len(ordered) - 1))), len(ordered) - 1)]


async def measure(db: Database, queries: list[tuple[str, str, str]],
                  run: Callable[[object, tuple[str, str, str]], Awaitable[object]]) -> list[float]:
    times = []
    async with db.session() as session:
        for query in queries[:20]:  # warm-up
            await run(session, query)
        for query in queries:
            started = time.perf_counter()
            await run(session, query)
            times.append((time.perf_counter() - started) * 1000)
    return times


async def lookup(session, query) -> object:  # noqa: ANN001
    _, topic, language = query
    rows = await session.execute(select(FaqEntry.id, FaqEntry.question).where(
        FaqEntry.topic == topic, FaqEntry.language == language).order_by(FaqEntry.id.desc()).limit(3))
    return rows.all()


async def fts(session, query) -> object:  # noqa: ANN001
    terms = list(dict.fromkeys(t[: faq.QUERY_STEM] for t in faq.stems(query[0])))
    return await faq.candidate_rows(session, await faq.selective_terms(session, terms), topic=None, limit=30)


async def search(session, query) -> object:  # noqa: ANN001
    return await faq.search(session, query[0])


async def bench(backend: str, entries: int, count: int, rich: int) -> None:
    rng = random.Random(5)
    make_vocabulary(rng, rich)
    with tempfile.TemporaryDirectory() as tmp:
        async with database(backend, Path(tmp)) as db:
            started = time.perf_counter()
            await fill(db, entries, rng)
            print(f"\n{backend}: {entries:,} published answers ({rich:,} made-up words per language besides the "
                  f"{len(WORDS['ru'])} legal ones) loaded in {time.perf_counter() - started:.1f} s")
            queries = []
            for _ in range(count):
                language = rng.choice(("ky", "ru"))
                queries.append((sentence(rng, language, rng.randint(6, 14)), rng.choice(TOPICS), language))
            results = {name: await measure(db, queries, fn) for name, fn in
                       (("lookup", lookup), ("fts", fts), ("search", search))}
            async with db.session() as session:
                hits = [len(await faq.search(session, q[0])) for q in queries[:50]]
    base_median, base_p95 = statistics.median(results["lookup"]), percentile(results["lookup"], 0.95)
    print(f"{'':8} {'median ms':>10} {'p95 ms':>10} {'× lookup (median)':>18} {'× lookup (p95)':>15}")
    for name, times in results.items():
        median, p95 = statistics.median(times), percentile(times, 0.95)
        print(f"{name:8} {median:10.3f} {p95:10.3f} {median / base_median:18.1f} {p95 / base_p95:15.1f}")
    print(f"hits per search (first 50 queries): mean {statistics.mean(hits):.2f}")
    target = TARGET_P95_MS[backend]
    print(f"search p95 {percentile(results['search'], 0.95):.1f} ms (target <= {target:g} ms at 20,000 answers)")
    result("faq_search", backend, p95_ms=percentile(results["search"], 0.95),
           median_ms=statistics.median(results["search"]), entries=entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--vocabulary", type=int, default=5000,
                        help="made-up words per language besides the legal ones (0: the dense worst case, where "
                             "almost every answer shares a word with every query)")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        asyncio.run(bench(backend.strip(), args.entries, args.queries, args.vocabulary))


if __name__ == "__main__":
    main()
