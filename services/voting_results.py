"""The results as the method reports them, for the results message, the report and the dashboard alike: votes
per problem by age group and by sex, shared places named, women's count and share beside every participation
figure (with those who did not say their sex as their own group), and the check that nobody was counted twice.

No aiogram here: callers pass ``gettext`` (the reader's language already chosen) and a number formatter."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.voting import Ranked, Results, Tally, Top, Turnout, Votes
from storage.voting import Attendance, Ballot

Gettext = Callable[[str], str]
Ngettext = Callable[[str, str, int], str]
Number = Callable[[float], str]


def plural_of(gettext: Gettext, ngettext: Ngettext | None) -> Ngettext:
    """``ngettext`` when the caller has one (the reader's catalog), else the English rule."""
    return ngettext or (lambda singular, plural, n: gettext(singular if n == 1 else plural))

NOT_GIVEN = None  # the age group or sex a phone voter did not give
SEX_GROUPS = ("f", "m", "not_said", "session")  # phone: women, men, did not say; sessions: sex not recorded


def _band_start(band: str) -> tuple[int, str]:
    match = re.match(r"\d+", band)
    return (int(match.group()) if match else 999, band)


def bands_of(results: Results, configured: Sequence[str] | None = None) -> list[str | None]:
    """The age groups to show, in age order: the configured ones, then any others found in the votes or
    sessions, then "not given" when some phone voter gave none."""
    found = {row.age_band for row in results.as_voted.rows} | {s.age_band for s in results.sessions}
    found |= {band for (_village, band) in results.participation.phone_by_band}
    ordered: list[str | None] = list(configured or [])
    ordered += sorted((b for b in found if b is not None and b not in ordered), key=_band_start)
    if None in found:
        ordered.append(NOT_GIVEN)
    return ordered


def _tally(results: Results, merged: bool) -> Tally:
    return results.merged if merged else results.as_voted


def votes_by_band(results: Results, village_id: int | None = None, *,
                  merged: bool = True) -> dict[int, dict[str | None, int]]:
    """Problem → age group → votes (phone and sessions together: both know the age group)."""
    grouped: dict[int, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    for row in _tally(results, merged).rows:
        if village_id is None or row.village_id == village_id:
            grouped[row.problem_id][row.age_band] += row.votes
    return {problem: dict(bands) for problem, bands in grouped.items()}


def sex_group(source: str, sex: str | None) -> str:
    if source == "session":
        return "session"  # sessions are mixed-sex age groups: the sticker does not say who gave it
    return sex if sex in ("f", "m") else "not_said"


def votes_by_sex(results: Results, village_id: int | None = None, *, merged: bool = True) -> dict[int, dict[str, int]]:
    """Problem → women / men / did not say (phone ballots) / sessions (sex not recorded) → votes."""
    grouped: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in _tally(results, merged).rows:
        if village_id is None or row.village_id == village_id:
            grouped[row.problem_id][sex_group(row.source, row.sex)] += row.votes
    return {problem: dict(groups) for problem, groups in grouped.items()}


# Shared places


@dataclass(frozen=True)
class Place:
    label: str  # "4" or "4–5"
    shared: int  # how many problems share it (1: alone)
    votes: int


def places(ranked: Iterable[Ranked]) -> dict[int, Place]:
    """Problem → its place, shared places named as a range: two problems with 36 votes at places 4 and 5 read
    "4–5", wherever the tie is (not only at the cut). Counts every ranked problem given, so pass the full ranking
    to name a tie that reaches past the shown items."""
    items = list(ranked)
    by_rank: dict[int, list[Ranked]] = defaultdict(list)
    for item in items:
        by_rank[item.rank].append(item)
    found: dict[int, Place] = {}
    for rank, group in by_rank.items():
        label = str(rank) if len(group) == 1 else f"{rank}–{rank + len(group) - 1}"
        for item in group:
            found[item.problem_id] = Place(label, len(group), item.votes)
    return found


def top_places(results: Results, top: Top, village_id: int | None = None, *, merged: bool = True) -> dict[int, Place]:
    from services.voting import ranking

    tally_ = _tally(results, merged)
    votes: Votes = tally_.total() if village_id is None else tally_.village(village_id)
    everything = places(ranking(votes))
    return {r.problem_id: everything[r.problem_id] for r in top.items}


def place_note(place: Place, gettext: Gettext, number: Number = str, ngettext: Ngettext | None = None) -> str:
    if place.shared < 2:
        return ""
    ngettext = plural_of(gettext, ngettext)
    return ngettext("places {places} shared: {count} problems with {votes} vote each",
                    "places {places} shared: {count} problems with {votes} votes each",
                    place.votes).format(places=place.label, count=number(place.shared), votes=number(place.votes))


def ranked_lines(results: Results, top: Top, village_id: int | None, *, gettext: Gettext, title: Callable[[int], str],
                 number: Number = str, merged: bool = True,
                 detail: Callable[[int], str] | None = None, ngettext: Ngettext | None = None) -> list[str]:
    """The priorities as lines, "4–5. Drinking water: 36", each shared place followed by one note (a tie at the
    cut says all of them are shown); ``detail``: a line under each problem (e.g. its ``breakdown``)."""
    ngettext = plural_of(gettext, ngettext)
    found = top_places(results, top, village_id, merged=merged)
    lines: list[str] = []
    for index, ranked in enumerate(top.items):
        place = found[ranked.problem_id]
        lines.append(gettext("{place}. {problem}: {votes}").format(
            place=place.label, problem=title(ranked.problem_id), votes=number(ranked.votes)))
        if detail is not None and (text := detail(ranked.problem_id)):
            lines.append("   " + text)
        following = top.items[index + 1] if index + 1 < len(top.items) else None
        if place.shared > 1 and (following is None or found[following.problem_id].label != place.label):
            if ranked.problem_id in top.tied:
                lines.append("   " + ngettext(
                    "Tie at place {place}: {count} problems have {votes} vote each, so all of them are shown.",
                    "Tie at place {place}: {count} problems have {votes} votes each, so all of them are shown.",
                    top.tie_votes or 0).format(
                    place=top.tie_rank, count=len(top.tied), votes=number(top.tie_votes or 0)))
            else:
                lines.append("   " + place_note(place, gettext, number, ngettext))
    return lines


# Compact views for the results message


def band_label(band: str | None, gettext: Gettext) -> str:
    return band.replace("-", "–") if band else gettext("not given")


def breakdown(results: Results, problem_id: int, village_id: int | None = None, *, gettext: Gettext,
              bands: Sequence[str | None] | None = None, number: Number = str, merged: bool = True) -> str:
    """One problem's votes by age group and by sex, compact: "18–35: 5 · 36–55: 3 · 56+: 2; women 4 · men 3 ·
    did not say 1 · in sessions 7" (groups without votes left out)."""
    shown_bands = list(bands) if bands is not None else bands_of(results)
    by_band = votes_by_band(results, village_id, merged=merged).get(problem_id, {})
    by_sex = votes_by_sex(results, village_id, merged=merged).get(problem_id, {})
    ages = " · ".join(f"{band_label(b, gettext)}: {number(by_band[b])}" for b in shown_bands if by_band.get(b))
    labels = sex_labels(gettext)
    sexes = " · ".join(f"{labels[g]} {number(by_sex[g])}" for g in SEX_GROUPS if by_sex.get(g))
    return "; ".join(part for part in (ages, sexes) if part)


def sex_labels(gettext: Gettext) -> dict[str, str]:
    return {"f": gettext("women"), "m": gettext("men"), "not_said": gettext("did not say"),
            "session": gettext("in sessions")}


def turnout_line(turnout: Turnout, *, gettext: Gettext, number: Number = str,
                 percent: Callable[[float], str] = lambda share: f"{round(share * 100)}%") -> str:
    """"23 taking part, of them women 11 (48%)", and ", 1 did not say their sex" when some did not."""
    share = percent(turnout.women_share) if turnout.women_share is not None else "—"
    text = gettext("{count} taking part, of them women {women} ({share})").format(
        count=number(turnout.people), women=number(turnout.women), share=share)
    if turnout.not_said:
        text += ", " + gettext("{count} did not say their sex").format(count=number(turnout.not_said))
    return text


def merges_for_count(results: Results, *, merged: bool) -> list:
    """The merges a count is made with: the active ones after merges, none for the count before merges."""
    return results.active_merges if merged else []


def results_message(results: Results, *, gettext: Gettext, language: str, phase: str, number: Number = str,
                    percent: Callable[[float], str] = lambda share: f"{round(share * 100)}%",
                    village_id: int | None = None, merged: bool = True, detail: bool = False,
                    bands: Sequence[str | None] | None = None, ngettext: Ngettext | None = None) -> str:
    """The results message (HTML): per village (or one village) and for the aiyl aimak, participation with
    women's share, the ranked priorities with shared places named, and (``detail``, for organisers) each
    problem's votes by age group and by sex. After merges it lists the merges; before merges it lists none."""
    from services.places import place_name
    from services.voting import problem_title

    def title(problem_id: int) -> str:
        return html.escape(problem_title(results.problems[problem_id], language))

    def line_for(village: int | None) -> Callable[[int], str] | None:
        if not detail:
            return None
        return lambda problem_id: breakdown(results, problem_id, village, gettext=gettext, bands=bands,
                                            number=number, merged=merged)

    blocks = [f"<b>{html.escape(results.round.title)}</b> — {phase}"]
    if not merged:
        blocks[0] += "\n" + gettext("As voted, before merges:")
    for village in (v for v in results.villages if village_id is None or v.id == village_id):
        turnout = turnout_line(results.participation.village(village.id), gettext=gettext, number=number,
                               percent=percent)
        lines = [gettext("<b>{village}</b>: {turnout}").format(village=html.escape(place_name(village, language)),
                                                               turnout=turnout)]
        top = results.top(village.id, merged=merged)
        lines += ranked_lines(results, top, village.id, gettext=gettext, title=title, number=number, merged=merged,
                              detail=line_for(village.id), ngettext=ngettext) or [gettext("No votes yet.")]
        blocks.append("\n".join(lines))
    if village_id is None:
        lines = [gettext("<b>Aiyl aimak in all</b>: {turnout}").format(turnout=turnout_line(
            results.participation.total(), gettext=gettext, number=number, percent=percent))]
        lines += ranked_lines(results, results.top(None, merged=merged), None, gettext=gettext, title=title,
                              number=number, merged=merged, detail=line_for(None),
                              ngettext=ngettext) or [gettext("No votes yet.")]
        blocks.append("\n".join(lines))
        merges = merges_for_count(results, merged=merged)
        if merges:
            names = {v.id: html.escape(place_name(v, language)) for v in results.villages}
            blocks.append(gettext("Merged for this count:") + "\n" + "\n".join(
                gettext("#{id}: {source} → {target}").format(id=m.id, source=title(m.source_id),
                                                            target=title(m.target_id))
                + (f" ({names.get(m.village_id, '?')})" if m.village_id is not None else "") for m in merges))
    return "\n\n".join(blocks)


@dataclass(frozen=True)
class Figures:
    """A round's figures for its card: final once it is closed."""

    turnout: Turnout
    votes: int
    problems: int  # problems that got at least one vote (merges applied)
    sessions: int
    top: Top


def figures(results: Results) -> Figures:
    total = results.merged.total()
    return Figures(results.participation.total(), sum(total.values()), sum(1 for n in total.values() if n > 0),
                   len(results.sessions), results.top())


# Nobody counted twice


@dataclass(frozen=True)
class DoubleCountCheck:
    village_id: int
    session_participants: int
    phone_voters: int
    said_attended: int  # villagers who said they took part in the village's session (and were refused a ballot)
    population: int | None
    unasked_voters: int = 0  # phone ballots whose voter was never asked (before the session was on record, assisted)

    @property
    def attended_over_sessions(self) -> bool:
        """More villagers say they were at a session than the session sheets count."""
        return self.said_attended > self.session_participants

    @property
    def over_population(self) -> bool:
        return self.population is not None and self.session_participants + self.phone_voters > self.population

    @property
    def voted_before_session(self) -> bool:
        """The village's session is on record and some phone voters voted before it was, so they were never asked
        whether they took part in it: their ballots count, and the session sheet must not count them again."""
        return self.session_participants > 0 and self.unasked_voters > 0

    @property
    def ok(self) -> bool:
        return not (self.attended_over_sessions or self.over_population or self.voted_before_session)


async def double_count_checks(session: AsyncSession, results: Results) -> list[DoubleCountCheck]:
    """Per village: the session sheets' participants against the phone ballots and the attendance answers. In a
    round with both sources, a phone ballot with no attendance answer was cast before the village's session was
    on record (once it is, the ballot asks first)."""
    round_id = results.round.id
    attended = dict((await session.execute(
        select(Attendance.village_id, func.count()).where(Attendance.round_id == round_id,
                                                          Attendance.attended.is_(True))
        .group_by(Attendance.village_id))).all())
    voters = dict((await session.execute(
        select(Ballot.village_id, func.count()).where(Ballot.round_id == round_id)
        .group_by(Ballot.village_id))).all())
    unasked: dict[int, int] = {}
    if (results.round.mode or "both") == "both":
        answered = select(Attendance.person_id).where(Attendance.round_id == round_id,
                                               Attendance.person_id == Ballot.person_id)
        unasked = dict((await session.execute(
            select(Ballot.village_id, func.count()).where(Ballot.round_id == round_id, ~answered.exists())
            .group_by(Ballot.village_id))).all())
    share = results.participation
    return [DoubleCountCheck(v.id, share.sessions.get(v.id, Turnout(0, 0)).people, int(voters.get(v.id, 0)),
                             int(attended.get(v.id, 0)), v.population, int(unasked.get(v.id, 0)))
            for v in results.villages]


def double_count_warning(check: DoubleCountCheck, village: str, *, gettext: Gettext, number: Number = str,
                         ngettext: Ngettext | None = None) -> str:
    """What the organiser is told about one village (empty when nothing is amiss), one line per finding."""
    ngettext = plural_of(gettext, ngettext)
    lines = []
    if check.attended_over_sessions:
        lines.append(ngettext(
            "{village}: {said} villager says they took part in a session, but the session sheets count "
            "{participants}. Check the sheets.",
            "{village}: {said} villagers say they took part in a session, but the session sheets count "
            "{participants}. Check the sheets.", check.said_attended).format(
            village=village, said=number(check.said_attended), participants=number(check.session_participants)))
    if check.over_population:
        lines.append(gettext("{village}: {phone} phone votes and {participants} session participants are more than "
                             "its {population} inhabitants; someone may be counted twice.").format(
            village=village, phone=number(check.phone_voters), participants=number(check.session_participants),
            population=number(check.population or 0)))
    if check.voted_before_session:
        lines.append(ngettext(
            "{village}: {count} villager voted by phone without being asked whether they took part in the "
            "village's session (they voted before it was on record). The phone ballot "
            "counts: if that person is on the session sheet "
            "({participants} participants), take them and their stickers off the sheet and enter it again.",
            "{village}: {count} villagers voted by phone without being asked whether they took part in the "
            "village's session (they voted before it was on record). The phone ballots "
            "count: if any of them are on the session sheet "
            "({participants} participants), take them and their stickers off the sheet and enter it again.",
            check.unasked_voters).format(village=village, count=number(check.unasked_voters),
                                         participants=number(check.session_participants)))
    return "\n".join(lines)


async def double_count_warnings(session: AsyncSession, results: Results, names: dict[int, str], *,
                                gettext: Gettext, number: Number = str, ngettext: Ngettext | None = None) -> list[str]:
    """Every village's findings (``names``: the villages' names in the reader's language)."""
    return [double_count_warning(check, names.get(check.village_id, "?"), gettext=gettext, number=number,
                                 ngettext=ngettext)
            for check in await double_count_checks(session, results) if not check.ok]
