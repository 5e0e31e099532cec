"""handlers.events.outcome"""

from __future__ import annotations

import re
from typing import Any

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.i18n import Formatter
from bot.routes import Routes
from bot.settings import Settings
from handlers.events import views
from handlers.events.buttons import OutcomeCB
from handlers.events.common import organiser_event, send_protocol
from handlers.events.states import Outcome
from handlers.events.views import decision_prompt, refusal, stale
from jobs.events import schedule_outcome
from services import events
from services.events import DecisionInput, EventError
from services.roles import Role, Roles
from storage.events import Event

ORGANISER = HasRole(Role.ORGANISER)
router = Routes("events_outcome")


# --------------------------------------------------------------------------- organisers: the outcome


def _number(text: str | None) -> int | None:
    cleaned = (text or "").strip().replace(" ", "")
    return int(cleaned) if cleaned.isdigit() else None


@router.message(Outcome.attended, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_attended(message: Message, state: FSMContext) -> None:
    value = _number(message.text)
    if value is None:
        await message.answer(_("Please write a number."))
        return
    await state.update_data(attended=value)
    await state.set_state(Outcome.women)
    await message.answer(_("How many of them were women?"))


@router.message(Outcome.women, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_women(message: Message, state: FSMContext) -> None:
    value = _number(message.text)
    data = await state.get_data()
    if value is None or value > data["attended"]:
        await message.answer(refusal(EventError("bad_attendance")) if value is not None
                             else _("Please write a number."))
        return
    await state.update_data(women=value)
    await state.set_state(Outcome.minutes)
    await message.answer(_("The minutes: what was discussed (or “-”):"))


@router.message(Outcome.minutes, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_minutes(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    minutes = "" if message.text.strip() in ("-", "—") else message.text.strip()
    await state.update_data(minutes=minutes)
    await state.set_state(Outcome.decision)
    data = await state.get_data()
    text, markup = decision_prompt(data["event_id"], 0)
    await message.answer(text, reply_markup=markup)


@router.message(Outcome.decision, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_decision(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    await state.update_data(current=message.text.strip()[:1000])
    await state.set_state(Outcome.votes)
    await message.answer(_("The votes: for, against, abstained — three numbers, e.g. “100 0 0”."))


@router.message(Outcome.votes, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_votes(message: Message, state: FSMContext, session: AsyncSession) -> None:
    numbers = [int(n) for n in re.findall(r"\d+", message.text or "")]
    data = await state.get_data()
    if len(numbers) != 3:
        await message.answer(_("Please write three numbers: for, against, abstained."))
        return
    if sum(numbers) > data["attended"]:
        await message.answer(refusal(EventError("more_votes_than_present")))
        return
    event = await session.get(Event, data["event_id"])
    assert event is not None
    decision = {"text": data["current"], "for": numbers[0], "against": numbers[1], "abstained": numbers[2],
                "chair": None}
    data["decisions"] = [*data["decisions"], decision]
    await state.set_data(data)
    if events.check_rule(event.decision_rule)[1] and events.is_tie(numbers[0], numbers[1]):
        await state.set_state(Outcome.chair)
        await message.answer(_("A tie. Under this event's rule the chair's vote decides. How did the chair vote?"),
                             reply_markup=views.chair_keyboard(event.id))
        return
    await state.set_state(Outcome.decision)
    text, markup = decision_prompt(event.id, len(data["decisions"]))
    await message.answer(text, reply_markup=markup)


@router.callback_query(Outcome.chair, OutcomeCB.filter(F.a.in_({"chair_for", "chair_against"})), ORGANISER)
async def on_chair(query: CallbackQuery, message: Message, callback_data: OutcomeCB, state: FSMContext) -> None:
    data = await state.get_data()
    if data.get("event_id") != callback_data.e or not data.get("decisions"):
        await query.answer(stale(), show_alert=True)
        return
    data["decisions"][-1]["chair"] = "for" if callback_data.a == "chair_for" else "against"
    await state.set_data(data)
    await state.set_state(Outcome.decision)
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    text, markup = decision_prompt(callback_data.e, len(data["decisions"]))
    await message.answer(text, reply_markup=markup)


@router.callback_query(Outcome.decision, OutcomeCB.filter(F.a == "done"), ORGANISER)
async def on_decisions_done(query: CallbackQuery, message: Message, callback_data: OutcomeCB,
                            state: FSMContext) -> None:
    if (await state.get_data()).get("event_id") != callback_data.e:
        await query.answer(stale(), show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await state.set_state(Outcome.proposals)
    await message.answer(_("Proposals accepted, one per line:"), reply_markup=views.skip_keyboard(callback_data.e))


@router.message(Outcome.proposals, F.text, ~F.text.startswith("/"), ORGANISER)
@router.callback_query(Outcome.proposals, OutcomeCB.filter(F.a == "skip"), ORGANISER)
async def on_proposals(event: Message | CallbackQuery, state: FSMContext, session: AsyncSession, roles: Roles,
                       settings: Settings, i18n: I18n) -> None:
    if isinstance(event, CallbackQuery):
        await event.answer()
        message = event.message
        assert isinstance(message, Message)
        await message.edit_reply_markup(reply_markup=None)
        proposals: list[str] = []
    else:
        message = event
        proposals = [line.strip(" •-") for line in (event.text or "").splitlines() if line.strip(" •-")]
    await state.update_data(proposals=proposals)
    await state.set_state(Outcome.confirm)
    data = await state.get_data()
    record = await session.get(Event, data["event_id"])
    if record is None:
        await message.answer(refusal(EventError("unknown_event")))
        return
    preview = _outcome_preview(record, data)
    fmt = Formatter(i18n.current_locale, settings.zone)
    await message.answer(_("<b>Preview</b>:") + "\n\n" + views.outcome_text(preview, fmt),
                         reply_markup=views.publish_keyboard(record.id))


def _outcome_preview(event: Event, data: dict[str, Any]) -> Event:
    from storage.events import EventDecision

    preview = Event(id=event.id, kind=event.kind, topic=event.topic, starts_at=event.starts_at, place=event.place,
                    decision_rule=event.decision_rule, attended=data["attended"], attended_women=data["women"],
                    minutes=data.get("minutes"), accepted_proposals=data.get("proposals", []))
    preview.decisions = [
        EventDecision(position=i, text=d["text"], votes_for=d["for"], votes_against=d["against"],
                      abstained=d["abstained"], chair_vote=d["chair"] if d["for"] == d["against"] else None,
                      adopted=events.decide(event.decision_rule, d["for"], d["against"], d["abstained"],
                                            data["attended"], d["chair"]))
        for i, d in enumerate(data["decisions"], start=1)]
    return preview


@router.callback_query(Outcome.confirm, OutcomeCB.filter(F.a.in_({"publish", "abort"})), ORGANISER)
async def on_publish(query: CallbackQuery, message: Message, callback_data: OutcomeCB, state: FSMContext,
                     session: AsyncSession, roles: Roles, settings: Settings, i18n: I18n) -> None:
    data = await state.get_data()
    if data.get("event_id") != callback_data.e:
        await query.answer(stale(), show_alert=True)
        return
    await message.edit_reply_markup(reply_markup=None)
    if callback_data.a == "abort":
        await state.clear()
        await query.answer()
        await message.answer(_("Nothing was recorded."))
        return
    event = await organiser_event(query, session, roles, callback_data.e)
    if event is None:
        return
    decisions = [DecisionInput(d["text"], d["for"], d["against"], d["abstained"], d["chair"])
                 for d in data["decisions"]]
    try:
        await events.record_outcome(session, event, roles, attended=data["attended"], women=data["women"],
                                    minutes=data.get("minutes", ""), decisions=decisions,
                                    accepted_proposals=data.get("proposals", []))
    except EventError as error:
        await query.answer(refusal(error), show_alert=True)
        return
    # The outcome and the protocol go out as background work (a durable task): the organiser has the answer at
    # once, and the protocol for the chair and the secretary.
    count = await schedule_outcome(session, event, progress_chat_id=message.chat.id)
    await state.clear()
    await query.answer()
    await message.answer(ngettext(
        "Recorded. The outcome and the protocol are on their way to the {count} person who got the notice.",
        "Recorded. The outcome and the protocol are on their way to the {count} people who got the notice.",
        count).format(
            count=Formatter(i18n.current_locale, settings.zone).number(count)))
    await send_protocol(message, session, event, settings, i18n)
