"""Languages: gettext catalogs compiled at start-up, the person's language per update, Babel formatting."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from bot.settings import LANGUAGES
from services.dates import day_in_sentence, day_text, moment_text

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
# Each language offered by its own name.
LANGUAGE_NAMES: dict[str, str] = {"ky": "Кыргызча", "ru": "Русский", "uz": "Oʻzbekcha", "uz_Cyrl": "Ўзбекча",
                                  "en": "English"}
# Where a translator is still needed, Uzbek readers get Russian; English readers get the msgid.
# (Uzbek in Cyrillic is written from the Latin catalog by ``python -m bot.catalogs``, see bot/uz_cyrillic.py.)
FALLBACKS: dict[str, str] = {"uz": "ru", "uz_Cyrl": "ru"}


def compile_catalog(po_path: Path, mo_path: Path) -> None:
    """Compile one .po catalog (the repository keeps no .mo files that could fall out of step)."""
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=po_path.parent.parent.name)
    mo_path.parent.mkdir(parents=True, exist_ok=True)
    with mo_path.open("wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)


def make_i18n(default_language: str, locales: Path = LOCALES_DIR) -> I18n:
    """aiogram's I18n over freshly compiled catalogs, with the per-language fallbacks."""
    with tempfile.TemporaryDirectory(prefix="jamaat-locales-") as compiled:
        for language in LANGUAGES:
            po_path = locales / language / "LC_MESSAGES" / f"{DOMAIN}.po"
            if po_path.exists():
                compile_catalog(po_path, Path(compiled) / language / "LC_MESSAGES" / f"{DOMAIN}.mo")
        i18n = I18n(path=compiled, default_locale=default_language, domain=DOMAIN)
    for language, fallback in FALLBACKS.items():
        if language in i18n.locales and fallback in i18n.locales:
            i18n.locales[language].add_fallback(i18n.locales[fallback])
    return i18n


def pick_language(chosen: str | None, user: User | None, default: str) -> str:
    """The person's chosen language, else their Telegram app's language if offered, else the default."""
    if chosen in LANGUAGES:
        return chosen  # type: ignore[return-value]
    code = (user.language_code or "").split("-")[0] if user else ""
    return code if code in LANGUAGES else default


class PersonLanguageMiddleware(I18nMiddleware):
    """Uses the language the person chose at registration (``data['person_language']``, set earlier)."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        return pick_language(data.get("person_language"), data.get("event_from_user"), self.i18n.default_locale)


class Formatter:
    """Dates, times and numbers in a person's language and the municipality's time zone."""

    def __init__(self, language: str, zone: ZoneInfo) -> None:
        self.language = language
        self.zone = zone

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def datetime(self, moment: datetime) -> str:
        """e.g. "29-ноябрь, 2026-ж., 15:00" in Kyrgyz, "29 ноября 2026, 15:00" in Russian."""
        return moment_text(moment, self.language, self.zone)

    def date(self, day: date | datetime) -> str:
        """e.g. "2026-жылдын 29-ноябры" in Kyrgyz (the form a sentence takes), "29 ноября 2026 г." in Russian."""
        if isinstance(day, datetime):
            day = self.local(day).date()
        return day_in_sentence(day, self.language)

    def day(self, day: date | datetime) -> str:
        """A date on its own, as in a list or a card: "29-ноябрь, 2026-ж."."""
        if isinstance(day, datetime):
            day = self.local(day).date()
        return day_text(day, self.language)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.language)

    def percent(self, share: float) -> str:
        return format_percent(share, locale=self.language)


@contextmanager
def in_language(i18n: I18n, language: str) -> Iterator[None]:
    """Translate in ``language`` outside an update (menus, jobs, messages to other people)."""
    with i18n.context(), i18n.use_locale(language):
        yield
