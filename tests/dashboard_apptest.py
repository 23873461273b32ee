"""What every AppTest of the dashboard shares: the page, its environment, a run, a metric.

A test module imports `dashboard_env` (an autouse fixture: importing it applies it) with
the helpers it uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import BUCKET, TABLE

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def dashboard_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The archiver's variables, and no cached reads carried between tests."""
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def run_app() -> AppTest:
    """The page, run once, with no exception."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> int:
    """The value of the one metric with this label."""
    values = [m.value for m in at.metric if m.label == label]
    assert len(values) == 1, [m.label for m in at.metric]
    return int(values[0])
