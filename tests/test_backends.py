"""The test back ends themselves: an unreachable Redis is reported as unreachable (skip, or fail with CI=true)."""

from __future__ import annotations

import pytest

from tests import backends
from tests.ports import free_port  # nothing listens there


async def test_unreachable_redis_is_skipped_without_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Redis is not reachable"):
        async with backends.redis_prefix():
            pass


async def test_unreachable_redis_fails_with_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        async with backends.redis_prefix():
            pass
