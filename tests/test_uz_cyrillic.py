"""Uzbek in Cyrillic: written from the Latin catalog where no translator wrote the entry, served by the bot."""

from __future__ import annotations

import pytest

from bot.catalogs import MACHINE, derive, load
from bot.i18n import LANGUAGE_NAMES, Formatter, in_language, make_i18n
from bot.settings import LANGUAGES
from bot.uz_cyrillic import to_cyrillic


@pytest.mark.parametrize(("latin", "cyrillic"), [
    ("Tilni tanlang:", "Тилни танланг:"),
    ("Oʻzbekcha", "Ўзбекча"),
    ("yoʻq", "йўқ"),
    ("yigʻilishi, eʼlon qilish", "йиғилиши, эълон қилиш"),
    ("Shahar", "Шаҳар"),
    ("Yer", "Ер"),
    ("<b>{title}</b> /start https://t.me/jamaat_bot?start=v-abc @jamaat_bot &amp;",
     "<b>{title}</b> /start https://t.me/jamaat_bot?start=v-abc @jamaat_bot &amp;"),
])
def test_transliteration(latin: str, cyrillic: str) -> None:
    assert to_cyrillic(latin) == cyrillic


def test_the_cyrillic_catalog_is_in_step_with_the_latin_one() -> None:
    """Every Latin entry has its Cyrillic one; running the derivation again changes nothing."""
    latin, cyrillic = load("uz"), load("uz_Cyrl")
    again = load("uz_Cyrl")
    derive(again, latin, to_cyrillic)
    for message in latin:
        if message.id and message.string:
            assert cyrillic.get(message.id) is not None and cyrillic[message.id].string, message.id
            assert cyrillic[message.id].string == again[message.id].string, message.id


def test_a_translators_entry_is_kept() -> None:
    latin, cyrillic = load("uz"), load("uz_Cyrl")
    msgid = next(m.id for m in cyrillic if m.id and isinstance(m.id, str) and m.string)
    cyrillic[msgid].string = "Таржимон ёзган"
    cyrillic[msgid].user_comments = []
    derive(cyrillic, latin, to_cyrillic)
    assert cyrillic[msgid].string == "Таржимон ёзган"
    machine = next(m for m in cyrillic if m.id and m.id != msgid and m.string)
    assert MACHINE in machine.user_comments


def test_the_bot_speaks_uzbek_in_cyrillic() -> None:
    assert "uz_Cyrl" in LANGUAGES and LANGUAGE_NAMES["uz_Cyrl"] == "Ўзбекча"
    i18n = make_i18n("ky")
    with in_language(i18n, "uz"):
        latin = i18n.gettext("Choose your language:")
    with in_language(i18n, "uz_Cyrl"):
        assert i18n.gettext("Choose your language:") == to_cyrillic(latin) != latin
    from datetime import date
    from zoneinfo import ZoneInfo
    assert Formatter("uz_Cyrl", ZoneInfo("Asia/Bishkek")).date(date(2026, 11, 29))  # Babel knows the locale
