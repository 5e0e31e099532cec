"""Durations as organisers type them: "2d, 3h", Kyrgyz "1к 2с" or "2 күн, 3 саат", Russian "1д, 2ч" or
"30 мин", English "2 days". One vocabulary for an event's reminders (``services.events.parse_lead_times``) and
a voting round's reminders before its close (``services.voting.parse_reminder_hours``)."""

from __future__ import annotations

import re

DAY, HOUR, MINUTE = 1440, 60, 1  # in minutes
_UNITS = {
    **dict.fromkeys(("d", "day", "days", "д", "дн", "день", "дня", "дней", "к", "k", "күн", "кун"), DAY),
    **dict.fromkeys(("h", "hour", "hours", "ч", "час", "часа", "часов", "с", "s", "саат"), HOUR),  # с(аат)
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "м", "мин", "минут", "минуты", "мүнөт"), MINUTE),
}
_PART = re.compile(r"^(\d+)\s*([^\W\d_]+)?\.?$")  # a number, then perhaps a unit (letters) and a dot
_BETWEEN = re.compile(r"[,;\s]+(?=\d)")  # parts are separated by commas, semicolons or spaces before a number


def parse_durations(text: str, *, plain: int) -> list[int] | None:
    """Each part of ``text`` in minutes, distinct, largest first; a number without a unit counts ``plain``
    minutes (``MINUTE`` or ``HOUR``). None when a part cannot be read, or there is none."""
    values: set[int] = set()
    for part in _BETWEEN.split(text.strip()):
        part = part.strip().rstrip(",;")
        if not part:
            continue
        match = _PART.match(part)
        if match is None:
            return None
        unit = match.group(2)
        size = plain if unit is None else _UNITS.get(unit.lower())
        if size is None:
            return None
        values.add(int(match.group(1)) * size)
    return sorted(values, reverse=True) or None
