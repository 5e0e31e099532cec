"""The values that cannot change once a round is voting, read once per engine (see ``_FROZEN``)."""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import engine_of
from storage.voting import BallotItem, RoundVillage, VotingRound

# What cannot change once a round is voting: its villages (fixed when it is created) and each village's ballot
# (frozen by publish_ballot, which only a draft or collecting round allows). Kept per engine, keyed by the round
# and the moment voting opened, so every ballot button is not a query for them. A value that may still change
# while voting (a problem's title) adds the round's ``revision`` to its key.
_FROZEN: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()
_FROZEN_PHASES = ("voting", "closed")
T = TypeVar("T")


async def _frozen(session: AsyncSession, rnd: VotingRound, key: tuple[Any, ...],
                  read: Callable[[], Awaitable[T]]) -> T:
    """``read()``, kept for the engine once the round is voting. Not kept from a transaction that changed the
    round's ballots (``changed_ballots``): it could still roll back."""
    if rnd.phase not in _FROZEN_PHASES or rnd.voting_at is None or rnd.id in changed_ballots(session):
        return await read()
    cache = _FROZEN.setdefault(engine_of(session), {})
    full_key = (rnd.id, rnd.voting_at, *key)
    if full_key not in cache:
        if len(cache) > 10_000:
            cache.clear()
        cache[full_key] = await read()
    return cache[full_key]  # type: ignore[no-any-return]


def changed_ballots(session: AsyncSession) -> set[int]:
    """The rounds whose ballots this session's transaction changed (see ``_frozen``)."""
    return session.info.setdefault("jamaat_changed_ballots", set())  # type: ignore[no-any-return]


async def _round_village_ids(session: AsyncSession, rnd: VotingRound) -> frozenset[int]:
    async def read() -> frozenset[int]:
        return frozenset(await session.scalars(select(RoundVillage.village_id).where(RoundVillage.round_id == rnd.id)))

    return await _frozen(session, rnd, ("villages",), read)


async def _on_ballot(session: AsyncSession, rnd: VotingRound, village_id: int) -> frozenset[int]:
    async def read() -> frozenset[int]:
        return frozenset(await session.scalars(select(BallotItem.problem_id).where(
            BallotItem.round_id == rnd.id, BallotItem.village_id == village_id)))

    return await _frozen(session, rnd, ("ballot", village_id), read)
