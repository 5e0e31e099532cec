"""Priority voting for organisers: create a round, open collection, group submissions into problems (tags,
merges), publish the ballot, enter offline sessions (chat or CSV), close, results (text, chart), export and
publish. Every button re-checks that the round belongs to one of the organiser's aiyl aimaks."""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime

from aiogram import Bot, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.i18n import Formatter
from bot.routes import Routes
from bot.settings import Settings
from handlers.views import age_band_label
from handlers.voting import competence_label, organiser_refusal, phase_label, results_text
from jobs.voting import cancel_round_tasks, queue_notices, schedule_round_tasks
from services import voting
from services.places import list_villages, place_name
from services.roles import Role, Roles
from services.voting import SessionInput, VotingError
from services.voting_report import chart_png, tables, to_csv, to_xlsx
from storage.models import AiylAimak, Village
from storage.voting import VotingRound

log = logging.getLogger("jamaat.voting")
router = Routes("voting_organiser")
router.message.filter(HasRole(Role.ORGANISER))


class RoundCB(CallbackData, prefix="vr"):
    a: str
    r: int


class NewRoundCB(CallbackData, prefix="vn"):
    a: str  # "aimak", "village" (toggle), "done"
    id: int


class SessionCB(CallbackData, prefix="vs"):
    a: str  # "village", "band", "save"
    r: int
    id: int


class NewRound(StatesGroup):
    aimak = State()
    title = State()
    description = State()
    villages = State()
    collect_ends = State()
    vote_ends = State()


class SessionEntry(StatesGroup):
    village = State()
    band = State()
    held_on = State()
    place = State()
    participants = State()
    women = State()
    votes = State()
    confirm = State()


class ImportSessions(StatesGroup):
    file = State()


def _fmt(i18n: I18n, settings: Settings) -> Formatter:
    return Formatter(i18n.current_locale, settings.zone)


def parse_local_time(text: str, settings: Settings) -> datetime:
    """"25.03.2026 18:00" (or a date alone: 23:59) in the municipality's time zone."""
    text = text.strip()
    for pattern in ("%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text, pattern)
        except ValueError:
            continue
        if "%H" not in pattern:
            moment = moment.replace(hour=23, minute=59)
        return moment.replace(tzinfo=settings.zone)
    raise VotingError("bad_date", value=text[:40])


async def _refuse(target: Message | CallbackQuery, exc: VotingError) -> None:
    text = organiser_refusal(exc.code, exc.detail)
    user = target.from_user.id if target.from_user else 0
    log.warning("voting: organiser %s refused: %s %s", user, exc.code, exc.detail)
    if isinstance(target, CallbackQuery):
        await target.answer(text, show_alert=True)
    else:
        await target.answer(text)


# Rounds


async def round_card(session: AsyncSession, rnd: VotingRound, language: str,
                     fmt: Formatter) -> tuple[str, InlineKeyboardMarkup]:
    aimak = await session.get(AiylAimak, rnd.aiyl_aimak_id)
    villages = await voting.round_villages(session, rnd.id)
    lines = [f"<b>{rnd.title}</b> (#{rnd.id})",
             _("Aiyl aimak: {name}").format(name=place_name(aimak, language) if aimak else "—"),
             _("Villages: {names}").format(names=", ".join(place_name(v, language) for v in villages)),
             _("Phase: {phase}").format(phase=phase_label(rnd.phase))]
    if rnd.collect_ends_at:
        lines.append(_("Collection ends: {when}").format(when=fmt.datetime(rnd.collect_ends_at)))
    if rnd.vote_ends_at:
        lines.append(_("Voting ends: {when}").format(when=fmt.datetime(rnd.vote_ends_at)))
    lines.append(_("Reminders: {hours} hours before the close").format(
        hours=", ".join(str(h) for h in rnd.reminder_hours or []) or "—"))
    builder = InlineKeyboardBuilder()
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
    if rnd.phase != "draft":
        buttons += [("sess", _("Add a session result")), ("imp", _("Import sessions (CSV)"))]
    for action, text in buttons:
        builder.button(text=text, callback_data=RoundCB(a=action, r=rnd.id))
    builder.adjust(2)
    lines.append(_("Commands: /problem {id} SUBMISSIONS TITLE_KY | TITLE_RU, /tag PROBLEM local|delegated|outside, "
                   "/merge PROBLEM INTO_PROBLEM, /unmerge MERGE, /reminders {id} 48,24,2, /ballot RECEIPT")
                 .format(id=rnd.id))
    return "\n".join(lines), builder.as_markup()


@router.message(Command("rounds"))
async def on_rounds(message: Message, session: AsyncSession, roles: Roles, i18n: I18n, settings: Settings) -> None:
    rounds = await voting.rounds_of(session, roles.organiser_of)
    if not rounds:
        await message.answer(_("No voting rounds yet. /newround creates one."))
        return
    builder = InlineKeyboardBuilder()
    for rnd in rounds[:20]:
        builder.button(text=f"#{rnd.id} {rnd.title} — {phase_label(rnd.phase)}",
                       callback_data=RoundCB(a="show", r=rnd.id))
    builder.adjust(1)
    await message.answer(_("Voting rounds of your aiyl aimaks:"), reply_markup=builder.as_markup())


@router.message(Command("newround"))
async def on_new_round(message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                       i18n: I18n) -> None:
    aimaks = sorted(roles.organiser_of)
    await state.clear()
    if len(aimaks) == 1:
        await state.update_data(vr_aimak=aimaks[0])
        await state.set_state(NewRound.title)
        await message.answer(_("Title of the round, e.g. “Needs assessment 2026”:"))
        return
    builder = InlineKeyboardBuilder()
    for aimak_id in aimaks:
        aimak = await session.get(AiylAimak, aimak_id)
        if aimak is not None:
            builder.button(text=place_name(aimak, i18n.current_locale),
                           callback_data=NewRoundCB(a="aimak", id=aimak_id))
    builder.adjust(2)
    await state.set_state(NewRound.aimak)
    await message.answer(_("For which aiyl aimak?"), reply_markup=builder.as_markup())


@router.callback_query(NewRound.aimak, NewRoundCB.filter(F.a == "aimak"))
async def on_new_round_aimak(query: CallbackQuery, callback_data: NewRoundCB, state: FSMContext,
                             roles: Roles) -> None:
    assert isinstance(query.message, Message)
    if not roles.may_organise(callback_data.id):
        await _refuse(query, VotingError("not_found"))
        return
    await query.answer()
    await state.update_data(vr_aimak=callback_data.id)
    await state.set_state(NewRound.title)
    await query.message.edit_text(_("Title of the round, e.g. “Needs assessment 2026”:"))


@router.message(NewRound.title, F.text, ~F.text.startswith("/"))
async def on_new_round_title(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    await state.update_data(vr_title=message.text.strip()[:200])
    await state.set_state(NewRound.description)
    await message.answer(_("A short description for villagers (or “-” for none):"))


def villages_keyboard(villages: list[Village], chosen: set[int], language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for village in villages:
        mark = "✅" if village.id in chosen else "▫️"
        builder.button(text=f"{mark} {place_name(village, language)}",
                       callback_data=NewRoundCB(a="village", id=village.id))
    builder.button(text=_("Done"), callback_data=NewRoundCB(a="done", id=0))
    builder.adjust(2)
    return builder.as_markup()


@router.message(NewRound.description, F.text, ~F.text.startswith("/"))
async def on_new_round_description(message: Message, state: FSMContext, session: AsyncSession, i18n: I18n) -> None:
    assert message.text is not None
    description = "" if message.text.strip() == "-" else message.text.strip()
    data = await state.update_data(vr_description=description)
    villages = await list_villages(session, data["vr_aimak"])
    chosen = {v.id for v in villages}
    await state.update_data(vr_villages=sorted(chosen))
    await state.set_state(NewRound.villages)
    await message.answer(_("Which villages take part? All are chosen; tap to leave one out."),
                         reply_markup=villages_keyboard(villages, chosen, i18n.current_locale))


@router.callback_query(NewRound.villages, NewRoundCB.filter())
async def on_new_round_village(query: CallbackQuery, callback_data: NewRoundCB, state: FSMContext,
                               session: AsyncSession, i18n: I18n) -> None:
    assert isinstance(query.message, Message)
    data = await state.get_data()
    villages = await list_villages(session, data["vr_aimak"])
    chosen = set(data.get("vr_villages", []))
    if callback_data.a == "done":
        if not chosen:
            await _refuse(query, VotingError("bad_villages"))
            return
        await query.answer()
        await state.set_state(NewRound.collect_ends)
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(_("Until when are problems collected? Date and time like 20.03.2026 18:00 "
                                     "(or “-” to close collection by hand)."))
        return
    if callback_data.id not in {v.id for v in villages}:
        await _refuse(query, VotingError("bad_villages"))
        return
    chosen ^= {callback_data.id}
    await state.update_data(vr_villages=sorted(chosen))
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=villages_keyboard(villages, chosen, i18n.current_locale))


@router.message(NewRound.collect_ends, F.text, ~F.text.startswith("/"))
async def on_new_round_collect_ends(message: Message, state: FSMContext, settings: Settings) -> None:
    assert message.text is not None
    if message.text.strip() == "-":
        await state.update_data(vr_collect=None)
    else:
        try:
            await state.update_data(vr_collect=parse_local_time(message.text, settings).isoformat())
        except VotingError as exc:
            await _refuse(message, exc)
            return
    await state.set_state(NewRound.vote_ends)
    await message.answer(_("When does voting close? Date and time like 31.03.2026 18:00:"))


@router.message(NewRound.vote_ends, F.text, ~F.text.startswith("/"))
async def on_new_round_vote_ends(message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                                 settings: Settings, i18n: I18n) -> None:
    assert message.text is not None and message.from_user is not None
    data = await state.get_data()
    try:
        vote_ends = parse_local_time(message.text, settings)
        if not roles.may_organise(data.get("vr_aimak")):
            raise VotingError("not_found")
        rnd = await voting.create_round(
            session, aiyl_aimak_id=data["vr_aimak"], title=data["vr_title"], description=data["vr_description"],
            village_ids=data["vr_villages"], vote_ends_at=vote_ends, created_by=message.from_user.id,
            collect_ends_at=datetime.fromisoformat(data["vr_collect"]) if data.get("vr_collect") else None)
    except VotingError as exc:
        await _refuse(message, exc)
        return
    await state.clear()
    text, markup = await round_card(session, rnd, i18n.current_locale, _fmt(i18n, settings))
    await message.answer(_("The round is created as a draft.") + "\n\n" + text, reply_markup=markup)


# Round actions (buttons)


@router.callback_query(RoundCB.filter())
async def on_round_action(query: CallbackQuery, callback_data: RoundCB, state: FSMContext, session: AsyncSession,
                          roles: Roles, settings: Settings, i18n: I18n, bot: Bot) -> None:
    assert isinstance(query.message, Message)
    language, fmt = i18n.current_locale, _fmt(i18n, settings)
    action = callback_data.a
    try:
        rnd = await voting.round_for_organiser(session, roles, callback_data.r)
        if action == "show":
            await query.answer()
            text, markup = await round_card(session, rnd, language, fmt)
            await query.message.answer(text, reply_markup=markup)
        elif action == "collect":
            await voting.open_collection(session, rnd, by=query.from_user.id)
            count = await queue_notices(session, i18n, settings, rnd, "collect", by=query.from_user.id,
                                        progress_chat_id=query.from_user.id)
            await query.answer()
            await refresh_card(query.message, session, rnd, language, fmt)
            await query.message.answer(_("Collection of problems is open; {count} villagers will get the notice.")
                                       .format(count=fmt.number(count)))
        elif action == "subs":
            await query.answer()
            await query.message.answer(await submissions_text(session, rnd, language))
        elif action == "probs":
            await query.answer()
            await query.message.answer(await problems_text(session, rnd, language))
        elif action == "publish":
            ballots = await voting.publish_ballot(session, rnd, by=query.from_user.id)
            await schedule_round_tasks(session, rnd)
            count = await queue_notices(session, i18n, settings, rnd, "ballot", by=query.from_user.id,
                                        progress_chat_id=query.from_user.id)
            await query.answer()
            await refresh_card(query.message, session, rnd, language, fmt)
            await query.message.answer(_("The ballot is published in {villages} villages and voting is open; "
                                         "{count} villagers will get it.").format(
                villages=fmt.number(len(ballots)), count=fmt.number(count)))
        elif action == "close":
            closed = await voting.close_round(session, rnd, by=query.from_user.id)
            await cancel_round_tasks(session, rnd)
            await query.answer(_("Voting is closed.") if closed else _("Voting was already closed."))
            await refresh_card(query.message, session, rnd, language, fmt)
            await send_results(query.message, session, rnd, language, fmt)
        elif action in ("res", "asv"):
            await query.answer()
            await send_results(query.message, session, rnd, language, fmt, merged=action == "res")
        elif action == "pubres":
            if not await voting.publish_results(session, rnd, by=query.from_user.id):
                await query.answer(_("The results were already published."), show_alert=True)
                return
            count = await queue_notices(session, i18n, settings, rnd, "results", by=query.from_user.id,
                                        progress_chat_id=query.from_user.id)
            await query.answer()
            await query.message.answer(_("The results go to {count} villagers.").format(count=fmt.number(count)))
        elif action in ("csv", "xlsx"):
            await query.answer()
            results = await voting.results(session, rnd)
            parts = tables(results, gettext=_, language=language, zone=settings.zone)
            data = to_csv(parts, language=language) if action == "csv" else to_xlsx(parts, language=language)
            await query.message.answer_document(BufferedInputFile(data, filename=f"needs-assessment-{rnd.id}.{action}"),
                                                caption=_("Needs assessment: {title}").format(title=rnd.title))
        elif action == "sess":
            await query.answer()
            await start_session_entry(query.message, state, session, rnd, language)
        elif action == "imp":
            await query.answer()
            await state.set_state(ImportSessions.file)
            await state.update_data(vr_round=rnd.id)
            await query.message.answer(_("Send the CSV file of session results. Columns: {columns}; one row per "
                                         "session and problem.").format(columns=", ".join(voting.SESSION_COLUMNS)))
        else:
            raise VotingError("not_found")
    except VotingError as exc:
        await _refuse(query, exc)


async def refresh_card(message: Message, session: AsyncSession, rnd: VotingRound, language: str,
                       fmt: Formatter) -> None:
    """The round card shows the new phase and its buttons."""
    text, markup = await round_card(session, rnd, language, fmt)
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:  # not the card (e.g. an export message), or unchanged
        log.info("voting: round card not edited: %s", exc)
        await message.answer(text, reply_markup=markup)


async def send_results(message: Message, session: AsyncSession, rnd: VotingRound, language: str, fmt: Formatter,
                       *, merged: bool = True) -> None:
    results = await voting.results(session, rnd)
    text = results_text(results, language, fmt, merged=merged)
    if not merged:
        text = _("As voted, before merges:") + "\n" + text
    for start in range(0, len(text), 4000):
        await message.answer(text[start:start + 4000])
    if merged:
        image = chart_png(results, gettext=_, language=language)
        await message.answer_photo(BufferedInputFile(image, filename="results.png"))
    builder = InlineKeyboardBuilder()
    for action, label in (("csv", _("Export CSV")), ("xlsx", _("Export XLSX"))):
        builder.button(text=label, callback_data=RoundCB(a=action, r=rnd.id))
    if rnd.phase == "closed" and rnd.results_published_at is None:
        builder.button(text=_("Publish the results to villagers"), callback_data=RoundCB(a="pubres", r=rnd.id))
    builder.adjust(2)
    await message.answer(_("Export or publish:"), reply_markup=builder.as_markup())


async def submissions_text(session: AsyncSession, rnd: VotingRound, language: str) -> str:
    grouped = await voting.submissions_by_village(session, rnd.id)
    villages = {v.id: v for v in await voting.round_villages(session, rnd.id)}
    blocks = [_("Submissions of “{title}”, by village. Number, text, and the problem it is grouped into:")
              .format(title=rnd.title)]
    for village_id, items in grouped.items():
        name = place_name(villages[village_id], language) if village_id in villages else "?"
        lines = [f"<b>{name}</b> ({len(items)})"]
        lines += [f"{s.id}. {s.text}" + (f" → #{s.problem_id}" if s.problem_id else "") for s in items]
        blocks.append("\n".join(lines))
    if not grouped:
        blocks.append(_("No submissions yet."))
    return "\n\n".join(blocks)[:4000]


async def problems_text(session: AsyncSession, rnd: VotingRound, language: str) -> str:
    problems = await voting.problems_of(session, rnd.id)
    lines = [_("Problems of “{title}”:").format(title=rnd.title)]
    for problem in problems:
        line = f"#{problem.id} {problem.title_ky} | {problem.title_ru} — {competence_label(problem.competence)}"
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


# Problems, tags, merges: text commands


async def _round_of_problem(session: AsyncSession, roles: Roles, problem_id: int) -> VotingRound:
    from storage.voting import Problem

    problem = await session.get(Problem, problem_id)
    if problem is None:
        raise VotingError("unknown_problem", id=problem_id)
    try:
        return await voting.round_for_organiser(session, roles, problem.round_id)
    except VotingError:
        raise VotingError("unknown_problem", id=problem_id) from None


@router.message(Command("problem"))
async def on_problem(message: Message, command: CommandObject, session: AsyncSession, roles: Roles,
                     i18n: I18n) -> None:
    assert message.from_user is not None
    match = re.fullmatch(r"\s*(\d+)\s+([\d,]+\*?|-)\s+(.+)", command.args or "", re.S)
    if not match:
        await message.answer(_("Use: /problem ROUND SUBMISSIONS TITLE_KY | TITLE_RU, e.g. /problem 3 4,7,9 Ичүүчү "
                               "суу жок | Нет питьевой воды. The problem goes on the ballots of the submissions' "
                               "villages; add “*” after the numbers (4,7,9*) to put it on every village's ballot, or "
                               "use “-” instead of numbers for a problem without submissions, on every ballot."))
        return
    try:
        rnd = await voting.round_for_organiser(session, roles, int(match.group(1)))
        ids = [int(x) for x in re.findall(r"\d+", match.group(2))]
        title_ky, title_ru = voting.split_titles(match.group(3))
        problem = await voting.add_problem(session, rnd, title_ky=title_ky, title_ru=title_ru, submission_ids=ids,
                                           all_villages=not ids or match.group(2).endswith("*"),
                                           by=message.from_user.id)
    except VotingError as exc:
        await _refuse(message, exc)
        return
    await message.answer(_("Problem #{id} added: {title}.").format(
        id=problem.id, title=voting.problem_title(problem, i18n.current_locale)))


@router.message(Command("tag"))
async def on_tag(message: Message, command: CommandObject, session: AsyncSession, roles: Roles) -> None:
    assert message.from_user is not None
    parts = (command.args or "").split()
    if len(parts) != 2 or not parts[0].lstrip("#").isdigit():
        await message.answer(_("Use: /tag PROBLEM local|delegated|outside"))
        return
    try:
        rnd = await _round_of_problem(session, roles, int(parts[0].lstrip("#")))
        problem = await voting.tag_problem(session, rnd, int(parts[0].lstrip("#")), parts[1].lower(),
                                           by=message.from_user.id)
    except VotingError as exc:
        await _refuse(message, exc)
        return
    await message.answer(_("Problem #{id}: {competence}.").format(id=problem.id,
                                                                   competence=competence_label(problem.competence)))


@router.message(Command("merge"))
async def on_merge(message: Message, command: CommandObject, session: AsyncSession, roles: Roles,
                   i18n: I18n) -> None:
    assert message.from_user is not None
    parts = [p.lstrip("#") for p in (command.args or "").split()]
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        await message.answer(_("Use: /merge PROBLEM INTO_PROBLEM, e.g. /merge 12 7 counts #12 with #7."))
        return
    try:
        rnd = await _round_of_problem(session, roles, int(parts[0]))
        merge = await voting.merge_problems(session, rnd, int(parts[0]), int(parts[1]), by=message.from_user.id)
    except VotingError as exc:
        await _refuse(message, exc)
        return
    await message.answer(_("Merge {id}: #{source} is now counted with #{target}. /unmerge {id} undoes it.").format(
        id=merge.id, source=merge.source_id, target=merge.target_id))


@router.message(Command("unmerge"))
async def on_unmerge(message: Message, command: CommandObject, session: AsyncSession, roles: Roles) -> None:
    assert message.from_user is not None
    arg = (command.args or "").strip().lstrip("#")
    if not arg.isdigit():
        await message.answer(_("Use: /unmerge MERGE (the number /merge gave)."))
        return
    from storage.voting import ProblemMerge

    try:
        merge = await session.get(ProblemMerge, int(arg))
        if merge is None:
            raise VotingError("unknown_merge", id=int(arg))
        try:
            rnd = await voting.round_for_organiser(session, roles, merge.round_id)
        except VotingError:
            raise VotingError("unknown_merge", id=int(arg)) from None
        await voting.undo_merge(session, rnd, merge.id, by=message.from_user.id)
    except VotingError as exc:
        await _refuse(message, exc)
        return
    await message.answer(_("Merge {id} is undone; #{source} is counted on its own again.").format(
        id=merge.id, source=merge.source_id))


@router.message(Command("reminders"))
async def on_reminders(message: Message, command: CommandObject, session: AsyncSession, roles: Roles) -> None:
    match = re.fullmatch(r"\s*(\d+)\s+([\d,\s]+)", command.args or "")
    if not match:
        await message.answer(_("Use: /reminders ROUND HOURS, e.g. /reminders 3 48,24,2 reminds those who have not "
                               "voted 48, 24 and 2 hours before the close."))
        return
    try:
        rnd = await voting.round_for_organiser(session, roles, int(match.group(1)))
        hours = voting.set_reminders(rnd, [int(h) for h in re.findall(r"\d+", match.group(2))])
        if rnd.phase == "voting":
            await schedule_round_tasks(session, rnd)
    except VotingError as exc:
        await _refuse(message, exc)
        return
    await message.answer(_("Reminders: {hours} hours before the close.").format(
        hours=", ".join(str(h) for h in hours)))


@router.message(Command("ballot"))
async def on_ballot_lookup(message: Message, command: CommandObject, session: AsyncSession, roles: Roles,
                           settings: Settings, i18n: I18n) -> None:
    """“Was my vote counted?”: a ballot's history by its receipt code, in the organiser's aiyl aimaks."""
    language, fmt = i18n.current_locale, _fmt(i18n, settings)
    view = await voting.ballot_by_receipt(session, command.args or "", aiyl_aimak_ids=roles.organiser_of)
    if view is None:
        await message.answer(_("No ballot with this receipt code in your aiyl aimaks."))
        return
    problems = {p.id: p for p in await voting.problems_of(session, view.round_id)}
    village = await session.get(Village, view.village_id)
    lines = [_("Ballot {code}, {village}: counted, version {version}.").format(
        code=view.receipt, village=place_name(village, language) if village else "?", version=view.version)]
    for version, at, ids in view.history:
        titles = "; ".join(voting.problem_title(problems[p], language) for p in ids if p in problems)
        lines.append(f"{version}. {fmt.datetime(at)}: {titles}")
    await message.answer("\n".join(lines))


# Offline sessions in chat


async def start_session_entry(message: Message, state: FSMContext, session: AsyncSession, rnd: VotingRound,
                              language: str) -> None:
    await state.clear()
    await state.set_state(SessionEntry.village)
    await state.update_data(vr_round=rnd.id)
    builder = InlineKeyboardBuilder()
    for village in await voting.round_villages(session, rnd.id):
        builder.button(text=place_name(village, language),
                       callback_data=SessionCB(a="village", r=rnd.id, id=village.id))
    builder.adjust(2)
    await message.answer(_("Session result. Which village?"), reply_markup=builder.as_markup())


@router.callback_query(SessionEntry.village, SessionCB.filter(F.a == "village"))
async def on_session_village(query: CallbackQuery, callback_data: SessionCB, state: FSMContext,
                             session: AsyncSession, roles: Roles, settings: Settings) -> None:
    assert isinstance(query.message, Message)
    try:
        rnd = await voting.round_for_organiser(session, roles, callback_data.r)
        if callback_data.id not in {v.id for v in await voting.round_villages(session, rnd.id)}:
            raise VotingError("not_in_round")
    except VotingError as exc:
        await _refuse(query, exc)
        return
    await query.answer()
    await state.update_data(vr_village=callback_data.id)
    await state.set_state(SessionEntry.band)
    builder = InlineKeyboardBuilder()
    for index, band in enumerate(settings.age_bands):
        builder.button(text=age_band_label(band), callback_data=SessionCB(a="band", r=rnd.id, id=index))
    await query.message.edit_text(_("Age group of the session?"), reply_markup=builder.as_markup())


@router.callback_query(SessionEntry.band, SessionCB.filter(F.a == "band"))
async def on_session_band(query: CallbackQuery, callback_data: SessionCB, state: FSMContext,
                          settings: Settings) -> None:
    assert isinstance(query.message, Message)
    if not 0 <= callback_data.id < len(settings.age_bands):
        await _refuse(query, VotingError("bad_age_band", value=str(callback_data.id)))
        return
    await query.answer()
    await state.update_data(vr_band=settings.age_bands[callback_data.id])
    await state.set_state(SessionEntry.held_on)
    await query.message.edit_text(_("Date of the session, e.g. 12.03.2026:"))


@router.message(SessionEntry.held_on, F.text, ~F.text.startswith("/"))
async def on_session_date(message: Message, state: FSMContext) -> None:
    try:
        held_on = voting.parse_date(message.text or "")
    except VotingError as exc:
        await _refuse(message, exc)
        return
    await state.update_data(vr_date=held_on.isoformat())
    await state.set_state(SessionEntry.place)
    await message.answer(_("Place of the session, e.g. “School No. 1”:"))


@router.message(SessionEntry.place, F.text, ~F.text.startswith("/"))
async def on_session_place(message: Message, state: FSMContext) -> None:
    await state.update_data(vr_place=(message.text or "").strip()[:200])
    await state.set_state(SessionEntry.participants)
    await message.answer(_("How many participants?"))


@router.message(SessionEntry.participants, F.text, ~F.text.startswith("/"))
async def on_session_participants(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if not text.isdigit() or int(text) <= 0:
        await _refuse(message, VotingError("bad_participants"))
        return
    await state.update_data(vr_participants=int(text))
    await state.set_state(SessionEntry.women)
    await message.answer(_("Of them, how many women?"))


@router.message(SessionEntry.women, F.text, ~F.text.startswith("/"))
async def on_session_women(message: Message, state: FSMContext, session: AsyncSession, i18n: I18n) -> None:
    text = (message.text or "").strip()
    data = await state.get_data()
    if not text.isdigit():
        await _refuse(message, VotingError("bad_number"))
        return
    if int(text) > data["vr_participants"]:
        await _refuse(message, VotingError("women_over_participants"))
        return
    await state.update_data(vr_women=int(text))
    await state.set_state(SessionEntry.votes)
    rnd = await voting.get_round(session, data["vr_round"])
    known = "\n".join(f"#{p.id} {voting.problem_title(p, i18n.current_locale)}"
                      for p in await voting.problems_of(session, data["vr_round"]) if p.merged_into_id is None)
    await message.answer(_("Votes per problem, one per line: the problem's number or title, then its votes, e.g. "
                           "“#3 12” or “Inner roads: 12”. A new title adds a problem.") + (
        "\n\n" + known if known and rnd is not None else ""))


@router.message(SessionEntry.votes, F.text, ~F.text.startswith("/"))
async def on_session_votes(message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                           i18n: I18n, settings: Settings) -> None:
    assert message.text is not None
    data = await state.get_data()
    try:
        rows = voting.parse_vote_lines(message.text)
        voting.check_session(SessionInput(data["vr_village"], data["vr_band"], voting.parse_date(data["vr_date"]),
                                          data["vr_place"], data["vr_participants"], data["vr_women"],
                                          {i: v for i, (_name, v) in enumerate(rows)}))
    except VotingError as exc:
        await _refuse(message, exc)
        return
    await state.update_data(vr_votes=rows)
    await state.set_state(SessionEntry.confirm)
    village = await session.get(Village, data["vr_village"])
    fmt = _fmt(i18n, settings)
    lines = [_("{village}, {band}, {date}, {place}: {participants} participants, of them women {women}.").format(
        village=place_name(village, i18n.current_locale) if village else "?", band=age_band_label(data["vr_band"]),
        date=fmt.date(voting.parse_date(data["vr_date"])), place=data["vr_place"],
        participants=fmt.number(data["vr_participants"]), women=fmt.number(data["vr_women"]))]
    lines += [f"• {name}: {fmt.number(votes)}" for name, votes in rows]
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Save"), callback_data=SessionCB(a="save", r=data["vr_round"], id=0))
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


@router.callback_query(SessionEntry.confirm, SessionCB.filter(F.a == "save"))
async def on_session_save(query: CallbackQuery, callback_data: SessionCB, state: FSMContext, session: AsyncSession,
                          roles: Roles, settings: Settings) -> None:
    assert isinstance(query.message, Message)
    data = await state.get_data()
    try:
        rnd = await voting.round_for_organiser(session, roles, data["vr_round"])
        if rnd.id != callback_data.r:
            raise VotingError("not_found")
        ids = await voting.find_or_add_problems(session, rnd, [name for name, _v in data["vr_votes"]],
                                                by=query.from_user.id, village_id=data["vr_village"])
        votes: dict[int, int] = {}
        for name, count in data["vr_votes"]:
            votes[ids[name]] = votes.get(ids[name], 0) + count
        _stored, created = await voting.record_session(
            session, rnd, SessionInput(data["vr_village"], data["vr_band"], voting.parse_date(data["vr_date"]),
                                       data["vr_place"], data["vr_participants"], data["vr_women"], votes),
            by=query.from_user.id, source="chat", age_bands=settings.age_bands)
    except VotingError as exc:
        await _refuse(query, exc)
        return
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(_("The session result is saved.") if created else
                               _("The session result replaces the one entered before for the same session."))


@router.message(ImportSessions.file, F.document)
async def on_sessions_file(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, bot: Bot,
                           settings: Settings, i18n: I18n) -> None:
    assert message.document is not None and message.from_user is not None
    data = await state.get_data()
    fmt = _fmt(i18n, settings)
    try:
        rnd = await voting.round_for_organiser(session, roles, int(data.get("vr_round") or 0))
    except VotingError as exc:
        await _refuse(message, exc)
        return
    buffer = io.BytesIO()
    await bot.download(message.document, destination=buffer)
    try:
        report = await voting.import_sessions_csv(session, rnd, buffer.getvalue(), by=message.from_user.id,
                                                  age_bands=settings.age_bands)
    except UnicodeDecodeError:
        await message.answer(_("The file must be CSV text in UTF-8."))
        return
    if report.errors:
        lines = [_("Nothing was imported. Please correct these rows and send the file again:")]
        lines += [_("Row {line}: {problem}").format(line=line, problem=organiser_refusal(e.code, e.detail))
                  for line, e in report.errors[:20]]
        await message.answer("\n".join(lines))
        return
    await state.clear()
    await message.answer(_("Imported: {added} new sessions, {replaced} replaced, {votes} votes, {problems} new "
                           "problems.").format(added=fmt.number(report.sessions_added),
                                               replaced=fmt.number(report.sessions_replaced),
                                               votes=fmt.number(report.votes),
                                               problems=fmt.number(report.problems_added)))
