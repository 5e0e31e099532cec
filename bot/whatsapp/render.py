"""What the flows send, in WhatsApp's terms: formatting, and choices as reply buttons, a list or a numbered menu.

Choices are neutral ``[label, payload]`` pairs (the payload is a button's callback data; ``t:<label>`` stands for
a reply-keyboard button that sends its label as text). WhatsApp allows 3 reply buttons of 20 characters and
10 list rows of 24 characters (72 in the description); more or longer choices become a numbered menu in the
text ("send the numbers of your choices, e.g. 2 5 7")."""

from __future__ import annotations

import html
import re
from typing import Any

from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext

MAX_BUTTONS, BUTTON_TITLE = 3, 20
MAX_ROWS, ROW_TITLE, ROW_DESCRIPTION, LIST_BUTTON = 10, 24, 72, 20
MAX_BODY, MAX_TEXT = 1024, 4096
TEXT_PAYLOAD = "t:"  # a reply-keyboard button: choosing it sends its label as a message
NUMBERS = re.compile(r"^\s*\d{1,3}(?:[\s,;.]+\d{1,3})*\s*$")

Choice = list[str]  # [label, payload]


def _(text: str) -> str:
    """gettext when a language is set (in an update, or ``in_language``), else the English text."""
    try:
        return gettext(text)
    except LookupError:
        return text


_TAGS = [
    (re.compile(r"</?(?:b|strong)>", re.I), "*"),
    (re.compile(r"</?(?:i|em)>", re.I), "_"),
    (re.compile(r"</?(?:s|strike|del)>", re.I), "~"),
    (re.compile(r"</?(?:code)>", re.I), "`"),
    (re.compile(r"</?(?:pre)>", re.I), "```"),
]
_LINK = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.I | re.S)
_ANY_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


_DEEP_LINK = re.compile(r"^https://t\.me/[A-Za-z0-9_]+\?start=([A-Za-z0-9_-]{1,64})$")


def _link(match: re.Match[str]) -> str:
    """A link as text; a Telegram deep link (``t.me/bot?start=X``) as the command that does the same here."""
    href, label = html.unescape(match.group(1)), match.group(2)
    deep = _DEEP_LINK.match(href)
    if deep:
        return f"{label}: /start {deep.group(1)}"
    return label if href == label else f"{label} ({href})"


def html_to_whatsapp(text: str | None, parse_mode: str | None = "HTML") -> str:
    """Telegram HTML as WhatsApp formatting: *bold*, _italic_, ~strike~, `code`; links as "text (url)"."""
    if not text:
        return ""
    if parse_mode is None or parse_mode.upper() != "HTML":
        return text
    text = _LINK.sub(_link, text)
    for pattern, mark in _TAGS:
        text = pattern.sub(mark, text)
    text = _ANY_TAG.sub("", text)
    return html.unescape(text)


def choices_of(markup: Any) -> tuple[list[Choice], bool, list[str]]:
    """(choices, asks for the contact, links) of a Bot API reply markup."""
    choices: list[Choice] = []
    links: list[str] = []
    contact = False
    if isinstance(markup, dict):
        if "inline_keyboard" in markup:
            markup = InlineKeyboardMarkup.model_validate(markup)
        elif "keyboard" in markup:
            markup = ReplyKeyboardMarkup.model_validate(markup)
    if isinstance(markup, InlineKeyboardMarkup):
        for row in markup.inline_keyboard:
            for button in row:
                if button.callback_data is not None:
                    choices.append([button.text, button.callback_data])
                elif button.url and "://t.me/" not in button.url:  # Telegram deep links mean nothing here
                    links.append(f"{button.text}: {button.url}")
    elif isinstance(markup, ReplyKeyboardMarkup):
        for row in markup.keyboard:
            for button in row:
                if button.request_contact:
                    contact = True
                else:
                    choices.append([button.text, TEXT_PAYLOAD + button.text])
    return choices, contact, links


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def render(text: str, choices: list[Choice] | None) -> tuple[str, dict[str, Any]]:
    """(kind, Cloud API message) for a text with choices: ``text``, ``buttons``, ``list`` or ``menu``."""
    text = text.strip() or "…"
    if not choices:
        return "text", {"type": "text", "text": {"body": text[:MAX_TEXT], "preview_url": False}}
    labels = [label for label, _ in choices]
    distinct = len(set(labels)) == len(labels)
    if len(text) <= MAX_BODY and distinct:
        if len(choices) <= MAX_BUTTONS and all(len(label) <= BUTTON_TITLE for label in labels):
            buttons = [{"type": "reply", "reply": {"id": payload, "title": label}} for label, payload in choices]
            return "buttons", {"type": "interactive", "interactive": {
                "type": "button", "body": {"text": text}, "action": {"buttons": buttons}}}
        titles = [_short(label, ROW_TITLE) for label in labels]
        if (len(choices) <= MAX_ROWS and all(len(label) <= ROW_DESCRIPTION for label in labels)
                and len(set(titles)) == len(titles)):
            rows = []
            for (label, payload), title in zip(choices, titles, strict=True):
                row = {"id": payload, "title": title}
                if title != label:
                    row["description"] = label
                rows.append(row)
            return "list", {"type": "interactive", "interactive": {
                "type": "list", "body": {"text": text},
                "action": {"button": _short(_("Choose"), LIST_BUTTON), "sections": [{"rows": rows}]}}}
    lines = [f"{number}. {label}" for number, label in enumerate(labels, start=1)]
    if len(labels) > 2:
        hint = _("Send the number of your choice; several numbers at once work too, e.g. {example}.").format(
            example=" ".join(str(n) for n in (2, 3, 5)[: len(labels) - 1]))
    else:
        hint = _("Send the number of your choice.")
    menu = "\n".join([text, "", *lines, "", hint])
    return "menu", {"type": "text", "text": {"body": menu[:MAX_TEXT], "preview_url": False}}


def parse_numbers(text: str) -> list[int] | None:
    """The numbers of a typed answer to a numbered menu ("2 5 7", "2, 5"), or None when it is not one."""
    if not NUMBERS.match(text or ""):
        return None
    return [int(part) for part in re.findall(r"\d+", text)]
