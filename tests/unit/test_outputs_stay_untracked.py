"""Tests never rewrite tracked files: what the suite produces goes under artifacts/ (gitignored).

docs/screenshots and docs/reliability.md are published on purpose, by `make screenshots` and
`make reliability-table`; `make test` only checks the reliability table (`--check`).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from tests import reliability_plugin
from tests.integration import test_browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"


def _reliability_table() -> ModuleType:
    path = ROOT / "scripts" / "reliability_table.py"
    spec = importlib.util.spec_from_file_location("reliability_table", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ignored(path: Path) -> bool:
    """Whether .gitignore ignores `path` through one of its anchored folder lines."""
    lines = (ROOT / ".gitignore").read_text("utf-8").splitlines()
    top = path.relative_to(ROOT).parts[0]
    return f"/{top}/" in lines or f"{top}/" in lines


def test_the_browser_test_writes_its_screenshots_and_times_under_artifacts() -> None:
    # Given where the browser test saves its screenshots and render-times.json
    shots = test_browser.SHOTS.resolve()
    # Then that is under artifacts/, which git ignores, and not under docs/
    assert shots.is_relative_to(ARTIFACTS), shots
    assert not shots.is_relative_to(ROOT / "docs")
    assert _ignored(shots)


def test_the_reliability_results_go_under_artifacts() -> None:
    results = (ROOT / reliability_plugin.RESULTS).resolve()
    assert results.is_relative_to(ARTIFACTS) and _ignored(results)


CASE = {
    "nodeid": "tests/integration/test_x.py::test_y",
    "group": "1. Group",
    "case": "a case",
    "must_hold": "it holds",
    "order": ["tests/integration/test_x.py", 1, []],
    "outcome": "passed",
}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    path = tmp_path / "reliability.json"
    path.write_text(json.dumps({"cases": [CASE]}), "utf-8")
    return path


def test_the_reliability_check_reads_the_table_and_writes_nothing(
    tmp_path: Path, results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = _reliability_table()
    # Given a committed table that no longer matches the suite's results
    doc = tmp_path / "reliability.md"
    doc.write_text("# Reliability\n\nan old table\n", "utf-8")
    before = doc.stat().st_mtime_ns
    # When it is checked, Then the check fails, says what to run, and leaves the file alone
    assert table.main(["--check", "--results", str(results), "--output", str(doc)]) == 1
    assert "run `make reliability-table`" in capsys.readouterr().err
    assert doc.read_text("utf-8") == "# Reliability\n\nan old table\n"
    assert doc.stat().st_mtime_ns == before
    # When the table is written from the results, Then the check passes
    assert table.main(["--results", str(results), "--output", str(doc)]) == 0
    assert table.main(["--check", "--results", str(results), "--output", str(doc)]) == 0


def test_the_same_results_give_the_same_table_whatever_order_the_workers_finished_in() -> None:
    # Given cases of two files, as xdist workers might report them
    first = {**CASE, "case": "first", "order": ["tests/integration/test_a.py", 9, [0]]}
    second = {**CASE, "case": "second", "order": ["tests/integration/test_a.py", 9, [1]]}
    third = {**CASE, "case": "third", "order": ["tests/integration/test_b.py", 2, []]}
    table = _reliability_table()
    # When they arrive in any order, Then the results file lists them in the suite's order
    finished = [third, first, second]
    assert reliability_plugin.in_suite_order(finished) == [first, second, third]
    # And the table is the same text (no timings in it)
    expected = table.render([first, second, third])
    assert table.render(reliability_plugin.in_suite_order(finished)) == expected
    assert expected.index("| first |") < expected.index("| second |") < expected.index("| third |")
