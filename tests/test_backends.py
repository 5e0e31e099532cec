"""The test back ends themselves: an unreachable Redis is reported as unreachable (skip, or fail with CI=true)."""

from __future__ import annotations

import socket

import pytest

from tests import backends


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the probe is closed


async def test_unreachable_redis_is_skipped_without_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "REDIS_URL", f"redis://127.0.0.1:{closed_port()}/0")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Redis is not reachable"):
        async with backends.redis_prefix():
            pass


async def test_unreachable_redis_fails_with_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "REDIS_URL", f"redis://127.0.0.1:{closed_port()}/0")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        async with backends.redis_prefix():
            pass
