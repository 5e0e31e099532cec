"""Small text helpers every flow uses."""

from __future__ import annotations

import html
import re


def escape(text: str | None) -> str:
    """A person's text, safe inside an HTML message: ``&``, ``<`` and ``>`` escaped (quotes need not be, outside
    attributes); ``None`` is the empty text."""
    return html.escape(text or "", quote=False)


CAPTION_LIMIT = 1024  # Telegram's limit on a file's caption, counted after the HTML is parsed


def fits_caption(text: str) -> bool:
    """Whether an HTML text fits a file's caption (the tags do not count, an entity counts as one character)."""
    return len(html.unescape(re.sub(r"<[^>]*>", "", text))) <= CAPTION_LIMIT
