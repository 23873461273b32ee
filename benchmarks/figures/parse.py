"""Figure 7: parsing and tagging a big feed, split into feedparser, our conversion, and tagging."""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.aws import ROOT, child_env
from benchmarks.counting import counting_feedparser
from benchmarks.feeds import synthetic_feed
from benchmarks.report import Row
from benchmarks.sizes import Sizes

_TAGGER_LOAD = (
    "import time\n"
    "from feed_archiver.tag import tag, tagger_version\n"
    "started = time.perf_counter()\n"
    "tag('', '')\n"
    "tagger_version()\n"
    "print(time.perf_counter() - started)\n"
)


def _tagger_load_seconds() -> float:
    """Loading the tagger's data in a fresh process: paid once per cold start that tags."""
    out = subprocess.run(
        [sys.executable, "-c", _TAGGER_LOAD],
        capture_output=True,
        text=True,
        check=True,
        env=child_env(),
        cwd=ROOT,
        timeout=120,
    )
    return float(out.stdout.strip().splitlines()[-1])


def parse_and_tag(sizes: Sizes) -> list[Row]:
    from feed_archiver.items import tag_entry
    from feed_archiver.parse import parse_feed
    from feed_archiver.tag import tag

    n = sizes.parse_items
    body = synthetic_feed(n)
    parse_feed(synthetic_feed(10))  # feedparser's own first-use costs are not the feed's

    tag("", "")  # loads the gazetteer and compiles the matchers: once per process
    tagger_load = _tagger_load_seconds()

    with counting_feedparser() as feedparser_calls:
        started = time.perf_counter()
        parsed = parse_feed(body)
        parse_total = time.perf_counter() - started
    if len(parsed.entries) != n:
        raise RuntimeError(f"parsed {len(parsed.entries)} entries, expected {n}")

    started = time.perf_counter()
    for entry in parsed.entries:
        tag_entry(entry)
    tagging = time.perf_counter() - started

    feedparser_s = feedparser_calls.seconds
    ours = parse_total - feedparser_s
    total = parse_total + tagging
    figure = f"Parse and tag {n:,} items ({len(body) / 2**20:.1f} MiB feed)"
    return [
        Row(figure, "feedparser", feedparser_s, "s", total, "total",
            note=f"{feedparser_s / n * 1000:.2f} ms per item"),
        Row(figure, "entries to plain text + sanitised HTML (ours)", ours, "s", total, "total",
            note=f"{ours / n * 1000:.2f} ms per item"),
        Row(figure, "tagging", tagging, "s", total, "total",
            note=f"{tagging / n * 1000:.3f} ms per item"),
        Row(figure, "parse + tag", total, "s", feedparser_s, "naive: feedparser alone",
            note=f"{n / total if total else 0.0:,.0f} items/s"),
        Row(figure, "tagger data load (once per cold start)", tagger_load, "s"),
    ]  # fmt: skip
