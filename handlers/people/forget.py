"""/forget: delete one's own data after a confirmation."""

from __future__ import annotations

from aiogram import Bot
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import drop_personal_menu
from bot.routes import Routes
from handlers.people.buttons import ForgetCB
from handlers.people.views import forget_keyboard
from services import people
from storage.models import Person

router = Routes("people_forget")


@router.message(Command("forget"))
async def on_forget(message: Message, person: Person | None) -> None:
    if person is None:
        await message.answer(_("I keep no data about you."))
        return
    await message.answer(
        _("This deletes your phone number, name, language and the link to your Telegram account, takes away any "
          "roles and helpdesk membership, and replaces every text you wrote (questions to the legal helpdesk and "
          "your replies there, problems you named, questions to events, monitoring comments) with a note that it "
          "was deleted. Kept, with nothing that leads to you: your village, sex and age group, and the votes and "
          "answers already counted in results and statistics. Delete your data?"),
        reply_markup=forget_keyboard(),
    )


@router.callback_query(ForgetCB.filter())
async def on_forget_answer(query: CallbackQuery, message: Message, callback_data: ForgetCB, state: FSMContext,
                           session: AsyncSession, person: Person | None, bot: Bot) -> None:
    if person is None:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    if not callback_data.confirm:
        await message.edit_text(_("Nothing was deleted."))
        return
    await people.forget(session, person)
    await state.clear()
    await drop_personal_menu(bot, message.chat.id)
    await message.edit_text(_("Your data is deleted. Send /start if you want to register again."))
