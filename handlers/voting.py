"""What the voting flows and jobs show: results as ranked text, notices, labels (no router of its own)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.i18n import Formatter
from services import voting
from services.places import place_name
from services.voting import Results, Top, Turnout


def competence_label(competence: str) -> str:
    return {
        "local": _("issue of local significance"),
        "delegated": _("delegated state power"),
        "outside": _("outside the powers of local self-government"),
    }[competence]


def phase_label(phase: str) -> str:
    return {"draft": _("draft"), "collecting": _("collecting problems"), "voting": _("voting"),
            "closed": _("closed")}[phase]


def turnout_text(turnout: Turnout, fmt: Formatter) -> str:
    share = fmt.percent(turnout.women_share) if turnout.women_share is not None else "—"
    return _("{count} taking part, of them women {women} ({share})").format(
        count=fmt.number(turnout.people), women=fmt.number(turnout.women), share=share)


def top_lines(results: Results, top: Top, language: str, fmt: Formatter, *, limit: int = 200) -> list[str]:
    lines = []
    for ranked in top.items:
        title = voting.problem_title(results.problems[ranked.problem_id], language)
        if len(title) > limit:
            title = title[: limit - 1] + "…"
        lines.append(_("{place}. {problem}: {votes}").format(place=ranked.rank, problem=title,
                                                              votes=fmt.number(ranked.votes)))
    if top.tied:
        lines.append(_("Tie at place {place}: {count} problems have {votes} votes each, so all of them are shown.")
                     .format(place=top.tie_rank, count=len(top.tied), votes=fmt.number(top.tie_votes or 0)))
    if not top.items:
        lines.append(_("No votes yet."))
    return lines


def results_text(results: Results, language: str, fmt: Formatter, *, village_id: int | None = None,
                 merged: bool = True) -> str:
    """Ranked priorities per village (or one village) and for the aiyl aimak, with participation."""
    rnd = results.round
    blocks = [f"<b>{rnd.title}</b> — " + phase_label(rnd.phase)]
    villages = [v for v in results.villages if village_id is None or v.id == village_id]
    for village in villages:
        turnout = turnout_text(results.participation.village(village.id), fmt)
        lines = [_("<b>{village}</b>: {turnout}").format(village=place_name(village, language), turnout=turnout)]
        lines += top_lines(results, results.top(village.id, merged=merged), language, fmt)
        blocks.append("\n".join(lines))
    if village_id is None:
        lines = [_("<b>Aiyl aimak in all</b>: {turnout}").format(
            turnout=turnout_text(results.participation.total(), fmt))]
        lines += top_lines(results, results.top(None, merged=merged), language, fmt)
        blocks.append("\n".join(lines))
        merges = results.active_merges
        if merges:
            blocks.append(_("Merged for this count:") + "\n" + "\n".join(
                _("#{id}: {source} → {target}").format(
                    id=m.id, source=voting.problem_title(results.problems[m.source_id], language),
                    target=voting.problem_title(results.problems[m.target_id], language)) for m in merges))
    return "\n\n".join(blocks)


def organiser_refusal(code: str, detail: dict | None = None) -> str:
    detail = detail or {}
    texts = {
        "not_found": _("No such round among your aiyl aimaks."),
        "wrong_phase": _("This cannot be done in the round's current phase ({phase}).").format(
            phase=phase_label(detail.get("phase", "draft"))),
        "bad_dates": _("The end time must be in the future, and voting must end after collection."),
        "no_problems": _("Add problems before publishing the ballot."),
        "empty_ballot": _("A village would get an empty ballot. Add a problem for every village (or one without "
                          "submissions, which goes on every ballot)."),
        "ballot_too_long": _("A village's ballot has {count} problems; merge similar ones to keep it at 40 or "
                             "fewer.").format(count=detail.get("count", "?")),
        "empty_title": _("The problem needs a title."),
        "unknown_submission": _("Some of these submission numbers are not in this round."),
        "unknown_problem": _("Problem #{id} is not in this round.").format(id=detail.get("id", "?")),
        "unknown_merge": _("Merge #{id} is not in this round.").format(id=detail.get("id", "?")),
        "bad_competence": _("Use one of: local, delegated, outside."),
        "already_merged": _("Problem #{id} is already merged; undo that merge first.").format(
            id=detail.get("id", "?")),
        "merge_into_itself": _("A problem cannot be merged into itself."),
        "merge_undone": _("This merge is already undone."),
        "merge_on_ballot": _("This merge shaped the published ballots and cannot be undone now."),
        "bad_reminders": _("Give hours before the close, e.g. 48,24,2."),
        "bad_villages": _("Choose at least one village."),
        "bad_participants": _("The number of participants must be above zero."),
        "women_over_participants": _("There cannot be more women than participants."),
        "votes_over_stickers": _("{votes} votes are more than five per participant ({limit}).").format(
            votes=detail.get("votes", "?"), limit=detail.get("limit", "?")),
        "bad_votes": _("Votes cannot be negative."),
        "bad_vote_line": _("I could not read this line: “{line}”. Write one problem per line with its votes, e.g. "
                           "“Inner roads: 12”.").format(line=detail.get("line", "")),
        "bad_date": _("“{value}” is not a date; write it like 12.03.2026.").format(value=detail.get("value", "")),
        "bad_age_band": _("“{value}” is not one of the age groups.").format(value=detail.get("value", "")),
        "bad_village": _("“{value}” is not a village of this round.").format(value=detail.get("value", "")),
        "bad_number": _("Participants, women and votes must be whole numbers."),
        "inconsistent_session": _("Rows of the same session give different numbers of participants or women."),
        "missing_columns": _("Columns missing: {columns}.").format(columns=detail.get("columns", "")),
        "not_in_round": _("This village does not take part in the round."),
        "no_place": _("Please give the place of the session."),
    }
    return texts.get(code, _("This cannot be done: {code}.").format(code=code))
