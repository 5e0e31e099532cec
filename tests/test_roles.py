"""Roles: admins grant in chat, organisers see only their aiyl aimak, others get a polite refusal."""

from __future__ import annotations

import subprocess
import sys

from bot.commands import COMMANDS
from services.roles import roles_of
from tests.conversation import register
from tests.harness import ADMIN_ID, Harness


async def test_admin_grants_and_revokes_in_chat(bot: Harness) -> None:
    admin = await register(bot, ADMIN_ID)
    organiser = await register(bot, 1201, village="Бирдик", sex="Woman", age="36–55")
    await admin.send("/grant organiser 1201 kok-irim")
    assert admin.last.text == "Done: 1201 is now organiser (Көк-Ирим)."
    assert "You have been given the role organiser (Көк-Ирим)" in organiser.last.text
    assert "people" in bot.emu.commands(scope="chat:1201")  # the organiser's own menu
    await admin.send("/grant organiser 1201 kok-irim")
    assert "already has the role" in admin.last.text
    await admin.send("/roles +996700001201")  # by the registered phone number
    assert "organiser (Көк-Ирим)" in admin.last.text
    await admin.send("/grant chief 1201")
    assert "Please write it like this" in admin.last.text
    await admin.send("/revoke organiser 1201 kok-irim")
    assert "no longer has the role" in admin.last.text
    assert "has been taken away" in organiser.last.text
    assert "people" not in bot.emu.commands(scope="chat:1201")
    async with bot.db.session() as session:
        assert not (await roles_of(session, 1201)).organiser


async def test_organiser_sees_only_their_own_aiyl_aimak(bot: Harness) -> None:
    admin = await register(bot, ADMIN_ID)
    await register(bot, 1211, village="Арал", sex="Woman", age="18–35")
    await register(bot, 1212, village="Арал", sex="Man", age="56+")
    await register(bot, 1213, village="Бирдик", sex="Woman", age="36–55")
    await register(bot, 1214, aimak="Чолпон", village="Ак-Чий", sex="Woman", age="18–35")
    kok_irim = await register(bot, 1221)
    cholpon = await register(bot, 1222, aimak="Чолпон", village="Чолпон")
    await admin.send("/grant organiser 1221 kok-irim")
    await admin.send("/grant organiser 1222 cholpon")
    await kok_irim.send("/people")
    report = kok_irim.last.text
    # Kök-Irim: 1211, 1212, 1213 and the organiser 1221 (no sex given) and the admin: 5 people, 2 women.
    assert report.splitlines()[0] == "Көк-Ирим: 5 registered, of them women 2 (40%)"
    assert "• Арал: 4, women 1 (25%)" in report and "• Бирдик: 1, women 1 (100%)" in report
    assert "Чолпон" not in report and "Ак-Чий" not in report
    await cholpon.send("/people")
    assert "Ак-Чий: 1, women 1 (100%)" in cholpon.last.text and "Арал" not in cholpon.last.text


async def test_people_without_the_role_are_refused_politely(bot: Harness) -> None:
    villager = await register(bot, 1231)
    await villager.send("/people")
    assert villager.last.text.startswith("Sorry, /people is only for the role organiser")
    await villager.send("/grant lawyer 1231")
    assert villager.last.text.startswith("Sorry, /grant is only for the role administrator")
    async with bot.db.session() as session:
        assert not (await roles_of(session, 1231)).lawyer


async def test_help_depends_on_the_roles(bot: Harness) -> None:
    villager = await register(bot, 1241)
    admin = await register(bot, ADMIN_ID)
    await villager.send("/help")
    assert "/profile" in villager.last.text and "/grant" not in villager.last.text
    assert "/people" not in villager.last.text
    await admin.send("/help")
    assert "/grant" in admin.last.text
    newcomer = bot.user(1242, language_code="en")
    await newcomer.send("/help")
    assert "/start: register" in newcomer.last.text


async def test_command_menus_per_language(bot: Harness) -> None:
    everyone = [c.name for c in COMMANDS if c.role is None and not c.askers_only]
    assert everyone[:2] == ["start", "help"] and {"profile", "language", "forget", "vote"} <= set(everyone)
    assert {c.name for c in COMMANDS if c.askers_only} == {"ask", "myquestions"}  # only for those who may ask
    for language in ("ky", "ru", "uz", "en"):  # (uz_Cyrl is chosen in the bot: Telegram has no menu for it)
        menu = bot.emu.commands(language_code=language)
        assert list(menu) == everyone  # no organiser, lawyer or admin command for everyone
    assert bot.emu.commands(language_code="en")["profile"] == "Your profile"
    assert bot.emu.commands() == bot.emu.commands(language_code="ky")  # the default is Kyrgyz
    await register(bot, 1251, language="Русский", aimak="Кок-Ирим", language_code="en")
    assert bot.emu.commands(scope="chat:1251") == bot.emu.commands(language_code="ru")


def test_cli_grant_before_registration(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env = {"JAMAAT_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "bot.cli"]
    done = subprocess.run([*run, "import-places", "storage/data/places-sample.csv"], env=env, capture_output=True,
                          text=True, check=True)
    assert "aiyl aimaks added: 4, villages added: 10" in done.stdout
    done = subprocess.run([*run, "grant", "organiser", "1261", "--aiyl-aimak", "kok-irim"], env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "grant organiser 1261: done"
    missing = subprocess.run([*run, "grant", "organiser", "1261"], env=env, capture_output=True, text=True)
    assert missing.returncode == 2 and "aiyl aimak" in missing.stderr
    done = subprocess.run([*run, "revoke", "organiser", "1261"], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "revoke organiser 1261: done"


async def test_a_role_holder_who_may_not_ask_gets_no_ask_in_the_menu(bot: Harness) -> None:
    """/ask and /myquestions appear only for those who may ask the helpdesk (by default, its members), also in the
    menu refreshed when a role is granted and when the bot starts."""
    await register(bot, 1271)
    admin = await register(bot, ADMIN_ID)
    await admin.send("/grant organiser 1271 kok-irim")
    menu = bot.emu.commands(scope="chat:1271")
    assert "people" in menu and "ask" not in menu and "myquestions" not in menu, menu
    await bot.restart()
    menu = bot.emu.commands(scope="chat:1271")
    assert "people" in menu and "ask" not in menu and "myquestions" not in menu, menu
