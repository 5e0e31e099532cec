"""One machine-readable line per measurement, next to a benchmark's human printout, for ``benchmarks/run_all.py``:

    RESULT {"benchmark": "tally", "backend": "sqlite", "figures": {"ratio": 1.21}}
"""

from __future__ import annotations

import json

PREFIX = "RESULT "


def result(benchmark: str, backend: str, **figures: float) -> None:
    """Print the key figures of one measurement (numbers only; units are in the figure's name)."""
    backend = "postgres" if backend.startswith("postgres") else backend
    print(PREFIX + json.dumps({"benchmark": benchmark, "backend": backend,
                               "figures": {name: float(value) for name, value in figures.items()}}), flush=True)


def parse(line: str) -> dict | None:
    """The measurement of a RESULT line, or None for any other line."""
    if not line.startswith(PREFIX):
        return None
    try:
        value = json.loads(line[len(PREFIX):])
    except ValueError:
        return None
    return value if isinstance(value, dict) and "figures" in value else None
