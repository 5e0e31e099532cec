"""Settings from the environment (prefix ``JAMAAT_``) or a ``.env`` file.

Read here rather than by pydantic-settings, which loads every source it knows (cloud secret stores, CLI, TOML,
YAML) and builds more per field: ~0.9 MB of a running bot for what takes a dozen lines. The same rules: names in
any case, a value given to ``Settings(...)`` before the environment, the environment before ``.env``, lists and
pairs written with commas (the validators below split them), defaults validated too."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

LANGUAGES: tuple[str, ...] = ("ky", "ru", "uz", "uz_Cyrl", "en")
ENV_PREFIX = "JAMAAT_"


class SettingsError(SystemExit):
    """Start-up stops with one clear line naming the setting."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_default=True)

    def __init__(self, _env_file: str | Path | None = ".env", **values: object) -> None:
        """``values`` first, then ``JAMAAT_*`` from the environment, then from ``_env_file`` (None: none)."""
        found: dict[str, object] = {}
        if _env_file is not None and Path(_env_file).is_file():
            from dotenv import dotenv_values

            found.update(_ours(dotenv_values(_env_file)))
        found.update(_ours(os.environ))
        super().__init__(**{**found, **values})

    bot_token: SecretStr | None = None
    database_url: str = "sqlite+aiosqlite:///jamaat.db"
    redis_url: str | None = None
    redis_key_prefix: str = Field(default="jamaat", pattern=r"^[A-Za-z0-9_.-]+$")
    admin_ids: list[int] = Field(default_factory=list)
    default_language: Literal["ky", "ru", "uz", "uz_Cyrl", "en"] = "ky"
    timezone: str = "Asia/Bishkek"
    # Key of the HMAC that turns a phone number into a stable pseudonym (one person, one vote).
    phone_hash_key: SecretStr | None = None
    # Age bands of the needs-assessment sessions; the method writes the last one "56+" or "56–75".
    age_bands: list[str] = Field(default_factory=lambda: ["18-35", "36-55", "56+"])
    # Custom Bot API server (the emulator, or a local telegram-bot-api).
    api_base_url: str | None = None
    # The bot's @username, for village links (t.me/<username>?start=v-<code>) and posters; asked from
    # Telegram (getMe) when the bot runs and this is not set.
    bot_username: str | None = Field(default=None, pattern=r"^@?[A-Za-z0-9_]{3,64}$")
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8081, ge=1, le=65535)
    # Web dashboard (bot/dashboard): where `jamaat run` serves it, its public address for the sign-in links
    # (https makes the cookie Secure), how long a one-time link and a signed-in browser last.
    dashboard_url: str | None = None
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = Field(default=8082, ge=0, le=65535)
    dashboard_link_minutes: int = Field(default=10, ge=1, le=60)
    dashboard_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    max_text_length: int = Field(default=4000, ge=100, le=4096)
    # The event loop of `jamaat run` and `jamaat webhook` (bot/loop.py): uvloop where installed, or asyncio's own.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    # Outbox sender (jobs/sender/). Telegram allows 30 messages a second per bot and 1 a second per chat; the
    # rate is a token bucket shared by everything this process sends (with N processes, 30/N each).
    outbox_per_second: float = Field(default=30.0, gt=0)
    # Telegram's paid broadcasts (Stars): up to 1,000 messages a second, charged per message above 30/s. Off by
    # default; when on, the sender sends at 1,000/s and marks its messages allow_paid_broadcast.
    allow_paid_broadcast: bool = False
    outbox_chat_interval: float = Field(default=1.0, ge=0)  # seconds between two messages to one chat
    outbox_batch: int = Field(default=100, ge=1, le=1000)
    outbox_concurrency: int = Field(default=8, ge=1, le=1000)  # messages in flight at once (in doubt after a kill)
    outbox_lease_seconds: int = Field(default=120, ge=5)
    outbox_max_attempts: int = Field(default=5, ge=1)
    outbox_retry_seconds: float = Field(default=5.0, gt=0)  # first backoff; doubles per failed attempt
    outbox_progress_seconds: float = Field(default=3.0, ge=0)  # how often a broadcast's progress is edited
    # Transient failures (bot/resilience.py): attempts per delivery of an update (backoff from the first delay,
    # doubling), deliveries (webhook) or rounds a pause apart (polling) before the update is given up.
    update_attempts: int = Field(default=5, ge=1, le=20)
    update_retry_seconds: float = Field(default=0.5, ge=0)
    update_deliveries: int = Field(default=5, ge=1)
    update_retry_pause: float = Field(default=15.0, ge=0)
    api_retries: int = Field(default=3, ge=0, le=10)  # Bot API calls of an update: 429s waited for, 5xx retried
    jobs_interval_seconds: float = Field(default=1.0, gt=0)
    # Durable scheduled tasks (jobs/tasks.py): a task missed by more than its grace is dropped and logged.
    task_grace_minutes: int = Field(default=60, ge=0)
    task_lease_seconds: int = Field(default=300, ge=5)
    # Events (hearings, gatherings): reminder lead times in minutes before the start, and the notice period.
    event_reminder_minutes: list[int] = Field(default_factory=lambda: [1440, 120])
    event_notice_days: int = Field(default=7, ge=0)
    event_reminder_grace_minutes: int = Field(default=30, ge=0)

    # Legal helpdesk (services/helpdesk/). Who may ask: "members" (staff and council deputies of member
    # municipalities, listed by admins with /member) or "registered" (anybody registered).
    helpdesk_askers: Literal["members", "registered"] = "members"
    helpdesk_group_chat_id: int | None = None  # the lawyers' group: a card with a "Take" button per question
    helpdesk_working_hours: str = "09:00-18:00"  # working windows in the time zone, e.g. 09:00-12:30,13:30-18:00
    helpdesk_working_days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    helpdesk_holidays: list[date] = Field(default_factory=list)  # 2026-12-31,2027-01-01
    helpdesk_take_within_hours: float = Field(default=4.0, gt=0)  # working hours; then lawyers are reminded
    # Working hours to the first answer per topic (e.g. emergencies=8,budget=24); others get the default.
    helpdesk_answer_targets: dict[str, float] = Field(
        default_factory=lambda: {"emergencies": 8.0})
    helpdesk_default_answer_hours: float = Field(default=16.0, gt=0)
    helpdesk_close_unrated_days: int = Field(default=7, ge=1)  # an answer never rated closes after these days

    # WhatsApp Cloud API (bot/whatsapp): villagers write to the municipality's WhatsApp number.
    whatsapp_token: SecretStr | None = None  # a system user's access token with whatsapp_business_messaging
    whatsapp_phone_number_id: str | None = None  # the business number's id (not the number itself)
    whatsapp_app_secret: SecretStr | None = None  # signs every webhook POST (X-Hub-Signature-256)
    whatsapp_verify_token: SecretStr | None = None  # the webhook verification handshake's token
    whatsapp_api_base_url: str = "https://graph.facebook.com"  # or the emulator
    whatsapp_api_version: str = Field(default="v23.0", pattern=r"^v[0-9]+\.[0-9]+$")
    whatsapp_per_second: float = Field(default=80.0, gt=0)  # Cloud API throughput of one business number
    whatsapp_concurrency: int = Field(default=8, ge=1, le=64)  # the outbox sender's WhatsApp calls in flight
    whatsapp_max_retries: int = Field(default=4, ge=0, le=10)  # throttling answers retried with backoff
    whatsapp_retry_seconds: float = Field(default=1.0, gt=0)  # first backoff; doubles per throttling answer
    # Approved message templates (printed by `jamaat whatsapp templates`): kind=name, and the template
    # language of each bot language (Meta has ky_KG and ru; uz and en fall back to Russian by default).
    whatsapp_templates: dict[str, str] = Field(default_factory=lambda: {
        "notice": "jamaat_notice", "answer": "jamaat_answer_ready", "waiting": "jamaat_message_waiting"})
    whatsapp_template_languages: dict[str, str] = Field(default_factory=lambda: {
        "ky": "ky_KG", "ru": "ru", "uz": "ru", "en": "ru"})

    @field_validator("helpdesk_working_days", "helpdesk_holidays", mode="before")
    @classmethod
    def _split_helpdesk_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("whatsapp_templates", "whatsapp_template_languages", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [part.split("=", 1) for part in value.replace(";", ",").split(",") if part.strip()]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError("write key=value pairs, e.g. notice=jamaat_notice,answer=jamaat_answer_ready")
            return {name.strip(): value.strip() for name, value in pairs}
        return value

    @field_validator("helpdesk_answer_targets", mode="before")
    @classmethod
    def _split_targets(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [part.split("=", 1) for part in value.replace(";", ",").split(",") if part.strip()]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError("write topic=hours pairs, e.g. emergencies=8,budget=24")
            return {name.strip(): hours.strip() for name, hours in pairs}
        return value

    @field_validator("helpdesk_working_hours")
    @classmethod
    def _working_windows(cls, value: str) -> str:
        from services.helpdesk import WorkingHours

        WorkingHours.parse(ZoneInfo("UTC"), value, [1])  # raises ValueError with the reason
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("age_bands", mode="before")
    @classmethod
    def _split_bands(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("event_reminder_minutes", mode="before")
    @classmethod
    def _split_minutes(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        if not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///FILE or postgresql+asyncpg://HOST/DB")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("1 to 256 characters: letters, digits, _ and -")
        return value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            bot_id, _, secret = value.get_secret_value().partition(":")
            if not bot_id.isdigit() or not secret:
                raise ValueError("a bot token looks like 123456:ABC-DEF")
        return value

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.whatsapp_token and self.whatsapp_phone_number_id and self.whatsapp_app_secret)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require(self, *names: str) -> None:
        """Stop start-up when a setting a command needs is missing."""
        for name in names:
            if getattr(self, name) in (None, "", []):
                raise SettingsError(f"jamaat: setting {ENV_PREFIX}{name.upper()} is missing")
        if "phone_hash_key" in names:
            key = self.phone_hash_key.get_secret_value() if self.phone_hash_key else ""
            if len(key) < 16:
                raise SettingsError(
                    f"jamaat: setting {ENV_PREFIX}PHONE_HASH_KEY is too short (16 characters at least)"
                )


def _ours(environ: Mapping[str, str | None]) -> dict[str, str]:
    """``JAMAAT_*`` names, in any case, as field names."""
    return {key[len(ENV_PREFIX):].lower(): value for key, value in environ.items()
            if value is not None and key.upper().startswith(ENV_PREFIX)}


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a malformed one stops start-up with one line naming it."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ENV_PREFIX + ".".join(str(part) for part in error["loc"][:1]).upper()
        raise SettingsError(f"jamaat: setting {name} is malformed: {error['msg']}") from None
