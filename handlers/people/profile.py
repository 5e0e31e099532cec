"""/profile and /language: see and change one's own details."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.routes import Routes
from handlers.people.buttons import ProfileCB
from handlers.people.common import ask_aiyl_aimak, ask_consent, ask_language, ask_phone
from handlers.people.states import Registration
from handlers.people.views import language_keyboard, profile_keyboard, profile_text
from services import people
from storage.models import Person

router = Routes("people_profile")


async def not_registered(message: Message) -> None:
    await message.answer(_("You are not registered yet. Send /start to register."))


@router.message(Command("profile"))
async def on_profile(message: Message, state: FSMContext, session: AsyncSession, person: Person | None) -> None:
    if person is None or not person.is_registered:
        await not_registered(message)
        return
    await state.clear()
    await message.answer(profile_text(person, await people.places_of(session, person)),
                         reply_markup=profile_keyboard(person))


@router.message(Command("language"))
async def on_language_command(message: Message, state: FSMContext, person: Person | None) -> None:
    if person is None:
        await not_registered(message)
        return
    await state.set_state(Registration.language)
    await state.update_data(editing=True)
    await message.answer(_("Choose your language:"), reply_markup=language_keyboard())


@router.callback_query(ProfileCB.filter())
async def on_profile_action(query: CallbackQuery, message: Message, callback_data: ProfileCB, state: FSMContext,
                            session: AsyncSession, person: Person | None) -> None:
    if person is None or not person.is_registered:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await state.set_data({"editing": True})
    action = callback_data.action
    if action == "language":
        await ask_language(message, state)
    elif action == "place":
        await ask_aiyl_aimak(message, state, session, person.language or "ky")
    elif action == "phone":
        await ask_phone(message, state)
    elif action == "groups":
        await ask_consent(message, state)
    elif action == "withdraw":
        await people.withdraw_consent(session, person)
        await state.clear()
        places = await people.places_of(session, person)
        await message.answer(_("Your sex and age group are deleted.") + "\n\n" + profile_text(person, places),
                             reply_markup=profile_keyboard(person))
    else:
        await state.clear()
        await message.answer(_("This button is no longer active."))
