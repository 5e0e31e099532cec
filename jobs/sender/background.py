"""In the background: the drainer the scheduled job starts, and its stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from bot.resilience import Outage
from jobs.sender.common import _state, batch_size
from jobs.sender.run import send_pending
from storage.models import utcnow

if TYPE_CHECKING:
    from bot.runtime import App


async def drain(app: App) -> None:
    """Send until nothing is due (what the scheduled job starts)."""
    state = _state(app)
    while not state.stopping:
        report = await send_pending(app, limit=batch_size(app.settings))
        if report.paused_until is not None:
            await asyncio.sleep(max(0.05, (report.paused_until - utcnow()).total_seconds()))
            continue
        if report.claimed == 0:
            return


async def kick_sender(app: App) -> None:
    """The scheduled job: start a drainer unless one is running (so runs never overlap in a process)."""
    state = _state(app)
    if state.stopping or (state.drainer is not None and not state.drainer.done()):
        return
    state.drainer = asyncio.create_task(_logged(drain, app, state.outage), name="outbox-drainer")


async def _logged(run: Callable[[App], Awaitable[None]], app: App, outage: Outage) -> None:
    """A database or Bot API outage is one line when it starts and one when it ends, not a traceback a run.
    ``run(app)`` is called here, not by the caller: a task cancelled before it ever ran (the process stopping just
    after a kick) then leaves no coroutine behind that was never awaited."""
    try:
        await run(app)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001
        outage.failed(exc)
    else:
        outage.ok()


async def stop_sender(app: App) -> None:
    """Stop draining: calls in flight record their answers, claimed messages are given back."""
    state = _state(app)
    state.stopping = True
    task = state.drainer
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def sender_held(app: App) -> AsyncIterator[None]:
    """This process's background drainer stopped (as by ``stop_sender``) for the block, then allowed again.

    For a caller that runs ``send_pending`` itself with a clock of its own (the tests move time ahead): a lease
    the drainer took at the real time has already run out at a later clock, so both would send the same message."""
    await stop_sender(app)
    try:
        yield
    finally:
        _state(app).stopping = False
