"""The ``jamaat`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot import loop
from bot.settings import Settings, SettingsError, load_settings
from services.places import COUNTRY_PLACES, PlacesFileError, find_aiyl_aimak, import_places
from services.roles import Role, RoleError, grant, revoke
from storage.db import Database


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jamaat", description="Jamaat: citizen participation in Telegram.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run offline: Bot API emulator, bot and a web chat on 127.0.0.1")
    demo.add_argument("--port", type=int, default=8080, help="web chat and emulator port (default 8080)")
    demo.add_argument("--data", type=Path, default=Path("demo-data"), help="folder of the demo's SQLite file")
    demo.add_argument("--fresh", action="store_true", help="start from an empty demo database")

    commands.add_parser("run", help="long polling with the real bot token")
    commands.add_parser("webhook", help="serve Telegram's webhook (secret token checked)")

    whatsapp = commands.add_parser("whatsapp", help="WhatsApp channel tasks")
    whatsapp_commands = whatsapp.add_subparsers(dest="whatsapp_command", required=True)
    shown = whatsapp_commands.add_parser("templates", help="print the message templates to register with Meta")
    shown.add_argument("--json", action="store_true", help="as JSON (name, category, language, body, buttons)")

    db = commands.add_parser("db", help="database tasks")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply migrations")

    places = commands.add_parser("import-places", help="load aiyl aimaks and villages from CSV "
                                 "(without a file: the whole country, storage/data/kg-places.csv)")
    places.add_argument("file", type=Path, nargs="?", default=COUNTRY_PLACES)

    posters = commands.add_parser("posters", help="a printable A4 poster (PDF and PNG) per village, with the "
                                  "QR code of its link (needs JAMAAT_BOT_USERNAME)")
    posters.add_argument("--aiyl-aimak", dest="aimak", help="code of one aiyl aimak (default: every village)")
    posters.add_argument("--out", type=Path, default=Path("posters"), help="folder for the files (default posters)")

    for name in ("grant", "revoke"):
        sub = commands.add_parser(name, help=f"{name} a role: organiser (with --aiyl-aimak), lawyer, admin")
        sub.add_argument("role", choices=[r.value for r in Role])
        sub.add_argument("user", type=int, help="Telegram user id")
        sub.add_argument("--aiyl-aimak", dest="aimak", help="code of the aiyl aimak (organisers)")
    return parser


async def _upgrade(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        await db.upgrade()
    finally:
        await db.dispose()
    print("database is up to date")


async def _import_places(settings: Settings, path: Path) -> None:
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        async with db.session() as session:
            result = await import_places(session, path)
    finally:
        await db.dispose()
    print(f"aiyl aimaks added: {result.aiyl_aimaks_added}, villages added: {result.villages_added}, "
          f"villages updated: {result.villages_updated}")


async def _posters(settings: Settings, aimak_code: str | None, out: Path) -> None:
    from bot.i18n import make_i18n
    from bot.posters import make_posters

    if not settings.bot_username:
        raise SettingsError("jamaat: set JAMAAT_BOT_USERNAME (the bot's @username) for the posters' links")
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        async with db.session() as session:
            printed = await make_posters(session, make_i18n(settings.default_language), out,
                                         bot_username=settings.bot_username, aiyl_aimak_code=aimak_code)
    finally:
        await db.dispose()
    print(f"posters: {len(printed)} villages, files in {out}")


async def _change_role(settings: Settings, action: str, role: Role, user: int, aimak_code: str | None) -> None:
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        async with db.session() as session:
            aimak_id = None
            if aimak_code:
                aimak = await find_aiyl_aimak(session, aimak_code)
                if aimak is None:
                    raise SettingsError(f"jamaat: no aiyl aimak with the code {aimak_code!r}")
                aimak_id = aimak.id
            change = grant if action == "grant" else revoke
            changed = await change(session, user, role, aimak_id)
    finally:
        await db.dispose()
    print(f"{action} {role.value} {user}: {'done' if changed else 'nothing to change'}")


async def _run(settings: Settings) -> None:
    from bot.app import Jamaat, settle_heap

    settings.require("bot_token", "phone_hash_key")
    app = Jamaat.create(settings)
    dashboard = None
    try:
        await app.prepare()
        # The web dashboard on a small server of its own (JAMAAT_DASHBOARD_HOST/PORT; port 0 turns it off),
        # which also serves WhatsApp's webhook at /whatsapp/webhook when WhatsApp is configured.
        if settings.dashboard_port:
            from bot.dashboard import serve
            from bot.webhook import WHATSAPP_PATH, mount_whatsapp  # aiohttp's server only with the dashboard

            try:
                dashboard = await serve(app, settings.dashboard_host, settings.dashboard_port,
                                        also=lambda server: mount_whatsapp(server, app))
                if app.whatsapp is not None:
                    logging.getLogger("jamaat").info("WhatsApp webhook at %s:%s%s", settings.dashboard_host,
                                                     settings.dashboard_port, WHATSAPP_PATH)
            except OSError as exc:  # the bot matters more than its dashboard: it runs on without it
                logging.getLogger("jamaat").error("dashboard not started on %s:%s: %s", settings.dashboard_host,
                                                  settings.dashboard_port, exc)
        elif app.whatsapp is not None:
            logging.getLogger("jamaat").error("WhatsApp is configured but JAMAAT_DASHBOARD_PORT is 0: its webhook "
                                              "is not served (set a port, or use jamaat webhook)")
        settle_heap()
        await app.run_polling(handle_signals=True)
    finally:
        if dashboard is not None:
            await dashboard.cleanup()
        await app.close()


def _whatsapp_templates(settings: Settings, *, as_json: bool) -> None:
    import json

    from bot.i18n import make_i18n
    from bot.whatsapp import templates

    i18n = make_i18n(settings.default_language)
    if as_json:
        print(json.dumps(templates.catalog(settings, i18n), ensure_ascii=False, indent=2))
    else:
        print(templates.describe(settings, i18n), end="")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "demo":
            from bot.demo import run_demo

            asyncio.run(run_demo(port=args.port, data=args.data, fresh=args.fresh))
            return 0
        settings = load_settings()
        if args.command == "run":
            loop.run(_run(settings), settings.event_loop)
        elif args.command == "webhook":
            from bot.webhook import serve_webhook

            loop.run(serve_webhook(settings), settings.event_loop)
        elif args.command == "whatsapp":
            _whatsapp_templates(settings, as_json=args.json)
        elif args.command == "db":
            asyncio.run(_upgrade(settings))
        elif args.command == "import-places":
            asyncio.run(_import_places(settings, args.file))
        elif args.command == "posters":
            asyncio.run(_posters(settings, args.aimak, args.out))
        else:
            asyncio.run(_change_role(settings, args.command, Role(args.role), args.user, args.aimak))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (PlacesFileError, RoleError, FileNotFoundError, ValueError) as exc:
        print(f"jamaat: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
