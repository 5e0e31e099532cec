"""aiogram routers, one file per flow. Order matters: the fallback router comes last."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, errors, fallback, forget, help, organiser, profile, start


def all_routers() -> list[Router]:
    return [
        errors.router,
        start.router,
        profile.router,
        forget.router,
        help.router,
        admin.router,
        organiser.router,
        fallback.router,
    ]
