"""The event loop of a long-running Jamaat process (``jamaat run``, ``jamaat webhook``).

uvloop (libuv under asyncio's interface) where it is installed, which is wherever pip installs Jamaat except on
Windows; asyncio's own loop otherwise, or when ``JAMAAT_EVENT_LOOP=asyncio`` asks for it. An update crosses the
loop many times: the Bot API's HTTP calls, getUpdates, every SQLite statement's hand-off to its thread and back,
the jobs' timers. uvloop does those turns in C: ~5 % fewer instructions an update for the bot's process
(``benchmarks/registration.py``, instructions counted under valgrind). Nothing else changes: the code above it
sees asyncio's API either way, and the tests run on asyncio's loop as well as (``tests/test_run.py``) on this one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
CHOICES = ("uvloop", "asyncio")
log = logging.getLogger(__name__)


def loop_factory(choice: str = "uvloop") -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """The loop's name and its factory (``None``: asyncio's default)."""
    if choice == "uvloop":
        try:
            import uvloop
        except ImportError:  # not installed (Windows): asyncio's loop does the same work
            return "asyncio", None
        return "uvloop", uvloop.new_event_loop
    return "asyncio", None


def run(main: Coroutine[Any, Any, T], choice: str = "uvloop") -> T:
    """``asyncio.run(main)`` on the chosen loop; the loop's name is logged once."""
    name, factory = loop_factory(choice)
    log.info("event loop: %s", name)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
