"""What assisted participation shows the helper: the menu, villages, people, ballots, invitations."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.keyboards import InlineKeyboardBuilder
from bot.text import escape
from handlers.assist.buttons import AssistCB
from services.places import place_name
from services.voting import BallotEntry
from storage.events import Event
from storage.models import Person, Village


def menu_text(aimak_name: str, count: int) -> str:
    return "\n".join([
        _("<b>Help for villagers without a smartphone</b> — {aimak}").format(aimak=escape(aimak_name)),
        _("Registered with help so far: {count}.").format(count=count),
        _("Everything you do for a villager is recorded in your name and counted as “assisted”."),
    ])


def menu_keyboard(aimak_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("➕ Register a villager"), callback_data=AssistCB(action="register", id=aimak_id))
    builder.button(text=_("🗳 Vote for a villager"), callback_data=AssistCB(action="voters", id=aimak_id))
    builder.button(text=_("📅 Answer an invitation"), callback_data=AssistCB(action="guests", id=aimak_id))
    builder.adjust(1)
    return builder.as_markup()


def aimaks_keyboard(aimaks: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for aimak_id, name in aimaks:
        builder.button(text=name, callback_data=AssistCB(action="aimak", id=aimak_id))
    builder.adjust(2)
    return builder.as_markup()


def villages_keyboard(villages: Sequence[Village], language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for village in villages:
        builder.button(text=place_name(village, language), callback_data=AssistCB(action="village", id=village.id))
    builder.adjust(2)
    return builder.as_markup()


def person_label(person: Person) -> str:
    return f"{person.first_name or '—'} …{person.phone_tail or ''}"


def people_keyboard(people: Sequence[Person], action: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for person in people:
        builder.button(text=person_label(person), callback_data=AssistCB(action=action, id=person.id))
    builder.adjust(2)
    return builder.as_markup()


def consent_text(name: str) -> str:
    return "\n".join([
        _("Read this to {name} and ask if they agree:").format(name=escape(name)),
        "",
        _("We keep your first name, your phone number as a code with its last two digits, and your village."),
        _("Your votes and answers are linked to you until you ask us to delete your data."),
        _("Nothing is shown with your name; results are counted by village and group."),
    ])


def consent_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ They agree"), callback_data=AssistCB(action="consent", id=1))
    builder.button(text=_("✖️ They do not agree"), callback_data=AssistCB(action="consent", id=0))
    builder.adjust(1)
    return builder.as_markup()


def ballot_keyboard(problems: Sequence[BallotEntry], chosen: Sequence[int], language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for problem in problems:
        mark = "✅ " if problem.id in chosen else ""
        title = problem.title_ru if language == "ru" else problem.title_ky
        builder.button(text=f"{mark}{title}", callback_data=AssistCB(action="toggle", id=problem.id))
    builder.button(text=_("Confirm the ballot"), callback_data=AssistCB(action="cast"))
    builder.adjust(1)
    return builder.as_markup()


def events_keyboard(events: Sequence[Event]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for event in events:
        builder.button(text=event.topic[:60], callback_data=AssistCB(action="event", id=event.id))
    builder.adjust(1)
    return builder.as_markup()


def attendance_question(name: str, village: Village, language: str) -> tuple[str, InlineKeyboardMarkup]:
    """Nobody counted twice: asked once, before the ballot cast for a villager, as the villager's own ballot asks."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, they took part"), callback_data=AssistCB(action="att_y"))
    builder.button(text=_("No, they did not"), callback_data=AssistCB(action="att_n"))
    builder.adjust(2)
    return (_("Before the ballot, ask {name} once: did they take part in the meeting on the village's problems in "
              "{village} (the session with stickers)? If they did, their votes were counted there.").format(
        name=escape(name), village=place_name(village, language)), builder.as_markup())


def attended_text(name: str) -> str:
    return _("{name} took part in the village's session: their stickers were counted there, so no phone ballot is "
             "cast for them and nobody is counted twice.").format(name=escape(name))


def rsvp_keyboard(event_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Will come"), callback_data=AssistCB(action="rsvp_yes", id=event_id))
    builder.button(text=_("✖️ Can't come"), callback_data=AssistCB(action="rsvp_no", id=event_id))
    return builder.as_markup()
