"""A pytest plugin: collect the outcome of every reliability case into artifacts/reliability.json.

A test is a reliability case when it carries the marker

    @pytest.mark.reliability(group="Network faults", case="connection refused",
                             must_hold="error recorded in the feed state and the summary; ...")

(on the function, or on one `pytest.param` to give a parameter its own row).
Parameters sharing one case are one row whose result says how many passed.
`scripts/reliability_table.py` turns the JSON into docs/reliability.md, so the
table only ever says what the suite actually found.

The file is written only when the session ran at least one case, so running an
unrelated subset leaves the last full results in place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

MARKER = "reliability"
RESULTS = Path("artifacts") / "reliability.json"
_KEY = pytest.StashKey[dict[str, dict[str, Any]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(group, case, must_hold): a hardening case reported in docs/reliability.md",
    )
    config.stash[_KEY] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return
    report: pytest.TestReport = outcome.get_result()
    results = item.config.stash[_KEY]
    entry = results.setdefault(
        item.nodeid,
        {
            "nodeid": item.nodeid,
            "group": str(marker.kwargs.get("group", "")),
            "case": str(marker.kwargs.get("case") or item.name),
            "must_hold": str(marker.kwargs.get("must_hold", "")),
            "outcome": "passed",
        },
    )
    # A failure in setup, call or teardown fails the case; a skip only counts if nothing failed.
    if report.failed:
        entry["outcome"] = "failed"
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    results = session.config.stash.get(_KEY, {})
    if not results:
        return
    path = session.config.rootpath / RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    cases = list(results.values())  # in the order the suite ran them
    path.write_text(json.dumps({"cases": cases}, indent=2, ensure_ascii=False) + "\n", "utf-8")
