"""/profile shows and edits the profile; /language switches the language."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.routes import Routes
from handlers.start import (
    Registration,
    ask_aiyl_aimak,
    ask_consent,
    ask_language,
    ask_phone,
)
from handlers.views import language_keyboard, profile_text
from services import people
from storage.models import Person

router = Routes("profile")


class ProfileCB(CallbackData, prefix="profile"):
    action: str  # language | place | groups | phone | withdraw


def profile_keyboard(person: Person) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Change language"), callback_data=ProfileCB(action="language"))
    builder.button(text=_("Change village"), callback_data=ProfileCB(action="place"))
    builder.button(text=_("Sex and age group"), callback_data=ProfileCB(action="groups"))
    builder.button(text=_("Change phone number"), callback_data=ProfileCB(action="phone"))
    if person.consent_at is not None:
        builder.button(text=_("Delete sex and age group"), callback_data=ProfileCB(action="withdraw"))
    builder.adjust(2)
    return builder.as_markup()


async def not_registered(message: Message) -> None:
    await message.answer(_("You are not registered yet. Send /start to register."))


@router.message(Command("profile"))
async def on_profile(message: Message, state: FSMContext, person: Person | None) -> None:
    if person is None or not person.is_registered:
        await not_registered(message)
        return
    await state.clear()
    await message.answer(profile_text(person), reply_markup=profile_keyboard(person))


@router.message(Command("language"))
async def on_language_command(message: Message, state: FSMContext, person: Person | None) -> None:
    if person is None:
        await not_registered(message)
        return
    await state.set_state(Registration.language)
    await state.update_data(editing=True)
    await message.answer(_("Choose your language:"), reply_markup=language_keyboard())


@router.callback_query(ProfileCB.filter())
async def on_profile_action(query: CallbackQuery, callback_data: ProfileCB, state: FSMContext,
                            session: AsyncSession, person: Person | None) -> None:
    assert isinstance(query.message, Message)
    if person is None or not person.is_registered:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await state.set_data({"editing": True})
    action = callback_data.action
    if action == "language":
        await ask_language(query.message, state)
    elif action == "place":
        await ask_aiyl_aimak(query.message, state, session, person.language or "ky")
    elif action == "phone":
        await ask_phone(query.message, state)
    elif action == "groups":
        await ask_consent(query.message, state)
    elif action == "withdraw":
        people.withdraw_consent(person)
        await state.clear()
        await query.message.answer(_("Your sex and age group are deleted.") + "\n\n" + profile_text(person),
                                   reply_markup=profile_keyboard(person))
    else:
        await state.clear()
        await query.message.answer(_("This button is no longer active."))

