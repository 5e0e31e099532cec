"""handlers.events.card"""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.i18n import Formatter
from bot.routes import Routes
from bot.settings import Settings
from bot.text import escape
from handlers.events import views
from handlers.events.buttons import CardCB
from handlers.events.common import organiser_event, send_protocol
from handlers.events.states import EditEvent, Outcome
from handlers.events.views import refusal
from jobs.events import schedule_follow_up
from services import events
from services.events import EventError
from services.roles import Role, Roles
from storage.events import Event

ORGANISER = HasRole(Role.ORGANISER)
router = Routes("events_card")


# --------------------------------------------------------------------------- organisers: their events


@router.message(Command("events"), ORGANISER)
async def on_events(message: Message, session: AsyncSession, roles: Roles, settings: Settings, i18n: I18n) -> None:
    found = await events.events_of(session, roles.organiser_of)
    if not found:
        await message.answer(_("No events yet. /event announces one."))
        return
    fmt = Formatter(i18n.current_locale, settings.zone)
    await message.answer(_("Events of your aiyl aimak:"), reply_markup=views.events_keyboard(found, fmt))


async def _card(message: Message, event: Event, session: AsyncSession, settings: Settings, language: str) -> None:
    fmt = Formatter(language, settings.zone)
    answers = await events.answers(session, event)
    await message.answer(views.card_text(event, answers, fmt), reply_markup=views.card_keyboard(event))


@router.callback_query(CardCB.filter(), ORGANISER)
async def on_card(query: CallbackQuery, message: Message, callback_data: CardCB, state: FSMContext,
                  session: AsyncSession, roles: Roles, settings: Settings, i18n: I18n) -> None:
    event = await organiser_event(query, session, roles, callback_data.e)
    if event is None:
        return
    action = callback_data.a
    language = i18n.current_locale
    if action in ("when", "place", "reminders", "cancel", "cancel_yes") and event.status != "announced":
        await query.answer(refusal(EventError(event.status)), show_alert=True)
        return
    await query.answer()
    if action == "open":
        await _card(message, event, session, settings, language)
    elif action == "questions":
        found = await events.questions(session, event)
        fmt = Formatter(language, settings.zone)
        if not found:
            await message.answer(_("No questions or proposals yet."))
        for start in range(0, len(found), 20):
            chunk = found[start:start + 20]
            lines = [f"{start + i + 1}. {escape(q.text)} <i>({fmt.datetime(q.created_at)})</i>"
                     for i, q in enumerate(chunk)]
            await message.answer(views._clip("\n".join(lines)))
    elif action in ("when", "place", "reminders"):
        await state.set_state({"when": EditEvent.when, "place": EditEvent.place,
                               "reminders": EditEvent.reminders}[action])
        await state.update_data(event_id=event.id)
        await message.answer({
            "when": _("The new date and time ({zone}), e.g. 25.12.2026 15:00:").format(zone=settings.timezone),
            "place": _("The new place:"),
            "reminders": _("When should reminders go out before the start? E.g. “1d, 2h” (days, hours, "
                           "minutes), or 0 for none:"),
        }[action])
    elif action == "cancel":
        await message.answer(_("Cancel “{topic}”? Everybody who got the notice is told.").format(
            topic=escape(event.topic)), reply_markup=views.cancel_keyboard(event))
    elif action == "cancel_yes":
        await events.cancel(session, event, roles)
        # The notices are background work (a durable task): the organiser has the answer at once.
        count = await schedule_follow_up(session, event, progress_chat_id=message.chat.id)
        await message.edit_reply_markup(reply_markup=None)
        await message.answer(ngettext(
            "The event is cancelled; the {count} person who got the notice is being told. The message below "
            "shows how many have got it.",
            "The event is cancelled; the {count} people who got the notice are being told. The message below "
            "shows how many have got it.", count).format(
            count=Formatter(i18n.current_locale, settings.zone).number(count)))
    elif action == "outcome":
        await state.set_state(Outcome.attended)
        await state.set_data({"event_id": event.id, "decisions": []})
        await message.answer(_("How many people were present?"))
    elif action == "protocol":
        await send_protocol(message, session, event, settings, i18n)


@router.message(EditEvent.when, F.text, ~F.text.startswith("/"), ORGANISER)
@router.message(EditEvent.place, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_edit(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, settings: Settings,
                  i18n: I18n) -> None:
    assert message.text is not None
    current = await state.get_state()
    data = await state.get_data()
    event = await session.get(Event, int(data.get("event_id", 0)))
    try:
        if event is None:
            raise EventError("unknown_event")
        grace = _reminder_grace(settings)
        if current == EditEvent.when.state:
            await events.change(session, event, roles, starts_at=events.parse_when(message.text, settings.zone),
                                grace=grace)
        else:
            await events.change(session, event, roles, place=message.text, grace=grace)
    except EventError as error:
        await message.answer(refusal(error))
        return
    # The notices are background work (a durable task): the organiser has the answer at once.
    count = await schedule_follow_up(session, event, progress_chat_id=message.chat.id)
    await state.clear()
    await message.answer(ngettext(
        "Saved. The change is on its way to the {count} person who got the notice (the message below shows how "
        "many have got it); reminders follow the new time.",
        "Saved. The change is on its way to the {count} people who got the notice (the message below shows how "
        "many have got it); reminders follow the new time.", count).format(
            count=Formatter(i18n.current_locale, settings.zone).number(count)))


def _reminder_grace(settings: Settings):  # noqa: ANN202
    from datetime import timedelta

    return timedelta(minutes=settings.event_reminder_grace_minutes)


@router.message(EditEvent.reminders, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_edit_reminders(message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                            settings: Settings, i18n: I18n) -> None:
    assert message.text is not None
    data = await state.get_data()
    event = await session.get(Event, int(data.get("event_id", 0)))
    try:
        if event is None:
            raise EventError("unknown_event")
        minutes = events.parse_lead_times(message.text)
        planned = await events.set_reminders(session, event, roles, minutes, grace=_reminder_grace(settings))
    except EventError as error:
        await message.answer(refusal(error))
        return
    await state.clear()
    fmt = Formatter(i18n.current_locale, settings.zone)
    await message.answer(_("Reminders: {leads}. Planned: {times}.").format(
        leads=views.leads_text(minutes, fmt), times=", ".join(fmt.datetime(t) for t in planned) or "—"))
