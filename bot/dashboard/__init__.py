"""The organisers' and lawyers' web dashboard, served by the bot's own aiohttp application.

``dashboard_app(jamaat)`` is mounted at ``/dashboard`` (``mount``): by ``jamaat webhook`` on the webhook server,
by ``jamaat run`` on a small server of its own (``serve``), by ``jamaat demo`` next to the web chat."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from bot.dashboard.urls import PREFIX, link_url, public_url

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)
__all__ = ["dashboard_app", "link_url", "mount", "public_url", "serve"]


def dashboard_app(app: Any, *, demo_personas: Iterable[int] = ()) -> web.Application:
    """The dashboard for one running ``Jamaat``; ``demo_personas`` may sign in without a link (demo only)."""
    # The pages (Jinja2, aiohttp-jinja2) are imported when a dashboard is built, not with the package: the
    # chat's /dashboard command needs only the addresses, and `jamaat run` without a dashboard stays lean.
    from aiohttp import web  # aiohttp's server, like the pages, only when a dashboard is built

    from bot.dashboard import auth, event_form, events, helpdesk, pages, plan, voting
    from bot.dashboard.common import DEMO_PERSONAS, HERE, JAMAAT, dashboard_middleware, setup_templates

    sub = web.Application(middlewares=[dashboard_middleware])
    sub[JAMAAT] = app
    sub[DEMO_PERSONAS] = frozenset(demo_personas)
    setup_templates(sub)
    for module in (auth, pages, voting, event_form, events, helpdesk, plan):
        sub.add_routes(module.routes)
    sub.router.add_static("/static", HERE / "static")
    return sub


def mount(server: web.Application, app: Any, **options: Any) -> None:
    """Serve the dashboard under ``/dashboard`` of an aiohttp application."""
    server.add_subapp(PREFIX, dashboard_app(app, **options))


async def serve(app: Any, host: str, port: int, *, also: Callable[[web.Application], Any] | None = None,
                **options: Any) -> web.AppRunner:
    """A small aiohttp server of the dashboard (``jamaat run``, the demo), with whatever ``also`` adds to it
    (``jamaat run``: WhatsApp's webhook); returns its runner."""
    from aiohttp import web

    server = web.Application()
    mount(server, app, **options)
    if also is not None:
        also(server)

    async def root(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(PREFIX + "/")

    server.router.add_get("/", root)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("dashboard listening on %s", runner.addresses)
    return runner
