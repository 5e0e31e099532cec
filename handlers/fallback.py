"""The last router: anything nobody else took gets a clear answer, and the conversation state is kept."""

from __future__ import annotations

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.commands import ROLE_COMMANDS
from bot.routes import Routes
from handlers.admin.views import role_label
from storage.models import Person

router = Routes("fallback")


@router.message(F.text.startswith("/"))
async def on_unknown_command(message: Message) -> None:
    assert message.text is not None
    words = message.text[1:].split(maxsplit=1)  # "/" or "/ " alone: no name at all
    name = words[0].split("@")[0].lower() if words and not message.text[1].isspace() else ""
    role = ROLE_COMMANDS.get(name)
    if role is not None:
        await message.answer(
            _("Sorry, /{command} is only for the role {role}. If you need it for your work, please ask the "
              "administrator of Jamaat.").format(command=name, role=role_label(role))
        )
        return
    await message.answer(_("I don't know this command. Send /help to see what I can do."))


@router.message(F.text)
async def on_unexpected_text(message: Message, state: FSMContext, person: Person | None) -> None:
    if await state.get_state() is not None:
        await message.answer(_("Please answer with the buttons of the last question. Nothing you entered "
                               "before is lost."))
    elif person is None or not person.is_registered:
        await message.answer(_("Welcome to Jamaat! Send /start to register."))
    else:
        await message.answer(_("I did not understand that. Send /help to see what I can do."))


@router.message()
async def on_unexpected_content(message: Message) -> None:
    """Stickers, voice messages, photos, files and the like where nothing asked for them."""
    await message.answer(_("I cannot use this kind of message here. Please write text or use the buttons; "
                           "send /help to see what I can do."))


@router.callback_query()
async def on_stale_button(query: CallbackQuery) -> None:
    """Buttons of old messages, or forged button data."""
    await query.answer(_("This button is no longer active. Send /help to see what you can do now."),
                       show_alert=True)
