"""Registration's and the profile's texts and keyboards: languages, places, the profile, /help."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.i18n import LANGUAGE_NAMES
from bot.keyboards import InlineKeyboardBuilder
from handlers.people.buttons import AgeCB, ConsentCB, ForgetCB, LanguageCB, PlaceCB, PrivacyCB, ProfileCB, SexCB
from services.people import Places
from services.places import Named, PlaceHit, place_name
from services.roles import Roles
from storage.models import AiylAimak, District, Person, Region, Village

PLACES_PER_PAGE = 8


def language_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        builder.button(text=name, callback_data=LanguageCB(code=code))
    builder.adjust(2)
    return builder.as_markup()


def contact_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=_("Press the button below"),
    )


def aiyl_aimak_keyboard(aimaks: Sequence[AiylAimak | Named], language: str, page: int = 0) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    start = page * PLACES_PER_PAGE
    for aimak in aimaks[start : start + PLACES_PER_PAGE]:
        builder.button(text=place_name(aimak, language), callback_data=PlaceCB(kind="aimak", id=aimak.id))
    builder.adjust(2)
    navigation = InlineKeyboardBuilder()
    if page > 0:
        navigation.button(text="◀️", callback_data=PlaceCB(kind="page", id=page - 1))
    if start + PLACES_PER_PAGE < len(aimaks):
        navigation.button(text="▶️", callback_data=PlaceCB(kind="page", id=page + 1))
    builder.attach(navigation)
    return builder.as_markup()


def village_keyboard(villages: Sequence[Village | Named], language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for village in villages:
        builder.button(text=place_name(village, language), callback_data=PlaceCB(kind="village", id=village.id))
    builder.adjust(2)
    back = InlineKeyboardBuilder()
    back.button(text=_("◀️ Another aiyl aimak"), callback_data=PlaceCB(kind="back", id=0))
    builder.attach(back)
    return builder.as_markup()


def units_keyboard(units: Sequence[Region | District], language: str, kind: str) -> InlineKeyboardMarkup:
    """Oblasts (``kind`` "region") or districts ("district"), two a row."""
    builder = InlineKeyboardBuilder()
    for unit in units:
        builder.button(text=place_name(unit, language), callback_data=PlaceCB(kind=kind, id=unit.id))
    builder.adjust(2)
    return builder.as_markup()


def hits_keyboard(hits: Sequence[PlaceHit], language: str, regions: bool) -> InlineKeyboardMarkup:
    """Places found by typed letters: 📍 a village (registers there), 🏘 an aiyl aimak (then its villages); the
    district is named where the name repeats."""
    builder = InlineKeyboardBuilder()
    for hit in hits:
        icon = "📍" if hit.kind == "village" else "🏘"
        builder.button(text=f"{icon} {hit.label(language)}", callback_data=PlaceCB(kind=hit.kind, id=hit.id))
    builder.adjust(1)
    if regions:
        more = InlineKeyboardBuilder()
        more.button(text=_("Choose by oblast"), callback_data=PlaceCB(kind="regions", id=0))
        builder.attach(more)
    return builder.as_markup()


def places_keyboard(places: Sequence[AiylAimak | Village | Named], language: str,
                    data: Callable[[AiylAimak | Village | Named], CallbackData]) -> InlineKeyboardMarkup:
    """A button per place, two a row, named in ``language``; ``data`` makes each button's callback data (any
    flow's wizard that asks "which aiyl aimak" or "which village")."""
    builder = InlineKeyboardBuilder()
    for place in places:
        builder.button(text=place_name(place, language), callback_data=data(place))
    builder.adjust(2)
    return builder.as_markup()


def sex_label(sex: str | None) -> str:
    return {"f": _("woman"), "m": _("man")}.get(sex or "", _("not given"))


def age_band_label(band: str | None) -> str:
    return band.replace("-", "–") if band else _("not given")


def profile_text(person: Person, places: Places) -> str:
    language = person.language or "ky"
    lines = [
        _("<b>Your profile</b>"),
        _("Language: {language}").format(language=LANGUAGE_NAMES.get(language, language)),
        _("Phone: verified, ends in …{tail}").format(tail=person.phone_tail) if person.phone_tail
        else _("Phone: not shared yet"),
        _("Aiyl aimak: {name}").format(name=place_name(places.aiyl_aimak, language) if places.aiyl_aimak else "—"),
        _("Village: {name}").format(name=place_name(places.village, language) if places.village else "—"),
        _("Sex: {sex}").format(sex=sex_label(person.sex)),
        _("Age group: {band}").format(band=age_band_label(person.age_band)),
    ]
    return "\n".join(lines)


def help_text(person: Person | None, roles: Roles | None) -> str:
    parts = [_("<b>What I can do</b>")]
    if person is None or not person.is_registered:
        parts.append(_("/start: register with your phone number and village, so you can take part."))
    parts.append(_("/vote: name your village's problems or vote on its priorities\n/receipt CODE: check your ballot"))
    parts.append(_("/plan: your aiyl aimak's joint action plan and how it goes"))
    parts.append(_("/ask: ask the LSG Union's legal helpdesk a question\n/myquestions: your questions and answers"))
    parts.append(
        _("/profile: see and change your profile\n/language: change the language\n"
          "/forget: delete your data (votes already cast stay counted, anonymously)\n/help: this message")
    )
    if roles is not None and roles.organiser:
        parts.append(_("<b>As an organiser</b>\n/people: registered villagers of your aiyl aimak, women counted"))
        parts.append(_("/plans: joint action plans: activities, groups, monitoring, surveys and the report"))
        parts.append(_("/rounds, /newround: priority voting (needs assessment) rounds of your aiyl aimak"))
        parts.append(_("/event: announce a public hearing, gathering, kurultai or council session\n"
                       "/events: answers, questions, changes, reminders, outcome and protocol of your events"))
    if roles is not None and roles.lawyer:
        parts.append(_("<b>As a lawyer</b>\n/queue: questions waiting at the legal helpdesk, oldest first; take one, "
                       "ask the asker for details, answer, release or pass it, publish the answer to the FAQ"))
    if roles is not None and roles.admin:
        parts.append(
            _("<b>As an administrator</b>\n/grant ROLE PERSON [AIYL_AIMAK]: give a role (organiser, lawyer, admin)\n"
              "/revoke ROLE PERSON [AIYL_AIMAK]: take it away\n/roles PERSON: show a person's roles\n"
              "PERSON is a Telegram id or a registered phone number.")
        )
        parts.append(_("/member: who may ask the legal helpdesk\n/stats: legal helpdesk figures, also as files"))
    return "\n\n".join(parts)




def profile_keyboard(person: Person) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Change language"), callback_data=ProfileCB(action="language"))
    builder.button(text=_("Change village"), callback_data=ProfileCB(action="place"))
    builder.button(text=_("Sex and age group"), callback_data=ProfileCB(action="groups"))
    builder.button(text=_("Change phone number"), callback_data=ProfileCB(action="phone"))
    if person.consent_at is not None:
        builder.button(text=_("Delete sex and age group"), callback_data=ProfileCB(action="withdraw"))
    builder.adjust(2)
    return builder.as_markup()


def forget_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, delete my data"), callback_data=ForgetCB(confirm=True))
    builder.button(text=_("No, keep it"), callback_data=ForgetCB(confirm=False))
    return builder.as_markup()


def privacy_text() -> str:
    """What is kept, in three short lines; "More" tells the rest."""
    return "\n".join([
        _("🔒 We keep your first name, your phone number as a code (you see its last digits) and your village."),
        _("Your ballots stay linked to your account until you send /forget."),
        _("Sex and age group only if you add them."),
    ])


def privacy_more_text() -> str:
    return _("Your phone number itself is not stored: only a code made from it with a secret key, so that each "
             "person votes once, and its last two digits, so that you recognise it. Your ballot keeps your village, "
             "and your sex and age group if you gave them, so results are counted by village and group, women "
             "separately; nobody sees them with your name. /profile shows what is kept and deletes sex and age "
             "group; /forget deletes your name, phone code and account link, and ballots already cast stay "
             "counted without them.")


def privacy_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("More"), callback_data=PrivacyCB(part=1))
    return builder.as_markup()


def consent_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, add them"), callback_data=ConsentCB(agree=True))
    builder.button(text=_("Skip"), callback_data=ConsentCB(agree=False))
    return builder.as_markup()


def sex_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Woman"), callback_data=SexCB(value="f"))
    builder.button(text=_("Man"), callback_data=SexCB(value="m"))
    builder.button(text=_("Prefer not to say"), callback_data=SexCB(value="-"))
    builder.adjust(2, 1)
    return builder.as_markup()


def age_band_keyboard(bands: list[str]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for index, band in enumerate(bands):
        builder.button(text=band.replace("-", "–"), callback_data=AgeCB(index=index))
    builder.button(text=_("Prefer not to say"), callback_data=AgeCB(index=-1))
    builder.adjust(len(bands), 1)
    return builder.as_markup()
