"""The dashboard's addresses, for the chat's /dashboard command: no web server or template engine imported."""

from __future__ import annotations

from bot.settings import Settings

PREFIX = "/dashboard"  # where the dashboard is mounted


def public_url(settings: Settings) -> str:
    """Where people's browsers reach the dashboard server (the sign-in links start with it)."""
    if settings.dashboard_url:
        return str(settings.dashboard_url).rstrip("/")
    if settings.webhook_url:
        return str(settings.webhook_url).rstrip("/")
    host = settings.dashboard_host if settings.dashboard_host not in ("0.0.0.0", "::") else "127.0.0.1"
    return f"http://{host}:{settings.dashboard_port}"


def link_url(base: str, token: str) -> str:
    """The address sent in chat: ``base`` is the dashboard server's public address."""
    return f"{base.rstrip('/')}{PREFIX}/login?t={token}"
