"""jobs.sender.sender_held and jobs.tasks.tasks_held: the process's own drainer and task runner wait while a caller
sends or runs tasks with a clock of its own."""

from __future__ import annotations

import asyncio
import gc
import inspect

from bot import delivery
from jobs.sender import drain, kick_sender, send_pending, sender_held, stop_sender
from jobs.tasks import kick_tasks, task_handler, tasks_held
from services import tasks
from storage.models import utcnow
from tests.harness import Harness
from tests.test_registration import register


async def test_the_drainer_waits_while_held_and_works_after(bot: Harness) -> None:
    user = await register(bot, 1501, language="English", sex=None)
    assert bot.app is not None
    before = len(user.texts)
    async with sender_held(bot.app):
        async with bot.db.session() as session:
            await delivery.notify(session, user.id, "Held notice", dedupe_key="held-1")
        await kick_sender(bot.app)
        await asyncio.sleep(1.5)  # the scheduler's own kicks (every second) start nothing either
        assert "Held notice" not in user.texts[before:]
        report = await send_pending(bot.app, now=utcnow())  # the holder sends it itself
        assert report.sent == 1
    await user.wait_for_message(lambda m: m.text == "Held notice")
    async with bot.db.session() as session:
        await delivery.notify(session, user.id, "After the hold", dedupe_key="held-2")
    await kick_sender(bot.app)
    await user.wait_for_message(lambda m: m.text == "After the hold")
    assert user.texts.count("Held notice") == 1


_EVENTS: dict[str, asyncio.Event] = {}  # made by the test, in its own event loop
_RAN: list[str] = []


@task_handler("test-held")
async def _held_task(app: object, payload: dict, *, run_at: object, now: object) -> None:
    if payload["wait"]:
        _EVENTS["started"].set()
        await _EVENTS["go on"].wait()
    _RAN.append(payload["name"])


async def test_the_task_runner_is_awaited_not_cut_short_and_starts_nothing_while_held(bot: Harness) -> None:
    assert bot.app is not None
    _EVENTS.update({"started": asyncio.Event(), "go on": asyncio.Event()})
    _RAN.clear()
    async with bot.db.session() as session:
        await tasks.schedule(session, kind="test-held", key="held-slow", run_at=utcnow(),
                             payload={"name": "slow", "wait": True})
    await kick_tasks(bot.app)
    await asyncio.wait_for(_EVENTS["started"].wait(), 10)
    holding = asyncio.Event()

    async def hold() -> None:
        async with tasks_held(bot.app):
            holding.set()
            async with bot.db.session() as session:
                await tasks.schedule(session, kind="test-held", key="held-next", run_at=utcnow(),
                                     payload={"name": "next", "wait": False})
            await kick_tasks(bot.app)
            await asyncio.sleep(1.5)  # the scheduler's own kicks (every second) start nothing either
            assert _RAN == ["slow"]

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0.3)
    assert not holding.is_set()  # the run under way (the slow task) is waited for, not cancelled
    _EVENTS["go on"].set()
    await holder
    await kick_tasks(bot.app)
    for _ in range(100):
        if "next" in _RAN:
            break
        await asyncio.sleep(0.05)
    assert _RAN == ["slow", "next"]  # each ran once


async def test_a_drainer_stopped_before_it_ran_leaves_no_coroutine_behind(bot: Harness) -> None:
    """The scheduler can kick the sender just before the process stops: the drainer's task is then cancelled
    before it ever ran. No coroutine may be left behind that was made for it and never started (Python warns
    "coroutine 'drain' was never awaited" when it is freed; it showed in a CI run's teardown)."""
    assert bot.app is not None
    async with sender_held(bot.app):  # no drainer running now
        pass
    await kick_sender(bot.app)  # a drainer's task made (nothing awaited in between: the scheduler cannot kick)
    await stop_sender(bot.app)  # and cancelled before it ran
    gc.collect()
    never_started = [thing for thing in gc.get_objects() if inspect.iscoroutine(thing)
                     and thing.cr_code is drain.__code__ and inspect.getcoroutinestate(thing) == inspect.CORO_CREATED]
    assert not never_started
