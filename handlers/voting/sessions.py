"""Organisers enter offline voting sessions, step by step in the chat or as a CSV file."""

from __future__ import annotations

import io

from aiogram import Bot, F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.people.views import age_band_label
from handlers.voting import views
from handlers.voting.buttons import SessionCB
from handlers.voting.common import fmt_of, refuse
from handlers.voting.states import ImportSessions, SessionEntry
from handlers.voting.views import organiser_refusal
from services import voting
from services.places import place_name
from services.roles import Role, Roles
from services.voting import SessionInput, VotingError
from storage.models import Village
from storage.voting import VotingRound

router = Routes("voting_sessions")
router.message.filter(HasRole(Role.ORGANISER))


@router.callback_query(SessionEntry.village, SessionCB.filter(F.a == "village"))
async def on_session_village(query: CallbackQuery, message: Message, callback_data: SessionCB, state: FSMContext,
                             session: AsyncSession, roles: Roles, settings: Settings) -> None:
    try:
        rnd = await voting.round_for_organiser(session, roles, callback_data.r)
        if callback_data.id not in {v.id for v in await voting.round_villages(session, rnd.id)}:
            raise VotingError("not_in_round")
    except VotingError as exc:
        await refuse(query, exc)
        return
    await query.answer()
    await state.update_data(vr_village=callback_data.id)
    await state.set_state(SessionEntry.band)
    await message.edit_text(_("Age group of the session?"),
                            reply_markup=views.age_bands_keyboard(rnd.id, settings.age_bands))


@router.callback_query(SessionEntry.band, SessionCB.filter(F.a == "band"))
async def on_session_band(query: CallbackQuery, message: Message, callback_data: SessionCB, state: FSMContext,
                          settings: Settings) -> None:
    if not 0 <= callback_data.id < len(settings.age_bands):
        await refuse(query, VotingError("bad_age_band", value=str(callback_data.id)))
        return
    await query.answer()
    await state.update_data(vr_band=settings.age_bands[callback_data.id])
    await state.set_state(SessionEntry.held_on)
    await message.edit_text(_("Date of the session, e.g. 12.03.2026:"))


@router.message(SessionEntry.held_on, F.text, ~F.text.startswith("/"))
async def on_session_date(message: Message, state: FSMContext) -> None:
    try:
        held_on = voting.parse_date(message.text or "")
    except VotingError as exc:
        await refuse(message, exc)
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
        await refuse(message, VotingError("bad_participants"))
        return
    await state.update_data(vr_participants=int(text))
    await state.set_state(SessionEntry.women)
    await message.answer(_("Of them, how many women?"))


@router.message(SessionEntry.women, F.text, ~F.text.startswith("/"))
async def on_session_women(message: Message, state: FSMContext, session: AsyncSession, i18n: I18n) -> None:
    text = (message.text or "").strip()
    data = await state.get_data()
    if not text.isdigit():
        await refuse(message, VotingError("bad_number"))
        return
    if int(text) > data["vr_participants"]:
        await refuse(message, VotingError("women_over_participants"))
        return
    await state.update_data(vr_women=int(text))
    await state.set_state(SessionEntry.votes)
    rnd = await voting.get_round(session, data["vr_round"])
    known = "\n".join(f"#{p.id} {escape(voting.problem_title(p, i18n.current_locale))}"
                      for p in await voting.problems_of(session, data["vr_round"]) if p.merged_into_id is None)
    await message.answer(_("Votes per problem, one per line: the problem's number or title, then its votes, e.g. "
                           "“#3 12” or “Inner roads: 12”. A new title adds a problem.") + (
        "\n\n" + known if known and rnd is not None else ""))


@router.message(SessionEntry.votes, F.text, ~F.text.startswith("/"))
async def on_session_votes(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n,
                           settings: Settings) -> None:
    assert message.text is not None
    data = await state.get_data()
    try:
        rows = voting.parse_vote_lines(message.text)
        voting.check_session(SessionInput(data["vr_village"], data["vr_band"], voting.parse_date(data["vr_date"]),
                                          data["vr_place"], data["vr_participants"], data["vr_women"],
                                          {i: v for i, (_name, v) in enumerate(rows)}))
    except VotingError as exc:
        await refuse(message, exc)
        return
    await state.update_data(vr_votes=rows)
    await state.set_state(SessionEntry.confirm)
    village = await session.get(Village, data["vr_village"])
    fmt = fmt_of(i18n, settings)
    lines = [_("{village}, {band}, {date}, {place}: {participants} participants, of them women {women}.").format(
        village=place_name(village, i18n.current_locale) if village else "?", band=age_band_label(data["vr_band"]),
        date=fmt.date(voting.parse_date(data["vr_date"])), place=escape(data["vr_place"]),
        participants=fmt.number(data["vr_participants"]), women=fmt.number(data["vr_women"]))]
    # A problem given by its number is shown by its title, so the organiser checks what they meant.
    titles = {f"#{p.id}": voting.problem_title(p, i18n.current_locale)
              for p in await voting.problems_of(session, data["vr_round"])}
    named = [(titles.get("".join(name.split()), name), votes) for name, votes in rows]
    lines += [f"• {escape(name)}: {fmt.number(votes)}" for name, votes in named]
    await message.answer("\n".join(lines), reply_markup=views.save_session_keyboard(data["vr_round"]))


@router.callback_query(SessionEntry.confirm, SessionCB.filter(F.a == "save"))
async def on_session_save(query: CallbackQuery, message: Message, callback_data: SessionCB, state: FSMContext,
                          session: AsyncSession, roles: Roles, settings: Settings, i18n: I18n) -> None:
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
        await refuse(query, exc)
        return
    await state.clear()
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(_("The session result is saved.") if created else
                         _("The session result replaces the one entered before for the same session."))
    await warn_double_counts(message, session, rnd, i18n, settings)


@router.message(ImportSessions.file, F.document)
async def on_sessions_file(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, bot: Bot,
                           settings: Settings, i18n: I18n) -> None:
    assert message.document is not None and message.from_user is not None
    data = await state.get_data()
    fmt = fmt_of(i18n, settings)
    try:
        rnd = await voting.round_for_organiser(session, roles, int(data.get("vr_round") or 0))
    except VotingError as exc:
        await refuse(message, exc)
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
    parts = [ngettext("{count} new session", "{count} new sessions", report.sessions_added),
             ngettext("{count} replaced", "{count} replaced", report.sessions_replaced),
             ngettext("{count} vote", "{count} votes", report.votes),
             ngettext("{count} new problem", "{count} new problems", report.problems_added)]
    counts = (report.sessions_added, report.sessions_replaced, report.votes, report.problems_added)
    await message.answer(_("Imported: {counts}.").format(
        counts=", ".join(part.format(count=fmt.number(n)) for part, n in zip(parts, counts, strict=True))))
    await warn_double_counts(message, session, rnd, i18n, settings)


async def warn_double_counts(message: Message, session: AsyncSession, rnd: VotingRound, i18n: I18n,
                             settings: Settings) -> None:
    """Nobody counted twice: after a session sheet is entered, the sheets' participants against the phone ballots
    and the attendance answers, village by village."""
    from services import voting_results  # results' texts: loaded when a round has some

    results = await voting.results(session, rnd)
    names = {v.id: place_name(v, i18n.current_locale) for v in results.villages}
    warnings = await voting_results.double_count_warnings(session, results, names, gettext=_, ngettext=ngettext,
                                                          number=fmt_of(i18n, settings).number)
    if warnings:
        await message.answer("⚠️ " + "\n\n⚠️ ".join(warnings))
