"""Flood limits like Telegram's (``Limits``) and what the emulator counted (``Stats``)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass

#: Methods that Telegram's flood control counts (sending or changing a message).
COUNTED_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)


@dataclass(frozen=True)
class Limits:
    """Flood limits like Telegram's; ``None`` switches one limit off."""

    global_per_second: float | None = 30.0
    global_burst: int | None = None
    private_per_second: float | None = 1.0
    private_burst: int = 3
    group_per_minute: int | None = 20
    methods: frozenset[str] = COUNTED_METHODS


class _TokenBucket:
    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = time.monotonic()

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class _SlidingWindow:
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.events: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        while self.events and self.events[0] <= now - self.window:
            self.events.popleft()
        return 0.0 if len(self.events) < self.limit else self.events[0] + self.window - now

    def take(self) -> None:
        self.events.append(time.monotonic())


class Stats:
    """Answers per method and outcome: ``ok``, ``429``, ``403``, ``4xx`` (other client errors)."""

    def __init__(self) -> None:
        self.by_method: dict[str, Counter[str]] = defaultdict(Counter)
        self.bodies: dict[str, Counter[str]] = defaultdict(Counter)  # per method: how the call came (content type)

    def record(self, method: str, status: int) -> None:
        if 200 <= status < 300:
            outcome = "ok"
        elif status in (403, 429):
            outcome = str(status)
        elif 400 <= status < 500:
            outcome = "4xx"
        else:
            outcome = "5xx"
        self.by_method[method][outcome] += 1

    def count(self, outcome: str, method: str | None = None) -> int:
        if method is not None:
            return self.by_method.get(method, Counter())[outcome]
        return sum(counter[outcome] for counter in self.by_method.values())

    @property
    def ok(self) -> int:
        return self.count("ok")

    @property
    def rate_limited(self) -> int:
        return self.count("429")

    @property
    def forbidden(self) -> int:
        return self.count("403")

    @property
    def client_errors(self) -> int:
        return self.count("4xx")

    def reset(self) -> None:
        self.by_method.clear()

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {method: dict(counter) for method, counter in self.by_method.items()}

    def __repr__(self) -> str:
        return f"Stats({self.as_dict()!r})"
