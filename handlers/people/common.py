"""Registration's steps, shared by /start and /profile, and the registry of /start deep links."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import set_personal_menu
from bot.menu import main_keyboard
from bot.settings import Settings
from handlers.people import views
from handlers.people.states import Registration
from handlers.people.views import aiyl_aimak_keyboard, contact_keyboard, language_keyboard, profile_text
from services import helpdesk as desk
from services import people
from services.places import aiyl_aimak_names, list_regions, place_name
from services.roles import Roles
from storage.db import current_session
from storage.models import Person

# Deep links (/start <prefix><rest>) of registered people: a flow registers an opener for its prefix, e.g.
# START_LINKS["event_"] = open_event; it gets (message, rest, session=, person=, roles=, settings=) and returns
# True when it answered.
START_LINKS: dict[str, Callable[..., Awaitable[bool]]] = {}


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


async def ask_aiyl_aimak(message: Message, state: FSMContext, session: AsyncSession, language: str, *, page: int = 0,
                         edit: bool = False) -> None:
    """A few aiyl aimaks: their buttons. The whole country: type a few letters (search), or oblast → district →
    aiyl aimak → village with buttons."""
    await state.set_state(Registration.aiyl_aimak)
    aimaks = await aiyl_aimak_names(session, limit=views.PLACES_PER_PAGE + 1)  # a page, and whether there is more
    if not aimaks:
        await message.answer(_("No aiyl aimaks are loaded yet. Please try again later or ask your aiyl okmotu."))
        return
    regions = await list_regions(session) if len(aimaks) > views.PLACES_PER_PAGE else []
    if regions:
        text = _("Type the first letters of your village or aiyl aimak, or choose your oblast:")
        markup = views.units_keyboard(regions, language, "region")
    else:
        if len(aimaks) > views.PLACES_PER_PAGE:  # more than a page, and no oblasts to choose from: pages of them all
            aimaks = await aiyl_aimak_names(session)
        text = _("Choose your aiyl aimak:")
        markup = aiyl_aimak_keyboard(aimaks, language, page)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def ask_consent(message: Message, state: FSMContext) -> None:
    await state.set_state(Registration.consent)
    await message.answer(views.privacy_text(), reply_markup=views.privacy_keyboard())
    await message.answer(
        _("One more, optional step: add your sex and age group? Results are counted by group and women "
          "separately, so that every group is heard."),
        reply_markup=views.consent_keyboard(),
    )


async def ask_sex(message: Message, state: FSMContext) -> None:
    await state.set_state(Registration.sex)
    await message.answer(_("Your sex:"), reply_markup=views.sex_keyboard())


async def ask_age_band(message: Message, state: FSMContext, bands: list[str]) -> None:
    await state.set_state(Registration.age_band)
    await message.answer(_("Your age group:"), reply_markup=views.age_band_keyboard(bands))


async def open_start_link(message: Message, payload: str, *, session: AsyncSession, person: Person, roles: Roles | None,
                          settings: Settings) -> bool:
    """Open a deep link's target (``/start event_12``) for a registered person; False when none answered."""
    for prefix, opener in START_LINKS.items():
        if payload.startswith(prefix) and await opener(message, payload[len(prefix):], session=session,
                                                       person=person, roles=roles, settings=settings):
            return True
    return False


async def finish(message: Message, state: FSMContext, person: Person, roles: Roles | None, bot: Bot, i18n: I18n, *,
                 session: AsyncSession, editing: bool | None = None, settings: Settings | None = None) -> None:
    """End of registration, or of one profile change (``editing``; by default as /profile left it).
    A deep link that brought a new person here is opened once they are registered."""
    data = await state.get_data()
    if editing is None:
        editing = bool(data.get("editing"))
    payload = data.get("start_payload")
    await state.clear()
    language = person.language or i18n.default_locale
    asks = await may_ask(person, settings)
    await set_personal_menu(bot, i18n, message.chat.id, language, roles, may_ask=asks)
    if editing:
        await message.answer(_("Saved.") + "\n\n" + profile_text(person, await people.places_of(session, person)),
                             reply_markup=main_keyboard(may_ask=asks))
        return
    registered_in = await people.village_of(session, person)  # its aiyl aimak is not named: not read
    village = place_name(registered_in, language) if registered_in else "—"
    await message.answer(
        _("Thank you, you are registered in {village}. You will get notices about votes, hearings and "
          "meetings of your village here. Use the buttons below.").format(village=village),
        reply_markup=main_keyboard(may_ask=asks),
    )
    if payload and settings is not None:
        await open_start_link(message, payload, session=session, person=person, roles=roles, settings=settings)


async def may_ask(person: Person | None, settings: Settings | None) -> bool:
    """May this person ask the legal helpdesk (for the menu and the keyboard)?"""
    session = current_session.get()
    if session is None or settings is None:
        return False
    return (await desk.may_ask(session, person, desk.HelpdeskConfig.from_settings(settings))).allowed


async def _after_village(message: Message, state: FSMContext, person: Person, roles: Roles | None, bot: Bot, i18n: I18n,
                         session: AsyncSession, settings: Settings) -> None:
    if (await state.get_data()).get("editing") or person.consent_at is not None:
        await finish(message, state, person, roles, bot, i18n, session=session, settings=settings)
    else:
        await ask_consent(message, state)
