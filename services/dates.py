"""Dates as each language writes them, through Babel with a pattern per language.

Kyrgyz writes the day with a hyphen and the year with "-ж." or "-жылдын": "29-ноябрь, 2026-ж." and, in a
sentence, "2026-жылдын 29-ноябры" (the month in its possessive form) — never "29 ноябрь 2026". No aiogram here:
``bot.i18n.Formatter`` and the reports (``services.voting_report``) both use these."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

# The month in its possessive form, as in "2026-жылдын 29-ноябры".
KY_MONTHS_POSSESSIVE = ("январы", "февралы", "марты", "апрели", "майы", "июну", "июлу", "августу", "сентябры",
                        "октябры", "ноябры", "декабры")

DATE_PATTERNS = {  # a day on its own
    "ky": "d-MMMM, y-'ж'.",
    "ru": "d MMMM y 'г'.",
    "uz": "d-MMMM, y",
    "en": "MMMM d, y",
}
MOMENT_PATTERNS = {  # a day and a time
    "ky": "d-MMMM, y-'ж'., HH:mm",
    "ru": "d MMMM y, HH:mm",
    "uz": "d MMMM y, HH:mm",
    "en": "d MMMM y, HH:mm",
}


def _language(language: str) -> str:
    return language if language in DATE_PATTERNS else "en"


def day_text(day: date, language: str) -> str:
    """"29-ноябрь, 2026-ж.", "29 ноября 2026 г.", "29-noyabr, 2026", "29 November 2026"."""
    return format_date(day, DATE_PATTERNS[_language(language)], locale=language)


def day_in_sentence(day: date, language: str) -> str:
    """A date as it stands in a sentence: Kyrgyz "2026-жылдын 29-ноябры"; other languages as ``day_text``."""
    if language == "ky":
        return f"{day.year}-жылдын {day.day}-{KY_MONTHS_POSSESSIVE[day.month - 1]}"
    return day_text(day, language)


def moment_text(moment: datetime, language: str, zone: ZoneInfo) -> str:
    """"29-ноябрь, 2026-ж., 15:00" in the municipality's time zone."""
    local = moment.astimezone(zone)
    return format_datetime(local, MOMENT_PATTERNS[_language(language)], tzinfo=zone, locale=language)


def short_day(day: date, language: str) -> str:
    """"02.04.2026" (Kyrgyz and Russian write dates with dots and a four-digit year)."""
    if language in ("ky", "ru", "uz"):
        return day.strftime("%d.%m.%Y")
    return format_date(day, "short", locale=language)


def order_example(language: str) -> str:
    """A mandate reference as written locally: Kyrgyz "02.04.2026-ж. №15 буйрук"."""
    return {"ky": "02.04.2026-ж. №15 буйрук", "ru": "приказ №15 от 02.04.2026", "uz": "02.04.2026 yildagi 15-son buyruq"
            }.get(language, "order No. 15 of 02.04.2026")
