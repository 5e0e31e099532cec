"""The voting flow's texts and keyboards: labels, results, the ballot, cards; used by its routers and by the
jobs that send notices."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Formatter
from bot.keyboards import InlineKeyboardBuilder
from bot.settings import Settings
from bot.text import escape
from handlers.people.views import age_band_label, places_keyboard
from handlers.voting.buttons import AttendCB, BallotCB, CollectCB, NewRoundCB, RoundCB, SessionCB, mask_of
from services import voting
from services.places import place_name
from services.voting import MAX_CHOICES, MAX_SUBMISSIONS, BallotEntry, Results, Turnout
from storage.models import AiylAimak, Village
from storage.voting import VotingRound


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
    from services import voting_results  # results' texts: loaded when a round has some

    return voting_results.turnout_line(turnout, gettext=_, number=fmt.number, percent=fmt.percent)


def results_text(results: Results, language: str, fmt: Formatter, *, village_id: int | None = None,
                 merged: bool = True, detail: bool = False) -> str:
    """Ranked priorities per village (or one village) and for the aiyl aimak, with participation and women's
    share; shared places named; ``detail`` (organisers): each problem's votes by age group and sex."""
    from services import voting_results

    return voting_results.results_message(results, gettext=_, language=language, phase=phase_label(results.round.phase),
                                          number=fmt.number, percent=fmt.percent, village_id=village_id,
                                          merged=merged, detail=detail, ngettext=ngettext)


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
        "bad_mode": _("Choose where the votes come from: by phone, in sessions, or both."),
        "sessions_only": _("This round takes its votes from the village sessions only; villagers get no messages "
                           "and no ballot."),
        "phone_only": _("This round takes its votes by phone only; it has no session results."),
        "past_date": _("This time has already passed. Give one in the future, e.g. {example}.").format(
            example=detail["example"] if isinstance(detail.get("example"), str)
            else voting.future_example().strftime("%d.%m.%Y %H:%M")),
        "too_few_participants": _("A session has at least {minimum} participants; this one has {participants}.")
        .format(minimum=detail.get("minimum", voting.MIN_SESSION_PARTICIPANTS),
                participants=detail.get("participants", "?")),
        "already_merged": _("Problem #{id} is already merged; undo that merge first.").format(
            id=detail.get("id", "?")),
        "merge_into_itself": _("A problem cannot be merged into itself."),
        "merge_undone": _("This merge is already undone."),
        "merge_on_ballot": _("This merge shaped the published ballots and cannot be undone now."),
        "bad_reminders": _("Give the times before the close, e.g. 48,24,2 (hours) or 2d, 2h."),
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




def refusal(code: str, detail: dict | None = None) -> str:
    """What a villager reads when the rules refuse a step."""
    detail = detail or {}
    texts = {
        "not_found": _("This vote is no longer active."),
        "not_voting": _("Voting in this round has not started or is no longer open."),
        "not_collecting": _("Problems are not being collected in this round now."),
        "closed": _("Voting in this round has closed, so ballots can no longer be cast or changed. If you confirmed "
                    "a ballot before the close, it is counted."),
        "other_village": _("This ballot is for another village. You can vote only in your own village."),
        "not_in_round": _("Your village does not take part in this round."),
        "not_registered": _("Please register with /start and share your phone number first; then you can take "
                            "part."),
        "not_on_ballot": _("This problem is not on your village's ballot."),
        "too_many": _("You can choose at most {limit} problems. Remove one first.").format(
            limit=detail.get("limit", MAX_CHOICES)),
        "duplicate": _("Each problem can be chosen only once."),
        "empty": _("Choose at least one problem."),
        "too_short": _("Please describe the problem in a few words."),
        "too_long": _("Please keep it shorter: {limit} characters at most.").format(limit=detail.get("limit", 300)),
        "too_many_submissions": _("You have already named {limit} problems, the most one person can.").format(
            limit=detail.get("limit", MAX_SUBMISSIONS)),
        "attended_session": _("You took part in the meeting in your village, and your votes were counted there. "
                              "So there is no phone ballot for you in this round: nobody is counted twice."),
        "sessions_only": _("In this round the votes are given at the meetings in the villages, not by phone."),
    }
    return texts.get(code, _("This button is no longer active."))


def attendance_question(rnd: VotingRound, village: Village, language: str) -> tuple[str, InlineKeyboardMarkup]:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, I took part"), callback_data=AttendCB(a="y", r=rnd.id, v=village.id))
    builder.button(text=_("No, I did not"), callback_data=AttendCB(a="n", r=rnd.id, v=village.id))
    builder.adjust(2)
    text = _("Before the ballot, one question (asked once): did you take part in the meeting on the village's "
             "problems in {village} (the session with stickers)? If you did, your votes were counted there.")
    return f"<b>{escape(rnd.title)}</b>\n" + text.format(village=place_name(village, language)), builder.as_markup()


def hint() -> str:
    return _("State a problem, not a solution: write “no safe drinking water”, not “buy a pump”.")


def ballot_text(rnd: VotingRound, village: Village, chosen: int, language: str, fmt: Formatter) -> str:
    lines = [f"<b>{escape(rnd.title)}</b>",
             _("Ballot of {village}. Choose up to {limit} problems that matter most to you, one vote each.").format(
                 village=place_name(village, language), limit=MAX_CHOICES)]
    if rnd.vote_ends_at is not None:
        lines.append(_("Voting closes on {when}.").format(when=fmt.datetime(rnd.vote_ends_at)))
    lines.append(_("Chosen: {count} of {limit}.").format(count=chosen, limit=MAX_CHOICES))
    return "\n".join(lines)


def ballot_keyboard(rnd: VotingRound, village_id: int, items: list[BallotEntry], positions: set[int],
                    language: str) -> InlineKeyboardMarkup:
    # Built directly, one button a row: this is redrawn on every tap, and a builder adds its own steps per button.
    mask = mask_of(positions)
    rows = [[InlineKeyboardButton(text=f"{'✅' if index in positions else '▫️'} "
                                       f"{voting.problem_title(problem, language)}",
                                  callback_data=BallotCB(a="t", r=rnd.id, v=village_id, m=mask, p=problem.id).pack())]
            for index, problem in enumerate(items)]
    rows.append([InlineKeyboardButton(text=_("Next: check my choice ({count})").format(count=len(positions)),
                                      callback_data=BallotCB(a="s", r=rnd.id, v=village_id, m=mask).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def receipt_text(rnd: VotingRound, result: voting.CastResult, items: list[BallotEntry], language: str,
                 settings: Settings) -> str:
    titles = {p.id: escape(voting.problem_title(p, language)) for p in items}
    lines = [f"<b>{escape(rnd.title)}</b>",
             _("Your ballot is counted.") if result.changed else _("Your ballot is unchanged."),
             *(f"• {titles.get(pid, '?')}" for pid in result.problem_ids), "",
             _("Receipt code: <code>{code}</code>. Keep it: /receipt {code} shows your ballot. You can change your "
               "ballot with /vote until voting closes.").format(code=result.receipt)]
    return "\n".join(lines)




# Rounds


def mode_label(mode: str) -> str:
    return {"both": _("by phone and in sessions"), "phone": _("by phone only"),
            "sessions": _("in village sessions only")}[mode]


def broadcast_title(kind: str, rnd: VotingRound, hours: int | None = None) -> str:
    """A voting broadcast's name in its delivery report (the organiser's language)."""
    what = {"collect": _("collection of problems opened"), "ballot": _("voting opened"),
            "remind": _("reminder {hours} h before the close").format(hours=hours), "results": _("results"),
            "dates": _("new dates")}[kind]
    return f"{rnd.title}: {what}"


async def round_card(session: AsyncSession, rnd: VotingRound, language: str,
                     fmt: Formatter) -> tuple[str, InlineKeyboardMarkup]:
    aimak = await session.get(AiylAimak, rnd.aiyl_aimak_id)
    villages = await voting.round_villages(session, rnd.id)
    phone = voting.messages_villagers(rnd)
    lines = [f"<b>{escape(rnd.title)}</b> (#{rnd.id})",
             _("Aiyl aimak: {name}").format(name=place_name(aimak, language) if aimak else "—"),
             _("Villages: {names}").format(names=", ".join(place_name(v, language) for v in villages)),
             _("Votes: {mode}").format(mode=mode_label(rnd.mode or "both")),
             _("Phase: {phase}").format(phase=phase_label(rnd.phase))]
    if rnd.phase == "closed":
        if rnd.closed_at:
            lines.append(_("Closed: {when}").format(when=fmt.datetime(rnd.closed_at)))
        from services import voting_results

        figures = voting_results.figures(await voting.results(session, rnd))
        lines.append(_("Final figures: {turnout}; votes: {votes}; problems with votes: {problems}; sessions: "
                       "{sessions}.").format(
            turnout=turnout_text(figures.turnout, fmt), votes=fmt.number(figures.votes),
            problems=fmt.number(figures.problems), sessions=fmt.number(figures.sessions)))
    else:
        if rnd.collect_ends_at and rnd.phase in ("draft", "collecting"):
            lines.append(_("Collection ends: {when}").format(when=fmt.datetime(rnd.collect_ends_at)))
        if rnd.vote_ends_at and phone:
            lines.append(_("Voting ends: {when}").format(when=fmt.datetime(rnd.vote_ends_at)))
        if phone:
            lines.append(_("Reminders: {hours} hours before the close").format(
                hours=", ".join(str(h) for h in rnd.reminder_hours or []) or "—"))
    builder = InlineKeyboardBuilder()
    if not phone:
        buttons = ([("res", _("Results")), ("asv", _("Results before merges")), ("probs", _("Problems")),
                    ("csv", _("Export CSV")), ("xlsx", _("Export XLSX"))] if rnd.phase == "closed" else
                   [("res", _("Results so far")), ("probs", _("Problems")), ("close", _("Close the round"))])
    else:
        buttons = {
            "draft": [("collect", _("Open collection of problems")), ("probs", _("Problems")),
                      ("publish", _("Publish the ballot and open voting"))],
            "collecting": [("subs", _("Submissions")), ("probs", _("Problems")),
                           ("publish", _("Publish the ballot and open voting"))],
            "voting": [("res", _("Results so far")), ("probs", _("Problems")), ("close", _("Close voting"))],
            "closed": [("res", _("Results")), ("asv", _("Results before merges")), ("probs", _("Problems")),
                       ("pubres", _("Publish the results to villagers")), ("csv", _("Export CSV")),
                       ("xlsx", _("Export XLSX"))],
        }[rnd.phase]
        if rnd.phase in ("collecting", "voting"):
            buttons.append(("dates", _("Change the dates")))
    if rnd.mode != "phone" and (rnd.phase != "draft" or not phone):
        buttons += [("sess", _("Add a session result")), ("imp", _("Import sessions (CSV)"))]
    for action, text in buttons:
        builder.button(text=text, callback_data=RoundCB(a=action, r=rnd.id))
    builder.adjust(2)
    lines.append(_("Problems, groups and merges: tap “Problems”. Typed shortcuts: /problem, /tag, /merge, /unmerge, "
                   "/reminders {id} 48,24,2 (or 2d, 2h), /ballot RECEIPT").format(id=rnd.id))
    return "\n".join(lines), builder.as_markup()


def mode_buttons(builder: InlineKeyboardBuilder, mode: str) -> None:
    for index, key in enumerate(voting.MODES):
        mark = "🔘" if key == mode else "⚪"
        builder.button(text=f"{mark} {mode_label(key)}", callback_data=NewRoundCB(a="mode", id=index))


def villages_keyboard(villages: list[Village], chosen: set[int], language: str,
                      mode: str = "both") -> InlineKeyboardMarkup:
    """The villages taking part (toggles), then where the votes come from (one of three), then Done."""
    builder = InlineKeyboardBuilder()
    for village in villages:
        mark = "✅" if village.id in chosen else "▫️"
        builder.button(text=f"{mark} {place_name(village, language)}",
                       callback_data=NewRoundCB(a="village", id=village.id))
    mode_buttons(builder, mode)
    builder.button(text=_("Done"), callback_data=NewRoundCB(a="done", id=0))
    builder.adjust(*([2] * (len(villages) // 2)), *([1] * (len(villages) % 2)), 1, 1, 1, 1)
    return builder.as_markup()


async def submissions_text(session: AsyncSession, rnd: VotingRound, language: str) -> str:
    grouped = await voting.submissions_by_village(session, rnd.id)
    villages = {v.id: v for v in await voting.round_villages(session, rnd.id)}
    blocks = [_("Submissions of “{title}”, by village. Number, text, and the problem it is grouped into:")
              .format(title=escape(rnd.title))]
    for village_id, items in grouped.items():
        name = place_name(villages[village_id], language) if village_id in villages else "?"
        lines = [f"<b>{name}</b> ({len(items)})"]
        lines += [f"{s.id}. {escape(s.text)}" + (f" → #{s.problem_id}" if s.problem_id else "") for s in items]
        blocks.append("\n".join(lines))
    if not grouped:
        blocks.append(_("No submissions yet."))
    return "\n\n".join(blocks)[:4000]


async def problems_text(session: AsyncSession, rnd: VotingRound, language: str) -> str:
    problems = await voting.problems_of(session, rnd.id)
    lines = [_("Problems of “{title}”:").format(title=escape(rnd.title))]
    for problem in problems:
        line = (f"#{problem.id} {escape(problem.title_ky)} | {escape(problem.title_ru)} — "
                f"{competence_label(problem.competence)}")
        if problem.merged_into_id:
            line += " " + _("(counted with #{id})").format(id=problem.merged_into_id)
        lines.append(line)
    merges = await voting.merges_of(session, rnd.id)
    if merges:
        lines.append("")
        lines.append(_("Merges:"))
        for merge in merges:
            state = _("undone") if merge.undone_at else _("active")
            lines.append(f"{merge.id}. #{merge.source_id} → #{merge.target_id} ({state})")
    if not problems:
        lines.append(_("No problems yet."))
    return "\n".join(lines)[:4000]


def round_notice(kind: str, rnd: VotingRound, village: Village, language: str, fmt: Formatter,
                 results: Results | None) -> tuple[str, InlineKeyboardMarkup | None]:
    """The notice to a villager of ``village``: ``kind`` collect, ballot, remind or results (text only; the job
    adds the chart)."""
    builder = InlineKeyboardBuilder()
    if kind == "collect":
        text = "\n".join([
            f"<b>{escape(rnd.title)}</b>",
            _("Your aiyl okmotu asks the residents of {village}: which problems of the village matter most "
              "to you? Name up to five.").format(village=place_name(village, language)),
            hint(),
            *([_("Problems are collected until {when}.").format(when=fmt.datetime(rnd.collect_ends_at))]
              if rnd.collect_ends_at else []),
        ])
        builder.button(text=_("Name problems"), callback_data=CollectCB(a="start", r=rnd.id))
    elif kind == "dates":
        when = rnd.vote_ends_at if rnd.phase == "voting" else rnd.collect_ends_at
        text = "\n".join([f"<b>{escape(rnd.title)}</b>", _("New dates for {village}: open until {when}.").format(
            village=place_name(village, language), when=fmt.datetime(when) if when else "—")])
        if rnd.phase == "voting":
            builder.button(text=_("Open the ballot"), callback_data=BallotCB(a="o", r=rnd.id, v=village.id))
        else:
            builder.button(text=_("Name problems"), callback_data=CollectCB(a="start", r=rnd.id))
    elif kind in ("ballot", "remind"):
        lead = (_("Voting is open: choose up to five priority problems of {village}.") if kind == "ballot"
                else _("Reminder: you have not voted yet on the priority problems of {village}."))
        text = "\n".join([
            f"<b>{escape(rnd.title)}</b>", lead.format(village=place_name(village, language)),
            *([_("Voting closes on {when}.").format(when=fmt.datetime(rnd.vote_ends_at))]
              if rnd.vote_ends_at else []),
        ])
        builder.button(text=_("Open the ballot"), callback_data=BallotCB(a="o", r=rnd.id, v=village.id))
    else:
        assert results is not None
        return _("Results of the vote:") + "\n" + results_text(results, language, fmt, village_id=village.id), None
    return text, builder.as_markup()


def rounds_keyboard(rounds: list[VotingRound]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for rnd in rounds[:20]:
        builder.button(text=f"#{rnd.id} {rnd.title} — {phase_label(rnd.phase)}",
                       callback_data=RoundCB(a="show", r=rnd.id))
    builder.adjust(1)
    return builder.as_markup()


def export_keyboard(rnd: VotingRound) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for action, label in (("csv", _("Export CSV")), ("xlsx", _("Export XLSX"))):
        builder.button(text=label, callback_data=RoundCB(a=action, r=rnd.id))
    if rnd.phase == "closed" and rnd.results_published_at is None:
        builder.button(text=_("Publish the results to villagers"), callback_data=RoundCB(a="pubres", r=rnd.id))
    builder.adjust(2)
    return builder.as_markup()


def age_bands_keyboard(round_id: int, bands: list[str]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for index, band in enumerate(bands):
        builder.button(text=age_band_label(band), callback_data=SessionCB(a="band", r=round_id, id=index))
    return builder.as_markup()


def save_session_keyboard(round_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Save"), callback_data=SessionCB(a="save", r=round_id, id=0))
    return builder.as_markup()


def summary_keyboard(data: BallotCB) -> InlineKeyboardMarkup:
    """Under the ballot's summary: confirm it, or go back and change it."""
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=_("✅ Confirm"), callback_data=BallotCB(a="c", r=data.r, v=data.v, m=data.m).pack()),
        InlineKeyboardButton(text=_("✏️ Change"), callback_data=BallotCB(a="e", r=data.r, v=data.v, m=data.m).pack()),
    ]])


def done_keyboard(round_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Done"), callback_data=CollectCB(a="done", r=round_id))
    return builder.as_markup()


def aimaks_keyboard(aimaks: list[AiylAimak], language: str) -> InlineKeyboardMarkup:
    return places_keyboard(aimaks, language, lambda aimak: NewRoundCB(a="aimak", id=aimak.id))


def session_villages_keyboard(round_id: int, villages: list[Village], language: str) -> InlineKeyboardMarkup:
    return places_keyboard(villages, language, lambda village: SessionCB(a="village", r=round_id, id=village.id))
