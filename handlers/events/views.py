"""The event flow's texts and keyboards, for its routers and for the jobs that send notices."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from babel.dates import format_datetime

from bot.i18n import LANGUAGE_NAMES, Formatter, in_language
from bot.keyboards import InlineKeyboardBuilder
from bot.settings import LANGUAGES, Settings
from bot.text import escape
from handlers.events.buttons import CardCB, NewEventCB, OutcomeCB, RsvpCB
from handlers.people.views import places_keyboard
from services.events import Answers, EventError
from services.places import place_name
from storage.events import EVENT_KINDS, Event
from storage.models import AiylAimak, Village


def kind_label(kind: str) -> str:
    return {
        "hearing": _("Public hearing"),
        "gathering": _("Gathering of residents"),
        "kurultai": _("Kurultai"),
        "council": _("Local council session"),
    }.get(kind, kind)


def when_text(event: Event, fmt: Formatter) -> str:
    """The date in words, with the weekday, in the municipality's time zone."""
    return format_datetime(fmt.local(event.starts_at), "EEEE, d MMMM y, HH:mm", tzinfo=fmt.zone,
                           locale=fmt.language)


def places_text(event: Event, villages: list[Village], language: str) -> str:
    if event.whole_aimak:
        return _("the whole aiyl aimak")
    return ", ".join(place_name(v, language) for v in villages)


def lead_text(minutes: int, fmt: Formatter) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return ngettext("{count} day", "{count} days", days).format(count=fmt.number(days))
    if minutes % 60 == 0:
        return ngettext("{count} hour", "{count} hours", minutes // 60).format(count=fmt.number(minutes // 60))
    return ngettext("{count} minute", "{count} minutes", minutes).format(count=fmt.number(minutes))


def leads_text(minutes: list[int], fmt: Formatter) -> str:
    return ", ".join(lead_text(m, fmt) for m in minutes) if minutes else _("no reminders")


def notice_text(event: Event, villages: list[Village], fmt: Formatter, link: str | None) -> str:
    lines = [
        _("📣 <b>{kind}</b>: {topic}").format(kind=kind_label(event.kind), topic=escape(event.topic)),
        _("🗓 {when}").format(when=when_text(event, fmt)),
        _("📍 {place}").format(place=escape(event.place)),
        _("👥 For: {places}").format(places=escape(places_text(event, villages, fmt.language))),
    ]
    if event.agenda:
        lines += ["", _("<b>Agenda</b>"), escape(event.agenda)]
    lines += ["", _("Will you come? Answer with the buttons below; you can also send a question or a proposal "
                    "before the meeting.")]
    if link:
        lines.append(_('<a href="{link}">Open this event in the bot</a>').format(link=link))
    return _clip("\n".join(lines))


def rsvp_keyboard(event_id: int, chosen: str | None = None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    mark = {"yes": "✅ ", "no": "✅ "}
    builder.button(text=(mark["yes"] if chosen == "yes" else "") + _("I will come"),
                   callback_data=RsvpCB(action="yes", event_id=event_id))
    builder.button(text=(mark["no"] if chosen == "no" else "") + _("I can't come"),
                   callback_data=RsvpCB(action="no", event_id=event_id))
    builder.button(text=_("Ask a question or make a proposal"), callback_data=RsvpCB(action="ask", event_id=event_id))
    builder.adjust(2, 1)
    return builder.as_markup()


def calendar_caption() -> str:
    return _("📅 Add it to your calendar: open this file.")


def calendar_summary(event: Event) -> str:
    return _("{kind}: {topic}").format(kind=kind_label(event.kind), topic=event.topic)


def change_text(event: Event, villages: list[Village], fmt: Formatter) -> str:
    first = fmt.date(event.announced_at) if event.announced_at else ""
    return _clip("\n".join([
        _("⚠️ <b>Change</b> to the notice of {date}: {kind} “{topic}”").format(
            date=first, kind=kind_label(event.kind), topic=escape(event.topic)),
        _("Now: {when}, {place}").format(when=when_text(event, fmt), place=escape(event.place)),
        _("👥 For: {places}").format(places=escape(places_text(event, villages, fmt.language))),
        _("If your plans changed, answer again with the buttons below."),
    ]))


def cancel_text(event: Event, fmt: Formatter) -> str:
    first = fmt.date(event.announced_at) if event.announced_at else ""
    return _("❌ <b>Cancelled</b>: {kind} “{topic}”, announced on {date} for {when}, will not take place.").format(
        kind=kind_label(event.kind), topic=escape(event.topic), date=first, when=when_text(event, fmt))


def reminder_text(event: Event, minutes: int, fmt: Formatter) -> str:
    return _("⏰ Reminder, in {lead}: {kind} “{topic}” starts {when}, {place}.").format(
        lead=lead_text(minutes, fmt), kind=kind_label(event.kind), topic=escape(event.topic),
        when=when_text(event, fmt), place=escape(event.place))


def decision_line(position: int, decision, fmt: Formatter) -> str:  # noqa: ANN001 - EventDecision
    result = _("adopted") if decision.adopted else _("not adopted")
    line = _("{number}. {text} — {result}: {yes} for, {no} against, {abstained} abstained").format(
        number=position, text=escape(decision.text), result=result, yes=fmt.number(decision.votes_for),
        no=fmt.number(decision.votes_against), abstained=fmt.number(decision.abstained))
    if decision.chair_vote:
        line += " " + (_("(tie decided by the chair's vote for)") if decision.chair_vote == "for"
                       else _("(tie decided by the chair's vote against)"))
    return line


def rule_text(rule: str) -> str:
    base, _sep, tie = rule.partition("+")
    text = _("simple majority of those present") if base == "present" else _("more votes for than against")
    if tie == "chair":
        text += _("; in a tie the chair's vote decides")
    return text


def outcome_text(event: Event, fmt: Formatter) -> str:
    attended = event.attended or 0
    women = event.attended_women or 0
    share = fmt.percent(women / attended) if attended else "—"
    lines = [
        _("📝 <b>Outcome</b>: {kind} “{topic}”, {when}").format(kind=kind_label(event.kind),
                                                                topic=escape(event.topic), when=when_text(event, fmt)),
        _("Attended: {count}, of them women {women} ({share})").format(
            count=fmt.number(attended), women=fmt.number(women), share=share),
    ]
    if event.decisions:
        lines += ["", _("<b>Decisions</b> (rule: {rule})").format(rule=rule_text(event.decision_rule))]
        lines += [decision_line(d.position, d, fmt) for d in event.decisions]
    if event.accepted_proposals:
        lines += ["", _("<b>Proposals accepted</b>")] + [f"• {escape(p)}" for p in event.accepted_proposals]
    if event.minutes:
        lines += ["", _("<b>Minutes</b>"), escape(event.minutes)]
    return _clip("\n".join(lines))


def answers_text(answers: Answers, fmt: Formatter) -> str:
    text = _("Invited: {invited}. Will come: {coming}; can't come: {not_coming}; no answer yet: {none}. "
             "Questions and proposals: {questions}.").format(
        invited=fmt.number(answers.invited), coming=fmt.number(answers.coming),
        not_coming=fmt.number(answers.not_coming), none=fmt.number(answers.no_answer),
        questions=fmt.number(answers.questions))
    if answers.coming:  # women counted separately; those who did not say their sex apart, outside the share
        share = answers.coming_women_share
        text += "\n" + _("Of those coming, women: {women} ({share}); did not say their sex: {not_said}.").format(
            women=fmt.number(answers.coming_women), share=fmt.percent(share) if share is not None else "—",
            not_said=fmt.number(answers.coming_not_said))
    return text


def _clip(text: str, limit: int = 4000) -> str:
    """Texts stay within one Telegram message (tags are only ever in the first lines, which are kept)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # Do not leave a tag or entity cut in half.
    for opener, closer in (("<", ">"), ("&", ";")):
        start = cut.rfind(opener)
        if start > cut.rfind(closer):
            cut = cut[:start]
    return cut + "…"




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


async def villages_markup(data: dict[str, Any], villages: list[Village], language: str) -> InlineKeyboardMarkup:
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


def docs_markup(data: dict[str, Any]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Done") if data.get("docs") else _("No documents"), callback_data=NewEventCB(a="docs_done"))
    return builder.as_markup()


def decision_prompt(event_id: int, count: int) -> tuple[str, InlineKeyboardMarkup]:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("No more decisions") if count else _("No decisions were voted on"),
                   callback_data=OutcomeCB(a="done", e=event_id))
    return _("Decision no. {number} put to the vote: its text.").format(number=count + 1), builder.as_markup()


def events_keyboard(found: list[Event], fmt: Formatter) -> InlineKeyboardMarkup:
    """An organiser's events, one button each."""
    builder = InlineKeyboardBuilder()
    for event in found:
        mark = {"cancelled": "❌ ", "held": "📝 "}.get(event.status, "📣 ")
        builder.button(text=f"{mark}{fmt.date(event.starts_at)} · {event.topic[:40]}",
                       callback_data=CardCB(a="open", e=event.id))
    builder.adjust(1)
    return builder.as_markup()


def card_text(event: Event, answers: Answers, fmt: Formatter) -> str:
    """The organiser's event card."""
    status = {"cancelled": _("cancelled"), "held": _("held, outcome recorded")}.get(event.status, _("announced"))
    return "\n".join([
        _("<b>{kind}</b>: {topic}").format(kind=kind_label(event.kind), topic=escape(event.topic)),
        _("🗓 {when}").format(when=when_text(event, fmt)),
        _("📍 {place}").format(place=escape(event.place)),
        _("Status: {status}").format(status=status),
        answers_text(answers, fmt),
        _("Reminders before the start: {leads}.").format(leads=leads_text(event.reminder_minutes, fmt)),
    ])


def card_keyboard(event: Event) -> InlineKeyboardMarkup:
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
    return builder.as_markup()


def cancel_keyboard(event: Event) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, cancel it and tell the villagers"), callback_data=CardCB(a="cancel_yes", e=event.id))
    return builder.as_markup()


def kinds_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for index, kind in enumerate(EVENT_KINDS):
        builder.button(text=kind_label(kind), callback_data=NewEventCB(a="kind", v=index))
    builder.adjust(2)
    return builder.as_markup()


def preview_keyboard(shown: str) -> InlineKeyboardMarkup:
    """Under the notice's preview: the languages (``shown`` marked), reminders, the rule, send, cancel."""
    builder = InlineKeyboardBuilder()
    for index, code in enumerate(LANGUAGES):
        builder.button(text=("👁 " if code == shown else "") + LANGUAGE_NAMES[code],
                       callback_data=NewEventCB(a="lang", v=index))
    builder.button(text=_("⏰ Change reminders"), callback_data=NewEventCB(a="reminders"))
    builder.button(text=_("⚖️ Change the decision rule"), callback_data=NewEventCB(a="rule"))
    builder.button(text=_("📤 Send"), callback_data=NewEventCB(a="send"))
    builder.button(text=_("✖️ Cancel"), callback_data=NewEventCB(a="abort"))
    builder.adjust(4, 2, 2)
    return builder.as_markup()


def chair_keyboard(event_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("The chair voted for"), callback_data=OutcomeCB(a="chair_for", e=event_id))
    builder.button(text=_("The chair voted against"), callback_data=OutcomeCB(a="chair_against", e=event_id))
    return builder.as_markup()


def skip_keyboard(event_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("None"), callback_data=OutcomeCB(a="skip", e=event_id))
    return builder.as_markup()


def publish_keyboard(event_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("📤 Publish to the villagers"), callback_data=OutcomeCB(a="publish", e=event_id))
    builder.button(text=_("✖️ Cancel"), callback_data=OutcomeCB(a="abort", e=event_id))
    return builder.as_markup()


def aimaks_keyboard(aimaks: list[AiylAimak], language: str) -> InlineKeyboardMarkup:
    return places_keyboard(aimaks, language, lambda aimak: NewEventCB(a="aimak", v=aimak.id))


def event_protocol_docx(event: Event, villages: list[Village], aimak: AiylAimak | None, language: str,
                        settings: Settings, i18n: I18n) -> bytes:
    """The protocol (DOCX) in ``language``: for the organiser from the update, for villagers from the job."""
    from services.protocol import protocol_docx  # loaded on first use, not at start-up

    with in_language(i18n, language):
        return protocol_docx(event, villages=villages, aimak_name=place_name(aimak, language) if aimak else "",
                             kind_label=kind_label(event.kind), rule_label=rule_text(event.decision_rule),
                             language=language, zone=settings.zone, _=_)
