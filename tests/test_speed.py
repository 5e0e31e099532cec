"""What keeps an idle process small and an update cheap: heads read without Alembic, no Alembic, Redis,
Matplotlib, openpyxl or python-docx in a process that only runs the bot on an up-to-date database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from storage.db import Database, alembic_config, script_heads

ROOT = Path(__file__).resolve().parent.parent


def test_script_heads_are_alembics_heads() -> None:
    assert script_heads() == set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def test_an_up_to_date_database_is_not_upgraded_again(db: Database) -> None:
    assert await db.current_revisions() == script_heads()


def test_a_bot_on_an_up_to_date_database_loads_no_report_migration_or_template_libraries(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'jamaat.db'}"
    code = f"""
import asyncio, sys
from storage.db import Database

async def main():
    await Database({url!r}).upgrade()

asyncio.run(main())
for name in [m for m in sys.modules if m.split(".")[0] in ("alembic", "mako")]:
    del sys.modules[name]
from bot.app import Jamaat
from bot.settings import Settings
from tests.harness import PHONE_HASH_KEY

async def start():
    settings = Settings(bot_token="1:x", database_url={url!r}, phone_hash_key=PHONE_HASH_KEY, _env_file=None)
    app = Jamaat.create(settings)
    await app.db.upgrade()
    await app.db.dispose()
    await app.bot.session.close()

asyncio.run(start())
heavy = {{"alembic", "mako", "redis", "matplotlib", "openpyxl", "docx", "jinja2", "aiohttp_jinja2"}}
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & heavy)
print(",".join(heavy))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == ""
