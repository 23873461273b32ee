"""Issue 14: exports and the RFC 5005 archive feed, published from a moto archive.

DuckDB over the exports gives the counts `stats` gives; a feed reader following
prev-archive from current.atom finds every archived item exactly once; a run
rewrites only the months it changed, from what it wrote (no read-back).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from benchmarks.feeds import seed_with_one_new_item
from feed_archiver import archive_format as fmt
from feed_archiver.analytics import download_exports, open_archive, run_query
from feed_archiver.atom import entry_id
from feed_archiver.errors import StorageError
from feed_archiver.exports import decode_rows
from feed_archiver.items import index_record
from feed_archiver.publish import publish_all, publish_changes
from feed_archiver.run import run_feeds
from feed_archiver.settings import Settings
from feed_archiver.stack import load_template
from feed_archiver.storage import IndexChange, Store
from tests.cfn_template import resources_of_type
from tests.conftest import ROOT, SEED_XML, CallCounter
from tests.httpserver import FeedServer, Reply
from tests.integration.open_archive import duckdb_counts, follow_chain, link, stats
from tests.unit.test_atom import assert_rfc4287

SEED_TEXT = SEED_XML.read_text("utf-8")
NEWEST_TITLE = "Project News: MMD Support Project – Rabat Process"


@pytest.fixture
def seeded(store: Store, settings: Settings, feed_server: FeedServer) -> str:
    """The seed archived and published, as the Lambda leaves it after its first run."""
    url = feed_server.route("/feed.xml", Reply(body=SEED_XML.read_bytes()))
    run_feeds(store, settings, [url])
    assert publish_changes(store) is not None
    return url


def documents(store: Store) -> list[dict[str, Any]]:
    return [store.get_document(k) for k in store.list_document_keys()]


def serve(feed_server: FeedServer, body: str | bytes) -> None:
    feed_server.route("/feed.xml", Reply(body=body.encode() if isinstance(body, str) else body))


def assert_the_chain_holds_every_item_once(store: Store) -> None:
    chain = follow_chain(store)
    expected = {entry_id(d["id"]) for d in documents(store)}
    archived = chain.archived_ids
    assert set(archived) == expected and set(archived.values()) == {1}, archived
    assert {e.id for e in chain.current.entries} <= expected
    for data in chain.documents.values():
        assert_rfc4287(data)
    # Each archive page is marked, is complete for its month, and links back to current.atom.
    for url, parsed in chain.pages:
        data = chain.documents[url]
        assert b"<fh:archive />" in data and link(parsed, "current")
        month = re.search(r"(\d{4}-\d{2})\.atom$", url)
        assert month and all(e.published.startswith(month.group(1)) for e in parsed.entries)
    # next-archive mirrors prev-archive: walking forward from the oldest gives the same pages.
    urls = [url for url, _ in chain.pages]
    forward = [link(parsed, "next-archive") for _, parsed in chain.pages[1:]]
    assert [u.rsplit("/", 1)[1] for u in urls[:-1]] == [str(f).rsplit("/", 1)[1] for f in forward]
    assert link(chain.pages[0][1], "next-archive") is None


def test_given_the_seed_archive_then_duckdb_counts_equal_stats(seeded: str, store: Store) -> None:
    expected = stats(store)
    assert duckdb_counts(store) == {
        "total": expected.total,
        "by_category": expected.by_category,
        "by_region": expected.by_region,
        "by_month": expected.by_month,
    }
    assert expected.by_category == {
        "Project News": 8,
        "Expert Voice": 1,
        "ICMPD Around the Globe": 1,
    }


def test_given_the_seed_archive_then_each_named_athena_query_runs_in_duckdb(
    seeded: str, store: Store
) -> None:
    template = load_template(ROOT / "template.yaml")
    queries = {
        q["Properties"]["Name"]: q["Properties"]["QueryString"]
        for q in resources_of_type(template, "AWS::Athena::NamedQuery").values()
    }
    expected = stats(store)
    countries = Counter(c for d in documents(store) for c in d["countries"])
    connection = open_archive(store)
    try:
        results = {name: run_query(connection, sql)[1] for name, sql in queries.items()}
    finally:
        connection.close()
    assert dict(results["items by category"]) == expected.by_category
    assert dict(results["items by region"]) == expected.by_region
    assert dict(results["items by month"]) == expected.by_month
    assert dict(results["items by country"]) == dict(countries)
    naming_niger = [d for d in documents(store) if "NE" in d["countries"]]
    assert len(results["items naming a country"]) == len(naming_niger)


def test_given_the_seed_archive_then_the_chain_from_current_recovers_every_item_once(
    seeded: str, store: Store
) -> None:
    assert_the_chain_holds_every_item_once(store)
    chain = follow_chain(store)
    assert [url.rsplit("/", 1)[1] for url, _ in chain.pages] == ["2019-07.atom", "2019-06.atom"]
    assert len(chain.current.entries) == 10


def test_given_an_unchanged_run_then_publishing_sends_no_request(
    seeded: str, store: Store, settings: Settings, calls: CallCounter
) -> None:
    run_feeds(store, settings, [seeded])
    calls.reset()
    assert publish_changes(store) is None
    assert calls.total == 0


def test_given_one_new_item_then_only_its_month_is_rewritten_from_memory(
    seeded: str, store: Store, settings: Settings, feed_server: FeedServer, calls: CallCounter
) -> None:
    serve(feed_server, seed_with_one_new_item())
    run_feeds(store, settings, [seeded])
    calls.reset()
    report = publish_changes(store)
    assert report is not None
    assert (report.exported, report.pages, report.current_items) == (["2019-07"], ["2019-07"], 11)
    # Nothing read back: the new document came from the journal, the others from the export.
    assert report.documents_read == 0 and calls.calls["GetObject"] == 3  # manifest, export, June
    # Per run, not per item: counters, manifest, month, export, feed titles; 3 objects written.
    assert calls.calls["PutObject"] == 4 and calls.total <= 10, calls.calls
    assert duckdb_counts(store)["total"] == stats(store).total == 11
    assert_the_chain_holds_every_item_once(store)


def test_given_an_edit_that_moves_an_item_to_a_new_month_then_both_months_and_the_links_follow(
    seeded: str, store: Store, settings: Settings, feed_server: FeedServer
) -> None:
    # Given the newest July item re-dated to May 2019 (and retitled, so it is an edit)
    moved = SEED_TEXT.replace(NEWEST_TITLE, "Expert voice: MMD Support Project", 1)
    moved = moved.replace("<pubDate>Tue, 16 Jul 2019 15", "<pubDate>Wed, 15 May 2019 15", 1)
    assert moved.count("15 May 2019") == 1
    serve(feed_server, moved)
    run_feeds(store, settings, [seeded])
    report = publish_changes(store)
    assert report is not None
    # Then July and May are exported, and June's page is rewritten: its prev-archive is May now
    assert sorted(report.exported) == ["2019-05", "2019-07"]
    assert sorted(report.pages) == ["2019-05", "2019-06", "2019-07"]
    assert stats(store).by_month == {"2019-07": 5, "2019-06": 4, "2019-05": 1}
    assert duckdb_counts(store)["by_month"] == stats(store).by_month
    assert_the_chain_holds_every_item_once(store)
    # When it moves back (with its July date and another edit), May empties: its export is
    # empty and the chain skips it
    serve(feed_server, SEED_TEXT.replace(NEWEST_TITLE, "Expert voice: MMD Support (2)", 1))
    run_feeds(store, settings, [seeded])
    assert publish_changes(store) is not None
    assert decode_rows(store.get_export("2019-05") or b"", "2019-05") == []
    assert [u.rsplit("/", 1)[1] for u, _ in follow_chain(store).pages] == [
        "2019-07.atom",
        "2019-06.atom",
    ]
    assert_the_chain_holds_every_item_once(store)


@pytest.mark.reliability(
    group="Open the archive",
    case="the by-month index has not caught up with a commit when the month is rewritten",
    must_hold="the export and the page include the new item: the run's own commits are laid "
    "over the eventually consistent index",
)
def test_given_a_stale_by_month_index_then_the_runs_own_commits_are_still_published(
    seeded: str,
    store: Store,
    settings: Settings,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serve(feed_server, seed_with_one_new_item())
    run_feeds(store, settings, [seeded])
    fresh = set(store.journal._written.records)  # what this run committed
    real = store.query_month

    def stale(month: str, **kwargs: Any) -> tuple[list[dict[str, Any]], Any]:
        records, start = real(month, **kwargs)
        return [r for r in records if r["key"] not in fresh], start

    monkeypatch.setattr(store, "query_month", stale)
    assert publish_changes(store) is not None
    assert duckdb_counts(store)["total"] == 11


@pytest.mark.reliability(
    group="Open the archive",
    case="publishing fails, or the Lambda runs out of time, after the items were committed",
    must_hold="the items stay archived; the months stay noted and the next publish rewrites them",
)
def test_given_a_failed_or_deferred_publish_then_the_next_one_does_the_months(
    seeded: str,
    store: Store,
    settings: Settings,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serve(feed_server, seed_with_one_new_item())
    run_feeds(store, settings, [seeded])
    # Out of time before the first month: nothing exported, the month kept for later
    report = publish_changes(store, out_of_time=lambda: True)
    assert report is not None and report.deferred == ["2019-07"] and not report.exported
    # A storage failure: raised, and the months are given back
    real = store.put_export

    def refuse(month: str, body: bytes) -> None:
        raise StorageError("writing the export failed: SlowDown")

    monkeypatch.setattr(store, "put_export", refuse)
    with pytest.raises(StorageError):
        publish_changes(store)
    monkeypatch.setattr(store, "put_export", real)
    report = publish_changes(store)
    assert report is not None and report.exported == ["2019-07"]
    assert duckdb_counts(store)["total"] == 11


def test_given_a_captured_article_then_its_text_reaches_the_export(
    seeded: str, store: Store, aws: tuple[Any, Any]
) -> None:
    # Given one item whose document gained a capture (a new revision, as issue 12 writes it)
    s3, _ = aws
    document = documents(store)[0]
    (record,) = store.get_index_records([document["key"]]).values()
    text_key = f"captures/{document['key']}/20240101T000000Z.json"
    s3.put_object(Bucket=store.bucket, Key=text_key, Body=b'{"text": "The whole article."}')
    captured = document | {
        "revision": document["revision"] + 1,
        "capture": {"status": "captured", "text_key": text_key, "countries": ["NE"]},
    }
    version = store.put_document(captured)
    assert store.commit([IndexChange(new=index_record(captured, version), old=record)]).committed
    # When the change is published, Then DuckDB shows the article's text and tags
    assert publish_changes(store) is not None
    connection = open_archive(store)
    try:
        query = "SELECT article_status, article_text, article_countries FROM items WHERE key = ?"
        rows = connection.execute(query, [document["key"]]).fetchall()
    finally:
        connection.close()
    assert rows == [("captured", "The whole article.", ["NE"])]


def test_given_a_lost_export_then_publish_all_rebuilds_everything_from_the_documents(
    seeded: str, store: Store, aws: tuple[Any, Any], calls: CallCounter
) -> None:
    s3, _ = aws
    s3.put_object(Bucket=store.bucket, Key=fmt.export_s3_key("2019-06"), Body=b"")
    s3.put_object(Bucket=store.bucket, Key=fmt.export_s3_key("2001-01"), Body=b"stale")
    calls.reset()
    report = publish_all(store)
    assert report.documents_read == 10
    assert sorted(report.exported) == ["2001-01", "2019-06", "2019-07"]
    assert decode_rows(store.get_export("2001-01") or b"", "2001-01") == []
    assert duckdb_counts(store)["by_month"] == stats(store).by_month
    assert_the_chain_holds_every_item_once(store)


def test_given_the_published_objects_then_they_are_typed_for_readers_and_caches(
    seeded: str, store: Store, aws: tuple[Any, Any], tmp_path: Path
) -> None:
    s3, _ = aws
    current = s3.head_object(Bucket=store.bucket, Key=fmt.FEED_CURRENT_KEY)
    assert current["ContentType"].startswith("application/atom+xml")
    assert current["CacheControl"] == "public, max-age=300"
    page = s3.head_object(Bucket=store.bucket, Key=fmt.feed_archive_s3_key("2019-07"))
    assert page["CacheControl"] == "public, max-age=3600"
    assert store.get_published_manifest() == {"2019-06": 4, "2019-07": 6}


@pytest.mark.reliability(
    group="Open the archive",
    case="an object under exports/ whose key climbs out of its folder (../)",
    must_hold="`sql` and `export` download only keys of the exact export shape: nothing is "
    "written outside their temporary folder",
)
def test_given_a_hostile_export_key_then_nothing_is_written_outside_the_download_folder(
    seeded: str, store: Store, aws: tuple[Any, Any], tmp_path: Path
) -> None:
    s3, _ = aws
    hostile = f"{fmt.EXPORTS_PREFIX}month=2019-07/../../../escaped.jsonl.gz"
    s3.put_object(Bucket=store.bucket, Key=hostile, Body=store.get_export("2019-07") or b"")
    folder = tmp_path / "a" / "b" / "downloads"
    folder.mkdir(parents=True)
    paths = download_exports(store, folder)
    assert sorted(p.parent.name for p in paths) == ["month=2019-06", "month=2019-07"]
    assert all(p.resolve().is_relative_to(folder.resolve()) for p in paths)
    assert not list(tmp_path.rglob("escaped*"))
