"""When the periodic jobs run: each on its own interval, in this process, on the event loop's clock.

A run still going when its next one falls due is not doubled, nor made up for later: the times it overran are
skipped and the job keeps its cadence; so is a run the loop comes to more than ``GRACE`` late, as after a busy
spell or a suspended process (what APScheduler's ``max_instances=1`` and ``misfire_grace_time`` did for the five
interval jobs that were all Jamaat asked of it; this is the same in a few lines, and ~1 MB less of a running
bot). A run that raises is logged with its traceback, and the job runs again at its next time. ``stop`` cancels
the jobs, a run in progress included.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
GRACE = 1.0  # seconds: a run the loop comes to later than this (it was busy, or the process stood still) is skipped


@dataclass(frozen=True)
class Job:
    name: str
    seconds: float  # the interval
    run: Callable[..., Awaitable[object]]
    args: tuple[Any, ...] = ()
    first: float | None = None  # seconds before the first run; by default one interval


class Clock:
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def every(self, seconds: float, run: Callable[..., Awaitable[object]], *args: Any, name: str,
              first: float | None = None) -> None:
        """Run ``run(*args)`` every ``seconds`` once started (a job of the same name is replaced)."""
        if seconds <= 0:
            raise ValueError(f"job {name}: the interval must be positive, not {seconds}")
        self.jobs[name] = Job(name, seconds, run, args, first)

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._keep(job), name=f"job {job.name}") for job in self.jobs.values()]

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []

    async def _keep(self, job: Job) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + (job.seconds if job.first is None else job.first)
        while True:
            await asyncio.sleep(max(due - loop.time(), 0))
            if loop.time() - due <= GRACE:
                try:
                    await job.run(*job.args)
                except Exception:
                    log.exception("job %s failed", job.name)
            else:
                log.debug("job %s skipped: the loop was %.1f s late", job.name, loop.time() - due)
            due += job.seconds
            late = loop.time() - due
            if late > 0:  # the run overran its next time(s): skipped, on to the next one ahead
                due += (late // job.seconds + 1) * job.seconds
