"""The helpdesk's texts and keyboards, for both sides and for the jobs that remind and escalate: topic and
status names, the question cards, the queue, the statistics (what only the asker's side shows: ``asker_views``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Formatter
from bot.keyboards import InlineKeyboardBuilder
from bot.settings import Settings
from bot.text import escape
from handlers.helpdesk.buttons import LawCB, StatsCB
from services import helpdesk as desk
from services.helpdesk import HelpdeskConfig
from services.people import person_by_telegram_id
from services.places import place_name
from storage.helpdesk import Question

if TYPE_CHECKING:
    from services.helpdesk_stats import HelpdeskStats

TOPIC_LABELS = {
    "emergencies": __("Emergencies: prevention and response by LSG bodies"),
    "labour": __("Labour law and municipal service (leave, payments)"),
    "dismissal": __("Early dismissal of the head of an aiyl okmotu"),
    "property": __("Municipal property"),
    "budget": __("Local budget"),
    "land": __("Land"),
    "council": __("Local council procedure"),
    "other": __("Other"),
}


STATUS_LABELS = {
    "waiting": __("waiting for a lawyer"),
    "taken": __("a lawyer is working on it"),
    "needs_details": __("needs your details"),
    "answered": __("answered"),
    "closed": __("closed"),
}


PREVIEW = 700


def topic_label(topic: str) -> str:
    return str(TOPIC_LABELS.get(topic, topic))


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def municipality(question: Question, language: str) -> str:
    return place_name(question.aiyl_aimak, language) if question.aiyl_aimak is not None else "—"


QUEUE_PAGE = 8


FAQ_LANGUAGE_NAMES = {"ky": "Кыргызча", "ru": "Русский"}


# ---------------------------------------------------------------- shared helpers


async def lawyer_name(session: AsyncSession, telegram_id: int | None) -> str:
    if telegram_id is None:
        return "—"
    person = await person_by_telegram_id(session, telegram_id)
    return escape(person.first_name) if person is not None and person.first_name else str(telegram_id)


def open_keyboard(question_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Open No. {number}").format(number=question_id), callback_data=LawCB(action="open",
                                                                                                 qid=question_id))
    return builder.as_markup()


def take_keyboard(question_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Take"), callback_data=LawCB(action="take", qid=question_id))
    return builder.as_markup()


def working_hours(seconds: float, fmt: Formatter) -> str:
    return _("{hours} working h").format(hours=fmt.number(round(seconds / 3600, 1)))


def card_text(question: Question, language: str, settings: Settings, now: datetime | None = None) -> str:
    fmt = Formatter(language, settings.zone)
    config = config_of(settings)
    lines = [
        _("<b>Question No. {number}</b> · {topic}").format(number=question.id, topic=topic_label(question.topic)),
        _("Municipality: {name}").format(name=municipality(question, language)),
        _("Asked: {when} ({age})").format(when=fmt.datetime(question.created_at),
                                          age=working_hours(desk.elapsed(question, config, now or
                                                                         datetime.now(UTC)), fmt)),
        _("Status: {status}").format(status=status_label(question.status)),
        "",
        escape(question.text),
    ]
    return "\n".join(lines)


def card_keyboard(question: Question, lawyer_id: int) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    if question.status == desk.WAITING:
        builder.button(text=_("Take"), callback_data=LawCB(action="take", qid=question.id))
    elif question.lawyer_id == lawyer_id and question.status in (desk.TAKEN, desk.NEEDS_DETAILS):
        if question.status == desk.TAKEN:
            builder.button(text=_("Answer"), callback_data=LawCB(action="answer", qid=question.id))
        builder.button(text=_("Ask for details"), callback_data=LawCB(action="details", qid=question.id))
        if question.status == desk.TAKEN:
            builder.button(text=_("Release to the queue"), callback_data=LawCB(action="release", qid=question.id))
        builder.button(text=_("Pass to another lawyer"), callback_data=LawCB(action="pass", qid=question.id))
    elif question.lawyer_id == lawyer_id and question.status in (desk.ANSWERED, desk.CLOSED):
        builder.button(text=_("Publish to the FAQ"), callback_data=LawCB(action="publish", qid=question.id))
    builder.adjust(1)
    return builder.as_markup() if builder.buttons else None


# ---------------------------------------------------------------- the queue


def queue_text_and_keyboard(waiting: list[Question], held: list[Question], total: int, topic: str | None,
                            language: str, settings: Settings) -> tuple[str, InlineKeyboardMarkup]:
    fmt = Formatter(language, settings.zone)
    config = config_of(settings)
    now = datetime.now(UTC)
    head = (_("<b>Queue: {topic}</b>").format(topic=topic_label(topic)) if topic else _("<b>Queue</b>"))
    lines = [head + " · " + _("waiting: {count}").format(count=fmt.number(total))]
    builder = InlineKeyboardBuilder()
    for question in waiting:
        lines.append(_("No. {number} · {topic} · {place} · {age}").format(
            number=question.id, topic=topic_label(question.topic), place=municipality(question, language),
            age=working_hours(desk.elapsed(question, config, now), fmt)))
        builder.button(text=_("No. {number}").format(number=question.id),
                       callback_data=LawCB(action="open", qid=question.id))
    if not waiting:
        lines.append(_("Nothing is waiting."))
    if held:
        lines += ["", _("<b>Yours in work</b>")]
        for question in held:
            lines.append(_("No. {number} · {topic} · {status}").format(
                number=question.id, topic=topic_label(question.topic), status=status_label(question.status)))
            builder.button(text=_("No. {number} (yours)").format(number=question.id),
                           callback_data=LawCB(action="open", qid=question.id))
    builder.adjust(4)
    filters = InlineKeyboardBuilder()
    filters.button(text=_("All topics"), callback_data=LawCB(action="filter", value=""))
    for code in desk.TOPICS:
        filters.button(text=topic_label(code)[:40], callback_data=LawCB(action="filter", value=code))
    filters.adjust(1)
    builder.attach(filters)
    return "\n".join(lines), builder.as_markup()


# ---------------------------------------------------------------- answering


def answer_keyboard(question_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Send the answer"), callback_data=LawCB(action="send", qid=question_id))
    builder.button(text=_("Add references to laws"), callback_data=LawCB(action="refs", qid=question_id))
    builder.button(text=_("Cancel"), callback_data=LawCB(action="cancel", qid=question_id))
    builder.adjust(1)
    return builder.as_markup()


def keep_keyboard(question_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Keep this text"), callback_data=LawCB(action="keep", qid=question_id))
    builder.button(text=_("Cancel"), callback_data=LawCB(action="cancel", qid=question_id))
    builder.adjust(1)
    return builder.as_markup()


# ---------------------------------------------------------------- admins: /stats and /member


def stats_text(stats: HelpdeskStats, language: str, settings: Settings, label: str) -> str:
    fmt = Formatter(language, settings.zone)

    def hours(value: float | None) -> str:
        return "—" if value is None else _("{hours} working h").format(hours=fmt.number(round(value, 1)))

    lines = [
        _("<b>Legal helpdesk, {month}</b>").format(month=label),
        ngettext("Questions: {asked}, from {places} municipality; answered {answered}, closed {closed}.",
                 "Questions: {asked}, from {places} municipalities; answered {answered}, closed {closed}.",
                 stats.municipalities).format(
            asked=fmt.number(stats.asked), places=fmt.number(stats.municipalities),
            answered=fmt.number(stats.answered), closed=fmt.number(stats.closed)),
        _("People who asked: {people}, of them women {women} ({share}); did not say their sex: {not_said}.").format(
            people=fmt.number(stats.askers), women=fmt.number(stats.askers_women),
            share=fmt.percent(stats.askers_women_share) if stats.askers_women_share is not None else "—",
            not_said=fmt.number(stats.askers_not_said)),
        _("Time to the first answer: median {median}, 90th percentile {p90}.").format(
            median=hours(stats.median_first_answer), p90=hours(stats.p90_first_answer)),
        _("Time to close: median {median}, 90th percentile {p90}.").format(
            median=hours(stats.median_close), p90=hours(stats.p90_close)),
        _("Ratings: {count}, average {average}; “it helped”: {helped}.").format(
            count=fmt.number(stats.rated),
            average="—" if stats.average_rating is None else fmt.number(round(stats.average_rating, 2)),
            helped=fmt.number(stats.helped)),
        _("Open now: {open} (waiting {waiting}, in work {taken}, waiting for details {details}); overdue "
          "{overdue}.").format(open=fmt.number(stats.open_total), waiting=fmt.number(stats.backlog.get("waiting", 0)),
                               taken=fmt.number(stats.backlog.get("taken", 0)),
                               details=fmt.number(stats.backlog.get("needs_details", 0)),
                               overdue=fmt.number(stats.overdue)),
        "",
        _("<b>By topic</b>"),
    ]
    lines += [f"• {topic_label(t)}: {fmt.number(n)}" for t, n in stats.by_topic.items() if n]
    lines += ["", _("<b>By municipality</b>")]
    for code, count in stats.by_municipality.items():
        names = stats.municipality_names.get(code)
        name = (names[1] if language == "ru" else names[0]) if names else "—"
        lines.append(f"• {escape(name)}: {fmt.number(count)}")
    return "\n".join(lines)


def topic_labels() -> dict[str, str]:
    return {topic: topic_label(topic) for topic in desk.TOPICS}


def config_of(settings: Settings) -> HelpdeskConfig:
    return HelpdeskConfig.from_settings(settings)


def take_reminder_text(question: Question, language: str, waited: float, fmt: Formatter) -> str:
    """To lawyers: a question has waited ``waited`` working seconds and nobody has taken it."""
    return _("Reminder: question No. {number} ({topic}, {place}) has waited {age} and nobody has taken "
             "it yet.").format(number=question.id, topic=topic_label(question.topic),
                               place=municipality(question, language), age=working_hours(waited, fmt))


def overdue_text(question: Question, language: str, elapsed: float, target: float, holder: str | None,
                 fmt: Formatter) -> str:
    """To admins: a question without an answer past its target."""
    return _("Overdue: question No. {number} ({topic}, {place}), asked {when}, has no answer after {age} "
             "(target {target}). Status: {status}; lawyer: {lawyer}.").format(
        number=question.id, topic=topic_label(question.topic), place=municipality(question, language),
        when=fmt.datetime(question.created_at), age=working_hours(elapsed, fmt),
        target=working_hours(target, fmt),
        status=status_label(question.status), lawyer=holder or _("nobody has taken it"))


def overdue_lawyer_text(question: Question) -> str:
    return _("Question No. {number} is overdue; the Union's administrators have been told. Please answer "
             "it or pass it on.").format(number=question.id)


def closed_unrated_text(question: Question) -> str:
    return _("Question No. {number} is closed: it was answered, and no rating or follow-up came. Send /ask "
             "whenever you have a new question.").format(number=question.id)


def topic_chart_caption(label: str) -> str:
    return _("Questions by topic, {month}").format(month=label)


def pass_keyboard(question_id: int, lawyers: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    """The other lawyers (Telegram id, name) a question can be passed to."""
    builder = InlineKeyboardBuilder()
    for other, name in lawyers:
        builder.button(text=name, callback_data=LawCB(action="passto", qid=question_id, value=str(other)))
    builder.adjust(2)
    return builder.as_markup()


def publish_keyboard(question_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Publish to the FAQ"), callback_data=LawCB(action="publish", qid=question_id))
    return builder.as_markup()


def faq_languages_keyboard(question_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, name in FAQ_LANGUAGE_NAMES.items():
        builder.button(text=name, callback_data=LawCB(action="pub_lang", qid=question_id, value=code))
    return builder.as_markup()


def stats_keyboard(label: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="CSV", callback_data=StatsCB(fmt="csv", month=label))
    builder.button(text="XLSX", callback_data=StatsCB(fmt="xlsx", month=label))
    return builder.as_markup()
