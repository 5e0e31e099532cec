"""Signing in by a one-time link from the chat, signing out, the language switch, and the demo's shortcut."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.dashboard.common import (
    DASHBOARD_LANGUAGES,
    DEMO_PERSONAS,
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    db_session,
    redirect,
    render,
    secure,
    settings,
    url,
    viewer,
)
from bot.dashboard.urls import link_url, public_url  # noqa: F401 - part of this module's interface
from services import dashboard as dash

routes = web.RouteTableDef()


def _start(request: web.Request, response: web.StreamResponse, token: str) -> web.StreamResponse:
    settings_ = settings(request)
    response.set_cookie(SESSION_COOKIE, token, max_age=settings_.dashboard_session_hours * 3600, path="/dashboard",
                        httponly=True, samesite="Lax", secure=secure(settings_))
    return response


@routes.get("/login")
async def login_page(request: web.Request) -> web.StreamResponse:
    """Opening the link shows one button: link previews and mail scanners fetch pages, they don't press buttons,
    so they cannot use up the link."""
    token = request.query.get("t", "")
    if not token:
        return render(request, "signin.html", {}, status=401)
    return render(request, "login.html", {"token": token})


@routes.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    token = str(form.get("t") or "")
    session = db_session(request)
    try:
        telegram_id = await dash.claim_link(session, token)
    except dash.DashboardError as error:
        message = {
            "link_used": _("This sign-in link was already used. Send /dashboard in the bot for a new one."),
            "link_expired": _("This sign-in link has expired. Send /dashboard in the bot for a new one."),
        }.get(error.code, _("This sign-in link is not valid. Send /dashboard in the bot for a new one."))
        return render(request, "refusal.html", {"message": message, "status": 410}, status=410)
    session_token = await dash.start_session(session, telegram_id, hours=settings(request).dashboard_session_hours)
    return _start(request, redirect(url("/")), session_token)


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    await dash.end_session(db_session(request), viewer(request).session_token)
    response = redirect(url("/signed-out"))
    response.del_cookie(SESSION_COOKIE, path="/dashboard")
    return response


@routes.get("/signed-out")
async def signed_out(request: web.Request) -> web.StreamResponse:
    return render(request, "refusal.html", {"message": _("You have signed out."), "status": 200})


@routes.get("/lang/{code}")
async def switch_language(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    back = request.query.get("next", "")
    if not back.startswith("/dashboard") or back.startswith("//"):
        back = url("/")
    response = redirect(back)
    if code in DASHBOARD_LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, path="/dashboard", samesite="Lax",
                            secure=secure(settings(request)))
    return response


@routes.get("/demo/{user_id}")
async def demo_sign_in(request: web.Request) -> web.StreamResponse:
    """``jamaat demo`` only: a ready session for one of the demo's personas (nothing like it outside the demo)."""
    user_id = int(request.match_info["user_id"]) if request.match_info["user_id"].isdigit() else 0
    if user_id not in request.app.get(DEMO_PERSONAS, frozenset()):
        raise web.HTTPNotFound()
    session = db_session(request)
    link = await dash.issue_link(session, user_id, minutes=settings(request).dashboard_link_minutes)
    telegram_id = await dash.claim_link(session, link)
    token = await dash.start_session(session, telegram_id, hours=settings(request).dashboard_session_hours)
    return _start(request, redirect(url("/")), token)


# --------------------------------------------------------------------------- Telegram Web App


def check_init_data(init_data: str, bot_token: str, *, max_age: int = 3600, now: float | None = None) -> int | None:
    """The Telegram id of a Web App's ``initData`` when its HMAC (keyed by the bot token) is right and it is
    fresh; None otherwise (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app)."""
    fields = dict(parse_qsl(init_data, keep_blank_values=True))
    given = fields.pop("hash", "")
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not given or not hmac.compare_digest(expected, given):
        return None
    try:
        auth_date = int(fields.get("auth_date", "0"))
        user = json.loads(fields.get("user", "{}"))
        telegram_id = int(user["id"])
    except (ValueError, KeyError, TypeError):
        return None
    if (now if now is not None else time.time()) - auth_date > max_age:
        return None
    return telegram_id


@routes.get("/webapp")
async def webapp_page(request: web.Request) -> web.StreamResponse:
    """The Web App's first page: it posts Telegram's init data (in the address's fragment) to sign in."""
    return render(request, "webapp.html", {})


@routes.post("/webapp")
async def webapp_sign_in(request: web.Request) -> web.StreamResponse:
    """Inside Telegram as a Web App: the page posts ``initData``; a valid one starts a session."""
    form = await request.post()
    token = settings(request).bot_token
    telegram_id = check_init_data(str(form.get("init_data") or ""), token.get_secret_value()) if token else None
    if telegram_id is None:
        return render(request, "refusal.html", {"message": _("This sign-in link is not valid. Send /dashboard in "
                                                             "the bot for a new one."), "status": 401}, status=401)
    session_token = await dash.start_session(db_session(request), telegram_id,
                                             hours=settings(request).dashboard_session_hours)
    return _start(request, redirect(url("/")), session_token)
