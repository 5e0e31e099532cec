"""The helpdesk's FAQ: anonymise an answered question, publish it under its topic in Kyrgyz and/or Russian,
and find published answers that look like a new question.

Search works on stems: ``stems()`` lower-cases, keeps words, drops common Kyrgyz and Russian function words
and strips frequent endings (Kyrgyz plural, case and possessive suffixes; Russian inflections), so that
"жер", "жерлер", "жерди" or "отпуск", "отпуска", "отпускные" meet. The same function builds the indexed
``search_text`` and the query; the query matches stems as prefixes. SQLite searches an FTS5 table, PostgreSQL a
GIN index over ``to_tsvector('simple', search_text)`` (no language stemmer: Kyrgyz has none built in)."""

from __future__ import annotations

import bisect
import itertools
import re
import time
import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import engine_of
from storage.helpdesk import FaqEntry, Question
from storage.models import utcnow

FAQ_LANGUAGES = ("ky", "ru")
WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset((
    # Russian
    "и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот от "
    "меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь опять уж "
    "вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтобы без "
    "будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом один "
    "почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец два об другой хоть после "
    "над больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой перед "
    "иногда лучше чуть том нельзя такой им более всегда конечно всю между это также либо "
    # Kyrgyz
    "жана менен да де үчүн бул ал мен сен биз силер алар эмес эле го ошол бир ар кандай деген болуп болот "
    "же бирок анткени эгер ким эмне кайда качан канча кантип дагы гана мындай ушул ошондой андан мага "
    "бизге аны анын биздин барбы керек болсо болобу "
).split()) | {"name", "phone", "municipality", "email"}  # and the placeholders anonymisation leaves

_KY_SUFFIXES = sorted(
    {
        # plural
        "лар", "лер", "лор", "лөр", "дар", "дер", "дор", "дөр", "тар", "тер", "тор", "төр",
        # genitive, accusative
        "нын", "нин", "нун", "нүн", "дын", "дин", "дун", "дүн", "тын", "тин", "тун", "түн",
        "ны", "ни", "ну", "нү", "ды", "ди", "ду", "дү", "ты", "ти", "ту", "тү",
        # dative, locative, ablative
        "га", "ге", "го", "гө", "ка", "ке", "ко", "кө", "на", "не", "но", "нө",
        "да", "де", "до", "дө", "та", "те", "то", "тө",
        "дан", "ден", "дон", "дөн", "тан", "тен", "тон", "төн", "нан", "нен", "нон", "нөн",
        # possessive
        "сы", "си", "су", "сү", "ым", "им", "ум", "үм", "ыбыз", "ибиз", "убуз", "үбүз",
        # verbal nouns and participles seen in questions
        "уу", "үү", "ган", "ген", "гон", "гөн", "кан", "кен", "кон", "көн",
    },
    key=len,
    reverse=True,
)
_RU_SUFFIXES = sorted(
    {
        "иями", "ями", "ами", "ого", "его", "ому", "ему", "ыми", "ими", "иях", "ях", "ах", "ий", "ый", "ой", "ей",
        "ая", "яя", "ое", "ее", "ие", "ые", "ов", "ев", "ам", "ям", "ом", "ем", "ую", "юю", "ию", "ия",
        "ство", "ства", "ные", "ных", "ным", "ного", "ная", "ной", "ную", "ать", "ять", "ить", "еть", "ется",
        "ются", "ться", "ся", "а", "я", "ы", "и", "у", "ю", "е", "о", "ь",
    },
    key=len,
    reverse=True,
)
_SUFFIXES = sorted(set(_KY_SUFFIXES) | set(_RU_SUFFIXES), key=len, reverse=True)
MIN_STEM = 3
MAX_STEM = 6
RANK_POOL = 1000  # PostgreSQL: matches ranked per query at most
QUERY_STEM = 5  # query stems are matched as prefixes, a letter shorter than indexed ones


def stem(word: str) -> str:
    """A crude stem shared by the index and the query: up to two frequent endings stripped (Kyrgyz or Russian,
    the stem keeps three letters), then cut to six letters. Crude, but it makes inflected forms meet."""
    word = word.lower().replace("ё", "е")
    if word.isdigit():
        return word
    for _ in range(2):
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
                word = word[: -len(suffix)]
                break
        else:
            break
    return word[:MAX_STEM]


def stems(value: str) -> list[str]:
    """Stems of the words worth searching for, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in WORD.findall(value.lower()):
        if word in STOPWORDS or (len(word) < 3 and not word.isdigit()):
            continue
        seen.setdefault(stem(word), None)
    return list(seen)


def search_text(*parts: str | None) -> str:
    return " ".join(stems(" ".join(p for p in parts if p)))


# ---------------------------------------------------------------- anonymisation

PHONE = re.compile(r"(?<![\w+])\+?[\d(][\d\s\-()]{7,16}\d(?!\w)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# Russian patronymics and Kyrgyz "son of / daughter of": the word before is a name, and the one before that too
PATRONYMIC = re.compile(
    r"\b(?:[А-ЯЁӨҮҢ][а-яёөүң]+\s+){0,2}[А-ЯЁӨҮҢ][а-яёөүң]+(?:ович|евич|овна|евна|ична)[а-я]*"
    r"|\b(?:[А-ЯЁӨҮҢ][а-яёөүң]+\s+){1,2}(?:уулу|кызы)\b"
)


def _phone(match: re.Match[str]) -> str:
    """A Kyrgyz phone number: 9 digits, 0 and 9 digits, or 996 and 9 digits; other numbers stay."""
    digits = re.sub(r"\D", "", match.group(0))
    if len(digits) == 9 or (len(digits) == 10 and digits[0] == "0") or (len(digits) == 12 and digits[:3] == "996"):
        return "[phone]"
    return match.group(0)


def anonymise(value: str, *, names: Iterable[str] = (), places: Iterable[str] = ()) -> str:
    """Remove phone numbers, e-mail addresses, the given names and places, and names found by their patronymic.

    The lawyer reads the result and edits it before publishing; this only does the sure part."""
    result = EMAIL.sub("[email]", value)
    result = PHONE.sub(_phone, result)
    result = PATRONYMIC.sub("[name]", result)
    for place in sorted({p.strip() for p in places if p and len(p.strip()) >= 3}, key=len, reverse=True):
        result = re.sub(rf"(?i)\b{re.escape(place)}\w*", "[municipality]", result)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 3}, key=len, reverse=True):
        result = re.sub(rf"(?i)\b{re.escape(name)}\w*", "[name]", result)
    return result


# ---------------------------------------------------------------- publishing and search


async def publish(session: AsyncSession, question: Question, *, language: str, question_text: str, answer: str,
                  law_refs: str | None, by: int | None, now: datetime | None = None) -> FaqEntry:
    """Publish (or replace) the FAQ entry of a question in one language."""
    if language not in FAQ_LANGUAGES:
        raise ValueError(f"FAQ language must be one of {FAQ_LANGUAGES}")
    entry = await session.scalar(select(FaqEntry).where(FaqEntry.question_id == question.id,
                                                        FaqEntry.language == language))
    if entry is None:
        entry = FaqEntry(question_id=question.id, language=language)
        session.add(entry)
    entry.topic = question.topic
    entry.question = question_text.strip()
    entry.answer = answer.strip()
    entry.law_refs = (law_refs or "").strip() or None
    entry.search_text = search_text(entry.question, entry.answer, entry.law_refs)
    entry.published_by = by
    entry.published_at = now or utcnow()
    await session.flush()
    forget_frequencies(session)
    return entry


def add_entry(session: AsyncSession, *, topic: str, language: str, question: str, answer: str,
              law_refs: str | None = None, by: int | None = None) -> FaqEntry:
    """An FAQ entry without a source question (imports, benchmarks)."""
    entry = FaqEntry(topic=topic, language=language, question=question, answer=answer, law_refs=law_refs,
                     search_text=search_text(question, answer, law_refs), published_by=by)
    session.add(entry)
    return entry


@dataclass(frozen=True)
class Hit:
    entry: FaqEntry
    score: float  # share of the query's stems found in the entry (0–1)


def _fts5_query(terms: list[str]) -> str:
    return " OR ".join(f'"{t}"*' for t in terms)


def _pg_query(terms: list[str]) -> str:
    return " | ".join(f"'{t}':*" for t in terms)


# Document frequencies of the indexed stems, per engine, recomputed every few minutes (and after a publish in
# this process). A stem that most answers contain (a common word, or a prefix of many) finds thousands of
# entries, and ranking them all is what made a search slow; with many answers, the candidates are therefore found
# by the query's selective stems only, and every stem still counts in the score.
PRUNE_FROM = 1000  # entries: below this every stem looks for candidates
COMMON_SHARE = 0.02  # a stem in more than this share of the entries is common
SELECTIVE_TERMS = 3  # the rarest stems of a query that look for candidates
FREQUENCIES_TTL = 300.0  # seconds


@dataclass
class _Frequencies:
    loaded: float
    entries: int
    terms: list[str]  # sorted
    cumulative: list[int]  # cumulative[i]: documents of terms[:i] summed

    def documents(self, prefix: str) -> int:
        """Entries with a stem starting with ``prefix`` (at most: an entry with two such stems counts twice)."""
        low, high = bisect.bisect_left(self.terms, prefix), bisect.bisect_left(self.terms, prefix + "\uffff")
        return self.cumulative[high] - self.cumulative[low]


_FREQUENCIES: weakref.WeakKeyDictionary[Any, _Frequencies] = weakref.WeakKeyDictionary()


def forget_frequencies(session: AsyncSession) -> None:
    _FREQUENCIES.pop(engine_of(session), None)


async def _frequencies(session: AsyncSession) -> _Frequencies:
    engine = engine_of(session)
    cached = _FREQUENCIES.get(engine)
    if cached is not None and time.monotonic() - cached.loaded < FREQUENCIES_TTL:
        return cached
    counts: Counter[str] = Counter()
    entries = 0
    for value in await session.scalars(select(FaqEntry.search_text)):
        counts.update(set(value.split()))
        entries += 1
    terms = sorted(counts)
    cumulative = [0, *itertools.accumulate(counts[t] for t in terms)]
    cached = _FREQUENCIES[engine] = _Frequencies(time.monotonic(), entries, terms, cumulative)
    return cached


async def selective_terms(session: AsyncSession, terms: list[str]) -> list[str]:
    """The query stems that look for candidates: all of them while the FAQ is small; then the rarest few of those
    in at most ``COMMON_SHARE`` of the entries, or else the two rarest."""
    frequencies = await _frequencies(session)
    if frequencies.entries < PRUNE_FROM:
        return terms
    by_rarity = sorted(terms, key=frequencies.documents)
    limit = COMMON_SHARE * frequencies.entries
    return [t for t in by_rarity[:SELECTIVE_TERMS] if frequencies.documents(t) <= limit] or by_rarity[:2]


async def candidate_rows(session: AsyncSession, terms: list[str], *, topic: str | None,
                     limit: int) -> list[tuple[int, str]]:
    """Entries sharing stems with the query, best ranked first (the back end's full-text index), each as its id and
    indexed stems (``search_text``): one statement (and PostgreSQL's planner settings)."""
    params: dict[str, Any] = {"limit": limit}
    if topic:
        params["topic"] = topic
    if session.bind.dialect.name == "sqlite":
        # The index finds and ranks them; its rowid is the entry's id.
        sql = ("SELECT faq_entry.id, faq_entry.search_text FROM faq_fts JOIN faq_entry ON faq_entry.id = faq_fts.rowid "
               "WHERE faq_fts MATCH :query" + (" AND faq_entry.topic = :topic" if topic else "")
               + " ORDER BY faq_fts.rank LIMIT :limit")
        params["query"] = _fts5_query(terms)
        return [(row[0], row[1]) for row in (await session.execute(text(sql), params)).all()]
    # The GIN index finds the matches (at most ``RANK_POOL``); they are ranked here by the stems they share with
    # the query, newest first among equals: ts_rank would parse every match's text again.
    params.update(query=_pg_query(terms), pool=RANK_POOL)
    await session.execute(PLANNER)
    rows = (await session.execute(text(pg_candidates_sql(topic=topic)), params)).all()
    ranked = sorted(((_overlap(indexed, terms), entry_id, indexed) for entry_id, indexed in rows), reverse=True)
    return [(entry_id, indexed) for _, entry_id, indexed in ranked[:limit]]


def pg_candidates_sql(*, topic: str | None) -> str:
    return ("SELECT id, search_text FROM faq_entry WHERE to_tsvector('simple', search_text) @@ to_tsquery('simple', "
            ":query)" + (" AND topic = :topic" if topic else "") + " LIMIT :pool")


#: PostgreSQL's planner settings for the candidates, for the rest of the transaction, in one statement.
#: - A plan for these stems each time: after five executions PostgreSQL may keep the prepared statement's generic
#:   plan, a scan of every answer's text (it looks cheap with the LIMIT): 100 ms at 5,000 answers instead of 2.
#: - No scan of the table in the custom plan either: stems the statistics call common make the planner expect the
#:   LIMIT to be reached early in a scan, which computes every answer's tsvector (300 ms at 5,000 answers). What
#:   the update does after a search reads rows by key; a table without an index is still scanned.
PLANNER = text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
               "set_config('enable_seqscan', 'off', true)")


def _overlap(indexed: str, terms: list[str]) -> int:
    """How many query stems begin one of the indexed stems."""
    indexed = " " + indexed
    return sum(1 for term in terms if " " + term in indexed)


async def search(session: AsyncSession, query: str, *, topic: str | None = None, limit: int = 3,
                 min_score: float = 0.34, candidates: int = 30) -> list[Hit]:
    """Up to ``limit`` published answers that look like ``query``: a share of at least ``min_score`` of its
    stems found in the entry (as prefixes), best first."""
    terms = list(dict.fromkeys(term[:QUERY_STEM] for term in stems(query)))[:32]
    if not terms:
        return []
    found = await candidate_rows(session, await selective_terms(session, terms), topic=topic, limit=candidates)
    hits = []
    for rank, (entry_id, indexed) in enumerate(found):
        score = _overlap(indexed, terms) / len(terms)
        if score >= min_score:
            hits.append((score, -rank, entry_id))
    hits.sort(key=lambda h: (h[0], h[1]), reverse=True)
    best = hits[:limit]
    if not best:
        return []
    entries = {e.id: e for e in (await session.scalars(
        select(FaqEntry).where(FaqEntry.id.in_([entry_id for _, _, entry_id in best])))).all()}
    return [Hit(entries[entry_id], score) for score, _, entry_id in best if entry_id in entries]


async def entries_of_topic(session: AsyncSession, topic: str, language: str | None = None,
                           limit: int = 20) -> list[FaqEntry]:
    query = select(FaqEntry).where(FaqEntry.topic == topic)
    if language:
        query = query.where(FaqEntry.language == language)
    return list((await session.scalars(query.order_by(FaqEntry.published_at.desc()).limit(limit))).all())
