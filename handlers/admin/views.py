"""Admin texts: role names and scopes, shares of registrations."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from babel.numbers import format_percent

from services.places import place_name
from services.roles import Role
from storage.models import AiylAimak

ROLE_WORDS = {"organiser": Role.ORGANISER, "organizer": Role.ORGANISER, "representative": Role.REPRESENTATIVE,
              "lawyer": Role.LAWYER, "admin": Role.ADMIN}


def role_label(role: Role) -> str:
    return {Role.ORGANISER: _("organiser"), Role.REPRESENTATIVE: _("village representative"), Role.LAWYER: _("lawyer"),
            Role.ADMIN: _("administrator")}[role]


def scope_text(role: Role, aimak: AiylAimak | None, language: str) -> str:
    label = role_label(role)
    return f"{label} ({place_name(aimak, language)})" if aimak is not None else label




def share(part: int, whole: int, language: str) -> str:
    return format_percent(part / whole, locale=language) if whole else "—"
