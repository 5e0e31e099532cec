"""The "add to calendar" file (iCalendar, RFC 5545) of an event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.events import Event
from storage.models import utcnow


def _ics_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n")
            .replace("\n", "\\n"))


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with a leading space (RFC 5545)."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)


def ics(event: Event, *, summary: str, description: str, location: str, url: str | None = None,
        now: datetime | None = None) -> bytes:
    """An "add to calendar" file (iCalendar) for the event, in the reader's language."""
    stamp = (now or utcnow()).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    start = event.starts_at.astimezone(UTC)
    end = start + timedelta(minutes=event.duration_minutes or 120)
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Jamaat//Events//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:event-{event.id}@jamaat",
        f"SEQUENCE:{event.version}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}",
        f"DTEND:{end.strftime('%Y%m%dT%H%M%SZ')}",
        f"SUMMARY:{_ics_text(summary)}",
        f"LOCATION:{_ics_text(location)}",
        f"DESCRIPTION:{_ics_text(description)}",
    ]
    if url:
        lines.append(f"URL:{url}")
    if event.status == "cancelled":
        lines.append("STATUS:CANCELLED")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()
