"""Small text helpers every flow uses."""

from __future__ import annotations

import html


def escape(text: str | None) -> str:
    """A person's text, safe inside an HTML message: ``&``, ``<`` and ``>`` escaped (quotes need not be, outside
    attributes); ``None`` is the empty text."""
    return html.escape(text or "", quote=False)
