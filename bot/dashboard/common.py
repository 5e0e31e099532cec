"""What every dashboard page shares: the signed-in person and their roles, the language, CSRF, rendering."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
import jinja2
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dashboard.urls import PREFIX
from bot.i18n import LANGUAGE_NAMES, Formatter, in_language
from bot.settings import LANGUAGES, Settings
from services import dashboard as dash
from services.audit import RuleError
from services.people import person_by_telegram_id
from services.roles import Roles, roles_of

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "jamaat_dashboard"
LANGUAGE_COOKIE = "jamaat_dashboard_lang"
# Pages open to anybody: signing in, the language switch, static files.
PUBLIC = ("/login", "/lang/", "/static/", "/signed-out", "/webapp", "/demo/")
DASHBOARD_LANGUAGES = ("ky", "ru", "uz", "en")  # the languages offered by the switch on every page

JAMAAT = web.AppKey("jamaat", object)
DB_SESSION = web.RequestKey("db_session", AsyncSession)
VIEWER = web.RequestKey("viewer", object)
LANGUAGE = web.RequestKey("language", str)
DEMO_PERSONAS = web.AppKey("demo_personas", frozenset)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Viewer:
    """The signed-in person as pages see them."""

    telegram_id: int
    name: str
    roles: Roles
    session_token: str

    @property
    def csrf(self) -> str:
        return dash.csrf_token(self.session_token)


def jamaat(request: web.Request) -> Any:
    return request.app[JAMAAT]


def settings(request: web.Request) -> Settings:
    return jamaat(request).settings


def db_session(request: web.Request) -> AsyncSession:
    return request[DB_SESSION]


def viewer(request: web.Request) -> Viewer:
    return request[VIEWER]


def language(request: web.Request) -> str:
    return request[LANGUAGE]


def fmt(request: web.Request) -> Formatter:
    return Formatter(language(request), settings(request).zone)


def url(path: str) -> str:
    return PREFIX + path


def secure(settings_: Settings) -> bool:
    return (settings_.dashboard_url or settings_.webhook_url or "").startswith("https://")


def render(request: web.Request, template: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    page = {"request": request, "viewer": request.get(VIEWER), "lang": language(request),
            "languages": [(code, LANGUAGE_NAMES[code]) for code in DASHBOARD_LANGUAGES], "fmt": fmt(request),
            "url": url, "here": quote(request.path_qs, safe="/?=&"), **context}
    return aiohttp_jinja2.render_template(template, request, page, status=status)


def refusal(request: web.Request, status: int, message: str) -> web.Response:
    return render(request, "refusal.html", {"message": message, "status": status}, status=status)


def int_arg(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def download(data: bytes, filename: str, content_type: str) -> web.Response:
    return web.Response(body=data, content_type=content_type,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "Cache-Control": "no-store"})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _pick_language(request: web.Request, chosen: str | None) -> str:
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    if chosen in LANGUAGES:
        return chosen  # type: ignore[return-value]
    return settings(request).default_language


@web.middleware
async def dashboard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One database session per request; sign-in, role and CSRF checks; the page in the reader's language."""
    response = await _checked(request, handler)
    # No page is cached by the browser or a proxy; no address (sign-in tokens) leaks to other sites as a referrer.
    if not request.path.startswith(PREFIX + "/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


async def _checked(request: web.Request, handler: Handler) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    if request.method not in ("GET", "HEAD") and origin is not None and urlsplit(origin).netloc != request.host:
        # A form of another site (also the sign-in and Web App forms, which carry no CSRF token of a session).
        log.warning("dashboard: %s %s from the origin %r refused", request.method, request.path, origin)
        raise web.HTTPForbidden(text="cross-site request refused")
    app = jamaat(request)
    path = request.path.removeprefix(PREFIX) or "/"
    public = any(path.startswith(p) for p in PUBLIC)
    async with app.db.session() as session:
        request[DB_SESSION] = session
        token = request.cookies.get(SESSION_COOKIE, "")
        owner = await dash.session_owner(session, token) if token else None
        person = await person_by_telegram_id(session, owner) if owner is not None else None
        request[LANGUAGE] = _pick_language(request, person.language if person else None)
        with in_language(app.i18n, request[LANGUAGE]):
            if owner is not None:
                roles = await roles_of(session, owner, frozenset(app.settings.admin_ids))
                request[VIEWER] = Viewer(owner, (person.first_name if person else None) or str(owner), roles,
                                           token)
            if public:
                return await handler(request)
            if owner is None:
                return render(request, "signin.html", {}, status=401)
            if not dash.may_use_dashboard(request[VIEWER].roles):
                return refusal(request, 403, _("The dashboard is for organisers, lawyers and administrators."))
            if request.method not in ("GET", "HEAD"):
                form = await request.post()
                given = request.headers.get("X-CSRF-Token") or str(form.get("csrf") or "")
                if not dash.csrf_ok(token, given):
                    log.warning("dashboard: %s %s without a valid CSRF token", request.method, request.path)
                    return refusal(request, 403, _("This form has expired. Please open the page again."))
            try:
                return await handler(request)
            except RuleError as error:
                if error.code in ("not_found", "forbidden"):
                    log.info("dashboard: %s refused to %s (%s)", request.path, owner, error.code)
                    return refusal(request, 404 if error.code == "not_found" else 403,
                                   _("There is no such page among the ones you may see."))
                raise


def setup_templates(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                               extensions=["jinja2.ext.i18n"], undefined=jinja2.StrictUndefined)
    env.install_gettext_callables(gettext=lambda text: _(text), ngettext=lambda s, p, n: ngettext(s, p, n),
                                  newstyle=False)
    env.globals["_"] = lambda text: _(text)


def redirect(location: str) -> web.Response:
    """303 See Other: after a form, the browser loads the page again with GET."""
    return web.Response(status=303, headers={"Location": location})
