"""Organisers announce an event: /event asks step by step (aiyl aimak, kind, topic, agenda, date and time,
place, villages, documents), previews the notice in each language and sends it through the outbox."""

from __future__ import annotations

import io
import logging
from datetime import datetime
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import HasRole
from bot.i18n import LANGUAGE_NAMES, Formatter, in_language
from bot.routes import Routes
from bot.settings import LANGUAGES, Settings
from bot.text import escape
from handlers.events import views
from handlers.events.buttons import NewEventCB
from handlers.events.states import MAX_DOCUMENTS, RULES, NewEvent
from handlers.events.views import docs_markup, refusal, stale, villages_markup
from jobs.events import schedule_announcement
from services import events
from services.events import Document, EventError
from services.places import list_villages
from services.roles import Role, Roles
from storage.events import EVENT_KINDS, Event
from storage.models import AiylAimak, Person, Village

log = logging.getLogger("jamaat.events")
ORGANISER = HasRole(Role.ORGANISER)
router = Routes("events_organiser")


# --------------------------------------------------------------------------- organisers: a new event


@router.message(Command("event"), ORGANISER)
async def on_new_event(message: Message, state: FSMContext, session: AsyncSession, roles: Roles, i18n: I18n) -> None:
    await state.clear()
    aimaks = sorted(roles.organiser_of)
    if len(aimaks) == 1:
        await _ask_kind(message, state, aimaks[0])
        return
    found = [aimak for aimak in [await session.get(AiylAimak, i) for i in aimaks] if aimak is not None]
    await state.set_state(NewEvent.aimak)
    await message.answer(_("For which aiyl aimak is the event?"),
                         reply_markup=views.aimaks_keyboard(found, i18n.current_locale))


async def _ask_kind(message: Message, state: FSMContext, aimak_id: int) -> None:
    await state.set_data({"aimak": aimak_id, "villages": [], "whole": False, "docs": []})
    await state.set_state(NewEvent.kind)
    await message.answer(_("What kind of event is it?"), reply_markup=views.kinds_keyboard())


@router.callback_query(NewEvent.aimak, NewEventCB.filter(F.a == "aimak"), ORGANISER)
async def on_aimak(query: CallbackQuery, message: Message, callback_data: NewEventCB, state: FSMContext,
                   roles: Roles) -> None:
    if not roles.may_organise(callback_data.v):
        log.warning("user %s chose aiyl aimak %s they do not organise", query.from_user.id, callback_data.v)
        await query.answer(refusal(EventError("not_organiser")), show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await _ask_kind(message, state, callback_data.v)


@router.callback_query(NewEvent.kind, NewEventCB.filter(F.a == "kind"), ORGANISER)
async def on_kind(query: CallbackQuery, message: Message, callback_data: NewEventCB, state: FSMContext) -> None:
    if not 0 <= callback_data.v < len(EVENT_KINDS):
        await query.answer(stale(), show_alert=True)
        return
    kind = EVENT_KINDS[callback_data.v]
    await state.update_data(kind=kind)
    await query.answer()
    await message.edit_text(_("Kind: {kind} ✓").format(kind=views.kind_label(kind)))
    await state.set_state(NewEvent.topic)
    await message.answer(_("The topic, in one line (e.g. “Draft local budget for 2027”):"))


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


async def _villages_question(message: Message, state: FSMContext, session: AsyncSession, language: str,
                             edit: bool = False) -> None:
    data = await state.get_data()
    villages = await list_villages(session, data["aimak"])
    markup = await villages_markup(data, villages, language)
    text = _("Which villages does it concern? Tap to choose, then “Done”.")
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


@router.callback_query(NewEvent.villages, NewEventCB.filter(F.a.in_({"village", "whole"})), ORGANISER)
async def on_village_toggle(query: CallbackQuery, message: Message, callback_data: NewEventCB, state: FSMContext,
                            session: AsyncSession, i18n: I18n) -> None:
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
    await _villages_question(message, state, session, i18n.current_locale, edit=True)


@router.callback_query(NewEvent.villages, NewEventCB.filter(F.a == "villages_done"), ORGANISER)
async def on_villages_done(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    if not data.get("whole") and not data.get("villages"):
        await query.answer(refusal(EventError("bad_villages")), show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await state.set_state(NewEvent.documents)
    await message.answer(
        _("Documents for the villagers (the PDF of a budget draft, a photo of the poster): send them now, up to "
          "{count}. Tap “No documents” or “Done” to go on.").format(count=MAX_DOCUMENTS),
        reply_markup=docs_markup(data))


@router.message(NewEvent.documents, F.document | F.photo, ORGANISER)
async def on_document(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    docs = list(data.get("docs", []))
    if len(docs) >= MAX_DOCUMENTS:
        await message.answer(_("That is enough documents. Tap “Done”."), reply_markup=docs_markup(data))
        return
    if message.document is not None:
        docs.append({"kind": "document", "file_id": message.document.file_id,
                     "filename": message.document.file_name or "document"})
    else:
        assert message.photo
        docs.append({"kind": "photo", "file_id": message.photo[-1].file_id, "filename": "photo.jpg"})
    data["docs"] = docs
    await state.set_data(data)
    added = escape(docs[-1]["filename"])
    await message.answer(_("Added: {name}. Send another or tap “Done”.").format(name=added),
                         reply_markup=docs_markup(data))


@router.callback_query(NewEvent.documents, NewEventCB.filter(F.a == "docs_done"), ORGANISER)
async def on_docs_done(query: CallbackQuery, message: Message, state: FSMContext, session: AsyncSession,
                       settings: Settings, i18n: I18n, bot: Bot) -> None:
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    data = await state.get_data()
    data.setdefault("reminders", list(settings.event_reminder_minutes))
    data.setdefault("rule", RULES[0])
    await state.set_data(data)
    await state.set_state(NewEvent.preview)
    await _preview(message, state, session, settings, i18n)


def _draft(data: dict[str, Any], villages: list[Village]) -> Event:
    """An unsaved event from the conversation data, for the preview."""
    event = Event(id=0, aiyl_aimak_id=data["aimak"], kind=data["kind"], topic=data["topic"],
                  agenda=data.get("agenda", ""), starts_at=datetime.fromisoformat(data["starts_at"]),
                  place=data["place"], whole_aimak=bool(data.get("whole")), status="announced", version=1,
                  reminder_minutes=data.get("reminders", []), decision_rule=data.get("rule", RULES[0]),
                  duration_minutes=120)
    return event


async def _preview(message: Message, state: FSMContext, session: AsyncSession, settings: Settings, i18n: I18n, *,
                   edit: bool = False) -> None:
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
             ngettext("It goes to {count} registered villager, in their own language, with a calendar file. "
                      "Documents attached: {documents}.",
                      "It goes to {count} registered villagers, each in their own language, with a calendar file. "
                      "Documents attached: {documents}.", count).format(
                 count=fmt.number(count), documents=fmt.number(len(data.get("docs", [])))),
             _("Reminders before the start: {leads}.").format(leads=views.leads_text(data["reminders"], fmt)),
             _("Decision rule: {rule}.").format(rule=views.rule_text(data["rule"]))]
    days = (event.starts_at - datetime.now(event.starts_at.tzinfo)).days
    if days < (least := settings.event_notice_days):
        lines.append(ngettext("⚠️ That is less than {days} day ahead: the law or your charter may require a longer "
                              "notice.",
                              "⚠️ That is less than {days} days ahead: the law or your charter may require a longer "
                              "notice.", least).format(days=fmt.number(least)))
    markup = views.preview_keyboard(shown)
    text = views._clip("\n".join(lines))
    if edit:
        await message.edit_text(text, reply_markup=markup, disable_web_page_preview=True)
    else:
        await message.answer(text, reply_markup=markup, disable_web_page_preview=True)


async def _count_recipients(session: AsyncSession, data: dict[str, Any], villages: list[Village]) -> int:
    from sqlalchemy import func

    ids = [v.id for v in villages]
    query = select(func.count()).select_from(Person).where(
        Person.village_id.in_(ids), Person.registered_at.is_not(None), Person.forgotten_at.is_(None),
        Person.telegram_id.is_not(None))
    return int(await session.scalar(query) or 0)


@router.callback_query(NewEvent.preview, NewEventCB.filter(F.a.in_({"lang", "rule"})), ORGANISER)
async def on_preview_option(query: CallbackQuery, message: Message, callback_data: NewEventCB, state: FSMContext,
                            session: AsyncSession, settings: Settings, i18n: I18n, bot: Bot) -> None:
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
    await _preview(message, state, session, settings, i18n, edit=True)


@router.callback_query(NewEvent.preview, NewEventCB.filter(F.a == "reminders"), ORGANISER)
async def on_preview_reminders(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    await query.answer()
    await state.set_state(NewEvent.reminders)
    await message.answer(_("When should reminders go out before the start? E.g. “1d, 2h” (days, hours, "
                           "minutes), or 0 for none:"))


@router.message(NewEvent.reminders, F.text, ~F.text.startswith("/"), ORGANISER)
async def on_new_reminders(message: Message, state: FSMContext, session: AsyncSession, settings: Settings, i18n: I18n,
                           bot: Bot) -> None:
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
async def on_abort(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(_("Nothing was sent. The draft is discarded."))


@router.callback_query(NewEvent.preview, NewEventCB.filter(F.a == "send"), ORGANISER)
async def on_send(query: CallbackQuery, message: Message, state: FSMContext, session: AsyncSession, roles: Roles,
                  settings: Settings, i18n: I18n, bot: Bot) -> None:
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
    # The invitations and notices are background work (a durable task): the organiser has the answer at once.
    await schedule_announcement(session, event, settings=settings, progress_chat_id=message.chat.id)
    await state.clear()
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(
        _("The notice is on its way (event no. {id}). The message below shows how many have got it; /events "
          "shows answers and questions.").format(id=event.id))
