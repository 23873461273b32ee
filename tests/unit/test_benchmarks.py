"""The benchmark's pure parts: the synthetic feed and where the handler's tracing is built."""

from __future__ import annotations

import pytest

from benchmarks.feeds import synthetic_feed
from feed_archiver.parse import parse_feed
from feed_archiver.settings import tracing_on


def test_synthetic_feed_has_unique_items_over_ten_years() -> None:
    # Given a synthetic feed of 30 entries
    parsed = parse_feed(synthetic_feed(30))
    # Then every entry is its own item, and the dates span about ten years
    assert len({e.link for e in parsed.entries}) == 30
    dates = [e.published for e in parsed.entries if e.published]
    assert len(dates) == 30
    assert 9.5 * 365 < (max(dates) - min(dates)).days < 10 * 365


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),  # outside Lambda: Powertools would disable tracing anyway
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "0"}, True),
    ],
)
def test_tracing_is_built_only_where_it_can_be_on(env: dict[str, str], expected: bool) -> None:
    # Given an environment, Then the tracer is wanted only inside Lambda without a veto
    assert tracing_on(env) is expected


def test_the_cold_start_interpreters_may_write_their_pyc_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a shell that forbids .pyc files (as some CI images do)
    from benchmarks.figures.cold_start import _cases

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    # Then every timed interpreter may write them: the untimed warm-up compiles once, and
    # the timed imports measure loading, not compiling (as in the table's method)
    for _module, env in _cases("/tmp/task").values():
        assert "PYTHONDONTWRITEBYTECODE" not in env
