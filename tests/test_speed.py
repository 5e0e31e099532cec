"""What keeps an idle process small and an update cheap: heads read without Alembic, no Alembic, Redis,
Matplotlib, openpyxl, python-docx, qrcode, Pillow, Jinja2, aiohttp's web server or (on SQLite) asyncpg or
SQLAlchemy's PostgreSQL dialect in a process that only runs the bot on an up-to-date database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from storage.db import Database, alembic_config, script_heads
from tests.harness import PHONE_HASH_KEY  # imported here: the harness loads the emulator's aiohttp server

ROOT = Path(__file__).resolve().parent.parent


def test_script_heads_are_alembics_heads() -> None:
    assert script_heads() == set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def test_an_up_to_date_database_is_not_upgraded_again(db: Database) -> None:
    assert await db.current_revisions() == script_heads()


def test_a_bot_on_an_up_to_date_database_loads_no_report_migration_template_or_web_libraries(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'jamaat.db'}"
    # The migrations run in a process of their own (Alembic loads PostgreSQL's dialect too), as `jamaat migrate`.
    upgrade = f"import asyncio\nfrom storage.db import Database\nasyncio.run(Database({url!r}).upgrade())"
    result = subprocess.run([sys.executable, "-c", upgrade], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    code = f"""
import asyncio, sys
import bot.cli  # what `jamaat run` imports before it starts
from bot.app import Jamaat
from bot.settings import Settings

async def start():
    settings = Settings(bot_token="1:x", database_url={url!r}, phone_hash_key={PHONE_HASH_KEY!r}, _env_file=None)
    app = Jamaat.create(settings)
    await app.db.upgrade()
    await app.db.dispose()
    await app.bot.session.close()

asyncio.run(start())
heavy = {{"alembic", "mako", "redis", "matplotlib", "openpyxl", "docx", "jinja2", "aiohttp_jinja2", "qrcode", "PIL",
         "asyncpg", "pydantic_settings", "apscheduler"}}  # asyncpg: PostgreSQL's driver, on SQLite
heavy = {{m.split(".")[0] for m in sys.modules}} & heavy
# aiohttp's web server (the dashboard's and the webhook's), not the client aiogram uses
heavy |= set(sys.modules) & {{"aiohttp.web", "aiogram.webhook.aiohttp_server", "bot.webhook", "bot.whatsapp.inbound"}}
# SQLAlchemy's PostgreSQL dialect (~2 MB) on SQLite: any postgresql_* option loads it (see models.postgresql_index)
heavy |= set(sys.modules) & {{"sqlalchemy.dialects.postgresql"}}
# report and poster modules: loaded by the handler or job that makes one; results, FAQ and dashboard sign-in texts
# and queries: by the handler that needs them
heavy |= set(sys.modules) & {{"services.protocol", "services.helpdesk_stats", "services.posters", "bot.posters",
                              "services.voting_results", "services.faq", "services.dashboard"}}
print(",".join(sorted(heavy)))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == ""
