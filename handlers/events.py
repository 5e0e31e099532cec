"""Hearings and meeting notices.

Organisers: /event creates an event step by step (aiyl aimak, kind, topic, agenda, date and time, place,
villages, documents), previews the notice in each language and sends it through the outbox; /events lists
their events with answers, questions, changes, cancellation, reminders, the outcome and the protocol.
Villagers: "I will come" / "I can't come" / "Ask a question or make a proposal" on the notice, and the deep
link /start event_<id>. Every button re-checks the event, the person and the role."""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.i18n import LANGUAGE_NAMES, Formatter, in_language
from bot.routes import Routes
from bot.settings import LANGUAGES, Settings
from handlers import event_views as views
from handlers.event_views import RsvpCB
from handlers.start import START_LINKS
from jobs.events import announce, deep_link, follow_up, publish_outcome
from services import events
from services.events import DecisionInput, Document, EventError
from services.outbox import Attachment
from services.places import list_villages, place_name
from services.protocol import protocol_csv, protocol_docx
from services.roles import Role, Roles
from storage.events import EVENT_KINDS, Event
from storage.models import AiylAimak, Person, Village

log = logging.getLogger("jamaat.events")
router = Routes("events")
ORGANISER = HasRole(Role.ORGANISER)
RULES = ("present+chair", "present", "cast+chair", "cast")
MAX_DOCUMENTS = 5


class NewEventCB(CallbackData, prefix="evn"):
    a: str  # aimak | kind | village | whole | villages_done | docs_done | lang | reminders | rule | send | abort
    v: int = 0


class CardCB(CallbackData, prefix="evc"):
    a: str  # open | questions | when | place | reminders | cancel | cancel_yes | outcome | protocol
    e: int


class OutcomeCB(CallbackData, prefix="evo"):
    a: str  # done | chair_for | chair_against | skip | publish | abort
    e: int


class NewEvent(StatesGroup):
    aimak = State()
    kind = State()
    topic = State()
    agenda = State()
    when = State()
    place = State()
    villages = State()
    documents = State()
    preview = State()
    reminders = State()


class EditEvent(StatesGroup):
    when = State()
    place = State()
    reminders = State()


class Outcome(StatesGroup):
    attended = State()
    women = State()
    minutes = State()
    decision = State()
    votes = State()
    chair = State()
    proposals = State()
    confirm = State()


class AskEvent(StatesGroup):
    text = State()


def refusal(error: EventError) -> str:
    return {
        "not_organiser": _("Only organisers of this aiyl aimak can do this."),
        "cancelled": _("This event was cancelled."),
        "started": _("This event has already started, so answers and questions are closed."),
        "held": _("The outcome of this event is already recorded."),
        "not_concerned": _("This event is for the villagers of other places."),
        "unknown_event": _("This event does not exist any more."),
        "past": _("This moment has passed. Please give a date and time in the future."),
        "bad_date": _("Please write the date and time like 25.12.2026 15:00."),
        "bad_lead_times": _("Please write the reminder times like “1d, 2h” (days, hours, minutes), at most "
                            "five, or 0 for no reminders."),
        "bad_attendance": _("The number of women cannot be more than the number of people present."),
        "more_votes_than_present": _("There are more votes than people present. Please check the numbers."),
        "bad_villages": _("Please choose at least one village of this aiyl aimak."),
    }.get(error.code, _("This cannot be done: {reason}.").format(reason=error.code))


def stale() -> str:
    return _("This button is no longer active.")


# --------------------------------------------------------------------------- organisers: a new event


@router.message(Command("event"), ORGANISER)
async def on_new_event(message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                       i18n: I18n) -> None:
    await state.clear()
    aimaks = sorted(roles.organiser_of)
    if len(aimaks) == 1:
        await _ask_kind(message, state, aimaks[0])
        return
    builder = InlineKeyboardBuilder()
    for aimak_id in aimaks:
        aimak = await session.get(AiylAimak, aimak_id)
        if aimak is not None:
            builder.button(text=place_name(aimak, i18n.current_locale), callback_data=NewEventCB(a="aimak",
                                                                                                 v=aimak_id))
    builder.adjust(2)
    await state.set_state(NewEvent.aimak)
    await message.answer(_("For which aiyl aimak is the event?"), reply_markup=builder.as_markup())


async def _ask_kind(message: Message, state: FSMContext, aimak_id: int) -> None:
    await state.set_data({"aimak": aimak_id, "villages": [], "whole": False, "docs": []})
    await state.set_state(NewEvent.kind)
    builder = InlineKeyboardBuilder()
    for index, kind in enumerate(EVENT_KINDS):
        builder.button(text=views.kind_label(kind), callback_data=NewEventCB(a="kind", v=index))
    builder.adjust(2)
    await message.answer(_("What kind of event is it?"), reply_markup=builder.as_markup())


@router.callback_query(NewEvent.aimak, NewEventCB.filter(F.a == "aimak"), ORGANISER)
async def on_aimak(query: CallbackQuery, callback_data: NewEventCB, state: FSMContext, roles: Roles) -> None:
    assert isinstance(query.message, Message)
    if not roles.may_organise(callback_data.v):
        log.warning("user %s chose aiyl aimak %s they do not organise", query.from_user.id, callback_data.v)
        await query.answer(refusal(EventError("not_organiser")), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await _ask_kind(query.message, state, callback_data.v)


@router.callback_query(NewEvent.kind, NewEventCB.filter(F.a == "kind"), ORGANISER)
async def on_kind(query: CallbackQuery, callback_data: NewEventCB, state: FSMContext) -> None:
    assert isinstance(query.message, Message)
    if not 0 <= callback_data.v < len(EVENT_KINDS):
        await query.answer(stale(), show_alert=True)
        return
    kind = EVENT_KINDS[callback_data.v]
    await state.update_data(kind=kind)
    await query.answer()
    await query.message.edit_text(_("Kind: {kind} ✓").format(kind=views.kind_label(kind)))
    await state.set_state(NewEvent.topic)
    await query.message.answer(_("The topic, in one line (e.g. “Draft local budget for 2027”):"))


@router.message(NewEvent.topic, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_topic(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    if len(message.text) > 300:
        await message.answer(_("Please keep the topic under 300 characters; the agenda comes next."))
        return
    await state.update_data(topic=message.text.strip())
    await state.set_state(NewEvent.agenda)
    await message.answer(_("The agenda (one item per line), or “-” for none:"))


@router.message(NewEvent.agenda, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_agenda(message: Message, state: FSMContext, settings: Settings) -> None:
    assert message.text is not None
    agenda = "" if message.text.strip() in ("-", "—") else message.text.strip()
    if len(agenda) > 2500:
        await message.answer(_("Please keep the agenda under 2,500 characters; attach long texts as a document."))
        return
    await state.update_data(agenda=agenda)
    await state.set_state(NewEvent.when)
    await message.answer(_("Date and time ({zone}), e.g. 25.12.2026 15:00:").format(zone=settings.timezone))


@router.message(NewEvent.when, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_when(message: Message, state: FSMContext, settings: Settings) -> None:
    assert message.text is not None
    try:
        starts_at = events.parse_when(message.text, settings.zone)
    except EventError as error:
        await message.answer(refusal(error))
        return
    await state.update_data(starts_at=starts_at.isoformat())
    await state.set_state(NewEvent.place)
    await message.answer(_("The place (e.g. “Club of Арал village, hall”):"))


@router.message(NewEvent.place, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_place(message: Message, state: FSMContext, session: AsyncSession, i18n: I18n) -> None:
    assert message.text is not None
    await state.update_data(place=message.text.strip()[:300])
    await state.set_state(NewEvent.villages)
    await _villages_question(message, state, session, i18n.current_locale)


async def _villages_markup(data: dict[str, Any], villages: list[Village], language: str) -> InlineKeyboardMarkup:
    chosen = set(data.get("villages", []))
    builder = InlineKeyboardBuilder()
    for village in villages:
        mark = "✅ " if village.id in chosen or data.get("whole") else ""
        builder.button(text=mark + place_name(village, language), callback_data=NewEventCB(a="village", v=village.id))
    builder.adjust(2)
    extra = InlineKeyboardBuilder()
    extra.button(text=("✅ " if data.get("whole") else "") + _("The whole aiyl aimak"),
                 callback_data=NewEventCB(a="whole"))
    extra.button(text=_("Done"), callback_data=NewEventCB(a="villages_done"))
    extra.adjust(1)
    builder.attach(extra)
    return builder.as_markup()


async def _villages_question(message: Message, state: FSMContext, session: AsyncSession, language: str,
                             edit: bool = False) -> None:
    data = await state.get_data()
    villages = await list_villages(session, data["aimak"])
    markup = await _villages_markup(data, villages, language)
    text = _("Which villages does it concern? Tap to choose, then “Done”.")
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


@router.callback_query(NewEvent.villages, NewEventCB.filter(F.a.in_({"village", "whole"})), ORGANISER)
async def on_village_toggle(query: CallbackQuery, callback_data: NewEventCB, state: FSMContext,
                            session: AsyncSession, i18n: I18n) -> None:
    assert isinstance(query.message, Message)
    data = await state.get_data()
    if callback_data.a == "whole":
        data["whole"] = not data.get("whole")
        data["villages"] = []
    else:
        village = await session.get(Village, callback_data.v)
        if village is None or village.aiyl_aimak_id != data.get("aimak"):
            await query.answer(stale(), show_alert=True)
            return
        chosen = set(data.get("villages", []))
        chosen ^= {village.id}
        data["villages"], data["whole"] = sorted(chosen), False
    await state.set_data(data)
    await query.answer()
    await _villages_question(query.message, state, session, i18n.current_locale, edit=True)


@router.callback_query(NewEvent.villages, NewEventCB.filter(F.a == "villages_done"), ORGANISER)
async def on_villages_done(query: CallbackQuery, state: FSMContext) -> None:
    assert isinstance(query.message, Message)
    data = await state.get_data()
    if not data.get("whole") and not data.get("villages"):
        await query.answer(refusal(EventError("bad_villages")), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await state.set_state(NewEvent.documents)
    await query.message.answer(
        _("Documents for the villagers (the PDF of a budget draft, a photo of the poster): send them now, up to "
          "{count}. Tap “No documents” or “Done” to go on.").format(count=MAX_DOCUMENTS),
        reply_markup=_docs_markup(data))


def _docs_markup(data: dict[str, Any]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Done") if data.get("docs") else _("No documents"), callback_data=NewEventCB(a="docs_done"))
    return builder.as_markup()


@router.message(NewEvent.documents, F.document | F.photo, ORGANISER)
async def on_document(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    docs = list(data.get("docs", []))
    if len(docs) >= MAX_DOCUMENTS:
        await message.answer(_("That is enough documents. Tap “Done”."), reply_markup=_docs_markup(data))
        return
    if message.document is not None:
        docs.append({"kind": "document", "file_id": message.document.file_id,
                     "filename": message.document.file_name or "document"})
    else:
        assert message.photo
        docs.append({"kind": "photo", "file_id": message.photo[-1].file_id, "filename": "photo.jpg"})
    data["docs"] = docs
    await state.set_data(data)
    await message.answer(_("Added: {name}. Send another or tap “Done”.").format(name=docs[-1]["filename"]),
                         reply_markup=_docs_markup(data))


@router.callback_query(NewEvent.documents, NewEventCB.filter(F.a == "docs_done"), ORGANISER)
async def on_docs_done(query: CallbackQuery, state: FSMContext, session: AsyncSession, settings: Settings,
                       i18n: I18n, bot: Bot) -> None:
    assert isinstance(query.message, Message)
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    data = await state.get_data()
    data.setdefault("reminders", list(settings.event_reminder_minutes))
    data.setdefault("rule", RULES[0])
    await state.set_data(data)
    await state.set_state(NewEvent.preview)
    await _preview(query.message, state, session, settings, i18n)


def _draft(data: dict[str, Any], villages: list[Village]) -> Event:
    """An unsaved event from the conversation data, for the preview."""
    event = Event(id=0, aiyl_aimak_id=data["aimak"], kind=data["kind"], topic=data["topic"],
                  agenda=data.get("agenda", ""), starts_at=datetime.fromisoformat(data["starts_at"]),
                  place=data["place"], whole_aimak=bool(data.get("whole")), status="announced", version=1,
                  reminder_minutes=data.get("reminders", []), decision_rule=data.get("rule", RULES[0]),
                  duration_minutes=120)
    return event


async def _preview(message: Message, state: FSMContext, session: AsyncSession, settings: Settings, i18n: I18n,
                   *, edit: bool = False) -> None:
    language = i18n.current_locale
    data = await state.get_data()
    villages = await list_villages(session, data["aimak"])
    if not data.get("whole"):
        villages = [v for v in villages if v.id in set(data.get("villages", []))]
    event = _draft(data, villages)
    shown = data.get("preview_language", language)
    with in_language(i18n, shown):
        notice = views.notice_text(event, villages, Formatter(shown, settings.zone), None)
    fmt = Formatter(language, settings.zone)
    count = await _count_recipients(session, data, villages)
    lines = [_("<b>Preview</b> ({language}):").format(language=LANGUAGE_NAMES[shown]), "", notice, "",
             _("It goes to {count} registered villagers, each in their own language, with a calendar file and "
               "{documents} document(s).").format(count=fmt.number(count), documents=len(data.get("docs", []))),
             _("Reminders before the start: {leads}.").format(leads=views.leads_text(data["reminders"], fmt)),
             _("Decision rule: {rule}.").format(rule=views.rule_text(data["rule"]))]
    days = (event.starts_at - datetime.now(event.starts_at.tzinfo)).days
    if days < settings.event_notice_days:
        lines.append(_("⚠️ That is less than {days} days ahead: the law or your charter may require a longer "
                       "notice.").format(days=settings.event_notice_days))
    builder = InlineKeyboardBuilder()
    for index, code in enumerate(LANGUAGES):
        builder.button(text=("👁 " if code == shown else "") + LANGUAGE_NAMES[code],
                       callback_data=NewEventCB(a="lang", v=index))
    builder.button(text=_("⏰ Change reminders"), callback_data=NewEventCB(a="reminders"))
    builder.button(text=_("⚖️ Change the decision rule"), callback_data=NewEventCB(a="rule"))
    builder.button(text=_("📤 Send"), callback_data=NewEventCB(a="send"))
    builder.button(text=_("✖️ Cancel"), callback_data=NewEventCB(a="abort"))
    builder.adjust(4, 2, 2)
    text = views._clip("\n".join(lines))
    if edit:
        await message.edit_text(text, reply_markup=builder.as_markup(), disable_web_page_preview=True)
    else:
        await message.answer(text, reply_markup=builder.as_markup(), disable_web_page_preview=True)


async def _count_recipients(session: AsyncSession, data: dict[str, Any], villages: list[Village]) -> int:
    from sqlalchemy import func

    ids = [v.id for v in villages]
    query = select(func.count()).select_from(Person).where(
        Person.village_id.in_(ids), Person.registered_at.is_not(None), Person.forgotten_at.is_(None),
        Person.telegram_id.is_not(None))
    return int(await session.scalar(query) or 0)


@router.callback_query(NewEvent.preview, NewEventCB.filter(F.a.in_({"lang", "rule"})), ORGANISER)
async def on_preview_option(query: CallbackQuery, callback_data: NewEventCB, state: FSMContext,
                            session: AsyncSession, settings: Settings, i18n: I18n, bot: Bot) -> None:
    assert isinstance(query.message, Message)
    data = await state.get_data()
    if callback_data.a == "lang":
        if not 0 <= callback_data.v < len(LANGUAGES):
            await query.answer(stale(), show_alert=True)
            return
        data["preview_language"] = LANGUAGES[callback_data.v]
    else:
        data["rule"] = RULES[(RULES.index(data.get("rule", RULES[0])) + 1) % len(RULES)]
    await state.set_data(data)
    await query.answer()
    await _preview(query.message, state, session, settings, i18n, edit=True)


@router.callback_query(NewEvent.preview, NewEventCB.filter(F.a == "reminders"), ORGANISER)
async def on_preview_reminders(query: CallbackQuery, state: FSMContext) -> None:
    assert isinstance(query.message, Message)
    await query.answer()
    await state.set_state(NewEvent.reminders)
    await query.message.answer(_("When should reminders go out before the start? E.g. “1d, 2h” (days, hours, "
                                 "minutes), or 0 for none:"))


@router.message(NewEvent.reminders, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_new_reminders(message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
                           i18n: I18n, bot: Bot) -> None:
    assert message.text is not None
    try:
        minutes = events.parse_lead_times(message.text)
    except EventError as error:
        await message.answer(refusal(error))
        return
    await state.update_data(reminders=minutes)
    await state.set_state(NewEvent.preview)
    await _preview(message, state, session, settings, i18n)


@router.callback_query(NewEvent.preview, NewEventCB.filter(F.a == "abort"), ORGANISER)
async def on_abort(query: CallbackQuery, state: FSMContext) -> None:
    assert isinstance(query.message, Message)
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(_("Nothing was sent. The draft is discarded."))


@router.callback_query(NewEvent.preview, NewEventCB.filter(F.a == "send"), ORGANISER)
async def on_send(query: CallbackQuery, state: FSMContext, session: AsyncSession, roles: Roles,
                  settings: Settings, i18n: I18n, bot: Bot) -> None:
    assert isinstance(query.message, Message)
    data = await state.get_data()
    documents = []
    for doc in data.get("docs", []):
        buffer = io.BytesIO()
        await bot.download(doc["file_id"], destination=buffer)
        documents.append(Document(doc["kind"], doc["filename"], buffer.getvalue()))
    try:
        event = await events.create_event(
            session, roles=roles, aiyl_aimak_id=data["aimak"], kind=data["kind"], topic=data["topic"],
            agenda=data.get("agenda", ""), starts_at=datetime.fromisoformat(data["starts_at"]), place=data["place"],
            village_ids=data.get("villages", []), whole_aimak=bool(data.get("whole")),
            reminder_minutes=data.get("reminders", []), documents=documents, decision_rule=data.get("rule", RULES[0]))
        if event.starts_at <= datetime.now(event.starts_at.tzinfo):
            raise EventError("past")
    except EventError as error:
        log.warning("user %s could not announce: %s", query.from_user.id, error.code)
        await query.answer(refusal(error), show_alert=True)
        return
    await announce(session, bot=bot, i18n=i18n, settings=settings, event=event,
                   progress_chat_id=query.message.chat.id)
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(
        _("The notice is on its way (event no. {id}). The message below shows how many have got it; /events "
          "shows answers and questions.").format(id=event.id))


# --------------------------------------------------------------------------- organisers: their events


@router.message(Command("events"), ORGANISER)
async def on_events(message: Message, session: AsyncSession, roles: Roles, settings: Settings,
                    i18n: I18n) -> None:
    found = await events.events_of(session, roles.organiser_of)
    if not found:
        await message.answer(_("No events yet. /event announces one."))
        return
    fmt = Formatter(i18n.current_locale, settings.zone)
    builder = InlineKeyboardBuilder()
    for event in found:
        mark = {"cancelled": "❌ ", "held": "📝 "}.get(event.status, "📣 ")
        builder.button(text=f"{mark}{fmt.date(event.starts_at)} · {event.topic[:40]}",
                       callback_data=CardCB(a="open", e=event.id))
    builder.adjust(1)
    await message.answer(_("Events of your aiyl aimak:"), reply_markup=builder.as_markup())


async def _organiser_event(query: CallbackQuery, session: AsyncSession, roles: Roles, event_id: int) -> Event | None:
    try:
        return await events.event_for_organiser(session, event_id, roles)
    except EventError as error:
        log.warning("user %s tried event %s: %s", query.from_user.id, event_id, error.code)
        await query.answer(refusal(error), show_alert=True)
        return None


async def _card(message: Message, event: Event, session: AsyncSession, settings: Settings, language: str) -> None:
    fmt = Formatter(language, settings.zone)
    answers = await events.answers(session, event)
    status = {"cancelled": _("cancelled"), "held": _("held, outcome recorded")}.get(event.status, _("announced"))
    lines = [
        _("<b>{kind}</b>: {topic}").format(kind=views.kind_label(event.kind), topic=views.escape(event.topic)),
        _("🗓 {when}").format(when=views.when_text(event, fmt)),
        _("📍 {place}").format(place=views.escape(event.place)),
        _("Status: {status}").format(status=status),
        views.answers_text(answers, fmt),
        _("Reminders before the start: {leads}.").format(leads=views.leads_text(event.reminder_minutes, fmt)),
    ]
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Questions and proposals"), callback_data=CardCB(a="questions", e=event.id))
    if event.status == "announced":
        builder.button(text=_("Move the date"), callback_data=CardCB(a="when", e=event.id))
        builder.button(text=_("Change the place"), callback_data=CardCB(a="place", e=event.id))
        builder.button(text=_("Reminders"), callback_data=CardCB(a="reminders", e=event.id))
        builder.button(text=_("Cancel the event"), callback_data=CardCB(a="cancel", e=event.id))
    if event.status in ("announced", "held"):
        builder.button(text=_("Record the outcome"), callback_data=CardCB(a="outcome", e=event.id))
    if event.status == "held":
        builder.button(text=_("Protocol (DOCX, CSV)"), callback_data=CardCB(a="protocol", e=event.id))
    builder.adjust(1, 2, 2, 2)
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


@router.callback_query(CardCB.filter(), ORGANISER)
async def on_card(query: CallbackQuery, callback_data: CardCB, state: FSMContext, session: AsyncSession,
                  roles: Roles, settings: Settings, i18n: I18n, bot: Bot) -> None:
    assert isinstance(query.message, Message)
    event = await _organiser_event(query, session, roles, callback_data.e)
    if event is None:
        return
    action = callback_data.a
    language = i18n.current_locale
    if action in ("when", "place", "reminders", "cancel", "cancel_yes") and event.status != "announced":
        await query.answer(refusal(EventError(event.status)), show_alert=True)
        return
    await query.answer()
    if action == "open":
        await _card(query.message, event, session, settings, language)
    elif action == "questions":
        found = await events.questions(session, event)
        fmt = Formatter(language, settings.zone)
        if not found:
            await query.message.answer(_("No questions or proposals yet."))
        for start in range(0, len(found), 20):
            chunk = found[start:start + 20]
            lines = [f"{start + i + 1}. {views.escape(q.text)} <i>({fmt.datetime(q.created_at)})</i>"
                     for i, q in enumerate(chunk)]
            await query.message.answer(views._clip("\n".join(lines)))
    elif action in ("when", "place", "reminders"):
        await state.set_state({"when": EditEvent.when, "place": EditEvent.place,
                               "reminders": EditEvent.reminders}[action])
        await state.update_data(event_id=event.id)
        await query.message.answer({
            "when": _("The new date and time ({zone}), e.g. 25.12.2026 15:00:").format(zone=settings.timezone),
            "place": _("The new place:"),
            "reminders": _("When should reminders go out before the start? E.g. “1d, 2h” (days, hours, "
                           "minutes), or 0 for none:"),
        }[action])
    elif action == "cancel":
        builder = InlineKeyboardBuilder()
        builder.button(text=_("Yes, cancel it and tell the villagers"), callback_data=CardCB(a="cancel_yes",
                                                                                               e=event.id))
        await query.message.answer(_("Cancel “{topic}”? Everybody who got the notice is told.").format(
            topic=views.escape(event.topic)), reply_markup=builder.as_markup())
    elif action == "cancel_yes":
        await events.cancel(session, event, roles)
        await follow_up(session, bot=bot, i18n=i18n, settings=settings, event=event,
                        progress_chat_id=query.message.chat.id)
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(_("The event is cancelled; the villagers are being told."))
    elif action == "outcome":
        await state.set_state(Outcome.attended)
        await state.set_data({"event_id": event.id, "decisions": []})
        await query.message.answer(_("How many people were present?"))
    elif action == "protocol":
        await _send_protocol(query.message, session, event, settings, i18n)


@router.message(EditEvent.when, F.text, ~F.text.startswith("/"), ORGANISER)
@router.message(EditEvent.place, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_edit(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, settings: Settings,
                  i18n: I18n, bot: Bot) -> None:
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
    await follow_up(session, bot=bot, i18n=i18n, settings=settings, event=event, progress_chat_id=message.chat.id)
    await state.clear()
    await message.answer(_("Saved. The change goes to everybody who got the notice; reminders follow the new "
                           "time."))


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


def _decision_prompt(event_id: int, count: int) -> tuple[str, InlineKeyboardMarkup]:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("No more decisions") if count else _("No decisions were voted on"),
                   callback_data=OutcomeCB(a="done", e=event_id))
    return _("Decision no. {number} put to the vote: its text.").format(number=count + 1), builder.as_markup()


@router.message(Outcome.minutes, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_minutes(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    minutes = "" if message.text.strip() in ("-", "—") else message.text.strip()
    await state.update_data(minutes=minutes)
    await state.set_state(Outcome.decision)
    data = await state.get_data()
    text, markup = _decision_prompt(data["event_id"], 0)
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
        builder = InlineKeyboardBuilder()
        builder.button(text=_("The chair voted for"), callback_data=OutcomeCB(a="chair_for", e=event.id))
        builder.button(text=_("The chair voted against"), callback_data=OutcomeCB(a="chair_against", e=event.id))
        await message.answer(_("A tie. Under this event's rule the chair's vote decides. How did the chair vote?"),
                             reply_markup=builder.as_markup())
        return
    await state.set_state(Outcome.decision)
    text, markup = _decision_prompt(event.id, len(data["decisions"]))
    await message.answer(text, reply_markup=markup)


@router.callback_query(Outcome.chair, OutcomeCB.filter(F.a.in_({"chair_for", "chair_against"})), ORGANISER)
async def on_chair(query: CallbackQuery, callback_data: OutcomeCB, state: FSMContext) -> None:
    assert isinstance(query.message, Message)
    data = await state.get_data()
    if data.get("event_id") != callback_data.e or not data.get("decisions"):
        await query.answer(stale(), show_alert=True)
        return
    data["decisions"][-1]["chair"] = "for" if callback_data.a == "chair_for" else "against"
    await state.set_data(data)
    await state.set_state(Outcome.decision)
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    text, markup = _decision_prompt(callback_data.e, len(data["decisions"]))
    await query.message.answer(text, reply_markup=markup)


@router.callback_query(Outcome.decision, OutcomeCB.filter(F.a == "done"), ORGANISER)
async def on_decisions_done(query: CallbackQuery, callback_data: OutcomeCB, state: FSMContext) -> None:
    assert isinstance(query.message, Message)
    if (await state.get_data()).get("event_id") != callback_data.e:
        await query.answer(stale(), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await state.set_state(Outcome.proposals)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("None"), callback_data=OutcomeCB(a="skip", e=callback_data.e))
    await query.message.answer(_("Proposals accepted, one per line:"), reply_markup=builder.as_markup())


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
    builder = InlineKeyboardBuilder()
    builder.button(text=_("📤 Publish to the villagers"), callback_data=OutcomeCB(a="publish", e=record.id))
    builder.button(text=_("✖️ Cancel"), callback_data=OutcomeCB(a="abort", e=record.id))
    await message.answer(_("<b>Preview</b>:") + "\n\n" + views.outcome_text(preview, fmt),
                         reply_markup=builder.as_markup())


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
async def on_publish(query: CallbackQuery, callback_data: OutcomeCB, state: FSMContext, session: AsyncSession,
                     roles: Roles, settings: Settings, i18n: I18n) -> None:
    assert isinstance(query.message, Message)
    data = await state.get_data()
    if data.get("event_id") != callback_data.e:
        await query.answer(stale(), show_alert=True)
        return
    await query.message.edit_reply_markup(reply_markup=None)
    if callback_data.a == "abort":
        await state.clear()
        await query.answer()
        await query.message.answer(_("Nothing was recorded."))
        return
    event = await _organiser_event(query, session, roles, callback_data.e)
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
    villages = await _event_villages(session, event)
    aimak = await session.get(AiylAimak, event.aiyl_aimak_id)

    def protocol(language: str) -> Attachment:
        return Attachment("document", f"protocol-{event.id}-{language}.docx",
                          _protocol_docx(event, villages, aimak, language, settings, i18n))

    await publish_outcome(session, i18n=i18n, settings=settings, event=event, progress_chat_id=query.message.chat.id,
                          protocol=protocol)
    await state.clear()
    await query.answer()
    await query.message.answer(_("Recorded. The outcome and the protocol go to everybody who got the notice."))
    await _send_protocol(query.message, session, event, settings, i18n)


async def _event_villages(session: AsyncSession, event: Event) -> list[Village]:
    query = select(Village).where(Village.id.in_(event.village_ids)).order_by(Village.name_ky)
    return list((await session.scalars(query)).all())


def _protocol_docx(event: Event, villages: list[Village], aimak: AiylAimak | None, language: str,
                   settings: Settings, i18n: I18n) -> bytes:
    with in_language(i18n, language):
        return protocol_docx(event, villages=villages, aimak_name=place_name(aimak, language) if aimak else "",
                             kind_label=views.kind_label(event.kind), rule_label=views.rule_text(event.decision_rule),
                             language=language, zone=settings.zone, _=_)


async def _send_protocol(message: Message, session: AsyncSession, event: Event, settings: Settings,
                         i18n: I18n) -> None:
    language = i18n.current_locale
    villages = await _event_villages(session, event)
    aimak = await session.get(AiylAimak, event.aiyl_aimak_id)
    docx = _protocol_docx(event, villages, aimak, language, settings, i18n)
    table = protocol_csv(event, kind_label=views.kind_label(event.kind), rule_label=views.rule_text(
        event.decision_rule), language=language, zone=settings.zone, _=_)
    await message.answer_document(BufferedInputFile(docx, f"protocol-{event.id}.docx"),
                                  caption=_("Protocol of “{topic}”: print it for the chair and the secretary to "
                                            "sign.").format(topic=views.escape(event.topic[:200])))
    await message.answer_document(BufferedInputFile(table, f"protocol-{event.id}.csv"),
                                  caption=_("The decisions and figures as a table (CSV)."))


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
async def on_ask(query: CallbackQuery, callback_data: RsvpCB, state: FSMContext, session: AsyncSession,
                 person: Person | None) -> None:
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
    assert isinstance(query.message, Message)
    await query.message.answer(_("Write your question or proposal about “{topic}” in one message. The organisers "
                                 "will see it before the meeting.").format(topic=views.escape(event.topic)))


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
    villages = await _event_villages(session, event)
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
