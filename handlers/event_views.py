"""What events show: notices, follow-ups, reminders and outcomes, in the reader's language (no router)."""

from __future__ import annotations

from html import escape

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_datetime

from bot.i18n import Formatter
from services.events import Answers
from services.places import place_name
from storage.events import Event
from storage.models import Village


class RsvpCB(CallbackData, prefix="ev"):
    action: str  # yes | no | ask | open
    event_id: int


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
        return _("{count} day(s)").format(count=fmt.number(days))
    if minutes % 60 == 0:
        return _("{count} hour(s)").format(count=fmt.number(minutes // 60))
    return _("{count} minute(s)").format(count=fmt.number(minutes))


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
    return _("Invited: {invited}. Will come: {coming}; can't come: {not_coming}; no answer yet: {none}. "
             "Questions and proposals: {questions}.").format(
        invited=fmt.number(answers.invited), coming=fmt.number(answers.coming),
        not_coming=fmt.number(answers.not_coming), none=fmt.number(answers.no_answer),
        questions=fmt.number(answers.questions))


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
