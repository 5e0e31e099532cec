"""/assist for organisers and village representatives: register a villager without a smartphone (phone number,
first name, consent read aloud), then vote or answer an invitation for them. Every button re-checks the helper's
rights through the services."""

from __future__ import annotations

import logging

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.assist import views
from handlers.assist.buttons import AssistCB
from handlers.assist.states import Assist
from handlers.voting.views import refusal as voting_refusal
from services import assisted, events, voting
from services.assisted import AssistError
from services.phone import InvalidPhone, normalize_phone
from services.places import list_villages, place_name
from services.roles import Roles
from services.voting import MAX_CHOICES, VotingError
from storage.models import AiylAimak, Person, Village
from storage.voting import VotingRound

log = logging.getLogger("jamaat.assist")
router = Routes("assist_helper")

def refusal(error: AssistError) -> str:
    texts = {
        "not_allowed": _("Only organisers and village representatives of this aiyl aimak can do this."),
        "no_consent": _("Without the villager's consent nothing is registered."),
        "bad_phone": _("This does not look like a phone number. Please type it again, e.g. 0700 123 456."),
        "already_registered": _("This phone number is already registered with help; find the villager in the list."),
        "self_registered": _("This villager has registered with their own phone and votes themselves."),
        "unknown_person": _("This villager is not in the list any more."),
        "unknown_village": _("This village is not in the list any more."),
    }
    return texts.get(error.code, _("This button is no longer active."))


async def show_menu(message: Message, session: AsyncSession, roles: Roles, aimak_id: int, language: str) -> None:
    aimak = await session.get(AiylAimak, aimak_id)
    assert aimak is not None
    count = len(await assisted.assisted_people(session, roles, aimak_id))
    await message.answer(views.menu_text(place_name(aimak, language), count),
                         reply_markup=views.menu_keyboard(aimak_id))


@router.message(Command("assist"))
async def on_assist(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n) -> None:
    await state.clear()
    places = sorted(roles.assists_in)
    if not places:
        await message.answer(_("/assist is for organisers and village representatives. Ask your aiyl okmotu if "
                               "you help villagers without a smartphone."))
        return
    if len(places) > 1:
        aimaks = [(a.id, place_name(a, i18n.current_locale)) for a in
                  (await session.scalars(select(AiylAimak).where(AiylAimak.id.in_(places)))).all()]
        await message.answer(_("Which aiyl aimak?"), reply_markup=views.aimaks_keyboard(aimaks))
        return
    await show_menu(message, session, roles, places[0], i18n.current_locale)


@router.callback_query(AssistCB.filter(F.action == "aimak"))
async def on_aimak(query: CallbackQuery, message: Message, callback_data: AssistCB, session: AsyncSession,
                   roles: Roles, i18n: I18n) -> None:
    if not roles.may_assist(callback_data.id):
        await query.answer(refusal(AssistError("not_allowed")), show_alert=True)
        return
    await query.answer()
    await show_menu(message, session, roles, callback_data.id, i18n.current_locale)


# --------------------------------------------------------------------------- registering


@router.callback_query(AssistCB.filter(F.action == "register"))
async def on_register(query: CallbackQuery, message: Message, callback_data: AssistCB, session: AsyncSession,
                      roles: Roles, i18n: I18n) -> None:
    if not roles.may_assist(callback_data.id):
        await query.answer(refusal(AssistError("not_allowed")), show_alert=True)
        return
    await query.answer()
    villages = await list_villages(session, callback_data.id)
    await message.answer(_("The villager's village:"), reply_markup=views.villages_keyboard(villages,
                                                                                        i18n.current_locale))


@router.callback_query(AssistCB.filter(F.action == "village"))
async def on_village(query: CallbackQuery, message: Message, callback_data: AssistCB, state: FSMContext) -> None:
    await query.answer()
    await state.set_state(Assist.phone)
    await state.update_data(village_id=callback_data.id)
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(_("Type the villager's phone number (they will be recognised by it if they ever "
                           "register themselves):"))


@router.message(Assist.phone, F.text & ~F.text.startswith("/"))
async def on_phone(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    try:
        phone = normalize_phone(message.text)
    except InvalidPhone:
        await message.answer(refusal(AssistError("bad_phone")))
        return
    await state.update_data(phone=phone)
    await state.set_state(Assist.name)
    await message.answer(_("The villager's first name:"))


@router.message(Assist.name, F.text & ~F.text.startswith("/"))
async def on_name(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    name = message.text.strip()[:100]
    await state.update_data(name=name)
    await state.set_state(Assist.consent)
    await message.answer(views.consent_text(name), reply_markup=views.consent_keyboard())


@router.callback_query(Assist.consent, AssistCB.filter(F.action == "consent"))
async def on_consent(query: CallbackQuery, message: Message, callback_data: AssistCB, state: FSMContext,
                     session: AsyncSession, roles: Roles, settings: Settings, i18n: I18n) -> None:
    data = await state.get_data()
    await state.clear()
    await message.edit_reply_markup(reply_markup=None)
    assert settings.phone_hash_key is not None
    try:
        person = await assisted.register_assisted(
            session, roles, key=settings.phone_hash_key.get_secret_value(), raw_phone=data["phone"],
            first_name=data["name"], village_id=int(data["village_id"]), consent=bool(callback_data.id))
    except AssistError as error:
        log.info("assisted registration by %s refused: %s", query.from_user.id, error.code)
        await query.answer()
        await message.answer(refusal(error))
        return
    await query.answer()
    home = await session.get(Village, person.village_id)
    village = place_name(home, i18n.current_locale) if home else "—"
    await message.answer(_("Registered: {name}, phone …{tail}, {village}. You can now vote or answer invitations "
                           "for them (/assist).").format(name=escape(person.first_name or "—"),
                                                         tail=person.phone_tail, village=escape(village)))


# --------------------------------------------------------------------------- voting for a villager


@router.callback_query(AssistCB.filter(F.action == "voters"))
async def on_voters(query: CallbackQuery, message: Message, callback_data: AssistCB, session: AsyncSession,
                    roles: Roles) -> None:
    await _choose_person(query, message, callback_data, session, roles, "voter")


@router.callback_query(AssistCB.filter(F.action == "guests"))
async def on_guests(query: CallbackQuery, message: Message, callback_data: AssistCB, session: AsyncSession,
                    roles: Roles) -> None:
    await _choose_person(query, message, callback_data, session, roles, "guest")


async def _choose_person(query: CallbackQuery, message: Message, callback_data: AssistCB, session: AsyncSession,
                         roles: Roles, action: str) -> None:
    try:
        helped = await assisted.assisted_people(session, roles, callback_data.id)
    except AssistError as error:
        await query.answer(refusal(error), show_alert=True)
        return
    await query.answer()
    if not helped:
        await message.answer(_("Nobody is registered with help yet: register the villager first."))
        return
    await message.answer(_("For whom?"), reply_markup=views.people_keyboard(helped, action))


@router.callback_query(AssistCB.filter(F.action == "voter"))
async def on_voter(query: CallbackQuery, message: Message, callback_data: AssistCB, state: FSMContext,
                   session: AsyncSession, roles: Roles, i18n: I18n) -> None:
    try:
        person = await assisted.assisted_person(session, roles, callback_data.id)
    except AssistError as error:
        await query.answer(refusal(error), show_alert=True)
        return
    rounds = [r for r in await voting.open_rounds_for(session, person) if r.phase == "voting"]
    if not rounds:
        await query.answer(_("There is no vote open in this villager's village now."), show_alert=True)
        return
    await query.answer()
    rnd = rounds[0]
    await state.set_state(Assist.ballot)
    await state.update_data(person_id=person.id, round_id=rnd.id, village_id=person.village_id, chosen=[])
    if await voting.ask_attendance(session, rnd, person):  # nobody counted twice, as on the villager's own ballot
        attended = await voting.attendance_of(session, rnd.id, person.id)
        if attended:
            await state.clear()
            await message.answer(views.attended_text(person.first_name or "—"))
            return
        if attended is None:
            village = await session.get(Village, person.village_id)
            assert village is not None
            text, markup = views.attendance_question(person.first_name or "—", village, i18n.current_locale)
            await message.answer(text, reply_markup=markup)
            return
    await show_assisted_ballot(message, session, rnd, person, i18n)


@router.callback_query(Assist.ballot, AssistCB.filter(F.action.in_({"att_y", "att_n"})))
async def on_attendance(query: CallbackQuery, message: Message, callback_data: AssistCB, state: FSMContext,
                        session: AsyncSession, roles: Roles, i18n: I18n) -> None:
    data = await state.get_data()
    try:
        person = await assisted.assisted_person(session, roles, int(data["person_id"]))
        rnd = await voting.get_round(session, int(data["round_id"]))
        await voting.check_ballot(session, rnd, person, person.village_id or 0, [], partial=True)
        assert rnd is not None
        attended = await voting.record_attendance(session, rnd, person, callback_data.action == "att_y")
    except AssistError as error:
        await query.answer(refusal(error), show_alert=True)
        return
    except VotingError as error:
        await query.answer(voting_refusal(error.code, error.detail), show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    if attended:
        await state.clear()
        await message.answer(views.attended_text(person.first_name or "—"))
        return
    await show_assisted_ballot(message, session, rnd, person, i18n)


async def show_assisted_ballot(message: Message, session: AsyncSession, rnd: VotingRound, person: Person,
                               i18n: I18n) -> None:
    problems = await voting.ballot_items(session, rnd, person.village_id or 0)
    await message.answer(
        _("<b>{title}</b>: choose up to {limit} problems as {name} tells you, then confirm.").format(
            title=escape(rnd.title), limit=MAX_CHOICES, name=escape(person.first_name or "—")),
        reply_markup=views.ballot_keyboard(problems, [], i18n.current_locale))


@router.callback_query(Assist.ballot, AssistCB.filter(F.action == "toggle"))
async def on_toggle(query: CallbackQuery, message: Message, callback_data: AssistCB, state: FSMContext,
                    session: AsyncSession, i18n: I18n) -> None:
    data = await state.get_data()
    chosen = list(data.get("chosen", []))
    if callback_data.id in chosen:
        chosen.remove(callback_data.id)
    elif len(chosen) < MAX_CHOICES:
        chosen.append(callback_data.id)
    else:
        await query.answer(_("At most {limit} problems.").format(limit=MAX_CHOICES), show_alert=True)
        return
    await query.answer()
    await state.update_data(chosen=chosen)
    rnd = await voting.get_round(session, int(data["round_id"]))
    if rnd is None:  # rounds are not deleted: nothing to redraw
        return
    problems = await voting.ballot_items(session, rnd, int(data["village_id"]))
    await message.edit_reply_markup(reply_markup=views.ballot_keyboard(problems, chosen, i18n.current_locale))


@router.callback_query(Assist.ballot, AssistCB.filter(F.action == "cast"))
async def on_cast(query: CallbackQuery, message: Message, state: FSMContext, session: AsyncSession,
                  roles: Roles) -> None:
    data = await state.get_data()
    rnd = await voting.get_round(session, int(data["round_id"]))
    try:
        result = await assisted.cast_assisted_ballot(session, roles, rnd, int(data["person_id"]),
                                                     list(data.get("chosen", [])))
    except (AssistError, VotingError) as error:
        log.info("assisted ballot by %s refused: %s", query.from_user.id, error.code)
        await query.answer(refusal(error) if isinstance(error, AssistError) else _("The ballot was not accepted."),
                           show_alert=True)
        return
    await state.clear()
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(_("The ballot is cast and marked as assisted. Receipt for the villager: {receipt}").format(
        receipt=result.receipt))


# --------------------------------------------------------------------------- answering an invitation


@router.callback_query(AssistCB.filter(F.action == "guest"))
async def on_guest(query: CallbackQuery, message: Message, callback_data: AssistCB, state: FSMContext,
                   session: AsyncSession, roles: Roles) -> None:
    try:
        person = await assisted.assisted_person(session, roles, callback_data.id)
    except AssistError as error:
        await query.answer(refusal(error), show_alert=True)
        return
    upcoming = await events.upcoming_for(session, person)
    if not upcoming:
        await query.answer(_("No upcoming meeting concerns this villager."), show_alert=True)
        return
    await query.answer()
    await state.update_data(person_id=person.id)
    await message.answer(_("Which meeting?"), reply_markup=views.events_keyboard(upcoming))


@router.callback_query(AssistCB.filter(F.action == "event"))
async def on_event(query: CallbackQuery, message: Message, callback_data: AssistCB) -> None:
    await query.answer()
    await message.edit_text(_("Will the villager come?"), reply_markup=views.rsvp_keyboard(callback_data.id))


@router.callback_query(AssistCB.filter(F.action.in_({"rsvp_yes", "rsvp_no"})))
async def on_rsvp(query: CallbackQuery, message: Message, callback_data: AssistCB, state: FSMContext,
                  session: AsyncSession, roles: Roles) -> None:
    data = await state.get_data()
    if "person_id" not in data:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    response = "yes" if callback_data.action == "rsvp_yes" else "no"
    try:
        await assisted.respond_assisted(session, roles, callback_data.id, int(data["person_id"]), response)
    except (AssistError, events.EventError) as error:
        await query.answer(refusal(error) if isinstance(error, AssistError) else _("This answer cannot be taken."),
                           show_alert=True)
        return
    await state.clear()
    await query.answer()
    await message.edit_text(_("Saved and marked as assisted."))
