"""Place names reduced to one spelling, so a few typed letters find a place whichever way they were written.

Kyrgyz, Russian and Latin spellings of the same name meet: "Көк-Ирим", "Кок-Ирим", "Kök-Irim" and "kok irim" all
become ``kokirim``. Kept in ``search_key`` columns, written together with the names."""

from __future__ import annotations

import re
import unicodedata

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "j", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "ң": "n", "о": "o", "ө": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ү": "u", "ф": "f", "х": "h", "ҳ": "h", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "sh", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "қ": "k", "ғ": "g", "ў": "u",
}
# Latin spellings of the same sounds, most specific first.
_LATIN = (("dzh", "j"), ("dj", "j"), ("zh", "j"), ("kh", "h"), ("x", "h"), ("q", "k"), ("w", "v"), ("ŋ", "n"),
          ("ng", "n"), ("y", "i"))
_NOT_KEPT = re.compile(r"[^a-z0-9]")
_DOUBLED = re.compile(r"([a-z])\1+")


def normalise(text: str) -> str:
    """Lowercase Latin letters and digits only: Kyrgyz ө ү ң as о у н, Cyrillic transliterated, punctuation,
    hyphens and spaces dropped, doubled letters once ("Иссык", "Ысык" and "Issyk" meet)."""
    text = text.lower().replace("дж", "j")
    text = "".join(_CYRILLIC.get(char, char) for char in text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    for spelling, canonical in _LATIN:
        text = text.replace(spelling, canonical)
    return _DOUBLED.sub(r"\1", _NOT_KEPT.sub("", text))


def search_key(*names: str | None) -> str:
    """Every distinct spelling of a place's names, space-separated (a query never contains a space)."""
    keys: list[str] = []
    for name in names:
        key = normalise(name or "")
        if key and key not in keys:
            keys.append(key)
    return " ".join(keys)[:500]
