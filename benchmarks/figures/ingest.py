"""Figure 2: archiving big feeds from scratch, against the naive baseline.

Each size runs twice on moto: the archiver, then the baseline, each in a
fresh archive, over the same feed served by the same local server; then the
archiver once more with a capture queue (moto SQS), as deployed, to count what
enqueueing the new items for the CaptureFunction adds. Then the latency size
runs again with a modelled AWS round trip on every request.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass

from benchmarks.aws import ROOT, bench_settings, check_latency_overlaps, child_env, moto_archive
from benchmarks.feeds import synthetic_feed
from benchmarks.moto_patches import cheap_queue_counts
from benchmarks.naive import naive_archive
from benchmarks.report import Row
from benchmarks.sizes import Sizes
from feed_archiver.capture.queue import CaptureQueue, make_sqs_client
from feed_archiver.run import archive_feed
from tests.httpserver import FeedServer, Reply

MAX_REQUESTS_PER_ITEM = 1.1
# With the capture queue: + one SendMessageBatch per 10 new items (issue 12).
MAX_REQUESTS_PER_ITEM_ENQUEUEING = 1.2
MIN_SPEEDUP_WITH_LATENCY = 3.0


@dataclass(frozen=True)
class Ingest:
    items: int
    seconds: float
    aws_requests: int
    aws_writes: int
    calls: dict[str, int]

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    @property
    def requests_per_item(self) -> float:
        return self.aws_requests / self.items if self.items else 0.0


def run_ours(url: str, expected: int, latency: float = 0.0, *, enqueue: bool = False) -> Ingest:
    """The archiver; with `enqueue`, new items also go to a capture queue in the same moto."""
    with moto_archive(latency) as archive, cheap_queue_counts():
        queue = None
        if enqueue:
            sqs = make_sqs_client()  # the archiver's own client configuration
            queue = CaptureQueue(
                sqs.create_queue(QueueName="bench-capture")["QueueUrl"], sqs_client=sqs
            )
            archive.meter.attach(sqs)  # after creating the queue: only the run is counted
        started = time.perf_counter()
        summary = archive_feed(archive.store, bench_settings(url), url, capture_queue=queue)
        seconds = time.perf_counter() - started
        if summary.status != "ok" or summary.items_new != expected:
            raise RuntimeError(f"ingest of {expected} items ended {summary.as_dict()}")
        if enqueue and summary.captures.sent != expected:
            raise RuntimeError(f"{summary.captures.sent} of {expected} items were enqueued")
        return Ingest(
            summary.items_new,
            seconds,
            archive.meter.total,
            archive.meter.writes,
            dict(archive.meter.calls),
        )


def run_naive(url: str, expected: int, latency: float = 0.0) -> Ingest:
    with moto_archive(latency) as archive:
        started = time.perf_counter()
        outcome = naive_archive(url, archive.s3, archive.dynamodb)
        seconds = time.perf_counter() - started
        if outcome.entries != expected:
            raise RuntimeError(f"the baseline archived {outcome.entries} of {expected} entries")
        return Ingest(
            outcome.entries,
            seconds,
            archive.meter.total,
            archive.meter.writes,
            dict(archive.meter.calls),
        )


def peak_memory(url: str, mode: str) -> float:
    """Peak RSS (MiB) of one ingest in a fresh process (see benchmarks/memory_probe.py)."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory_probe", "--mode", mode, url],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=child_env(),
        timeout=1800,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["peak_rss_mib"])


def ingest(sizes: Sizes) -> list[Row]:
    rows: list[Row] = []
    with FeedServer() as server:
        for n in sizes.ingest_items:
            url = server.route(f"/feed-{n}.xml", Reply(body=synthetic_feed(n), etag=f'"{n}"'))
            ours, naive = run_ours(url, n), run_naive(url, n)
            figure = f"Ingest {n:,} items (moto, no latency)"
            rows += [
                Row(figure, "wall time", ours.seconds, "s", naive.seconds, "naive"),
                Row(figure, "items per second", ours.per_second, "", naive.per_second, "naive"),
                Row(figure, "AWS requests per new item", ours.requests_per_item, "",
                    naive.requests_per_item, "naive", f"≤ {MAX_REQUESTS_PER_ITEM}",
                    ours.requests_per_item <= MAX_REQUESTS_PER_ITEM,
                    _breakdown(ours.calls)),
                Row(figure, "AWS writes per new item", ours.aws_writes / n, "",
                    naive.aws_writes / n, "naive"),
            ]  # fmt: skip
            queued = run_ours(url, n, enqueue=True)
            rows.append(
                Row(figure, "AWS requests per new item, enqueueing for capture (moto SQS)",
                    queued.requests_per_item, "", naive.requests_per_item, "naive",
                    f"≤ {MAX_REQUESTS_PER_ITEM_ENQUEUEING}",
                    queued.requests_per_item <= MAX_REQUESTS_PER_ITEM_ENQUEUEING,
                    _breakdown(queued.calls))
            )  # fmt: skip
            if sizes.memory_probe:
                rows.append(
                    Row(figure, "peak memory (RSS, fresh process)", peak_memory(url, "ours"),
                        "MiB", peak_memory(url, "naive"), "naive")
                )  # fmt: skip
        rows += _with_latency(server, sizes)
    return rows


def _with_latency(server: FeedServer, sizes: Sizes) -> list[Row]:
    n, latency = sizes.latency_items, sizes.latency_seconds
    url = server.route(f"/latency-{n}.xml", Reply(body=synthetic_feed(n)))
    with moto_archive(latency) as archive:
        overlap = check_latency_overlaps(archive)
    ours, naive = run_ours(url, n, latency), run_naive(url, n, latency)
    figure = f"Ingest {n:,} items, {latency * 1000:g} ms per AWS request"
    speedup = naive.seconds / ours.seconds if ours.seconds else 0.0
    return [
        Row(figure, "wall time", ours.seconds, "s", naive.seconds, "naive",
            f"≥ {MIN_SPEEDUP_WITH_LATENCY:g}× faster (ratio ≤ {1 / MIN_SPEEDUP_WITH_LATENCY:.2f})",
            speedup >= MIN_SPEEDUP_WITH_LATENCY, f"{speedup:.1f}× faster"),
        Row(figure, "items per second", ours.per_second, "", naive.per_second, "naive"),
        Row(figure, "latency model check", overlap, "round trips", 2.0, "ideal",
            note="32 requests on 16 threads; 32 if the delays did not overlap"),
    ]  # fmt: skip


def _breakdown(calls: dict[str, int]) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(calls.items(), key=lambda kv: -kv[1]))
