"""The demo's choices, checked before it starts anything: its environment and its arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard import demo


def test_demo_refuses_a_missing_extra_feed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(["--no-browser", "--extra-feed", str(tmp_path / "missing.xml")]) == 2
    assert "feed file not found" in capsys.readouterr().out


def test_demo_environment_points_everything_at_the_local_endpoint() -> None:
    env = demo.demo_environment("http://127.0.0.1:5999")
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5999"
    assert env["ARCHIVE_BUCKET"] == demo.DEMO_BUCKET and env["ARCHIVE_TABLE"] == demo.DEMO_TABLE
    assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"]
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"  # never asks a real metadata service
