"""The values that cannot change once a round is voting, read once per engine (see ``_FROZEN``)."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.voting import BallotItem, RoundVillage, VotingRound

# What cannot change once a round is voting: its villages (fixed when it is created) and each village's ballot
# (frozen by publish_ballot, which only a draft or collecting round allows). Kept per engine, keyed by the round
# and the moment voting opened, so every ballot button is not a query for them.
_FROZEN: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], frozenset[int]]] = weakref.WeakKeyDictionary()
_FROZEN_PHASES = ("voting", "closed")


async def _frozen(session: AsyncSession, rnd: VotingRound, key: tuple[Any, ...], read: Any) -> frozenset[int]:
    if rnd.phase not in _FROZEN_PHASES or rnd.voting_at is None:
        return frozenset(await read())
    cache = _FROZEN.setdefault(session.get_bind(), {})
    full_key = (rnd.id, rnd.voting_at, *key)
    if full_key not in cache:
        if len(cache) > 10_000:
            cache.clear()
        cache[full_key] = frozenset(await read())
    return cache[full_key]


async def _round_village_ids(session: AsyncSession, rnd: VotingRound) -> frozenset[int]:
    async def read() -> Iterable[int]:
        return await session.scalars(select(RoundVillage.village_id).where(RoundVillage.round_id == rnd.id))

    return await _frozen(session, rnd, ("villages",), read)


async def _on_ballot(session: AsyncSession, rnd: VotingRound, village_id: int) -> frozenset[int]:
    async def read() -> Iterable[int]:
        return await session.scalars(select(BallotItem.problem_id).where(
            BallotItem.round_id == rnd.id, BallotItem.village_id == village_id))

    return await _frozen(session, rnd, ("ballot", village_id), read)
