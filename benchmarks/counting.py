"""Count and time calls to feedparser, whichever module calls it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class FeedparserCalls:
    calls: int = 0
    seconds: float = 0.0


@contextlib.contextmanager
def counting_feedparser() -> Iterator[FeedparserCalls]:
    """Wrap `feedparser.parse`: every caller looks it up on the module, so all calls are seen."""
    import feedparser

    seen = FeedparserCalls()
    original = feedparser.parse

    def parse(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seen.calls += 1
            seen.seconds += time.perf_counter() - started

    feedparser.parse = parse
    try:
        yield seen
    finally:
        feedparser.parse = original
