"""The needs-assessment report of a round: CSV and XLSX in the report's shape, and a bar chart (PNG).

No aiogram here: callers pass ``gettext`` (the reader's language already chosen), and these msgids are
extracted from the ``gettext("…")`` calls below."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal, format_percent

from services import charts, voting_results
from services.dates import moment_text, short_day
from services.voting import SOURCES, Results, Top, Turnout, problem_title
from services.voting_results import (
    SEX_GROUPS,
    bands_of,
    place_note,
    plural_of,
    top_places,
    votes_by_band,
    votes_by_sex,
)
from storage.models import Village

Gettext = Callable[[str], str]


@dataclass(frozen=True)
class Share:
    """A share (0–1) shown as a percentage; empty when there is nothing to divide."""

    value: float | None


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Any]]


def _village_name(village: Village, language: str) -> str:
    return village.name_ru if language == "ru" else village.name_ky


def competence_label(competence: str, gettext: Gettext) -> str:
    return {
        "local": gettext("issue of local significance"),
        "delegated": gettext("delegated state power"),
        "outside": gettext("outside the powers of local self-government"),
    }[competence]


def source_label(source: str, gettext: Gettext) -> str:
    return {"phone": gettext("phone"), "session": gettext("session")}[source]


band_label = voting_results.band_label


def tie_note(top: Top, gettext: Gettext, ngettext: Callable[[str, str, int], str] | None = None) -> str:
    if not top.tied:
        return ""
    ngettext = plural_of(gettext, ngettext)
    return ngettext("tie at place {place}: {count} problems with {votes} vote each, all shown",
                    "tie at place {place}: {count} problems with {votes} votes each, all shown",
                    top.tie_votes or 0).format(
        place=top.tie_rank, count=len(top.tied), votes=top.tie_votes)


def _turnout_cells(turnout: Turnout) -> list[Any]:
    """People, women, those who did not say their sex, and the women's share of those who did."""
    return [turnout.people, turnout.women, turnout.not_said, Share(turnout.women_share)]


def tables(results: Results, *, gettext: Gettext, language: str, zone: ZoneInfo,
           age_bands: Sequence[str] | None = None,
           ngettext: Callable[[str, str, int], str] | None = None) -> list[Table]:
    """The report as tables: general information, sessions, phone ballots, problems (after and before merges),
    votes per village by age group and by sex, top 5 per village and merges."""
    rnd, villages, problems = results.round, results.villages, results.problems
    names = {v.id: _village_name(v, language) for v in villages}
    share = results.participation
    out: list[Table] = []

    general = Table(gettext("General information"), [gettext("Item"), gettext("Value")], [
        [gettext("Aiyl aimak"), results.aiyl_aimak.name_ru if language == "ru" else results.aiyl_aimak.name_ky],
        [gettext("Round"), rnd.title],
        [gettext("Closed"), moment_text(rnd.closed_at, language, zone) if rnd.closed_at else "—"],
    ])
    out.append(general)

    people = Table(gettext("Villages and participation"), [
        gettext("Village"), gettext("Population"), gettext("Households"), gettext("Registered villagers"),
        gettext("Voted by phone"), gettext("of them women"), gettext("Session participants"), gettext("of them women"),
        gettext("Participants in all"), gettext("Women"), gettext("Did not say their sex"), gettext("Women's share"),
    ], [])
    for village in villages:
        phone = share.phone.get(village.id, Turnout(0, 0))
        sessions = share.sessions.get(village.id, Turnout(0, 0))
        people.rows.append([names[village.id], village.population, village.households,
                            share.eligible.get(village.id, 0), phone.people, phone.women, sessions.people,
                            sessions.women, *_turnout_cells(phone + sessions)])
    total_phone = sum((share.phone.get(v.id, Turnout(0, 0)) for v in villages), Turnout(0, 0))
    total_sessions = sum((share.sessions.get(v.id, Turnout(0, 0)) for v in villages), Turnout(0, 0))
    people.rows.append([gettext("Aiyl aimak in all"),
                        sum(v.population or 0 for v in villages) or None,
                        sum(v.households or 0 for v in villages) or None,
                        sum(share.eligible.values()), total_phone.people, total_phone.women,
                        total_sessions.people, total_sessions.women, *_turnout_cells(total_phone + total_sessions)])
    out.append(people)

    sessions = Table(gettext("Sessions by age group"), [
        gettext("Village"), gettext("Age group"), gettext("Date"), gettext("Place"), gettext("Participants"),
        gettext("Women"), gettext("Did not say their sex"), gettext("Women's share"), gettext("Votes"),
    ], [])
    for held in results.sessions:
        sessions.rows.append([names.get(held.village_id, "?"), band_label(held.age_band, gettext),
                              short_day(held.held_on, language), held.place,
                              *_turnout_cells(Turnout(held.participants, held.women)),
                              results.session_votes.get(held.id, 0)])
    out.append(sessions)

    phone = Table(gettext("Phone ballots by age group"), [
        gettext("Village"), gettext("Age group"), gettext("Voters"), gettext("Women"),
        gettext("Did not say their sex"), gettext("Women's share"),
    ], [])
    for (village_id, band), turnout in sorted(share.phone_by_band.items(),
                                              key=lambda item: (names.get(item[0][0], ""), item[0][1] or "~")):
        phone.rows.append([names.get(village_id, "?"), band_label(band, gettext), *_turnout_cells(turnout)])
    out.append(phone)

    for merged in (True, False):
        tally = results.merged if merged else results.as_voted
        title = gettext("Problems and votes (merges applied)") if merged else gettext(
            "Problems and votes as voted (before merges)")
        header = [gettext("No."), gettext("Problem (Kyrgyz)"), gettext("Problem (Russian)"), gettext("Competence")]
        if merged:
            header.append(gettext("Merged from"))
        header += [names[v.id] for v in villages] + [gettext("Total")] + [
            gettext("by phone"), gettext("in sessions")]
        table = Table(title, header, [])
        total = tally.total()
        by_source = tally.by("source")
        per_village = {v.id: tally.village(v.id) for v in villages}
        shown = [p for p in problems.values() if not merged or p.merged_into_id is None]
        shown.sort(key=lambda p: (-total.get(p.id, 0), p.id))
        for problem in shown:
            row: list[Any] = [problem.id, problem.title_ky, problem.title_ru,
                              competence_label(problem.competence, gettext)]
            if merged:
                row.append("; ".join(merged_from(results, problem.id, names, language)))
            row += [per_village[v.id].get(problem.id, 0) for v in villages]
            row.append(total.get(problem.id, 0))
            row += [by_source.get(source, {}).get(problem.id, 0) for source in SOURCES]
            table.rows.append(row)
        out.append(table)

    priorities = Table(gettext("Top 5 per village"), [
        gettext("Village"), gettext("View"), gettext("Place"), gettext("Problem"), gettext("Votes"), gettext("Note"),
    ], [])
    for merged in (True, False):
        view = gettext("merges applied") if merged else gettext("as voted")
        for village_id, name in [*((v.id, names[v.id]) for v in villages), (None, gettext("Aiyl aimak in all"))]:
            top = results.top(village_id, merged=merged)
            cut = tie_note(top, gettext, ngettext)
            found = top_places(results, top, village_id, merged=merged)
            for ranked in top.items:
                problem = problems[ranked.problem_id]
                place = found[ranked.problem_id]
                note = "; ".join(n for n in (place_note(place, gettext, ngettext=ngettext),
                                             cut if ranked.problem_id in top.tied else "") if n)
                priorities.rows.append([name, view, place.label, problem_title(problem, language), ranked.votes,
                                        note])
    out.append(priorities)
    out += breakdown_tables(results, gettext=gettext, language=language, age_bands=age_bands)

    merges = Table(gettext("Merges"), [
        gettext("No."), gettext("Problem"), gettext("Counted with"), gettext("Where"), gettext("Merged at"),
        gettext("Undone at"),
    ], [])
    for merge in results.merges:
        where = names.get(merge.village_id, "?") if merge.village_id is not None else gettext("all villages")
        merges.rows.append([merge.id, problem_title(problems[merge.source_id], language),
                            problem_title(problems[merge.target_id], language), where,
                            _when(merge.merged_at, zone, language), _when(merge.undone_at, zone, language)])
    out.append(merges)
    return out


def merged_from(results: Results, problem_id: int, names: dict[int, str], language: str) -> list[str]:
    """The problems counted with this one: everywhere, or in one village (named after it)."""
    found = [problem_title(p, language) for p in results.problems.values() if p.merged_into_id == problem_id]
    for merge in results.active_merges:
        if merge.village_id is not None and merge.target_id == problem_id:
            found.append(f"{problem_title(results.problems[merge.source_id], language)} "
                         f"({names.get(merge.village_id, '?')})")
    return found


def breakdown_tables(results: Results, *, gettext: Gettext, language: str,
                     age_bands: Sequence[str] | None = None) -> list[Table]:
    """Votes per problem (merges applied) for each village and the aiyl aimak: by age group (phone and sessions
    together), and by sex (phone ballots: women, men, did not say; sessions apart, as a sticker has no sex)."""
    names = [(v.id, _village_name(v, language)) for v in results.villages]
    names.append((None, gettext("Aiyl aimak in all")))
    bands = bands_of(results, age_bands)
    by_age = Table(gettext("Votes by village and age group"), [
        gettext("Village"), gettext("No."), gettext("Problem"), *(band_label(b, gettext) for b in bands),
        gettext("Total")], [])
    by_sex = Table(gettext("Votes by village and sex"), [
        gettext("Village"), gettext("No."), gettext("Problem"), gettext("Phone: women"), gettext("Phone: men"),
        gettext("Phone: did not say"), gettext("Sessions (sex not recorded)"), gettext("Total")], [])
    for village_id, name in names:
        ages = votes_by_band(results, village_id)
        sexes = votes_by_sex(results, village_id)
        total = results.merged.total() if village_id is None else results.merged.village(village_id)
        for problem_id in sorted((p for p, n in total.items() if n > 0), key=lambda p: (-total[p], p)):
            title = problem_title(results.problems[problem_id], language)
            by_age.rows.append([name, problem_id, title, *(ages.get(problem_id, {}).get(b, 0) for b in bands),
                                total[problem_id]])
            by_sex.rows.append([name, problem_id, title, *(sexes.get(problem_id, {}).get(g, 0) for g in SEX_GROUPS),
                                total[problem_id]])
    return [by_age, by_sex]


def _when(moment: datetime | None, zone: ZoneInfo, language: str) -> str:
    return moment_text(moment, language, zone) if moment else ""


def _text(value: Any, language: str) -> str:
    if value is None:
        return ""
    if isinstance(value, Share):
        return format_percent(value.value, locale=language) if value.value is not None else "—"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return str(value)


def to_csv(parts: Sequence[Table], *, language: str) -> bytes:
    """One CSV file: each table under its title, a blank line between them (UTF-8 with BOM for Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for index, table in enumerate(parts):
        if index:
            writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.header)
        for row in table.rows:
            writer.writerow([_text(cell, language) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(parts: Sequence[Table], *, language: str) -> bytes:
    """One sheet per table; numbers stay numbers, shares are percentages."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for table in parts:
        name = "".join(c for c in table.title if c not in "[]:*?/\\")[:31] or "Sheet"
        while name in used:
            name = name[:28] + f"_{len(used)}"
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(table.header)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            values = [cell.value if isinstance(cell, Share) else cell for cell in row]
            sheet.append(values)
            for column, cell in enumerate(row, start=1):
                if isinstance(cell, Share):
                    sheet.cell(row=sheet.max_row, column=column).number_format = "0.0%"
        for column in sheet.columns:
            width = max((len(str(c.value)) for c in column[1:] if c.value is not None), default=8)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def chart_png(results: Results, *, gettext: Gettext, language: str, village_id: int | None = None,
              limit: int = 12) -> bytes:
    """Horizontal bars of votes per problem (merges applied), phone and sessions stacked, in the reader's
    language; the whole aiyl aimak unless ``village_id``."""
    tally = results.merged
    where = {} if village_id is None else {"village_id": village_id}
    total = tally.total(**where)
    phone = tally.total(source="phone", **where)
    ranked = _ranked(total, limit)
    segments = [(gettext("by phone"), "#2e7d32", [phone.get(pid, 0) for _n, pid in ranked]),
                (gettext("in sessions"), "#f9a825", [n - phone.get(pid, 0) for n, pid in ranked])]
    return _bars(results, ranked, segments, gettext("Priority problems: {place}").format(
        place=_place(results, village_id, language)), gettext=gettext, language=language)


BAND_COLOURS = ("#1565c0", "#2e7d32", "#f9a825", "#c62828", "#6a1b9a", "#00838f", "#9e9e9e")


def chart_by_age_png(results: Results, *, gettext: Gettext, language: str, village_id: int | None = None,
                     age_bands: Sequence[str] | None = None, limit: int = 12) -> bytes:
    """The same problems with each bar split by age group (phone and sessions together): the view per age
    group the method reports."""
    total = results.merged.total() if village_id is None else results.merged.village(village_id)
    ranked = _ranked(total, limit)
    by_band = votes_by_band(results, village_id)
    bands = bands_of(results, age_bands)
    segments = [(band_label(band, gettext), BAND_COLOURS[min(i, len(BAND_COLOURS) - 1)] if band else "#9e9e9e",
                 [by_band.get(pid, {}).get(band, 0) for _n, pid in ranked]) for i, band in enumerate(bands)]
    title = gettext("Priority problems by age group: {place}").format(place=_place(results, village_id, language))
    return _bars(results, ranked, segments, title, gettext=gettext, language=language)


def _ranked(total: dict[int, int], limit: int) -> list[tuple[int, int]]:
    ranked = sorted(((n, pid) for pid, n in total.items() if n > 0), key=lambda item: (-item[0], item[1]))[:limit]
    ranked.reverse()  # biggest on top
    return ranked


def _place(results: Results, village_id: int | None, language: str) -> str:
    if village_id is None:
        return results.aiyl_aimak.name_ru if language == "ru" else results.aiyl_aimak.name_ky
    return next((_village_name(v, language) for v in results.villages if v.id == village_id), "")


LABEL_WIDTH = 28  # characters per line of a problem's label; long (Kyrgyz) titles wrap, the plot keeps its width
LABEL_LINES = 3


def wrap_label(text: str, width: int = LABEL_WIDTH, lines: int = LABEL_LINES) -> str:
    import textwrap

    wrapped = textwrap.wrap(text, width, break_long_words=True) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: width - 1] + "…"
    return "\n".join(wrapped)


def _bars(results: Results, ranked: list[tuple[int, int]], segments: list[tuple[str, str, list[int]]], title: str,
          *, gettext: Gettext, language: str) -> bytes:
    """Stacked horizontal bars: whole-number axis for counts, the legend under the plot (it hides no bar), labels
    wrapped to a fixed width."""
    from matplotlib.ticker import MaxNLocator

    labels = [wrap_label(problem_title(results.problems[pid], language)) for _n, pid in ranked]
    shown = [segment for segment in segments if any(segment[2])] or segments[:1]
    rows = sum(max(label.count("\n") + 1, 1) for label in labels) or 1
    height = 1.6 + 0.3 * rows + 0.25 * len(ranked)
    with charts.figure(figsize=(9, height), dpi=100) as (figure, axes):
        positions = list(range(len(ranked)))
        left = [0] * len(ranked)
        for label, colour, values in shown:
            axes.barh(positions, values, left=left, color=colour, label=label)
            left = [a + b for a, b in zip(left, values, strict=True)]
        axes.set_yticks(positions, labels)
        axes.set_xlabel(gettext("Votes"))
        axes.set_title(title)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        for y, (n, _pid) in enumerate(ranked):
            axes.text(n, y, " " + format_decimal(n, locale=language), va="center")
        if ranked:
            axes.set_xlim(0, max(n for n, _pid in ranked) * 1.15 + 1)
            figure.legend(loc="lower center", ncol=min(len(shown), 4), frameon=False)
        figure.tight_layout(rect=(0, 0.45 / height, 1, 1))  # room for the legend under the plot
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
