"""Settings and formatting: one clear line for a bad setting; Babel in the person's language, Bishkek time."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.i18n import Formatter, pick_language
from bot.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def jamaat(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env={"PATH": "/usr/bin:/bin", **env},
                          cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({}, "jamaat: setting JAMAAT_BOT_TOKEN is missing"),
        ({"JAMAAT_BOT_TOKEN": "nonsense"}, "jamaat: setting JAMAAT_BOT_TOKEN is malformed"),
        ({"JAMAAT_BOT_TOKEN": "1:x", "JAMAAT_ADMIN_IDS": "1,two"}, "jamaat: setting JAMAAT_ADMIN_IDS is malformed"),
        ({"JAMAAT_BOT_TOKEN": "1:x", "JAMAAT_DATABASE_URL": "mysql://x"},
         "jamaat: setting JAMAAT_DATABASE_URL is malformed"),
        ({"JAMAAT_BOT_TOKEN": "1:x", "JAMAAT_TIMEZONE": "Mars/Olympus"},
         "jamaat: setting JAMAAT_TIMEZONE is malformed"),
        ({"JAMAAT_BOT_TOKEN": "1:x"}, "jamaat: setting JAMAAT_PHONE_HASH_KEY is missing"),
        ({"JAMAAT_BOT_TOKEN": "1:x", "JAMAAT_PHONE_HASH_KEY": "short"},
         "jamaat: setting JAMAAT_PHONE_HASH_KEY is too short (16 characters at least)"),
    ],
)
def test_run_stops_with_one_line_naming_the_setting(env: dict[str, str], line: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("JAMAAT_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [err.strip()]  # one line
    assert err.startswith(line)


def test_the_console_command_reports_a_bad_setting(tmp_path: Path) -> None:
    done = jamaat("db", "upgrade", env={"PYTHONPATH": str(ROOT), "JAMAAT_DATABASE_URL": "oracle://x"}, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("jamaat: setting JAMAAT_DATABASE_URL is malformed")
    done = jamaat("db", "upgrade", env={"PYTHONPATH": str(ROOT)}, cwd=tmp_path)
    assert done.returncode == 0 and "database is up to date" in done.stdout and (tmp_path / "jamaat.db").exists()


def test_settings_read_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("JAMAAT_ADMIN_IDS=5, 6\nJAMAAT_DEFAULT_LANGUAGE=ru\n", encoding="utf-8")
    settings = load_settings()
    assert settings.admin_ids == [5, 6] and settings.default_language == "ru"
    assert settings.database_url == "sqlite+aiosqlite:///jamaat.db" and settings.timezone == "Asia/Bishkek"
    with pytest.raises(SettingsError):
        load_settings(default_language="de")


def test_a_given_value_comes_before_the_environment_and_the_environment_before_the_env_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("JAMAAT_DEFAULT_LANGUAGE=ru\nJAMAAT_TIMEZONE=UTC\njamaat_max_text_length=500\n"
                                   "JAMAAT_NO_SUCH_SETTING=1\nJAMAAT_WEBHOOK_URL\nOTHER=2\n", encoding="utf-8")
    monkeypatch.setenv("JAMAAT_DEFAULT_LANGUAGE", "uz")
    monkeypatch.setenv("jamaat_outbox_batch", "7")
    settings = load_settings()
    assert settings.default_language == "uz" and settings.timezone == "UTC"
    assert settings.max_text_length == 500 and settings.outbox_batch == 7 and settings.webhook_url is None
    assert load_settings(default_language="en", outbox_batch=9).outbox_batch == 9
    assert Settings(_env_file=None).timezone == "Asia/Bishkek"  # no .env read
    with pytest.raises(SettingsError, match="JAMAAT_TIMEZONE"):
        load_settings(_env_file=None, timezone="Mars/Olympus")  # defaults and given values are validated alike


def test_postgres_urls_get_the_async_driver() -> None:
    assert Settings(_env_file=None, database_url="postgresql://u@h/db").database_url == "postgresql+asyncpg://u@h/db"


def test_dates_numbers_and_percentages_in_the_persons_language() -> None:
    moment = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # 15:30 in Bishkek (UTC+6)
    zone = Settings(_env_file=None).zone
    # Kyrgyz as it is written (issue 12): "23-ноябрь, 2026-ж.", not "23 ноябрь 2026".
    assert Formatter("ky", zone).datetime(moment) == "23-ноябрь, 2026-ж., 15:30"
    assert Formatter("ru", zone).datetime(moment) == "23 ноября 2026, 15:30"
    assert Formatter("en", zone).datetime(moment) == "23 November 2026, 15:30"
    assert Formatter("ru", zone).number(22500) == "22\xa0500"
    assert Formatter("en", zone).percent(0.36) == "36%"
    assert Formatter("ky", zone).date(datetime(2026, 12, 31, 20, 0, tzinfo=UTC)) == Formatter("ky", zone).date(
        date(2027, 1, 1))  # late evening in UTC is already the next day in Bishkek


def test_language_choice_order() -> None:
    class User:
        language_code = "ru-RU"

    assert pick_language("uz", User(), "ky") == "uz"
    assert pick_language(None, User(), "ky") == "ru"
    User.language_code = "de"
    assert pick_language(None, User(), "ky") == "ky"
