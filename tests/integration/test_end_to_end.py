"""The seed feed over local HTTP, through the handler and the CLI, into moto's S3 and DynamoDB."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from feed_archiver import archive_format as fmt
from feed_archiver import handler as handler_module
from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.cli import main as cli
from feed_archiver.run import run_feeds
from feed_archiver.settings import Settings
from feed_archiver.storage import Store
from feed_archiver.verify import verify
from tests.conftest import BUCKET, SEED_XML, TABLE, CallCounter
from tests.faults import FakeLambdaContext
from tests.httpserver import FeedServer, Reply

SEED_STATS = {
    "total": 10,
    "by_category": {"Project News": 8, "Expert Voice": 1, "ICMPD Around the Globe": 1},
    "by_month": {"2019-07": 6, "2019-06": 4},
}


def all_documents(store: Store) -> list[dict[str, Any]]:
    return [store.get_document(k) for k in store.list_document_keys()]


def test_seed_feed_through_the_handler_gives_the_seed_counts(
    store: Store,
    feed_server: FeedServer,
    handler_env: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    # Given the seed feed served over HTTP and configured as the only feed
    handler_env.setenv("FEED_URLS", feed_server.serve_file(SEED_XML, "/feed.xml"))
    # When the Lambda handler runs
    result = handler_module.lambda_handler({"execution_id": "evt-1"}, lambda_context)
    # Then it reports ten new items and the stored counts are the seed's
    (feed,) = result["feeds"]
    assert (feed["status"], feed["items_new"], feed["items_seen"]) == ("ok", 10, 10)
    stats = stats_from_cells(parse_cells(store.read_cells())).as_dict()
    assert {k: stats[k] for k in SEED_STATS} == SEED_STATS
    assert verify(store).ok


def test_every_document_validates_against_the_published_schema(
    store: Store, settings: Settings, feed_server: FeedServer
) -> None:
    # Given the archived seed
    url = feed_server.serve_file(SEED_XML, "/feed.xml")
    run_feeds(store, settings, [url])
    # Then each of the ten S3 documents is valid
    schema = fmt.load_item_schema()
    documents = all_documents(store)
    assert len(documents) == 10
    for document in documents:
        jsonschema.validate(document, schema)
    # And the double-slash links were normalised into the ids
    assert all("//news-centre" not in d["id"] for d in documents)


@pytest.mark.parametrize("honour_validators", [True, False])
def test_a_second_run_on_an_unchanged_feed_writes_only_the_feed_state(
    store: Store,
    settings: Settings,
    feed_server: FeedServer,
    calls: CallCounter,
    honour_validators: bool,
) -> None:
    # Given the seed archived once, from a server that does or does not honour validators
    body = SEED_XML.read_bytes()
    url = feed_server.route(
        "/feed.xml", Reply(body=body, etag='"v1"', honour_validators=honour_validators)
    )
    run_feeds(store, settings, [url])
    calls.reset()
    # When the feed is archived again
    summary = run_feeds(store, settings, [url])
    # Then the feed is not modified and the only write is the feed state
    assert summary.feeds[0].status == "not_modified"
    assert calls.calls["PutObject"] == 0
    assert calls.calls["TransactWriteItems"] == 0
    assert calls.writes == 1 and calls.calls["PutItem"] == 1
    assert feed_server.requests("/feed.xml")[-1].status == (304 if honour_validators else 200)


def test_an_edited_item_gets_a_new_revision_and_moves_its_counts(
    store: Store, settings: Settings, feed_server: FeedServer, aws: tuple[Any, Any]
) -> None:
    # Given the seed archived once
    body = SEED_XML.read_text("utf-8")
    url = feed_server.route("/feed.xml", Reply(body=body.encode()))
    run_feeds(store, settings, [url])
    # When the newest item's category prefix is edited to Expert Voice
    old_title = "Project News: MMD Support Project – Rabat Process"
    assert old_title in body
    edited = body.replace(old_title, "Expert voice: MMD Support Project – Rabat Process", 1)
    feed_server.route("/feed.xml", Reply(body=edited.encode()))
    summary = run_feeds(store, settings, [url])
    # Then one item is updated, its revision is 2 with a second S3 version, and counts moved
    assert (summary.feeds[0].items_updated, summary.feeds[0].items_new) == (1, 0)
    (doc,) = [d for d in all_documents(store) if d["headline"].startswith("MMD Support Project")]
    assert (doc["revision"], doc["category"]) == (2, "Expert Voice")
    s3, _ = aws
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix=fmt.item_s3_key(doc["key"]))
    assert len(versions["Versions"]) == 2
    stats = stats_from_cells(parse_cells(store.read_cells()))
    assert stats.by_category == {"Project News": 7, "Expert Voice": 2, "ICMPD Around the Globe": 1}
    assert stats.total == 10
    assert verify(store).ok


def test_one_failing_feed_does_not_stop_the_others(
    store: Store,
    feed_server: FeedServer,
    handler_env: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    # Given a broken feed listed before the good one
    bad = feed_server.route("/broken.xml", Reply(status=500, body=b"oops"))
    good = feed_server.serve_file(SEED_XML, "/feed.xml")
    handler_env.setenv("FEED_URLS", f"{bad},{good}")
    # When the handler runs
    result = handler_module.lambda_handler({"execution_id": "evt-2"}, lambda_context)
    # Then the good feed is archived, the bad one reported, and the invocation succeeds
    by_url = {f["feed_url"]: f for f in result["feeds"]}
    assert by_url[good]["items_new"] == 10
    assert by_url[bad]["status"] == "failed" and "500" in by_url[bad]["error"]
    state = store.get_feed_state(bad)
    assert state.consecutive_failures == 1 and state.last_error


def test_the_invocation_fails_when_every_feed_failed(
    store: Store,
    feed_server: FeedServer,
    handler_env: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    # Given only a broken feed
    handler_env.setenv("FEED_URLS", feed_server.route("/gone.xml", Reply(status=503)))
    # When the handler runs, Then it raises so the scheduler retries and dead-letters
    with pytest.raises(handler_module.AllFeedsFailed, match="503"):
        handler_module.lambda_handler({"execution_id": "evt-3"}, lambda_context)


def test_cli_run_stats_and_verify(
    store: Store,
    feed_server: FeedServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the CLI configured for the moto archive
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    url = feed_server.serve_file(SEED_XML, "/feed.xml")
    # When the seed is archived with `run`
    assert cli(["run", "--feed", url, "--allow-private-networks"]) == 0
    run_out = json.loads(capsys.readouterr().out)
    assert run_out["feeds"][0]["items_new"] == 10
    # Then `stats --format json` gives the seed's counts
    assert cli(["stats", "--format", "json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert {k: stats[k] for k in SEED_STATS} == SEED_STATS
    assert sum(stats["by_region"].values()) >= stats["total"]
    # And verify passes
    assert cli(["verify"]) == 0
    assert capsys.readouterr().out.startswith("OK: 10 documents, 10 index records")


def test_verify_reports_drift_in_the_counters(
    store: Store,
    settings: Settings,
    feed_server: FeedServer,
    aws: tuple[Any, Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an archived seed whose July counter was tampered with
    run_feeds(store, settings, [feed_server.serve_file(SEED_XML, "/feed.xml")])
    _, ddb = aws
    cell = next(sk for sk in store.read_cells() if sk.startswith("T#") and "#2019-07#" in sk)
    ddb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "COUNT"}, "sk": {"S": cell}},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    # When verify runs, Then it exits 1 and names the cell
    assert cli(["verify"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("DRIFT") and cell in out


def test_verify_reports_a_document_the_index_does_not_know(
    store: Store, settings: Settings, feed_server: FeedServer
) -> None:
    # Given the archived seed and one document written behind the index's back
    run_feeds(store, settings, [feed_server.serve_file(SEED_XML, "/feed.xml")])
    document = all_documents(store)[0] | {"key": "f" * 32, "id": "orphan"}
    store.put_document(document)
    # When verify runs, Then the orphan is drift
    report = verify(store)
    assert not report.ok
    assert any("f" * 32 in line and "no index record" in line for line in report.drift)


def test_cli_errors_are_one_clear_line(
    aws: tuple[Any, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bucket name that does not exist
    monkeypatch.setenv("ARCHIVE_BUCKET", "no-such-bucket")
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    # When verify runs, Then one line names the problem and what to do
    assert cli(["verify"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bucket does not exist" in err
    # And a bad feed URL is refused before anything runs
    assert cli(["run", "--feed", "ftp://example.org/feed"]) == 2
    assert "http(s)" in capsys.readouterr().err
    # And missing settings are named
    monkeypatch.delenv("ARCHIVE_BUCKET")
    assert cli(["stats"]) == 2
    assert "ARCHIVE_BUCKET is not set" in capsys.readouterr().err


def test_init_creates_bucket_and_table_from_the_template_and_is_idempotent(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from moto import mock_aws

    monkeypatch.setenv("ARCHIVE_BUCKET", "fresh-bucket")
    monkeypatch.setenv("ARCHIVE_TABLE", "fresh-table")
    with mock_aws():
        # When init runs twice
        assert cli(["init"]) == 0
        assert "created" in capsys.readouterr().out
        assert cli(["init"]) == 0
        # Then the second run finds both already there
        assert capsys.readouterr().out.count("already there") == 2
        import boto3

        table = boto3.client("dynamodb").describe_table(TableName="fresh-table")["Table"]
        assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {fmt.BY_MONTH_INDEX}
        s3 = boto3.client("s3")
        assert s3.get_bucket_versioning(Bucket="fresh-bucket")["Status"] == "Enabled"
