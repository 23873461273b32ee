"""The dashboard's article captures under AppTest, over a moto archive: the chosen item's captured
text (plain text, never HTML or Markdown), its status, date and source, its WARC download, and the
captures health line."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from dashboard import data
from feed_archiver.storage import Store
from tests.conftest import BUCKET
from tests.dashboard_apptest import dashboard_env, run_app
from tests.dashboard_seed import record, seed, write

HOSTILE_TEXT = (
    "<script>alert(1)</script> **not bold** [link](javascript:alert(1))\n"
    "<img src=x onerror=alert(1)> The Rabat Process met in Madrid."
)
WARC = gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n\r\n")


def captured(key: str, *, source: str = "live", snapshot_at: str | None = None) -> dict[str, Any]:
    """A `capture` object as capture_item records it on the index record."""
    stamp = "20190717T080000Z"
    return {
        "status": "captured",
        "captured_at": "2019-07-17T08:00:00Z",
        "checked_at": "2019-07-17T08:00:00Z",
        "source": source,
        "snapshot_at": snapshot_at,
        "requested_url": "https://www.icmpd.org/news-centre/news-detail/x/",
        "url": "https://www.icmpd.org/news-centre/news-detail/x/",
        "warc_key": f"captures/{key}/{stamp}.warc.gz",
        "text_key": f"captures/{key}/{stamp}.json",
        "text_chars": len(HOSTILE_TEXT),
        "error": None,
    }


@pytest.fixture
def archive(store: Store, aws: tuple[Any, Any]) -> dict[str, dict[str, Any]]:
    """The ten seed items (pending), a newer captured one with hostile text, a failed one."""
    seed(store)
    newest = record("captured item", published="2019-07-20T00:00:00Z")
    newest["capture"] = captured(newest["key"])
    broken = record("failed item", published="2019-07-19T00:00:00Z")
    broken["capture"] = {
        "status": "failed",
        "checked_at": "2019-07-18T09:30:00Z",
        "source": "live",
        "error": "HTTP 503 from https://www.icmpd.org/x/",
    }
    write(store, [newest, broken])
    s3, _ = aws
    capture = newest["capture"]
    store.put_capture_text(capture["text_key"], {"text": HOSTILE_TEXT, "title": "t"})
    s3.put_object(Bucket=BUCKET, Key=capture["warc_key"], Body=WARC)
    return {"captured": newest, "failed": broken}


def test_the_chosen_item_shows_its_captured_text_as_plain_text(
    archive: dict[str, dict[str, Any]],
) -> None:
    # When the page renders (the captured item is the newest: the default choice)
    at = run_app()
    assert at.selectbox(key="item_choice").value == archive["captured"]["key"]
    texts = [t.value for t in at.text]
    # Then its capture status, date and source are shown
    assert "Article: captured · on 2019-07-17 08:00 UTC · source: the live page" in texts
    # And its text is an st.text element, verbatim, and no Markdown element carries it
    assert HOSTILE_TEXT in texts
    markdown = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert not any("onerror" in m or "not bold" in m for m in markdown)
    # And its WARC can be downloaded
    buttons = [b for b in at.get("download_button") if b.proto.id and "download_warc" in b.proto.id]
    assert len(buttons) == 1
    assert buttons[0].proto.label == "Download the capture (WARC)"


def test_a_failed_capture_says_why_and_offers_no_download(
    archive: dict[str, dict[str, Any]],
) -> None:
    at = run_app()
    picker = at.selectbox(key="item_choice")
    picker.set_value(archive["failed"]["key"]).run()
    texts = [t.value for t in at.text]
    assert (
        "Article: capture failed · last tried 2019-07-18 09:30 UTC · source: the live page\n"
        "HTTP 503 from https://www.icmpd.org/x/"
    ) in texts
    assert HOSTILE_TEXT not in texts
    assert not [b for b in at.get("download_button") if "download_warc" in (b.proto.id or "")]


def test_the_captures_health_line_counts_the_listed_items(
    archive: dict[str, dict[str, Any]],
) -> None:
    at = run_app()
    captions = [c.value for c in at.caption]
    assert "Article captures of all 12 items: 1 captured, 10 pending, 1 failed" in captions


def test_the_warc_download_is_the_stored_file(
    store: Store, archive: dict[str, dict[str, Any]]
) -> None:
    # The button's data is read only when clicked: the same function, on the stored key
    capture = data.capture_info(archive["captured"])
    assert capture.warc_key is not None
    assert data.load_warc(store, capture.warc_key) == WARC
    assert data.capture_health([archive["captured"], archive["failed"], {}]) == {
        "captured": 1, "pending": 1, "failed": 1, "robots_disallowed": 0, "not_html": 0, "gone": 0,
    }  # fmt: skip


__all__ = ["dashboard_env"]  # the autouse fixture, imported to apply it here
