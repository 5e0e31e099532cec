"""Villagers: "I will come" / "I can't come" / "Ask a question or make a proposal" on the notice, and the deep
link /start event_<id>. Every button re-checks the event and the person."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Formatter
from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.events import views
from handlers.events.buttons import RsvpCB
from handlers.events.common import event_villages
from handlers.events.states import AskEvent
from handlers.events.views import refusal
from handlers.people.common import START_LINKS
from jobs.events import deep_link
from services import events
from services.events import EventError
from storage.models import Person

log = logging.getLogger("jamaat.events")
router = Routes("events_villager")


@router.message(Command("meetings"))
async def on_meetings(message: Message, session: AsyncSession, person: Person | None, settings: Settings,
                      i18n: I18n) -> None:
    """A villager's upcoming hearings and meetings (the "📅 Meetings" button), each with its answer buttons."""
    upcoming = await events.upcoming_for(session, person)
    if not upcoming:
        await message.answer(_("No hearing or meeting of your village is announced for the coming days.")
                             if person is not None and person.is_registered
                             else _("Please register first: send /start."))
        return
    fmt = Formatter(i18n.current_locale, settings.zone)
    for event in upcoming:
        chosen = await events.response_of(session, event.id, person)
        await message.answer(f"📅 <b>{escape(views.calendar_summary(event))}</b>\n"
                             f"{fmt.datetime(event.starts_at)}, {escape(event.place)}",
                             reply_markup=views.rsvp_keyboard(event.id, chosen))


# --------------------------------------------------------------------------- villagers


@router.callback_query(RsvpCB.filter(F.action.in_({"yes", "no"})))
async def on_rsvp(query: CallbackQuery, callback_data: RsvpCB, session: AsyncSession,
                  person: Person | None) -> None:
    try:
        await events.respond(session, callback_data.event_id, person, callback_data.action)
    except EventError as error:
        log.info("answer of %s to event %s refused: %s", query.from_user.id, callback_data.event_id, error.code)
        await query.answer(refusal(error), show_alert=True)
        return
    await query.answer(_("Thank you! We expect you.") if callback_data.action == "yes"
                       else _("Thank you for telling us. You will not get reminders for this event."))
    if isinstance(query.message, Message):
        try:
            await query.message.edit_reply_markup(
                reply_markup=views.rsvp_keyboard(callback_data.event_id, callback_data.action))
        except Exception:  # noqa: BLE001 - the answer is saved; the marks on the buttons are a courtesy
            log.debug("could not mark the answer on the buttons", exc_info=True)


@router.callback_query(RsvpCB.filter(F.action == "ask"))
async def on_ask(query: CallbackQuery, message: Message, callback_data: RsvpCB, state: FSMContext,
                 session: AsyncSession, person: Person | None) -> None:
    event = await events.get_event(session, callback_data.event_id)
    try:
        if event is None:
            raise EventError("unknown_event")
        if event.status == "cancelled":
            raise EventError("cancelled")
        if event.starts_at <= datetime.now(event.starts_at.tzinfo):
            raise EventError("started")
        if person is None or not (events.concerns(event, person)
                                  or await events.response_of(session, event.id, person) is not None):
            raise EventError("not_concerned")
    except EventError as error:
        await query.answer(refusal(error), show_alert=True)
        return
    await query.answer()
    await state.set_state(AskEvent.text)
    await state.update_data(ask_event_id=event.id)
    await message.answer(_("Write your question or proposal about “{topic}” in one message. The organisers "
                           "will see it before the meeting.").format(topic=escape(event.topic)))


@router.message(AskEvent.text, F.text, ~F.text.startswith("/"))
async def on_question(message: Message, state: FSMContext, session: AsyncSession, person: Person | None) -> None:
    assert message.text is not None
    data = await state.get_data()
    try:
        await events.ask(session, int(data.get("ask_event_id", 0)), person, message.text)
    except EventError as error:
        await state.clear()
        await message.answer(refusal(error))
        return
    await state.clear()
    await message.answer(_("Thank you! Your question or proposal is passed to the organisers."))


async def show_event(message: Message, event_id: int, *, session: AsyncSession, person: Person | None,
                     settings: Settings, bot: Bot, language: str) -> bool:
    """The event card for a villager (from the deep link): the notice and the answer buttons."""
    event = await events.get_event(session, event_id)
    if event is None or person is None or not (events.concerns(event, person)
                                               or await events.response_of(session, event_id, person) is not None):
        await message.answer(_("This event is not for your village, or it does not exist any more."))
        return True
    villages = await event_villages(session, event)
    fmt = Formatter(language, settings.zone)
    if event.status == "cancelled":
        await message.answer(views.cancel_text(event, fmt))
        return True
    if event.status == "held":
        await message.answer(views.outcome_text(event, fmt))
        return True
    chosen = await events.response_of(session, event_id, person)
    await message.answer(views.notice_text(event, villages, fmt, await deep_link(bot, event.id)),
                         reply_markup=views.rsvp_keyboard(event.id, chosen), disable_web_page_preview=True)
    return True


async def _open_link(message: Message, payload: str, *, session: AsyncSession, person: Person | None,
                     settings: Settings, **_kwargs: Any) -> bool:
    from aiogram.utils.i18n.context import get_i18n

    if not payload.isdigit() or message.bot is None:
        return False
    return await show_event(message, int(payload), session=session, person=person, settings=settings,
                            bot=message.bot, language=get_i18n().current_locale)


START_LINKS["event_"] = _open_link
