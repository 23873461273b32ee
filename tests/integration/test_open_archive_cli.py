"""Issue 14 from a shell: `feed-archiver sql`, `export`, `publish`, the Lambda and the demo."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from moto import mock_aws

from benchmarks.feeds import seed_with_one_new_item
from dashboard import demo
from dashboard.feedserver import FeedServer as DemoFeedServer
from feed_archiver import archive_format as fmt
from feed_archiver import handler as handler_module
from feed_archiver.cli import main as cli
from feed_archiver.run import run_feeds
from feed_archiver.settings import Settings
from feed_archiver.storage import Store
from tests.conftest import BUCKET, SEED_XML, TABLE
from tests.faults import FakeLambdaContext
from tests.httpserver import FeedServer, Reply
from tests.integration.open_archive import CATEGORY_SQL, follow_chain, stats

SEED_CATEGORIES = {"Project News": 8, "Expert Voice": 1, "ICMPD Around the Globe": 1}
FORMULA = '=HYPERLINK("http://evil";"x")'


@pytest.fixture
def archive_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)


@pytest.fixture
def cli_archive(
    store: Store, settings: Settings, feed_server: FeedServer, archive_env: None
) -> Store:
    """The seed archived with `feed-archiver run`, which publishes what it changed."""
    url = feed_server.route("/feed.xml", Reply(body=SEED_XML.read_bytes()))
    assert cli(["run", "--feed", url, "--allow-private-networks"]) == 0
    return store


def sql(capsys: pytest.CaptureFixture[str], query: str, *options: str) -> str:
    capsys.readouterr()
    assert cli(["sql", query, *options]) == 0
    return capsys.readouterr().out


def test_given_a_run_from_the_cli_then_it_reports_what_it_published(
    store: Store, settings: Settings, feed_server: FeedServer, archive_env: None, capsys: Any
) -> None:
    url = feed_server.route("/feed.xml", Reply(body=SEED_XML.read_bytes()))
    assert cli(["run", "--feed", url, "--allow-private-networks"]) == 0
    published = json.loads(capsys.readouterr().out)["published"]
    assert sorted(published["months_exported"]) == ["2019-06", "2019-07"]
    assert published["current_items"] == 10 and published["documents_read"] == 0
    # An unchanged second run publishes nothing, and says nothing about it
    assert cli(["run", "--feed", url, "--allow-private-networks"]) == 0
    assert "published" not in json.loads(capsys.readouterr().out)


def test_given_the_archive_then_sql_prints_the_dashboards_category_counts(
    cli_archive: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    out = sql(capsys, CATEGORY_SQL)
    lines = out.splitlines()
    assert lines[0].split() == ["category", "count_star()"]
    shown = {line.rsplit(None, 1)[0].strip(): int(line.rsplit(None, 1)[1]) for line in lines[2:-1]}
    assert shown == SEED_CATEGORIES == stats(cli_archive).by_category
    assert lines[-1] == "(3 rows)"
    as_json = json.loads(sql(capsys, CATEGORY_SQL, "--format", "json"))
    assert {r["category"]: r["count_star()"] for r in as_json} == SEED_CATEGORIES
    as_csv = list(csv.reader(io.StringIO(sql(capsys, CATEGORY_SQL, "--format", "csv"))))
    assert {row[0]: int(row[1]) for row in as_csv[1:]} == SEED_CATEGORIES


def test_given_a_bad_query_then_sql_says_why_in_one_line(
    cli_archive: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert cli(["sql", "SELEC nothing"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("feed-archiver: the query failed:") and "\n" not in err


@pytest.mark.reliability(
    group="Open the archive",
    case="a feed title that a spreadsheet would run as a formula, or that drives a terminal",
    must_hold="CSV from `sql` and `export` puts a ' before it (the dashboard's defence, shared); "
    "the table output shows control characters as \\xNN",
)
def test_given_a_hostile_title_then_csv_defuses_it_and_the_table_shows_it_inert(
    store: Store, settings: Settings, feed_server: FeedServer, archive_env: None, capsys: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    hostile = SEED_XML.read_text("utf-8").replace(
        "Project News: MMD Support Project", f"{FORMULA}\x1b[2J Project News: MMD", 1
    )
    url = feed_server.route("/feed.xml", Reply(body=hostile.encode()))
    assert cli(["run", "--feed", url, "--allow-private-networks"]) == 0
    query = "SELECT title FROM items WHERE title LIKE '%HYPERLINK%'"
    (row,) = list(csv.reader(io.StringIO(sql(capsys, query, "--format", "csv"))))[1:]
    assert row[0].startswith("'=HYPERLINK")
    assert "\x1b" not in sql(capsys, query) and "\\x1b[2J" in sql(capsys, query)
    target = tmp_path / "items.csv"
    assert cli(["export", "--format", "csv", str(target)]) == 0
    titles = [r["title"] for r in csv.DictReader(io.StringIO(target.read_text("utf-8-sig")))]
    assert any(t.startswith("'=HYPERLINK") for t in titles)
    assert not any(t.lstrip(' "').startswith(("=", "+", "-", "@")) for t in titles)


@pytest.mark.parametrize("form", ["csv", "jsonl", "parquet"])
def test_given_the_archive_then_export_writes_every_item(
    cli_archive: Store, capsys: pytest.CaptureFixture[str], tmp_path: Path, form: str
) -> None:
    target = tmp_path / f"archive.{form}"
    capsys.readouterr()
    assert cli(["export", "--format", form, str(target)]) == 0
    assert capsys.readouterr().out.strip() == f"10 items written to {target} ({form})"
    connection = duckdb.connect()
    reader = {"csv": "read_csv", "jsonl": "read_json", "parquet": "read_parquet"}[form]
    query = f"SELECT category, count(*) FROM {reader}(?) GROUP BY 1"  # noqa: S608 - constants
    rows = connection.execute(query, [str(target)]).fetchall()
    assert dict(rows) == SEED_CATEGORIES


def test_given_an_empty_archive_then_sql_and_export_work_on_an_empty_table(
    store: Store, archive_env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert "(0 rows)" in sql(capsys, CATEGORY_SQL)
    assert cli(["export", "--format", "parquet", str(tmp_path / "empty.parquet")]) == 0


def test_given_a_stale_export_then_publish_rebuilds_it(
    cli_archive: Store, aws: tuple[Any, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    s3, _ = aws
    s3.put_object(Bucket=BUCKET, Key=fmt.export_s3_key("2019-07"), Body=b"")
    capsys.readouterr()
    assert cli(["publish", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("2 months exported, 2 archive pages written")
    assert "10" in sql(capsys, "SELECT count(*) FROM items")


def test_given_the_lambda_then_a_run_publishes_its_months(
    store: Store, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    monkeypatch.setenv("ALLOW_PRIVATE_NETWORKS", "1")
    monkeypatch.setenv("FEED_URLS", feed_server.serve_file(SEED_XML, "/feed.xml"))
    handler_module._setup.cache_clear()
    result = handler_module.lambda_handler({"execution_id": "evt-14"}, FakeLambdaContext())
    assert sorted(result["published"]["months_exported"]) == ["2019-06", "2019-07"]
    assert len(follow_chain(store).current.entries) == 10


def test_given_the_demo_then_sql_works_out_of_the_box(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the demo's bucket and table in an empty moto account, as `make demo` sets them
    monkeypatch.setenv("ARCHIVE_BUCKET", demo.DEMO_BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", demo.DEMO_TABLE)
    server = DemoFeedServer([demo.SAMPLE_FEED]).start()
    try:
        with mock_aws():
            # When the demo archives the sample, Then `sql` answers (each run published)
            assert demo.archive_feeds(server.urls)
            rows = json.loads(sql(capsys, CATEGORY_SQL, "--format", "json"))
            # And the demo's complete publish (after the captures) says what it wrote
            assert demo.publish_archive()
            assert "published the exports and the archive feed: 2 months exported" in (
                capsys.readouterr().out
            )
    finally:
        server.stop()
    assert {r["category"]: r["count_star()"] for r in rows} == SEED_CATEGORIES


def test_given_the_demo_endpoint_then_the_hint_names_every_setting_sql_needs() -> None:
    hint = demo.analytics_hint("http://127.0.0.1:5000")
    for name in ("AWS_ENDPOINT_URL=http://127.0.0.1:5000", "ARCHIVE_BUCKET=", "ARCHIVE_TABLE="):
        assert name in hint
    assert "feed-archiver sql" in hint


def test_given_a_library_run_then_publish_catches_up_and_an_import_publishes_itself(
    store: Store,
    settings: Settings,
    feed_server: FeedServer,
    archive_env: None,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # Given items archived through run_feeds alone (a library call publishes nothing)
    url = feed_server.route("/feed.xml", Reply(body=SEED_XML.read_bytes()))
    run_feeds(store, settings, [url])
    assert "(0 rows)" in sql(capsys, CATEGORY_SQL)
    # When `publish` runs, Then the exports hold the archive
    assert cli(["publish", "--quiet"]) == 0
    assert "Project News" in sql(capsys, CATEGORY_SQL)
    # And a history command (import of a copy with one more item) publishes by itself
    saved = tmp_path / "feed.xml"
    saved.write_bytes(seed_with_one_new_item())
    assert cli(["import", str(saved), "--feed-url", url, "--quiet"]) == 0
    assert json.loads(sql(capsys, "SELECT count(*) AS n FROM items", "--format", "json")) == [
        {"n": 11}
    ]
