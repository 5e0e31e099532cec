"""aiogram routers, one file per flow. Order matters: the fallback router comes last.

The flows are imported when the routers are built, not with the package, so that jobs and services may
import shared views from here (``handlers.event_views``) without pulling in every flow."""

from __future__ import annotations

from importlib import import_module

from aiogram import Router

FLOWS = ("errors", "start", "profile", "forget", "help", "admin", "organiser", "helpdesk_asker", "helpdesk_lawyer",
         "voting_organiser", "voting_villager", "plan_organiser", "plan_villager", "events", "fallback")


def all_routers() -> list[Router]:
    """Fresh routers for one dispatcher."""
    return [import_module(f"handlers.{flow}").router.build() for flow in FLOWS]
