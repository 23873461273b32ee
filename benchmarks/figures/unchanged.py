"""Figure 1: the second run over the seed feed, when nothing changed (and, for scale,
when one new item appeared).

The physical limit of an unchanged run is one conditional HTTP request, one
read of the feed state, and (to record the attempt) one write of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from benchmarks.aws import bench_settings, moto_archive
from benchmarks.counting import counting_feedparser
from benchmarks.feeds import seed_bytes, seed_with_one_new_item
from benchmarks.naive import naive_archive
from benchmarks.report import Row
from benchmarks.sizes import Sizes
from feed_archiver.run import archive_feed
from tests.httpserver import FeedServer, Reply

LIMIT_HTTP = 1
LIMIT_AWS = 2  # GetItem + PutItem of the feed state
LIMIT_WRITES = 1


@dataclass(frozen=True)
class SecondRun:
    http_requests: int
    aws_requests: int
    aws_writes: int
    parses: int
    seconds: float
    status: str = ""
    http_status: int | None = None


def _serve(server: FeedServer, honour: bool, *, changed: bool = False) -> str:
    reply = Reply(
        body=seed_with_one_new_item() if changed else seed_bytes(),
        etag='"seed-v2"' if changed else '"seed-v1"',
        last_modified="Tue, 16 Jul 2019 14:32:30 GMT"
        if changed
        else "Tue, 16 Jul 2019 13:32:30 GMT",
        honour_validators=honour,
    )
    return server.route("/feed.xml", reply)


def ours_second_run(honour: bool, *, changed: bool = False) -> SecondRun:
    """Archive the seed, then measure a second run of the archiver (over one more item if `changed`)."""
    with FeedServer() as server, moto_archive() as archive:
        url = _serve(server, honour)
        settings = bench_settings(url)
        first = archive_feed(archive.store, settings, url)
        if first.items_new != 10:
            raise RuntimeError(f"the first run archived {first.items_new} items, not 10: {first}")
        if changed:
            _serve(server, honour, changed=True)
        archive.meter.reset()
        before = len(server.requests())
        with counting_feedparser() as feedparser_calls:
            started = time.perf_counter()
            second = archive_feed(archive.store, settings, url)
            seconds = time.perf_counter() - started
        if second.items_new != (1 if changed else 0):
            raise RuntimeError(f"the second run archived {second.items_new} new items: {second}")
        requests = server.requests()[before:]
        return SecondRun(
            http_requests=len(requests),
            aws_requests=archive.meter.total,
            aws_writes=archive.meter.writes,
            parses=feedparser_calls.calls,
            seconds=seconds,
            status=second.status,
            http_status=requests[-1].status if requests else None,
        )


def naive_second_run(honour: bool, *, changed: bool = False) -> SecondRun:
    with FeedServer() as server, moto_archive() as archive:
        url = _serve(server, honour)
        naive_archive(url, archive.s3, archive.dynamodb)
        if changed:
            _serve(server, honour, changed=True)
        archive.meter.reset()
        before = len(server.requests())
        with counting_feedparser() as feedparser_calls:
            started = time.perf_counter()
            naive_archive(url, archive.s3, archive.dynamodb)
            seconds = time.perf_counter() - started
        return SecondRun(
            http_requests=len(server.requests()) - before,
            aws_requests=archive.meter.total,
            aws_writes=archive.meter.writes,
            parses=feedparser_calls.calls,
            seconds=seconds,
        )


def unchanged_run(sizes: Sizes) -> list[Row]:
    """Rows for a second run, with a server that honours ETag and one that ignores validators."""
    rows: list[Row] = []
    for honour in (True, False):
        ours, naive = ours_second_run(honour), naive_second_run(honour)
        figure = (
            "Unchanged run, server honours ETag"
            if honour
            else "Unchanged run, server ignores validators"
        )
        answer = f"answered {ours.http_status}, run status {ours.status}"
        rows += [
            Row(figure, "HTTP requests", ours.http_requests, "", naive.http_requests, "naive",
                f"= {LIMIT_HTTP}", ours.http_requests == LIMIT_HTTP, answer),
            Row(figure, "AWS requests", ours.aws_requests, "", naive.aws_requests, "naive",
                f"≤ {LIMIT_AWS} (feed state read + write)", ours.aws_requests <= LIMIT_AWS),
            Row(figure, "AWS writes", ours.aws_writes, "", naive.aws_writes, "naive",
                f"≤ {LIMIT_WRITES} (the feed state)", ours.aws_writes <= LIMIT_WRITES),
            Row(figure, "feed parses", ours.parses, "", naive.parses, "naive",
                "0" + (" (304)" if honour else " (same body hash)"), ours.parses == 0),
            Row(figure, "wall time, moto", ours.seconds * 1000, "ms", naive.seconds * 1000,
                "naive"),
        ]  # fmt: skip
    return rows + _one_new_item()


def _one_new_item() -> list[Row]:
    """For scale: the run after one item was added, as most changed runs look."""
    ours, naive = ours_second_run(True, changed=True), naive_second_run(True, changed=True)
    figure = "Changed run, one new item on top of the seed's ten"
    return [
        Row(figure, "HTTP requests", ours.http_requests, "", naive.http_requests, "naive"),
        Row(figure, "AWS requests", ours.aws_requests, "", naive.aws_requests, "naive"),
        Row(figure, "AWS writes", ours.aws_writes, "", naive.aws_writes, "naive"),
        Row(figure, "wall time, moto", ours.seconds * 1000, "ms", naive.seconds * 1000, "naive"),
    ]
