"""Housekeeping: forget update ids old enough that Telegram will never deliver them again."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete

from storage.db import Database
from storage.models import ProcessedUpdate, utcnow

log = logging.getLogger(__name__)
# Telegram keeps undelivered updates for 24 hours; a week leaves a wide margin.
KEEP_UPDATE_IDS = timedelta(days=7)


async def prune_processed_updates(db: Database, keep: timedelta = KEEP_UPDATE_IDS) -> int:
    """Delete old update ids (safe to run in several processes at once)."""
    async with db.session() as session:
        result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < utcnow() - keep))
    if result.rowcount:
        log.info("pruned %s old update ids", result.rowcount)
    return int(result.rowcount or 0)
