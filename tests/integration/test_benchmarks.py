"""The benchmark runs and produces every figure (tiny sizes, no timing asserted), and the
measures it relies on do what they claim: the moto patch still rolls back, the memory
probe's canned AWS replies carry a whole ingest, the handler's cold start skips the parser."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from benchmarks.aws import TABLE, AwsMeter, child_env, moto_archive
from benchmarks.cli import run
from benchmarks.feeds import synthetic_feed
from benchmarks.report import Report, markdown_table, write_json
from benchmarks.sizes import TINY
from feed_archiver import archive_format as fmt
from feed_archiver.storage import IndexChange, to_dynamo
from tests.conftest import ROOT
from tests.httpserver import FeedServer, Reply

FIGURES = (
    "Unchanged run, server honours ETag",
    "Unchanged run, server ignores validators",
    "Ingest 20 items (moto, no latency)",
    "Ingest 20 items, 1 ms per AWS request",
    "Cold start",
    "Artifact",
    "Dashboard default view",
    "Parse and tag 20 items",
    "Article capture",
)


@pytest.fixture(scope="module")
def tiny_report() -> Report:
    return run(TINY, mode="tiny")


# The whole benchmark runs once per process that needs it (about a minute): under xdist
# (`--dist loadgroup`), its tests share one worker so it runs once, not on every worker.
ONE_WORKER = pytest.mark.xdist_group("tiny_report")


@ONE_WORKER
def test_every_figure_is_measured_and_written(tiny_report: Report, tmp_path: Any) -> None:
    # Given the benchmark run at tiny sizes (module fixture)
    # Then every figure of issue 6 has rows, with a number in each
    figures = {row.figure for row in tiny_report.rows}
    for name in FIGURES:
        assert any(f.startswith(name) for f in figures), f"no rows for {name!r}: {figures}"
    assert all(isinstance(row.ours, int | float) for row in tiny_report.rows)
    # And the table and the JSON carry every row
    table = markdown_table(tiny_report)
    assert table.count("\n") == len(tiny_report.rows) + 1
    path = tmp_path / "results.json"
    write_json(tiny_report, path)
    saved = json.loads(path.read_text("utf-8"))
    assert len(saved["rows"]) == len(tiny_report.rows)
    assert saved["machine"]["cores"] >= 1


def _row(report: Report, figure: str, measure: str) -> Any:
    return next(r for r in report.rows if r.figure.startswith(figure) and r.measure == measure)


@ONE_WORKER
def test_request_counts_are_those_of_the_design(tiny_report: Report) -> None:
    # Given the tiny run's rows (counts, not timings)
    etag = "Unchanged run, server honours ETag"
    # Then a second run over an unchanged feed is one HTTP request and one write, no parse
    assert _row(tiny_report, etag, "HTTP requests").ours == 1
    assert _row(tiny_report, etag, "AWS writes").ours == 1
    assert _row(tiny_report, etag, "feed parses").ours == 0
    # And the naive baseline writes every one of the seed's ten entries twice again
    assert _row(tiny_report, etag, "AWS writes").reference == 20
    # And the dashboard never scans
    scans = [r for r in tiny_report.rows if r.figure.startswith("Dashboard") and r.target]
    assert scans and all(r.holds for r in scans if "requests" in r.measure)


def _cell_update(delta: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": to_dynamo({fmt.PK: fmt.COUNT_PK, fmt.SK: "T#feed#2019-07#News"}),
            "UpdateExpression": "ADD n :d",
            "ExpressionAttributeValues": {":d": {"N": str(delta)}},
        }
    }


def test_patched_moto_transaction_still_rolls_back_on_a_failed_condition() -> None:
    # Given a moto archive (transactions patched) holding one record and a counter at 1
    with moto_archive() as archive:
        record = {**fmt.item_pk("k1"), "key": "k1", "revision": 1}
        archive.dynamodb.put_item(TableName=TABLE, Item=to_dynamo(record))
        archive.dynamodb.transact_write_items(TransactItems=[_cell_update(1)])
        # When a transaction moves the counter, adds a record, then fails its last condition
        new = {**fmt.item_pk("k2"), "key": "k2", "revision": 1}
        failing = {
            "Put": {
                "TableName": TABLE,
                "Item": to_dynamo({**record, "revision": 2}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        actions = [_cell_update(5), {"Put": {"TableName": TABLE, "Item": to_dynamo(new)}}, failing]
        with pytest.raises(archive.dynamodb.exceptions.TransactionCanceledException):
            archive.dynamodb.transact_write_items(TransactItems=actions)
        # Then nothing it did remains: the counter, the new record and the old one are as before
        assert archive.store.read_cells() == {"T#feed#2019-07#News": 1}
        assert "Item" not in archive.dynamodb.get_item(
            TableName=TABLE, Key=to_dynamo(fmt.item_pk("k2"))
        )
        assert archive.store.get_index_records(["k1"])["k1"]["revision"] == 1


def test_patched_moto_transaction_commits_like_moto() -> None:
    # Given a moto archive (transactions patched)
    with moto_archive() as archive:
        records = [{**fmt.item_pk(k), "key": k, "revision": 1, "feed_url": "u"} for k in "abc"]
        # When records and counters are committed through the store
        changes = [
            IndexChange(
                new={**r, "month": "2019-07", "category": "News", "regions": ["Africa"]},
                old=None,
            )
            for r in records
        ]
        result = archive.store.commit(changes)
        # Then all are committed, once, with their counts
        assert sorted(result.committed) == ["a", "b", "c"]
        cells = archive.store.read_cells()
        assert sorted(cells.values()) == [3, 3]


def test_moto_queue_counts_are_skipped_only_while_patched() -> None:
    from benchmarks.moto_patches import cheap_queue_counts
    from feed_archiver.capture.queue import make_sqs_client

    def visible(sqs: Any, url: str) -> str:
        name = "ApproximateNumberOfMessages"
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"][name]

    # Given a moto queue holding two messages
    with moto_archive():
        sqs = make_sqs_client()
        url = sqs.create_queue(QueueName="counted")["QueueUrl"]
        for body in ("a", "b"):
            sqs.send_message(QueueUrl=url, MessageBody=body)
        # When patched, Then the benchmark's sends skip the count (it reads 0)
        with cheap_queue_counts():
            sqs.send_message(QueueUrl=url, MessageBody="c")
            assert visible(sqs, url) == "0"
        # And afterwards moto counts every message again, the one sent while patched too
        assert visible(sqs, url) == "3"


def test_meter_counts_every_call_and_writes() -> None:
    # Given a metered moto archive
    with moto_archive() as archive:
        assert isinstance(archive.meter, AwsMeter)
        archive.meter.reset()
        # When one read and one write are made
        archive.store.read_cells()
        archive.s3.put_object(Bucket="bench-archive-bucket", Key="x", Body=b"x")
        # Then both are counted, one as a write
        assert archive.meter.calls == {"Query": 1, "PutObject": 1}
        assert archive.meter.writes == 1


def test_memory_probe_ingests_a_feed_on_canned_aws_replies() -> None:
    # Given a 20-item feed on the local server
    with FeedServer() as server:
        url = server.route("/feed.xml", Reply(body=synthetic_feed(20)))
        # When the memory probe archives it in a fresh process
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory_probe", "--mode", "ours", url],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env=child_env(),
            timeout=120,
        )
    # Then every item is new, the requests are the archiver's, and a peak is reported
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["items"] == 20
    assert result["aws_requests"] >= 20 + 1  # a PUT per item, and the index
    assert result["peak_rss_mib"] >= result["start_rss_mib"] > 0


def test_handler_cold_start_loads_no_parser_and_no_xray_when_tracing_is_off() -> None:
    # Given a fresh interpreter with tracing disabled, as in tests and local runs
    code = (
        "import sys, feed_archiver.handler\n"
        "print(','.join(m for m in ('feedparser', 'feed_archiver.parse', 'feed_archiver.tag',"
        " 'aws_xray_sdk') if m in sys.modules))"
    )
    env = child_env({"PATH": "", "POWERTOOLS_TRACE_DISABLED": "1", "AWS_REGION": "us-east-1"})
    # When it imports the handler
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    # Then neither the parser, the tagger nor the X-Ray SDK was loaded
    assert out.stdout.strip() == ""
