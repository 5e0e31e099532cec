"""Organisers: /rounds lists voting rounds; /newround creates one step by step; the round card's buttons open
collection, publish the ballot, enter sessions, close, show and publish the results."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.voting import views
from handlers.voting.buttons import NewRoundCB, RoundCB
from handlers.voting.common import fmt_of, parse_local_time, refresh_card, refuse, send_results, start_session_entry
from handlers.voting.pickers import close_confirmation, example_time, problems_keyboard
from handlers.voting.states import ChangeDates, ImportSessions, NewRound
from handlers.voting.views import problems_text, round_card, submissions_text, villages_keyboard
from jobs.voting import cancel_round_tasks, schedule_notices, schedule_round_tasks
from services import voting
from services.places import list_villages
from services.roles import Role, Roles
from services.voting import VotingError
from storage.models import AiylAimak

router = Routes("voting_organiser")
router.message.filter(HasRole(Role.ORGANISER))


@router.message(Command("rounds"))
async def on_rounds(message: Message, session: AsyncSession, roles: Roles, i18n: I18n, settings: Settings) -> None:
    rounds = await voting.rounds_of(session, roles.organiser_of)
    if not rounds:
        await message.answer(_("No voting rounds yet. /newround creates one."))
        return
    await message.answer(_("Voting rounds of your aiyl aimaks:"), reply_markup=views.rounds_keyboard(rounds))


@router.message(Command("newround"))
async def on_new_round(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n) -> None:
    aimaks = sorted(roles.organiser_of)
    await state.clear()
    if len(aimaks) == 1:
        await state.update_data(vr_aimak=aimaks[0])
        await state.set_state(NewRound.title)
        await message.answer(_("Title of the round, e.g. “Needs assessment 2026”:"))
        return
    found = [aimak for aimak in [await session.get(AiylAimak, i) for i in aimaks] if aimak is not None]
    await state.set_state(NewRound.aimak)
    await message.answer(_("For which aiyl aimak?"), reply_markup=views.aimaks_keyboard(found, i18n.current_locale))


@router.callback_query(NewRound.aimak, NewRoundCB.filter(F.a == "aimak"))
async def on_new_round_aimak(query: CallbackQuery, message: Message, callback_data: NewRoundCB, state: FSMContext,
                             roles: Roles) -> None:
    if not roles.may_organise(callback_data.id):
        await refuse(query, VotingError("not_found"))
        return
    await query.answer()
    await state.update_data(vr_aimak=callback_data.id)
    await state.set_state(NewRound.title)
    await message.edit_text(_("Title of the round, e.g. “Needs assessment 2026”:"))


@router.message(NewRound.title, F.text, ~F.text.startswith("/"))
async def on_new_round_title(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    await state.update_data(vr_title=message.text.strip()[:200])
    await state.set_state(NewRound.description)
    await message.answer(_("A short description for villagers (or “-” for none):"))


@router.message(NewRound.description, F.text, ~F.text.startswith("/"))
async def on_new_round_description(message: Message, state: FSMContext, session: AsyncSession, i18n: I18n) -> None:
    assert message.text is not None
    description = "" if message.text.strip() == "-" else message.text.strip()
    data = await state.update_data(vr_description=description)
    villages = await list_villages(session, data["vr_aimak"])
    chosen = {v.id for v in villages}
    await state.update_data(vr_villages=sorted(chosen))
    await state.set_state(NewRound.villages)
    await message.answer(_("Which villages take part? All are chosen; tap to leave one out. Then choose where the "
                           "votes come from, and tap Done."),
                         reply_markup=villages_keyboard(villages, chosen, i18n.current_locale))


@router.callback_query(NewRound.villages, NewRoundCB.filter())
async def on_new_round_village(query: CallbackQuery, message: Message, callback_data: NewRoundCB, state: FSMContext,
                               session: AsyncSession, roles: Roles, settings: Settings, i18n: I18n) -> None:
    data = await state.get_data()
    villages = await list_villages(session, data["vr_aimak"])
    chosen = set(data.get("vr_villages", []))
    mode = data.get("vr_mode", "both")
    if callback_data.a == "mode":
        if not 0 <= callback_data.id < len(voting.MODES):
            await refuse(query, VotingError("bad_mode"))
            return
        mode = voting.MODES[callback_data.id]
        await state.update_data(vr_mode=mode)
        await query.answer()
        await message.edit_reply_markup(reply_markup=villages_keyboard(villages, chosen, i18n.current_locale, mode))
        return
    if callback_data.a == "done":
        if not chosen:
            await refuse(query, VotingError("bad_villages"))
            return
        await query.answer()
        if mode == "sessions":  # no villager takes part by phone: no dates to ask
            await message.edit_reply_markup(reply_markup=None)
            await create_from_state(message, state, session, roles, settings, i18n, by=query.from_user.id)
            return
        await state.set_state(NewRound.collect_ends)
        await message.edit_reply_markup(reply_markup=None)
        await message.answer(_("Until when are problems collected? Date and time like 20.03.2026 18:00 "
                               "(or “-” to close collection by hand)."))
        return
    if callback_data.id not in {v.id for v in villages}:
        await refuse(query, VotingError("bad_villages"))
        return
    chosen ^= {callback_data.id}
    await state.update_data(vr_villages=sorted(chosen))
    await query.answer()
    await message.edit_reply_markup(reply_markup=villages_keyboard(villages, chosen, i18n.current_locale, mode))


@router.message(NewRound.collect_ends, F.text, ~F.text.startswith("/"))
async def on_new_round_collect_ends(message: Message, state: FSMContext, settings: Settings) -> None:
    assert message.text is not None
    if message.text.strip() == "-":
        await state.update_data(vr_collect=None)
    else:
        try:
            await state.update_data(vr_collect=parse_local_time(message.text, settings).isoformat())
        except VotingError as exc:
            await refuse(message, exc)
            return
    await state.set_state(NewRound.vote_ends)
    await message.answer(_("When does voting close? Date and time like 31.03.2026 18:00:"))


@router.message(NewRound.vote_ends, F.text, ~F.text.startswith("/"))
async def on_new_round_vote_ends(message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                                 settings: Settings, i18n: I18n) -> None:
    assert message.text is not None and message.from_user is not None
    try:
        vote_ends = parse_local_time(message.text, settings)
    except VotingError as exc:
        await refuse(message, exc)
        return
    await create_from_state(message, state, session, roles, settings, i18n, by=message.from_user.id,
                            vote_ends=vote_ends)


async def create_from_state(message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                            settings: Settings, i18n: I18n, *, by: int, vote_ends: datetime | None = None) -> None:
    data = await state.get_data()
    try:
        if not roles.may_organise(data.get("vr_aimak")):
            raise VotingError("not_found")
        rnd = await voting.create_round(
            session, aiyl_aimak_id=data["vr_aimak"], title=data["vr_title"], description=data["vr_description"],
            village_ids=data["vr_villages"], vote_ends_at=vote_ends, created_by=by, mode=data.get("vr_mode", "both"),
            collect_ends_at=datetime.fromisoformat(data["vr_collect"]) if data.get("vr_collect") else None)
    except VotingError as exc:
        await refuse(message, exc)
        return
    await state.clear()
    text, markup = await round_card(session, rnd, i18n.current_locale, fmt_of(i18n, settings))
    await message.answer(_("The round is created as a draft.") + "\n\n" + text, reply_markup=markup)


# Round actions (buttons)


@router.callback_query(RoundCB.filter())
async def on_round_action(query: CallbackQuery, message: Message, callback_data: RoundCB, state: FSMContext,
                          session: AsyncSession, roles: Roles, settings: Settings, i18n: I18n, bot: Bot) -> None:
    language, fmt = i18n.current_locale, fmt_of(i18n, settings)
    action = callback_data.a
    try:
        rnd = await voting.round_for_organiser(session, roles, callback_data.r)
        if action == "show":
            await query.answer()
            text, markup = await round_card(session, rnd, language, fmt)
            await message.answer(text, reply_markup=markup)
        elif action == "collect":
            await voting.open_collection(session, rnd, by=query.from_user.id)
            count = await schedule_notices(session, rnd, "collect", by=query.from_user.id,
                                           progress_chat_id=query.from_user.id)
            await query.answer()
            await refresh_card(message, session, rnd, language, fmt)
            await message.answer(ngettext("Collection of problems is open; {count} villager will get the notice.",
                                          "Collection of problems is open; {count} villagers will get the notice.",
                                          count).format(count=fmt.number(count)))
        elif action == "subs":
            await query.answer()
            await message.answer(await submissions_text(session, rnd, language))
        elif action == "probs":
            await query.answer()
            await message.answer(await problems_text(session, rnd, language), reply_markup=problems_keyboard(rnd))
        elif action == "publish":
            ballots = await voting.publish_ballot(session, rnd, by=query.from_user.id)
            await schedule_round_tasks(session, rnd)
            count = await schedule_notices(session, rnd, "ballot", by=query.from_user.id,
                                           progress_chat_id=query.from_user.id)
            await query.answer()
            await refresh_card(message, session, rnd, language, fmt)
            await message.answer(" ".join([
                ngettext("The ballot is published in {villages} village and voting is open.",
                         "The ballot is published in {villages} villages and voting is open.",
                         len(ballots)).format(villages=fmt.number(len(ballots))),
                ngettext("{count} villager will get it.", "{count} villagers will get it.", count).format(
                    count=fmt.number(count))]))
        elif action == "close":  # asks first
            await query.answer()
            text, markup = close_confirmation(rnd)
            await message.answer(text, reply_markup=markup)
        elif action == "closeok":
            closed = await voting.close_round(session, rnd, by=query.from_user.id)
            await cancel_round_tasks(session, rnd)
            await query.answer(_("Voting is closed.") if closed else _("Voting was already closed."))
            await refresh_card(message, session, rnd, language, fmt)
            await send_results(message, session, rnd, language, fmt)
        elif action == "dates":
            if rnd.phase not in ("collecting", "voting"):
                raise VotingError("wrong_phase", phase=rnd.phase)
            await query.answer()
            await state.set_state(ChangeDates.ends)
            await state.update_data(vr_round=rnd.id)
            ends = _("voting") if rnd.phase == "voting" else _("collection of problems")
            await message.answer(_("New end of {what}: date and time like {example}.").format(
                what=ends, example=example_time(voting.future_example(), settings.zone)))
        elif action in ("res", "asv"):
            await query.answer()
            await send_results(message, session, rnd, language, fmt, merged=action == "res")
        elif action == "pubres":
            if not await voting.publish_results(session, rnd, by=query.from_user.id):
                await query.answer(_("The results were already published."), show_alert=True)
                return
            count = await schedule_notices(session, rnd, "results", by=query.from_user.id,
                                           progress_chat_id=query.from_user.id)
            await query.answer()
            await message.answer(ngettext("The results go to {count} villager.", "The results go to {count} villagers.",
                                          count).format(count=fmt.number(count)))
        elif action in ("csv", "xlsx"):
            await query.answer()
            from services.voting_report import tables, to_csv, to_xlsx  # loaded on first use, not at start-up

            results = await voting.results(session, rnd)
            parts = tables(results, gettext=_, language=language, zone=settings.zone, age_bands=settings.age_bands,
                           ngettext=ngettext)
            data = to_csv(parts, language=language) if action == "csv" else to_xlsx(parts, language=language)
            await message.answer_document(BufferedInputFile(data, filename=f"needs-assessment-{rnd.id}.{action}"),
                                          caption=_("Needs assessment: {title}").format(title=escape(rnd.title)))
        elif action == "sess":
            await query.answer()
            await start_session_entry(message, state, session, rnd, language)
        elif action == "imp":
            await query.answer()
            await state.set_state(ImportSessions.file)
            await state.update_data(vr_round=rnd.id)
            await message.answer(_("Send the CSV file of session results. Columns: {columns}; one row per "
                                   "session and problem.").format(columns=", ".join(voting.session_headers(language))))
        else:
            raise VotingError("not_found")
    except VotingError as exc:
        await refuse(query, exc)


@router.message(ChangeDates.ends, F.text, ~F.text.startswith("/"))
async def on_change_dates(message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                          settings: Settings, i18n: I18n) -> None:
    """A new end time while the round is open: the tasks move, and those who have not voted hear of it."""
    assert message.text is not None and message.from_user is not None
    data = await state.get_data()
    try:
        rnd = await voting.round_for_organiser(session, roles, int(data.get("vr_round", 0)))
        ends = parse_local_time(message.text, settings)
        field = {"vote_ends_at": ends} if rnd.phase == "voting" else {"collect_ends_at": ends}
        changed = await voting.change_dates(session, rnd, by=message.from_user.id, **field)
    except VotingError as exc:
        await refuse(message, exc)
        return
    await state.clear()
    fmt = fmt_of(i18n, settings)
    count = 0
    if changed:
        if rnd.phase == "voting":
            await schedule_round_tasks(session, rnd)
        count = await schedule_notices(session, rnd, "dates", by=message.from_user.id,
                                       progress_chat_id=message.chat.id)
    await message.answer(ngettext("New end: {when}. {count} villager who has not voted yet will hear of it.",
                                  "New end: {when}. {count} villagers who have not voted yet will hear of it.",
                                  count).format(when=fmt.datetime(ends), count=fmt.number(count)))
