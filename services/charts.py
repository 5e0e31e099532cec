"""What every chart shares: a pyplot figure that is always closed, its PNG, short labels."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def figure(*args: Any, **kwargs: Any) -> Iterator[tuple[Any, Any]]:
    """``pyplot.subplots(*args, **kwargs)`` on the Agg backend (no display); the figure is closed on leaving."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    made, axes = plt.subplots(*args, **kwargs)
    try:
        yield made, axes
    finally:
        plt.close(made)


def png(made: Any) -> bytes:
    """The figure laid out and rendered as PNG."""
    made.tight_layout()
    buffer = io.BytesIO()
    made.savefig(buffer, format="png")
    return buffer.getvalue()


def short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
