"""The periodic jobs' clock: intervals, a first delay, no run doubled or made up for, failures logged, a stop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from jobs.clock import Clock


async def until(condition, timeout: float = 5.0) -> None:  # noqa: ANN001 - a callable returning a truth value
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def test_a_job_runs_every_interval_after_its_first_delay() -> None:
    clock, runs = Clock(), []

    async def job(tag: str) -> None:
        runs.append(tag)

    clock.every(0.02, job, "often", name="often")
    clock.every(3600, job, "hourly", name="hourly", first=0.0)  # first=0: at once, then an hour later
    clock.every(3600, job, "never", name="later")  # the first run one interval after the start
    clock.start()
    try:
        await until(lambda: runs.count("often") >= 3)
        assert runs.count("hourly") == 1 and "never" not in runs
    finally:
        clock.stop()
    assert not clock.running


async def test_a_run_that_overruns_is_not_doubled_nor_made_up_for() -> None:
    clock, gate = Clock(), asyncio.Event()
    started, ended, busy, most = [], [], [0], [0]

    async def slow() -> None:
        started.append(1)
        busy[0] += 1
        most[0] = max(most[0], busy[0])
        try:
            if len(started) == 1:
                await gate.wait()  # the first run takes ~15 intervals
        finally:
            busy[0] -= 1
            ended.append(1)

    clock.every(0.02, slow, name="slow")
    clock.start()
    try:
        await until(lambda: started)
        await asyncio.sleep(0.3)
        assert len(started) == 1  # nothing started beside the run in progress
        gate.set()
        await until(lambda: ended)
        await asyncio.sleep(0.05)
        # at most the ticks of those 50 ms (~3), not the ~15 it overran
        assert 1 <= len(started) <= 6 and most[0] == 1
    finally:
        clock.stop()


async def test_a_failing_run_is_logged_and_the_job_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    clock, runs = Clock(), []

    async def failing() -> None:
        runs.append(1)
        raise RuntimeError("boom")

    clock.every(0.02, failing, name="failing")
    with caplog.at_level(logging.ERROR, logger="jobs.clock"):
        clock.start()
        try:
            await until(lambda: len(runs) >= 2)
        finally:
            clock.stop()
    failed = [r for r in caplog.records if r.getMessage() == "job failing failed"]
    assert failed and failed[0].exc_info is not None


async def test_stop_cancels_a_run_in_progress_and_a_job_is_replaced_by_name() -> None:
    clock, cancelled, runs = Clock(), asyncio.Event(), []

    async def endless() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def counted() -> None:
        runs.append(1)

    clock.every(0.01, counted, name="job")
    clock.every(0.01, endless, name="job", first=0.0)  # replaces the first
    assert len(clock.jobs) == 1
    clock.start()
    await asyncio.sleep(0.05)
    clock.stop()
    await asyncio.wait_for(cancelled.wait(), 5)
    assert runs == []
    with pytest.raises(ValueError):
        clock.every(0, counted, name="never")


async def test_a_run_the_loop_comes_to_too_late_is_skipped() -> None:
    """A loop that stood still (a busy spell, a suspended process) does not run a job's stale time: it waits for
    the next one ahead."""
    import time

    clock, runs = Clock(), []

    async def job() -> None:
        runs.append(1)

    clock.every(0.5, job, name="job", first=0.05)
    clock.start()
    try:
        await asyncio.sleep(0)  # the job's task starts and waits for its first time
        time.sleep(1.2)  # noqa: ASYNC251 - the loop standing still, on purpose
        await asyncio.sleep(0.02)
        assert runs == []  # its time came >1 s late: skipped
        await until(lambda: runs)  # the next time ahead (~0.3 s on)
    finally:
        clock.stop()
