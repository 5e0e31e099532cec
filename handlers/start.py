"""/start: language → own phone number → aiyl aimak → village → (consent) sex and age group."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot, F
from aiogram.filters import CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import set_personal_menu
from bot.i18n import LANGUAGE_NAMES
from bot.routes import Routes
from bot.settings import Settings
from handlers.views import (
    LanguageCB,
    PlaceCB,
    aiyl_aimak_keyboard,
    contact_keyboard,
    help_text,
    language_keyboard,
    profile_text,
    village_keyboard,
)
from services import people
from services.places import list_aiyl_aimaks, list_villages, place_name
from services.roles import Roles
from storage.models import Person

log = logging.getLogger(__name__)
router = Routes("start")
# Deep links (/start <prefix><rest>) of registered people: a flow registers an opener for its prefix, e.g.
# START_LINKS["event_"] = open_event; it gets (message, rest, session=, person=, roles=, settings=) and returns
# True when it answered.
START_LINKS: dict[str, Callable[..., Awaitable[bool]]] = {}


class Registration(StatesGroup):
    language = State()
    phone = State()
    aiyl_aimak = State()
    village = State()
    consent = State()
    sex = State()
    age_band = State()


class ConsentCB(CallbackData, prefix="consent"):
    agree: bool


class SexCB(CallbackData, prefix="sex"):
    value: str  # "f", "m" or "-" for not given


class AgeCB(CallbackData, prefix="age"):
    index: int  # position in the configured bands, -1 for not given


# Steps. Each asks its question; ``editing`` (set by /profile) returns to the profile after one step.


async def ask_language(message: Message, state: FSMContext) -> None:
    await state.set_state(Registration.language)
    await message.answer(_("Choose your language:"), reply_markup=language_keyboard())


async def ask_phone(message: Message, state: FSMContext) -> None:
    await state.set_state(Registration.phone)
    await message.answer(
        _("Please share your phone number with the button below. It confirms that you are a real resident "
          "and that each person votes once. Your number is not shown to anyone."),
        reply_markup=contact_keyboard(),
    )


async def ask_aiyl_aimak(message: Message, state: FSMContext, session: AsyncSession, language: str,
                         *, page: int = 0, edit: bool = False) -> None:
    await state.set_state(Registration.aiyl_aimak)
    aimaks = await list_aiyl_aimaks(session)
    if not aimaks:
        await message.answer(_("No aiyl aimaks are loaded yet. Please try again later or ask your aiyl okmotu."))
        return
    text = _("Choose your aiyl aimak:")
    markup = aiyl_aimak_keyboard(aimaks, language, page)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def ask_consent(message: Message, state: FSMContext) -> None:
    await state.set_state(Registration.consent)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, add them"), callback_data=ConsentCB(agree=True))
    builder.button(text=_("Skip"), callback_data=ConsentCB(agree=False))
    await message.answer(
        _("One more, optional step: your sex and age group. Results of votes and meetings are reported by "
          "age group, and women's participation is always counted separately, so that every group is heard. "
          "We keep only these two answers, never show them with your name, and you can delete them any time "
          "in /profile. Add them?"),
        reply_markup=builder.as_markup(),
    )


async def ask_sex(message: Message, state: FSMContext) -> None:
    await state.set_state(Registration.sex)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Woman"), callback_data=SexCB(value="f"))
    builder.button(text=_("Man"), callback_data=SexCB(value="m"))
    builder.button(text=_("Prefer not to say"), callback_data=SexCB(value="-"))
    builder.adjust(2, 1)
    await message.answer(_("Your sex:"), reply_markup=builder.as_markup())


async def ask_age_band(message: Message, state: FSMContext, bands: list[str]) -> None:
    await state.set_state(Registration.age_band)
    builder = InlineKeyboardBuilder()
    for index, band in enumerate(bands):
        builder.button(text=band.replace("-", "–"), callback_data=AgeCB(index=index))
    builder.button(text=_("Prefer not to say"), callback_data=AgeCB(index=-1))
    builder.adjust(len(bands), 1)
    await message.answer(_("Your age group:"), reply_markup=builder.as_markup())


async def open_start_link(message: Message, payload: str, *, session: AsyncSession, person: Person,
                          roles: Roles | None, settings: Settings) -> bool:
    """Open a deep link's target (``/start event_12``) for a registered person; False when none answered."""
    for prefix, opener in START_LINKS.items():
        if payload.startswith(prefix) and await opener(message, payload[len(prefix):], session=session,
                                                       person=person, roles=roles, settings=settings):
            return True
    return False


async def finish(message: Message, state: FSMContext, person: Person, roles: Roles | None,
                 bot: Bot, i18n: I18n, *, editing: bool | None = None, session: AsyncSession | None = None,
                 settings: Settings | None = None) -> None:
    """End of registration, or of one profile change (``editing``; by default as /profile left it).
    A deep link that brought a new person here is opened once they are registered."""
    data = await state.get_data()
    if editing is None:
        editing = bool(data.get("editing"))
    payload = data.get("start_payload")
    await state.clear()
    language = person.language or i18n.default_locale
    await set_personal_menu(bot, i18n, message.chat.id, language, roles)
    if editing:
        await message.answer(_("Saved.") + "\n\n" + profile_text(person), reply_markup=ReplyKeyboardRemove())
        return
    village = place_name(person.village, language) if person.village else "—"
    await message.answer(
        _("Thank you, you are registered in {village}. You will get notices about votes, hearings and "
          "meetings of your village here.").format(village=village)
        + "\n\n" + help_text(person, roles)
    )
    if payload and session is not None and settings is not None:
        await open_start_link(message, payload, session=session, person=person, roles=roles, settings=settings)


async def _after_village(message: Message, state: FSMContext, person: Person, roles: Roles | None,
                         bot: Bot, i18n: I18n, session: AsyncSession, settings: Settings) -> None:
    if (await state.get_data()).get("editing") or person.consent_at is not None:
        await finish(message, state, person, roles, bot, i18n, session=session, settings=settings)
    else:
        await ask_consent(message, state)


# Handlers


@router.message(CommandStart())
async def on_start(message: Message, command: CommandObject, state: FSMContext, session: AsyncSession,
                   roles: Roles, settings: Settings) -> None:
    assert message.from_user is not None
    person = await people.first_contact(session, message.from_user.id, message.from_user.first_name)
    if command.args:
        await state.update_data(start_payload=command.args[:64])
    if person.is_registered:
        await state.set_state(None)
        if command.args and await open_start_link(message, command.args, session=session, person=person,
                                                  roles=roles, settings=settings):
            return
        await message.answer(_("Welcome back!") + "\n\n" + help_text(person, roles),
                             reply_markup=ReplyKeyboardRemove())
        return
    await state.update_data(editing=False)
    if person.language is None:
        await ask_language(message, state)
    elif person.phone_hash is None:
        await ask_phone(message, state)
    else:
        await ask_aiyl_aimak(message, state, session, person.language)


@router.callback_query(LanguageCB.filter())
async def on_language(query: CallbackQuery, callback_data: LanguageCB, state: FSMContext, session: AsyncSession,
                      person: Person | None, roles: Roles, bot: Bot, i18n: I18n) -> None:
    """A language button: during registration, from /language, or from the profile."""
    assert isinstance(query.message, Message)
    if callback_data.code not in LANGUAGE_NAMES or person is None:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    people.set_language(person, callback_data.code)
    i18n.current_locale = callback_data.code
    await query.answer()
    await query.message.edit_text(_("Language: {name} ✓").format(name=LANGUAGE_NAMES[callback_data.code]))
    if person.is_registered or await state.get_state() != Registration.language:
        await finish(query.message, state, person, roles, bot, i18n, editing=True)
    else:
        await ask_phone(query.message, state)


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
        await people.set_phone(session, person, settings.phone_hash_key.get_secret_value(),
                               message.contact.phone_number)
    except people.RegistrationError:
        await message.answer(
            _("This phone number is already registered with another Telegram account. If it is yours, "
              "send /forget from that account first, or ask your aiyl okmotu for help."),
            reply_markup=ReplyKeyboardRemove(),
        )
        await state.clear()
        return
    await message.answer(_("Thank you, your number is confirmed."), reply_markup=ReplyKeyboardRemove())
    if person.is_registered:
        await finish(message, state, person, roles, bot, i18n)
    else:
        await ask_aiyl_aimak(message, state, session, person.language or i18n.default_locale)


@router.message(Registration.phone, ~F.text.startswith("/"))
async def on_not_contact(message: Message) -> None:
    await message.answer(
        _("Please press the button “📱 Share my phone number” below; typing the number is not enough."),
        reply_markup=contact_keyboard(),
    )


@router.callback_query(Registration.aiyl_aimak, PlaceCB.filter(F.kind == "page"))
async def on_aimak_page(query: CallbackQuery, callback_data: PlaceCB, state: FSMContext, session: AsyncSession,
                        i18n: I18n) -> None:
    assert isinstance(query.message, Message)
    await query.answer()
    await ask_aiyl_aimak(query.message, state, session, i18n.current_locale, page=max(callback_data.id, 0), edit=True)


@router.callback_query(Registration.aiyl_aimak, PlaceCB.filter(F.kind == "aimak"))
async def on_aimak(query: CallbackQuery, callback_data: PlaceCB, state: FSMContext, session: AsyncSession,
                   i18n: I18n) -> None:
    assert isinstance(query.message, Message)
    villages = await list_villages(session, callback_data.id)
    if not villages:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await state.update_data(aiyl_aimak_id=callback_data.id)
    await state.set_state(Registration.village)
    await query.message.edit_text(_("Choose your village:"),
                                  reply_markup=village_keyboard(villages, i18n.current_locale))


@router.callback_query(Registration.village, PlaceCB.filter(F.kind == "back"))
async def on_village_back(query: CallbackQuery, state: FSMContext, session: AsyncSession, i18n: I18n) -> None:
    assert isinstance(query.message, Message)
    await query.answer()
    await ask_aiyl_aimak(query.message, state, session, i18n.current_locale, edit=True)


@router.callback_query(Registration.village, PlaceCB.filter(F.kind == "village"))
async def on_village(query: CallbackQuery, callback_data: PlaceCB, state: FSMContext, session: AsyncSession,
                     person: Person | None, roles: Roles, bot: Bot, i18n: I18n, settings: Settings) -> None:
    assert isinstance(query.message, Message)
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
    await query.message.edit_text(_("Village: {name} ✓").format(name=place_name(village, i18n.current_locale)))
    await _after_village(query.message, state, person, roles, bot, i18n, session, settings)


@router.callback_query(Registration.consent, ConsentCB.filter())
async def on_consent(query: CallbackQuery, callback_data: ConsentCB, state: FSMContext, person: Person | None,
                     roles: Roles, bot: Bot, i18n: I18n, session: AsyncSession, settings: Settings) -> None:
    assert isinstance(query.message, Message) and person is not None
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    if callback_data.agree:
        people.give_consent(person)
        await ask_sex(query.message, state)
    else:
        people.withdraw_consent(person)
        await finish(query.message, state, person, roles, bot, i18n, session=session, settings=settings)


@router.callback_query(Registration.sex, SexCB.filter())
async def on_sex(query: CallbackQuery, callback_data: SexCB, state: FSMContext, person: Person | None,
                 settings: Settings) -> None:
    assert isinstance(query.message, Message) and person is not None
    try:
        people.set_sex(person, None if callback_data.value == "-" else callback_data.value)
    except people.RegistrationError:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await ask_age_band(query.message, state, settings.age_bands)


@router.callback_query(Registration.age_band, AgeCB.filter())
async def on_age_band(query: CallbackQuery, callback_data: AgeCB, state: FSMContext, person: Person | None,
                      roles: Roles, settings: Settings, bot: Bot, i18n: I18n, session: AsyncSession) -> None:
    assert isinstance(query.message, Message) and person is not None
    bands = settings.age_bands
    if not -1 <= callback_data.index < len(bands):
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    people.set_age_band(person, bands[callback_data.index] if callback_data.index >= 0 else None, bands)
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await finish(query.message, state, person, roles, bot, i18n, session=session, settings=settings)

