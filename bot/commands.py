"""The command menu: one list, shown per language and per role."""

from __future__ import annotations

from typing import NamedTuple

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeChat
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from bot.attempt import aside
from bot.i18n import in_language
from bot.settings import LANGUAGES
from services.roles import Role, Roles


class Command(NamedTuple):
    name: str
    description: LazyProxy
    role: Role | None = None
    also: tuple[Role, ...] = ()  # further roles that see the command
    askers_only: bool = False  # shown only to people who may ask the legal helpdesk


COMMANDS: tuple[Command, ...] = (
    # Everyone's, in the order of the menu.
    Command("start", __("Register or start again")),
    Command("help", __("What I can do for you")),
    Command("vote", __("Name and vote for your village's priority problems")),
    Command("receipt", __("Check your ballot by its receipt code")),
    Command("meetings", __("Upcoming hearings and meetings of your village")),
    Command("plan", __("Your aiyl aimak's joint action plan")),
    Command("ask", __("Ask the LSG Union's legal helpdesk"), askers_only=True),
    Command("myquestions", __("My questions to the legal helpdesk"), askers_only=True),
    Command("profile", __("Your profile")),
    Command("language", __("Change the language")),
    Command("forget", __("Delete my data")),
    # Organisers of an aiyl aimak.
    Command("people", __("Registered villagers of your aiyl aimak"), Role.ORGANISER),
    Command("rounds", __("Priority voting rounds of your aiyl aimak"), Role.ORGANISER),
    Command("newround", __("Start a priority voting round"), Role.ORGANISER),
    Command("event", __("Announce a hearing, gathering or council session"), Role.ORGANISER),
    Command("events", __("Hearings and meetings: answers, changes, outcome"), Role.ORGANISER),
    Command("plans", __("Joint action plans: activities, monitoring, report"), Role.ORGANISER),
    Command("dashboard", __("The web dashboard: tables, charts and files"), Role.ORGANISER,
            (Role.LAWYER, Role.ADMIN)),
    # Organisers and village representatives.
    Command("assist", __("Help a villager without a smartphone: register, vote, answer"), Role.REPRESENTATIVE),
    # Lawyers of the LSG Union.
    Command("queue", __("Legal helpdesk: questions waiting"), Role.LAWYER),
    # Admins.
    Command("grant", __("Give a person a role"), Role.ADMIN),
    Command("revoke", __("Take a role away"), Role.ADMIN),
    Command("roles", __("Show a person's roles"), Role.ADMIN),
    Command("member", __("Who may ask the legal helpdesk"), Role.ADMIN),
    Command("stats", __("Legal helpdesk figures"), Role.ADMIN),
)
ROLE_COMMANDS: dict[str, Role] = {c.name: c.role for c in COMMANDS if c.role is not None}


def commands_for(roles: Roles | None, *, may_ask: bool = False) -> list[BotCommand]:
    """The menu in the current language: everyone's commands (the helpdesk's for those who may ask), then those
    of the person's roles."""
    return [
        BotCommand(command=c.name, description=str(c.description))
        for c in COMMANDS
        if (c.role is None or (roles is not None and any(roles.has(r) for r in (c.role, *c.also))))
        and (may_ask or not c.askers_only)
    ]


async def set_default_menus(bot: Bot, i18n: I18n) -> None:
    """One menu per Telegram app language, and the default language's menu for all others."""
    for language in LANGUAGES:
        if len(language) != 2:  # Telegram knows languages, not scripts (uz_Cyrl): chosen in the bot only
            continue
        with in_language(i18n, language):
            await bot.set_my_commands(commands_for(None), language_code=language)
    with in_language(i18n, i18n.default_locale):
        await bot.set_my_commands(commands_for(None))


async def set_personal_menu(bot: Bot, i18n: I18n, chat_id: int, language: str, roles: Roles | None, *,
                            may_ask: bool = True) -> None:
    """A person's own menu: in the language they chose, with their roles' commands; /ask and /myquestions only
    for someone who may ask the legal helpdesk."""
    with in_language(i18n, language):
        commands = commands_for(roles, may_ask=may_ask)
    # The menu is a convenience: the conversation goes on without it (a failure is logged), and in an update it is
    # set beside the update's work (bot.attempt).
    await aside(bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=chat_id)))


async def drop_personal_menu(bot: Bot, chat_id: int) -> None:
    """As ``set_personal_menu``: a failure is logged, and in an update it goes beside the update's work."""
    await aside(bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=chat_id)))
