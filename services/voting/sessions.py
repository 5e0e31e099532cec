"""Offline sessions: recording one session's result (from the chat or the dashboard), the problems it names,
and importing many from a CSV file."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import audit
from services.voting.common import MAX_CHOICES, MIN_SESSION_PARTICIPANTS, VotingError, _clean, messages_villagers
from services.voting.problems import problem_in_round, problems_of
from services.voting.rounds import round_villages
from storage.models import Village, utcnow
from storage.voting import OfflineSession, Problem, SessionVote, VotingRound


@dataclass
class SessionInput:
    village_id: int
    age_band: str
    held_on: date
    place: str
    participants: int
    women: int
    votes: dict[int, int] = field(default_factory=dict)  # problem id → votes


def check_session(data: SessionInput) -> None:
    if data.participants <= 0 or data.women < 0:
        raise VotingError("bad_participants")
    if data.women > data.participants:
        raise VotingError("women_over_participants")
    if any(v < 0 for v in data.votes.values()):
        raise VotingError("bad_votes")
    total = sum(data.votes.values())
    if total > MAX_CHOICES * data.participants:
        raise VotingError("votes_over_stickers", votes=total, limit=MAX_CHOICES * data.participants)
    if not data.place.strip():
        raise VotingError("no_place")


async def record_session(session: AsyncSession, rnd: VotingRound, data: SessionInput, *, by: int | None,
                         source: str = "chat", age_bands: Sequence[str] | None = None) -> tuple[OfflineSession, bool]:
    """Store an offline session's result; the same village, group, date and place again replaces it.
    Returns the session and whether it is new. A sessions-only round takes sessions while still a draft."""
    if (rnd.mode or "both") == "phone":
        raise VotingError("phone_only")
    if rnd.phase == "draft" and messages_villagers(rnd):
        raise VotingError("wrong_phase", phase=rnd.phase)
    check_session(data)
    if age_bands is not None and data.age_band not in age_bands:
        raise VotingError("bad_age_band")
    if data.village_id not in {v.id for v in await round_villages(session, rnd.id)}:
        raise VotingError("not_in_round")
    for problem_id in data.votes:
        await problem_in_round(session, rnd.id, problem_id)
    place = _clean(data.place)[:200]
    existing = await session.scalar(select(OfflineSession).where(
        OfflineSession.round_id == rnd.id, OfflineSession.village_id == data.village_id,
        OfflineSession.age_band == data.age_band, OfflineSession.held_on == data.held_on,
        OfflineSession.place == place))
    created = existing is None
    if existing is None:
        existing = OfflineSession(round_id=rnd.id, village_id=data.village_id, age_band=data.age_band,
                                  held_on=data.held_on, place=place, participants=0, women=0)
        session.add(existing)
    existing.participants, existing.women = data.participants, data.women
    existing.source, existing.entered_by, existing.entered_at = source, by, utcnow()
    await session.flush()
    await session.execute(delete(SessionVote).where(SessionVote.session_id == existing.id))
    votes = [{"session_id": existing.id, "problem_id": p, "votes": v} for p, v in data.votes.items() if v > 0]
    if votes:
        await session.execute(SessionVote.__table__.insert(), votes)
    audit(session, by, "voting.session.record" if created else "voting.session.replace", "voting_session",
           existing.id, source=source, votes={str(p): v for p, v in data.votes.items()})
    await session.flush()
    return existing, created


async def sessions_of(session: AsyncSession, round_id: int) -> list[OfflineSession]:
    query = (select(OfflineSession).where(OfflineSession.round_id == round_id)
             .order_by(OfflineSession.village_id, OfflineSession.age_band, OfflineSession.held_on, OfflineSession.id))
    return list((await session.scalars(query)).all())


def _key(text: str) -> str:
    return _clean(text).casefold().replace("ё", "е")


async def find_or_add_problems(session: AsyncSession, rnd: VotingRound, names: Iterable[str], *,
                               by: int | None = None, village_id: int | None = None) -> dict[str, int]:
    """Problems named in a session result: "#12" or a Kyrgyz or Russian title of this round (any case);
    an unknown title becomes a new problem of the round (not on ballots already published)."""
    problems = await problems_of(session, rnd.id)
    by_title: dict[str, int] = {}
    for problem in problems:
        by_title.setdefault(_key(problem.title_ky), problem.id)
        by_title.setdefault(_key(problem.title_ru), problem.id)
    ids = {p.id for p in problems}
    found: dict[str, int] = {}
    for name in names:
        match = re.fullmatch(r"#\s*(\d+)", name.strip())
        if match:
            if int(match.group(1)) not in ids:
                raise VotingError("unknown_problem", id=int(match.group(1)))
            found[name] = int(match.group(1))
            continue
        key = _key(name)
        if not key:
            raise VotingError("empty_title")
        if key not in by_title:
            problem = Problem(round_id=rnd.id, title_ky=_clean(name)[:200], title_ru=_clean(name)[:200],
                              competence="local", created_by=by)
            session.add(problem)
            await session.flush()
            audit(session, by, "voting.problem.add", "voting_problem", problem.id, from_session=True,
                   village=village_id)
            by_title[key] = problem.id
        found[name] = by_title[key]
    return found


VOTE_LINE = re.compile(r"^\s*(?P<name>.+?)\s*[:=\-–—]?\s*(?P<votes>\d+)\s*$")


def parse_vote_lines(text: str) -> list[tuple[str, int]]:
    """"Inner roads: 12" (or "#3 12") per line."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = VOTE_LINE.match(line)
        if not match:
            raise VotingError("bad_vote_line", line=line.strip()[:80])
        rows.append((match.group("name"), int(match.group("votes"))))
    if not rows:
        raise VotingError("bad_vote_line", line="")
    return rows


def parse_date(text: str) -> date:
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise VotingError("bad_date", value=text[:40])


def match_age_band(text: str, bands: Sequence[str]) -> str:
    wanted = text.strip().replace("–", "-").replace("—", "-").replace(" ", "")
    for band in bands:
        if band.replace(" ", "") == wanted:
            return band
    raise VotingError("bad_age_band", value=text[:40])


def match_village(text: str, villages: Sequence[Village]) -> Village:
    wanted = _key(text)
    for village in villages:
        if wanted in (_key(village.code), _key(village.name_ky), _key(village.name_ru)):
            return village
    raise VotingError("bad_village", value=text[:80])


SESSION_COLUMNS = ("village", "age_group", "date", "place", "participants", "women", "problem", "votes")
# The same columns as an organiser writes them in Kyrgyz or Russian (compared without case).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "village": ("айыл", "село", "деревня", "айыл/село"),
    "age_group": ("курак тобу", "жаш тобу", "курактык топ", "возрастная группа", "возраст", "группа", "age group"),
    "date": ("күнү", "дата", "датасы", "күн"),
    "place": ("орун", "жери", "өткөн жери", "место", "место проведения"),
    "participants": ("катышуучулар", "катышкандар", "катышуучулардын саны", "участники", "участников",
                     "число участников", "кол-во участников"),
    "women": ("аялдар", "алардын ичинен аялдар", "женщины", "из них женщин", "женщин"),
    "problem": ("көйгөй", "көйгөйлөр", "проблема", "проблемы"),
    "votes": ("добуштар", "добуш", "голоса", "голосов", "стикеры"),
}


HEADERS = {  # the header row to write in the organiser's language (each is also read, see COLUMN_ALIASES)
    "ky": ("айыл", "курак тобу", "күнү", "орун", "катышуучулар", "аялдар", "көйгөй", "добуштар"),
    "ru": ("село", "возрастная группа", "дата", "место", "участники", "женщины", "проблема", "голоса"),
}


def session_headers(language: str) -> tuple[str, ...]:
    """The CSV header row as the organiser writes it: Kyrgyz, Russian (Uzbek readers get Russian), else English."""
    return HEADERS.get("ru" if language == "uz" else language, SESSION_COLUMNS)


def column_name(header: str) -> str:
    """The column a CSV header names, in English, Kyrgyz or Russian (underscores, spaces and case aside)."""
    wanted = " ".join(header.replace("_", " ").split()).casefold().replace("ё", "е")
    for column in SESSION_COLUMNS:
        if wanted == column.replace("_", " ") or wanted in COLUMN_ALIASES[column]:
            return column
    return header.strip().lower()


@dataclass
class ImportReport:
    sessions_added: int = 0
    sessions_replaced: int = 0
    votes: int = 0
    problems_added: int = 0
    errors: list[tuple[int, VotingError]] = field(default_factory=list)


async def import_sessions_csv(session: AsyncSession, rnd: VotingRound, content: bytes | str, *, by: int | None,
                              age_bands: Sequence[str],
                              min_participants: int = MIN_SESSION_PARTICIPANTS) -> ImportReport:
    """Session results from CSV, one row per session and problem (columns ``SESSION_COLUMNS``, headers also in
    Kyrgyz or Russian; comma or semicolon). The method's rules are checked per session, naming its first row:
    at least ``min_participants`` people, at most five stickers each. All or nothing: any error and nothing is
    stored (``report.errors`` says where)."""
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content.lstrip("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    header = [column_name(h or "") for h in (reader.fieldnames or [])]
    report = ImportReport()
    missing = [c for c in SESSION_COLUMNS if c not in header]
    if missing:
        report.errors.append((1, VotingError("missing_columns", columns=", ".join(missing))))
        return report
    villages = await round_villages(session, rnd.id)
    grouped: dict[tuple[int, str, date, str], dict[str, Any]] = {}
    for line, raw in enumerate(reader, start=2):
        row = {column_name(k or ""): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        try:
            village = match_village(row["village"], villages)
            band = match_age_band(row["age_group"], age_bands)
            held_on = parse_date(row["date"])
            place = _clean(row["place"])
            try:
                participants, women, votes = int(row["participants"]), int(row["women"]), int(row["votes"])
            except ValueError:
                raise VotingError("bad_number") from None
            if not row["problem"]:
                raise VotingError("empty_title")
            key = (village.id, band, held_on, place)
            entry = grouped.setdefault(key, {"participants": participants, "women": women, "votes": {}, "line": line})
            if (entry["participants"], entry["women"]) != (participants, women):
                raise VotingError("inconsistent_session")
            entry["votes"][row["problem"]] = entry["votes"].get(row["problem"], 0) + votes
        except VotingError as exc:
            report.errors.append((line, exc))
    known = {p.id for p in await problems_of(session, rnd.id)}
    for (village_id, band, held_on, place), entry in grouped.items():
        try:
            check_session(SessionInput(village_id, band, held_on, place, entry["participants"], entry["women"],
                                       dict(enumerate(entry["votes"].values()))))
            if entry["participants"] < min_participants:
                raise VotingError("too_few_participants", participants=entry["participants"],
                                  minimum=min_participants)
            for name in entry["votes"]:
                match = re.fullmatch(r"#\s*(\d+)", name.strip())
                if match and int(match.group(1)) not in known:
                    raise VotingError("unknown_problem", id=int(match.group(1)))
        except VotingError as exc:
            report.errors.append((entry["line"], exc))
    if report.errors:
        return report
    # Everything is checked: from here on nothing is refused, so the import is all or nothing.
    before = len(known)
    for (village_id, band, held_on, place), entry in grouped.items():
        ids = await find_or_add_problems(session, rnd, entry["votes"].keys(), by=by, village_id=village_id)
        votes: dict[int, int] = defaultdict(int)
        for name, count in entry["votes"].items():
            votes[ids[name]] += count
        _stored, created = await record_session(
            session, rnd, SessionInput(village_id, band, held_on, place, entry["participants"], entry["women"],
                                       dict(votes)), by=by, source="csv", age_bands=age_bands)
        report.sessions_added += created
        report.sessions_replaced += not created
        report.votes += sum(votes.values())
    report.problems_added = len(await problems_of(session, rnd.id)) - before
    return report
