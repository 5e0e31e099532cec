"""aiogram routers: one package per flow, with the same parts in each (see docs/DEVELOPING.md). Order matters:
the fallback router comes last.

The routers are imported when they are built, not with the package, so that jobs may import a flow's views and
buttons (``handlers.events.views``) without pulling in every router."""

from __future__ import annotations

from importlib import import_module

from aiogram import Router

FLOWS = ("errors", "people.registration", "people.profile", "people.forget", "people.help", "admin.roles",
         "admin.registrations", "helpdesk.asker", "helpdesk.lawyer", "helpdesk.faq", "helpdesk.stats",
         "voting.organiser", "voting.problems", "voting.sessions", "voting.tapping", "voting.villager",
         "plan.organiser", "plan.activities", "plan.groups", "plan.villager",
         "events.organiser", "events.card", "events.outcome", "events.villager", "dashboard.link", "assist.helper",
         "fallback")


def all_routers() -> list[Router]:
    """Fresh routers for one dispatcher."""
    return [import_module(f"handlers.{flow}").router.build() for flow in FLOWS]
