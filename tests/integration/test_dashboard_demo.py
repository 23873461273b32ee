"""The demo's pieces without a browser: the local feed server, the archiving step, the port check."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from dashboard import demo
from dashboard.feedserver import FeedServer
from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.storage import Store

SAMPLE = demo.SAMPLE_FEED


@pytest.fixture
def served(tmp_path: Path) -> Iterator[FeedServer]:
    twin = tmp_path / SAMPLE.name  # same file name as the sample: must get its own URL
    twin.write_bytes(SAMPLE.read_bytes().replace(b"NEWS CENTRE", b"TWIN"))
    server = FeedServer([SAMPLE, twin]).start()
    yield server
    server.stop()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), b""


def test_feed_server_serves_with_validators_and_answers_304(served: FeedServer) -> None:
    # Given the served sample
    url = served.urls[0]
    # When fetched, Then the body comes with an ETag and a Last-Modified
    status, headers, body = _get(url)
    assert status == 200 and body == SAMPLE.read_bytes()
    assert headers["ETag"] and headers["Last-Modified"]
    # When fetched again with those validators, Then 304 and no body
    assert _get(url, {"If-None-Match": headers["ETag"]})[0] == 304
    assert _get(url, {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert _get(url, {"If-None-Match": '"other"'})[0] == 200


def test_feed_server_gives_files_of_the_same_name_their_own_urls(served: FeedServer) -> None:
    first, second = served.urls
    assert first != second
    assert b"TWIN" in _get(second)[2] and b"TWIN" not in _get(first)[2]
    assert _get(first.rsplit("/", 1)[0] + "/nothing.xml")[0] == 404


def test_feed_server_listens_on_loopback_only(served: FeedServer) -> None:
    assert all(url.startswith("http://127.0.0.1:") for url in served.urls)


def test_demo_archives_the_sample_through_the_real_fetch_path(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an empty moto account and the demo's bucket and table names
    monkeypatch.setenv("ARCHIVE_BUCKET", demo.DEMO_BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", demo.DEMO_TABLE)
    server = FeedServer([SAMPLE]).start()
    try:
        with mock_aws():
            # When the demo initialises and archives the served sample
            assert demo.archive_feeds(server.urls)
            # Then the archive holds the seed's ten items with its exact counts
            stats = stats_from_cells(
                parse_cells(Store(demo.DEMO_BUCKET, demo.DEMO_TABLE).read_cells())
            )
    finally:
        server.stop()
    assert stats.total == 10
    assert stats.by_category == {"Project News": 8, "Expert Voice": 1, "ICMPD Around the Globe": 1}
    assert stats.by_month == {"2019-07": 6, "2019-06": 4}
    assert "10 new items" in capsys.readouterr().out


def test_demo_refuses_a_busy_port_before_starting_anything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given something already listening on the dashboard port
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # When the demo starts on it, Then it says so and exits 2
        assert demo.main(["--port", str(port), "--no-browser"]) == 2
    assert f"port {port} is in use" in capsys.readouterr().out
