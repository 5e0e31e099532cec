"""The message templates the bot needs outside WhatsApp's 24-hour window (``jamaat whatsapp templates``).

Outside the window only pre-approved templates may be sent. The bot holds the free-form message and sends a
short utility template; the held message is delivered as soon as the person writes again (or taps "Read").
- ``notice``: notices and reminders, with their first line as the parameter, so it is seen even unread;
- ``answer``: a lawyer's answer or clarification request ("your answer is ready, reply to read it"): no
  parameter, so nothing of a legal question shows on a lock screen;
- ``waiting``: anything else.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __

from bot.i18n import in_language
from bot.settings import Settings

READ_PAYLOAD = "wa:read"
HEADLINE = 200  # characters of a notice's first line put into the template


@dataclass(frozen=True)
class Template:
    kind: str
    category: str
    body: Any  # a lazy gettext text with {{1}}-style placeholders
    params: int
    button: Any  # the quick reply's label


TEMPLATES: tuple[Template, ...] = (
    Template("notice", "UTILITY", __("New notice: {{1}}\n\nReply to this message to read it in full and answer."),
             1, __("Read")),
    Template("answer", "UTILITY", __("Your answer from the legal helpdesk is ready. Reply to this message to "
                                     "read it."), 0, __("Read the answer")),
    Template("waiting", "UTILITY", __("You have a new message from your aiyl okmotu. Reply to this message to "
                                      "read it."), 0, __("Read")),
)
DEFAULT_NAMES = {"notice": "jamaat_notice", "answer": "jamaat_answer_ready", "waiting": "jamaat_message_waiting"}

# What kind of message is being sent (set by the delivery path): picks the template when the window is closed.
# Unset: a message sent while someone else's update is handled (a lawyer's answer, an organiser's decision) is
# a relay and gets "waiting", which shows nothing of it; one sent by a job (a notice, a reminder) gets "notice",
# with its first line.
message_kind: contextvars.ContextVar[str | None] = contextvars.ContextVar("jamaat_whatsapp_kind", default=None)


def current_kind() -> str:
    from storage.db import current_session

    return message_kind.get() or ("waiting" if current_session.get() is not None else "notice")


@contextmanager
def sending(kind: str | None) -> Iterator[None]:
    """``with sending("answer"): await bot.send_message(...)``: a closed window gets that kind's template
    (None: decided as ``current_kind`` says)."""
    token = message_kind.set(kind)
    try:
        yield
    finally:
        message_kind.reset(token)


def template_name(settings: Settings, kind: str) -> str:
    return settings.whatsapp_templates.get(kind, DEFAULT_NAMES[kind])


def template_language(settings: Settings, language: str | None) -> str:
    languages = settings.whatsapp_template_languages
    return languages.get(language or settings.default_language) or languages.get(settings.default_language, "ru")


def by_kind(kind: str) -> Template:
    return next((t for t in TEMPLATES if t.kind == kind), TEMPLATES[-1])


def headline(text: str) -> str:
    """The first non-empty line, without formatting marks, short enough for a template parameter (which may not
    hold new lines or more than four spaces in a row)."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "…")
    line = " ".join(line.replace("*", "").replace("_", " ").split())
    return line if len(line) <= HEADLINE else line[: HEADLINE - 1] + "…"


def payload(settings: Settings, kind: str, language: str | None, text: str, i18n: I18n | None = None
            ) -> dict[str, Any]:
    """The Cloud API message that sends the template of ``kind`` to a person of ``language``."""
    template = by_kind(kind)
    components: list[dict[str, Any]] = []
    if template.params:
        components.append({"type": "body", "parameters": [{"type": "text", "text": headline(text)}]})
    components.append({"type": "button", "sub_type": "quick_reply", "index": "0",
                       "parameters": [{"type": "payload", "payload": READ_PAYLOAD}]})
    return {"type": "template", "template": {"name": template_name(settings, template.kind),
                                             "language": {"code": template_language(settings, language)},
                                             "components": components}}


def catalog(settings: Settings, i18n: I18n) -> list[dict[str, Any]]:
    """Every template in every configured template language, as an admin registers them with Meta."""
    languages: dict[str, str] = {}
    for bot_language, code in settings.whatsapp_template_languages.items():
        languages.setdefault(code, bot_language)
    result = []
    for template in TEMPLATES:
        for code, bot_language in languages.items():
            with in_language(i18n, bot_language):
                body, button = str(template.body), str(template.button)
            result.append({"name": template_name(settings, template.kind), "category": template.category,
                           "language": code, "body": body, "parameters": template.params,
                           "buttons": [{"type": "QUICK_REPLY", "text": button}]})
    return result


def emulator_templates(settings: Settings, i18n: I18n) -> dict[str, dict[str, Any]]:
    """The catalog in the shape the WhatsApp emulator checks sent templates against."""
    known: dict[str, dict[str, Any]] = {}
    for entry in catalog(settings, i18n):
        item = known.setdefault(entry["name"], {"languages": {}, "params": entry["parameters"], "buttons": {}})
        item["languages"][entry["language"]] = entry["body"]
        item["buttons"][entry["language"]] = [b["text"] for b in entry["buttons"]]
    return known


def describe(settings: Settings, i18n: I18n) -> str:
    """``jamaat whatsapp templates``: what to register in WhatsApp Manager, one block per template."""
    blocks = []
    for entry in catalog(settings, i18n):
        blocks.append("\n".join([
            f"name: {entry['name']}", f"category: {entry['category']}", f"language: {entry['language']}",
            "body:", *("  " + line for line in entry["body"].splitlines()),
            "buttons: " + json.dumps(entry["buttons"], ensure_ascii=False),
        ]))
    return "\n\n".join(blocks) + "\n"
