"""/start: language, phone number, aiyl aimak and village, consent, sex and age band; deep links."""

from __future__ import annotations

import logging

from aiogram import Bot, F
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attempt import aside
from bot.i18n import LANGUAGE_NAMES
from bot.menu import main_keyboard
from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.people import views
from handlers.people.buttons import AgeCB, ConsentCB, LanguageCB, PlaceCB, PrivacyCB, SexCB
from handlers.people.common import (
    _after_village,
    ask_age_band,
    ask_aiyl_aimak,
    ask_language,
    ask_phone,
    ask_sex,
    finish,
    may_ask,
    open_start_link,
)
from handlers.people.states import Registration
from handlers.people.views import contact_keyboard, help_text, village_keyboard
from services import channels, people
from services.places import (
    LINK_PREFIX,
    aiyl_aimak_names,
    list_districts,
    list_regions,
    place_name,
    search_places,
    village_by_link,
    village_names,
)
from services.roles import Roles
from storage.models import Person

log = logging.getLogger(__name__)
router = Routes("people_registration")


# Handlers


@router.message(CommandStart())
async def on_start(message: Message, command: CommandObject, state: FSMContext, session: AsyncSession, roles: Roles,
                   settings: Settings, person: Person | None = None) -> None:
    assert message.from_user is not None
    # The session middleware looked the person up in this transaction already.
    person = person or await people.first_contact(session, message.from_user.id, message.from_user.first_name,
                                                  looked_up=True)
    if command.args:
        await state.update_data(start_payload=command.args[:64])
    if person.is_registered:
        await state.set_state(None)
        if command.args and await open_start_link(message, command.args, session=session, person=person,
                                                  roles=roles, settings=settings):
            return
        await message.answer(_("Welcome back!") + "\n\n" + help_text(person, roles),
                             reply_markup=main_keyboard(may_ask=await may_ask(person, settings)))
        return
    await state.update_data(editing=False)
    if person.language is None:
        await ask_language(message, state)
    elif person.phone_hash is None:
        await ask_phone(message, state)
    else:
        await ask_aiyl_aimak(message, state, session, person.language)


@router.callback_query(LanguageCB.filter())
async def on_language(query: CallbackQuery, message: Message, callback_data: LanguageCB, state: FSMContext,
                      session: AsyncSession, person: Person | None, roles: Roles, bot: Bot, i18n: I18n) -> None:
    """A language button: during registration, from /language, or from the profile."""
    if callback_data.code not in LANGUAGE_NAMES or person is None:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await people.set_language(session, person, callback_data.code)
    i18n.current_locale = callback_data.code
    await query.answer()
    await aside(message.edit_text(_("Language: {name} ✓").format(name=LANGUAGE_NAMES[callback_data.code])))
    current = await state.get_state()
    if not person.is_registered and current in Registration.__all_states_names__ and current != Registration.language:
        return  # a second tap on the same keyboard: the registration has moved on and stays where it is
    if person.is_registered or current != Registration.language:
        await finish(message, state, person, roles, bot, i18n, session=session, editing=True)
    else:
        await ask_phone(message, state)


@router.message(Registration.phone, F.contact)
async def on_contact(message: Message, state: FSMContext, session: AsyncSession, person: Person | None,
                     settings: Settings, roles: Roles, bot: Bot, i18n: I18n) -> None:
    assert message.contact is not None and message.from_user is not None
    if message.contact.user_id != message.from_user.id or person is None:
        await message.answer(
            _("This is not your own contact. Please press the button below to share your own phone number; "
              "a forwarded contact or someone else's number cannot be accepted."),
            reply_markup=contact_keyboard(),
        )
        return
    assert settings.phone_hash_key is not None
    try:
        # Registered before by an organiser (no smartphone then): this account joins that person.
        person = await people.set_phone(session, person, settings.phone_hash_key.get_secret_value(),
                                        message.contact.phone_number)
    except people.RegistrationError:
        owner = await channels.link_telegram(session, person, settings.phone_hash_key.get_secret_value(),
                                             message.contact.phone_number)
        if owner is not None:  # registered on WhatsApp first: the same person
            await state.clear()
            village = place_name(owner.village, i18n.current_locale) if owner.village else "—"
            await message.answer(
                _("This phone number is already registered on WhatsApp in {village}. It is the same person: the "
                  "same village, ballot and questions, and a vote counts once whichever app it comes from.")
                .format(village=village), reply_markup=ReplyKeyboardRemove())
            await message.answer(_("Welcome back!") + "\n\n" + help_text(owner, roles))
            return
        await message.answer(
            _("This phone number is already registered with another Telegram account. If it is yours, "
              "send /forget from that account first, or ask your aiyl okmotu for help."),
            reply_markup=ReplyKeyboardRemove(),
        )
        await state.clear()
        return
    await message.answer(_("Thank you, your number is confirmed."), reply_markup=ReplyKeyboardRemove())
    if person.is_registered:
        await finish(message, state, person, roles, bot, i18n, session=session, settings=settings)
        return
    payload = (await state.get_data()).get("start_payload") or ""
    village = await village_by_link(session, payload) if payload.startswith(LINK_PREFIX) else None
    if village is not None:  # came by a village's link or poster: no need to look for the place
        await people.set_village(session, person, village.id)
        await message.answer(_("Village: {name} ✓").format(name=place_name(village, i18n.current_locale)))
        await _after_village(message, state, person, roles, bot, i18n, session, settings)
    else:
        await ask_aiyl_aimak(message, state, session, person.language or i18n.default_locale)


@router.message(Registration.phone, ~F.text.startswith("/"))
async def on_not_contact(message: Message) -> None:
    await message.answer(
        _("Please press the button “📱 Share my phone number” below; typing the number is not enough."),
        reply_markup=contact_keyboard(),
    )


@router.callback_query(Registration.aiyl_aimak, PlaceCB.filter(F.kind == "page"))
async def on_aimak_page(query: CallbackQuery, message: Message, callback_data: PlaceCB, state: FSMContext,
                        session: AsyncSession, i18n: I18n) -> None:
    await query.answer()
    await ask_aiyl_aimak(message, state, session, i18n.current_locale, page=max(callback_data.id, 0), edit=True)


@router.message(Registration.aiyl_aimak, F.text & ~F.text.startswith("/"))
async def on_place_letters(message: Message, session: AsyncSession, i18n: I18n) -> None:
    """A few typed letters of a village or aiyl aimak, in any spelling: up to eight places to tap."""
    assert message.text is not None
    hits = await search_places(session, message.text)
    regions = bool(await list_regions(session))
    if not hits:
        await message.answer(_("Nothing found for “{text}”. Try fewer letters, or another spelling.").format(
            text=escape(message.text[:40])), reply_markup=views.hits_keyboard([], i18n.current_locale, regions))
        return
    await message.answer(_("Tap your village (📍) or aiyl aimak (🏘):"),
                         reply_markup=views.hits_keyboard(hits, i18n.current_locale, regions))


@router.callback_query(Registration.aiyl_aimak, PlaceCB.filter(F.kind == "regions"))
@router.callback_query(Registration.village, PlaceCB.filter(F.kind == "back"))
async def on_back_to_places(query: CallbackQuery, message: Message, state: FSMContext, session: AsyncSession,
                            i18n: I18n) -> None:
    """Back to the place search and the oblasts: from the oblast list's own button, or from the village list."""
    await query.answer()
    await ask_aiyl_aimak(message, state, session, i18n.current_locale, edit=True)


@router.callback_query(Registration.aiyl_aimak, PlaceCB.filter(F.kind == "region"))
async def on_region(query: CallbackQuery, message: Message, callback_data: PlaceCB, session: AsyncSession,
                    i18n: I18n) -> None:
    districts = await list_districts(session, callback_data.id)
    if not districts:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await message.edit_text(_("Choose your district:"),
                            reply_markup=views.units_keyboard(districts, i18n.current_locale, "district"))


@router.callback_query(Registration.aiyl_aimak, PlaceCB.filter(F.kind == "district"))
async def on_district(query: CallbackQuery, message: Message, callback_data: PlaceCB, session: AsyncSession,
                      i18n: I18n) -> None:
    aimaks = await aiyl_aimak_names(session, callback_data.id)
    if not aimaks:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await message.edit_text(_("Choose your aiyl aimak:"),
                            reply_markup=views.places_keyboard(aimaks, i18n.current_locale,
                                                               lambda a: PlaceCB(kind="aimak", id=a.id)))


@router.callback_query(Registration.aiyl_aimak, PlaceCB.filter(F.kind == "village"))
async def on_found_village(query: CallbackQuery, message: Message, callback_data: PlaceCB, state: FSMContext,
                           session: AsyncSession, person: Person | None, roles: Roles, bot: Bot, i18n: I18n,
                           settings: Settings) -> None:
    """A village tapped among the search results: registered there at once."""
    try:
        if person is None:
            raise people.RegistrationError("no_person")
        village = await people.set_village(session, person, callback_data.id)
    except people.RegistrationError:
        log.warning("refused village button %r from %s", query.data, query.from_user.id)
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await aside(message.edit_text(_("Village: {name} ✓").format(name=place_name(village, i18n.current_locale))))
    await _after_village(message, state, person, roles, bot, i18n, session, settings)


@router.callback_query(Registration.aiyl_aimak, PlaceCB.filter(F.kind == "aimak"))
async def on_aimak(query: CallbackQuery, message: Message, callback_data: PlaceCB, state: FSMContext,
                   session: AsyncSession, i18n: I18n) -> None:
    villages = await village_names(session, callback_data.id)
    if not villages:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await state.update_data(aiyl_aimak_id=callback_data.id)
    await state.set_state(Registration.village)
    await message.edit_text(_("Choose your village:"),
                            reply_markup=village_keyboard(villages, i18n.current_locale))


@router.callback_query(Registration.village, PlaceCB.filter(F.kind == "village"))
async def on_village(query: CallbackQuery, message: Message, callback_data: PlaceCB, state: FSMContext,
                     session: AsyncSession, person: Person | None, roles: Roles, bot: Bot, i18n: I18n,
                     settings: Settings) -> None:
    chosen_aimak = (await state.get_data()).get("aiyl_aimak_id")
    try:
        if person is None or chosen_aimak is None:
            raise people.RegistrationError("no_aiyl_aimak")
        village = await people.set_village(session, person, callback_data.id, chosen_aimak)
    except people.RegistrationError:
        log.warning("refused village button %r from %s", query.data, query.from_user.id)
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await aside(message.edit_text(_("Village: {name} ✓").format(name=place_name(village, i18n.current_locale))))
    await _after_village(message, state, person, roles, bot, i18n, session, settings)


@router.callback_query(PrivacyCB.filter())
async def on_privacy_more(query: CallbackQuery, message: Message) -> None:
    """The rest of what is kept and why, at any time."""
    await query.answer()
    await message.edit_text(views.privacy_text() + "\n\n" + views.privacy_more_text())


@router.callback_query(Registration.consent, ConsentCB.filter())
async def on_consent(query: CallbackQuery, message: Message, callback_data: ConsentCB, state: FSMContext,
                     person: Person | None, roles: Roles, bot: Bot, i18n: I18n, session: AsyncSession,
                     settings: Settings) -> None:
    assert person is not None
    await query.answer()
    await aside(message.edit_reply_markup(reply_markup=None))
    if callback_data.agree:
        await people.give_consent(session, person)
        await ask_sex(message, state)
    else:
        await people.withdraw_consent(session, person)
        await finish(message, state, person, roles, bot, i18n, session=session, settings=settings)


@router.callback_query(Registration.sex, SexCB.filter())
async def on_sex(query: CallbackQuery, message: Message, callback_data: SexCB, state: FSMContext, person: Person | None,
                 settings: Settings, session: AsyncSession) -> None:
    assert person is not None
    try:
        await people.set_sex(session, person, None if callback_data.value == "-" else callback_data.value)
    except people.RegistrationError:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await aside(message.edit_reply_markup(reply_markup=None))
    await ask_age_band(message, state, settings.age_bands)


@router.callback_query(Registration.age_band, AgeCB.filter())
async def on_age_band(query: CallbackQuery, message: Message, callback_data: AgeCB, state: FSMContext,
                      person: Person | None, roles: Roles, settings: Settings, bot: Bot, i18n: I18n,
                      session: AsyncSession) -> None:
    assert person is not None
    bands = settings.age_bands
    if not -1 <= callback_data.index < len(bands):
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await people.set_age_band(session, person, bands[callback_data.index] if callback_data.index >= 0 else None, bands)
    await query.answer()
    await aside(message.edit_reply_markup(reply_markup=None))
    await finish(message, state, person, roles, bot, i18n, session=session, settings=settings)
