"""A pytest plugin: the `new_tagger` fixture swaps in "improved" tagging data for a test.

The retag tests and the capture tests that retag both use it; the tagger's caches are
cleared before, on the switch and after, so no other test sees the swapped data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from feed_archiver import tag as tagger

_CACHED = ("tagger_version", "_gazetteer", "_countries", "_programmes", "_categories")


def clear_tagger_caches() -> None:
    for name in _CACHED:
        getattr(tagger, name).cache_clear()


def better_tagging_data(name: str, original: Callable[[str], bytes]) -> bytes:
    """The tagger's data after an "improvement": a region remapped, a programme and a category renamed."""
    data = json.loads(original(name))
    if name == "gazetteer.json":
        data["regions"]["AZ"] = "Silk Routes"
    elif name == "programmes.json":
        data["programmes"].append(
            {"name": "Comprehensive Migration Policy", "aliases": [], "region": "Silk Routes"}
        )
    elif name == "categories.json":
        aliases = data["categories"].pop("Expert Voice")
        data["categories"]["Expert Opinion"] = [*aliases, "Expert Voice"]
    return json.dumps(data).encode()


@pytest.fixture
def new_tagger(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Call it to switch the tagger to the improved data (restored after the test)."""
    original = tagger._data_bytes

    def switch() -> None:
        monkeypatch.setattr(tagger, "_data_bytes", lambda n: better_tagging_data(n, original))
        clear_tagger_caches()

    clear_tagger_caches()
    yield switch
    monkeypatch.undo()
    clear_tagger_caches()
