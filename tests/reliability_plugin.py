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

Under pytest-xdist the tests run on workers: each report carries its case in
`user_properties`, and the controller (or a plain session) collects them from
`pytest_runtest_logreport`, so the file holds every case whatever the split.
Cases are written in the suite's order (file, line, parameter), never in the order the
workers happened to finish, so the generated table is deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import pytest

MARKER = "reliability"
RESULTS = Path("artifacts") / "reliability.json"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(group, case, must_hold): a hardening case reported in docs/reliability.md",
    )
    if not hasattr(config, "workerinput"):  # an xdist worker only reports; this process writes
        config.pluginmanager.register(_Collector(), "reliability-collector")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Runs where the test runs (an xdist worker too): the case travels with the report."""
    outcome = yield
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return
    report: pytest.TestReport = outcome.get_result()
    path, line, _ = item.location
    # The parameter's place in its list: the same whichever tests a session selected.
    callspec = getattr(item, "callspec", None)
    params = list(callspec.indices.values()) if callspec else []
    case = {
        "nodeid": _plain_nodeid(item),
        "group": str(marker.kwargs.get("group", "")),
        "case": str(marker.kwargs.get("case") or item.name),
        "must_hold": str(marker.kwargs.get("must_hold", "")),
        "order": [path, line or 0, params],
    }
    report.user_properties.append((MARKER, case))


def _plain_nodeid(item: pytest.Item) -> str:
    """The node id without the "@group" that xdist's loadgroup adds to grouped tests."""
    groups = {str(m.args[0] if m.args else m.kwargs.get("name", "default"))
              for m in item.iter_markers("xdist_group")}  # fmt: skip
    suffix = "@" + "_".join(sorted(groups))
    return item.nodeid.removesuffix(suffix) if groups else item.nodeid


class _Collector:
    """In the controller (or a session without xdist): every case's outcome, then the file."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        found = (value for name, value in report.user_properties if name == MARKER)
        case = cast("dict[str, Any] | None", next(found, None))
        if case is None:
            return
        entry = self.results.setdefault(case["nodeid"], {**case, "outcome": "passed"})
        # A failure in setup, call or teardown fails the case; a skip only counts if nothing failed.
        if report.failed:
            entry["outcome"] = "failed"
        elif report.skipped and entry["outcome"] == "passed":
            entry["outcome"] = "skipped"

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.results:
            return
        path = session.config.rootpath / RESULTS
        path.parent.mkdir(parents=True, exist_ok=True)
        cases = in_suite_order(self.results.values())
        text = json.dumps({"cases": cases}, indent=2, ensure_ascii=False)
        path.write_text(text + "\n", "utf-8")


def in_suite_order(cases: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cases as the suite lists them (file, line, parameter), whatever order they ended in."""
    return sorted(cases, key=_place)


def _place(case: dict[str, Any]) -> tuple[str, int, list[int], str]:
    path, line, params = case["order"]
    return str(path), int(line), params, case["nodeid"]
