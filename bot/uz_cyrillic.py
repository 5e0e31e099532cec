"""Uzbek in Cyrillic from Uzbek in Latin, for readers in the south who read the older script.

``python -m bot.catalogs`` writes ``locales/uz_Cyrl`` from the Latin catalog: entries a translator wrote stay,
the others are transliterated (marked ``# transliterated from uz``). Placeholders, HTML tags and entities,
commands, links and @names are left as they are."""

from __future__ import annotations

import re

# Longest spellings first. ‘ ʻ ' ’ ` all occur after o and g in texts typed on phones.
_TICKS = "ʻ‘'’`"
_PAIRS = [(f"o{t}", "ў") for t in _TICKS] + [(f"g{t}", "ғ") for t in _TICKS] + [
    ("sh", "ш"), ("ch", "ч"), ("yo", "ё"), ("yu", "ю"), ("ya", "я"), ("ye", "е"),
]
_SINGLE = {
    "a": "а", "b": "б", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "ҳ", "i": "и", "j": "ж", "k": "к",
    "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "q": "қ", "r": "р", "s": "с", "t": "т", "u": "у",
    "v": "в", "x": "х", "y": "й", "z": "з", "ʼ": "ъ", "’": "ъ", "'": "ъ", "c": "с", "w": "в",
}
# Kept as written: {placeholders}, <tags>, &entities;, links, /commands, @names.
_KEEP = re.compile(r"\{[^{}]*\}|<[^<>]*>|&[a-z]+;|&#\d+;|https?://\S+|(?<![\w/])/[a-z_]+|@\w+")


def _word_start(text: str, index: int) -> bool:
    return index == 0 or not text[index - 1].isalpha()


def _cased(source: str, target: str) -> str:
    if source.isupper() and len(source) > 1:
        return target.upper()
    if source[0].isupper():
        return target[0].upper() + target[1:]
    return target


def _plain(text: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(text):
        chunk = text[index:index + 2]
        lower = chunk.lower()
        pair = next((cyr for lat, cyr in _PAIRS if lower == lat), None)
        if lower == "yo" and text[index + 2:index + 3] in _TICKS:
            pair = None  # y + oʻ: "yoʻq" is йўқ
        if pair is not None and len(chunk) == 2:
            if lower == "ye" and not _word_start(text, index):
                pair = "йе"
            out.append(_cased(chunk, pair) if chunk[0].isalpha() else pair)
            index += 2
            continue
        char = text[index]
        low = char.lower()
        if low == "e" and _word_start(text, index):
            cyr = "э"  # word-initial
        else:
            cyr = _SINGLE.get(low)
        if cyr is None or (low in "ʼ’'" and not (out and out[-1][-1:].isalpha())):
            out.append(char)
        else:
            out.append(cyr.upper() if char.isupper() else cyr)
        index += 1
    return "".join(out)


def to_cyrillic(text: str) -> str:
    """Uzbek Latin → Uzbek Cyrillic, leaving markup and machine words alone."""
    pieces: list[str] = []
    last = 0
    for match in _KEEP.finditer(text):
        pieces.append(_plain(text[last:match.start()]))
        pieces.append(match.group(0))
        last = match.end()
    pieces.append(_plain(text[last:]))
    return "".join(pieces)
