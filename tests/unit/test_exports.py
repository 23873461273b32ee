"""Issue 14: the export rows, their file format, and the journal that says what to rewrite."""

from __future__ import annotations

import gzip
import json
from typing import Any

from feed_archiver import exports
from feed_archiver.storage.journal import Journal


def document(n: int = 1, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema_version": 1,
        "id": f"https://www.icmpd.org/news/{n}/",
        "key": f"{n:032x}",
        "feed_url": "https://www.icmpd.org/home/?type=100",
        "guid": None,
        "link": f"https://www.icmpd.org/news/{n}/",
        "title": f"Project News: item {n}",
        "headline": f"item {n}",
        "category": "Project News",
        "feed_categories": [],
        "published": f"2019-07-{n:02d}T10:00:00Z",
        "date_estimated": False,
        "month": "2019-07",
        "summary": "x" * 900,  # longer than the index keeps: the export keeps it whole
        "content_text": "long text",
        "content_html": "<p>long text</p>",
        "countries": ["NE"],
        "regions": ["Africa"],
        "programmes": [],
        "content_hash": "h",
        "revision": 1,
        "first_seen": "2019-07-16T14:00:00Z",
        "first_seen_via": "feed",
        "last_seen": "2019-07-16T14:00:00Z",
        "tagger_version": "t",
        "problems": [],
    }
    return base | changes


def test_given_a_document_then_its_row_has_exactly_the_columns_and_its_source_version() -> None:
    row = exports.export_row(document(), "v1")
    assert set(row) == {*exports.COLUMN_NAMES, exports.SOURCE_VERSION, exports.PARTITION.name}
    assert row["summary"] == "x" * 900 and row[exports.SOURCE_VERSION] == "v1"
    assert row["article_text"] is None and row["article_countries"] is None


def test_given_a_captured_article_then_its_text_and_tags_fill_the_article_columns() -> None:
    capture = {
        "status": "captured",
        "text_key": "captures/k/2024.json",
        "countries": ["NE", "ML"],
        "regions": ["Africa"],
        "programmes": ["Rabat Process"],
    }
    doc = document(capture=capture)
    assert exports.text_key(doc) == "captures/k/2024.json"
    row = exports.export_row(doc, "v2", "The article.")
    assert (row["article_status"], row["article_text"]) == ("captured", "The article.")
    assert row["article_countries"] == ["NE", "ML"] and row["article_programmes"] == [
        "Rabat Process"
    ]
    assert exports.text_key(document(capture={"status": "pending"})) is None


def test_given_rows_then_the_file_is_gzipped_json_lines_newest_first_without_the_partition() -> (
    None
):
    rows = [exports.export_row(document(n), f"v{n}") for n in (1, 3, 2)]
    data = exports.encode_rows(rows)
    lines = gzip.decompress(data).decode("utf-8").splitlines()
    assert [json.loads(line)["key"] for line in lines] == [f"{n:032x}" for n in (3, 2, 1)]
    assert all("month" not in json.loads(line) for line in lines)  # the path holds it
    assert exports.encode_rows(reversed(rows)) == data  # same rows, same bytes
    back = exports.decode_rows(data, "2019-07")
    assert {r["month"] for r in back} == {"2019-07"}
    assert sorted(back, key=lambda r: r["key"]) == sorted(rows, key=lambda r: r["key"])


def test_given_no_rows_then_the_file_is_an_empty_export() -> None:
    assert exports.decode_rows(exports.encode_rows([]), "2019-07") == []


def test_given_writes_then_the_journal_holds_their_months_and_documents_until_taken() -> None:
    journal = Journal()
    journal.stored(document(1), "v1")
    moved_from = {"key": f"{1:032x}", "month": "2019-06", "revision": 1}
    journal.committed([({"key": f"{1:032x}", "month": "2019-07", "revision": 2}, moved_from)])
    written = journal.take()
    # An item that moved month leaves both months stale.
    assert written.months == {"2019-06", "2019-07"}
    kept = written.documents[(f"{1:032x}", "v1")]
    assert "content_html" not in kept and "content_text" not in kept  # not kept in memory
    assert not journal.take()  # taken: empty again
    journal.put_back(written)  # a failed publish gives it back
    assert journal.take().months == {"2019-06", "2019-07"}
