"""aiogram routers, one file per flow. Order matters: the fallback router comes last."""

from __future__ import annotations

from aiogram import Router

import handlers.events as events
import handlers.plan_organiser as plan_organiser
import handlers.plan_villager as plan_villager
import handlers.voting_organiser as voting_organiser
import handlers.voting_villager as voting_villager
from handlers import admin, errors, fallback, forget, help, helpdesk_asker, helpdesk_lawyer, organiser, profile, start

FLOWS = (errors, start, profile, forget, help, admin, organiser, helpdesk_asker, helpdesk_lawyer, voting_organiser,
         voting_villager, plan_organiser, plan_villager, events, fallback)


def all_routers() -> list[Router]:
    """Fresh routers for one dispatcher."""
    return [flow.router.build() for flow in FLOWS]
