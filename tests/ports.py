"""Free TCP ports for a server that a test names before it starts (in another process, or after other setup).

A port the kernel hands out for port 0 comes from the ephemeral range (net.ipv4.ip_local_port_range,
32768-60999 by default), the range it also takes every outgoing connection's port from: between the probe and
the server's bind, any connection on the machine may take it, which gets likelier with the suite running in
parallel processes. So these ports come from below that range, where the kernel assigns none by itself, from a
block of its own for each pytest-xdist worker (no two workers of a run can pick the same port), at a random
place in the block (two runs at once rarely meet), and each is checked free by binding it."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

FIRST, BLOCK, BLOCKS = 20000, 1000, 12  # ports 20000-31999
_next: dict[int, int] = {}


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _kernel_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (nor, within this run, will, unless this test binds it)."""
    if _ephemeral_start() < FIRST + BLOCK * BLOCKS:  # an unusual machine: leave the choice to the kernel
        return _kernel_port()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = FIRST + (int(worker) if worker.isdigit() else 0) % BLOCKS * BLOCK
    offset = _next.get(start, random.randrange(BLOCK))
    for step in range(BLOCK):
        port = start + (offset + step) % BLOCK
        if _bindable(port):
            _next[start] = (offset + step + 1) % BLOCK  # the next test of this worker takes the next one
            return port
    return _kernel_port()
