"""Figure 6: the dashboard's default view on archives of growing size.

The archive is written straight into the table with BatchWriteItem (index
records shaped by feed_archiver.items.index_record from the seed's items,
dates over ten years, and the exact counter cells those records make), which
is much faster than archiving through transactions and gives the same table.

Then the default view is loaded as the app loads it (dashboard.data:
`load_archive` + `load_view` with no filter), its AWS requests counted.
moto answers every Query by walking the whole table, where DynamoDB reads
only the partition asked for, so moto's own time is measured apart and left
out: the time reported is the client's work (requests built, responses
parsed, the view assembled) plus the modelled round trip per request, since
the view's requests run one after another.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from benchmarks.aws import TABLE, MotoArchive, MotoClock, moto_archive
from benchmarks.feeds import SPAN, seed_bytes, seed_feed
from benchmarks.report import Row
from benchmarks.sizes import Sizes
from feed_archiver import archive_format as fmt
from feed_archiver.storage import FeedState, IndexChange, counter_deltas, to_dynamo

FEED_URL = "https://www.icmpd.org/home/?type=100"
MAX_GROWTH = 1.5
BATCH_WRITE_LIMIT = 25
PAGE = 200  # the newest items the default view lists (dashboard.data.PAGE_SIZE)


@dataclass(frozen=True)
class Load:
    items: int
    requests: int
    scans: int
    client_seconds: float  # wall time minus moto's
    moto_seconds: float
    listed: int
    how: str

    def modelled(self, latency: float) -> float:
        return self.client_seconds + self.requests * latency


@cache
def _seed_records() -> tuple[dict[str, Any], ...]:
    """Index records of the ten seed items, as the archiver makes them."""
    from feed_archiver.items import build_document, index_record
    from feed_archiver.parse import parse_feed

    parsed = parse_feed(seed_bytes(), base_url=FEED_URL)
    seen = "2019-07-16T14:00:00Z"
    return tuple(
        dict(index_record(build_document(e, feed_url=FEED_URL, seen_at=seen, previous=None), "v1"))
        for e in parsed.entries
    )


def synthetic_records(items: int) -> list[dict[str, Any]]:
    """`items` index records: the seed's, with unique ids and dates over ten years, newest first."""
    seeds = _seed_records()
    newest = seed_feed().newest
    step = SPAN / max(items, 1)
    records = []
    for i in range(items):
        record = dict(seeds[i % len(seeds)])
        item_id = f"{record['id'].rstrip('/')}-{i}/"
        key = fmt.item_key(item_id)
        published = (newest - step * i).strftime("%Y-%m-%dT%H:%M:%SZ")
        month = published[:7]
        record.update(
            id=item_id,
            key=key,
            link=item_id,
            published=published,
            month=month,
            s3_key=fmt.item_s3_key(key),
            **fmt.item_pk(key),
            **fmt.month_gsi_keys(month, published, key),
        )
        records.append(record)
    return records


def build_archive(archive: MotoArchive, items: int) -> None:
    """Write index records, counter cells and a feed state with BatchWriteItem."""
    records = synthetic_records(items)
    cells = counter_deltas(IndexChange(new=r, old=None) for r in records)
    rows = records + [{fmt.PK: fmt.COUNT_PK, fmt.SK: cell, "n": n} for cell, n in cells.items()]
    for start in range(0, len(rows), BATCH_WRITE_LIMIT):
        request = {
            TABLE: [
                {"PutRequest": {"Item": to_dynamo(row)}}
                for row in rows[start : start + BATCH_WRITE_LIMIT]
            ]
        }
        while request:
            response = archive.dynamodb.batch_write_item(RequestItems=request)
            request = response.get("UnprocessedItems") or {}
    state = FeedState.new(FEED_URL)
    state.status, state.last_success = "ok", "2019-07-16T14:00:00Z"
    archive.store.put_feed_state(state)


def _default_view(now: datetime) -> tuple[Callable[[Any], int], str]:
    """The app's default-view loader, or the store-level fallback when dashboard.data is absent."""
    try:
        from dashboard.data import Filters, load_archive, load_view
    except ImportError:
        return _fallback_view, "Store.read_cells + query_month pages (dashboard.data missing)"

    def load(store: Any) -> int:
        loaded = load_archive(store, now=now)
        return len(load_view(store, loaded, Filters()).items)

    return load, "dashboard.data.load_archive + load_view(Filters())"


def _fallback_view(store: Any) -> int:
    cells = store.read_cells()
    store.list_feed_states()
    months = sorted({sk.split("#")[2] for sk in cells if sk.startswith("T#")}, reverse=True)
    listed = 0
    for month in months:
        start = None
        while listed < PAGE:
            records, start = store.query_month(month, limit=PAGE - listed, start_key=start)
            listed += len(records)
            if not start:
                break
        if listed >= PAGE:
            break
    return listed


def load_default_view(items: int) -> Load:
    now = seed_feed().newest + timedelta(days=1)
    load, how = _default_view(now)
    with moto_archive() as archive:
        build_archive(archive, items)
        archive.meter.reset()
        with MotoClock().running() as clock:
            started = time.perf_counter()
            listed = load(archive.store)
            wall = time.perf_counter() - started
        return Load(
            items=items,
            requests=archive.meter.total,
            scans=archive.meter.calls["Scan"],
            client_seconds=wall - clock.seconds,
            moto_seconds=clock.seconds,
            listed=listed,
            how=how,
        )


def dashboard(sizes: Sizes) -> list[Row]:
    latency = sizes.latency_seconds
    loads = [load_default_view(n) for n in sizes.dashboard_items]
    smallest = loads[0]
    figure = f"Dashboard default view ({latency * 1000:g} ms per AWS request modelled)"
    rows = []
    for load in loads:
        largest = load is loads[-1] and load is not smallest
        modelled_ms = load.modelled(latency) * 1000
        reference = smallest.modelled(latency) * 1000
        rows += [
            Row(figure, f"{load.items:,} items: time", modelled_ms, "ms", reference,
                f"{smallest.items:,} items", f"≤ {MAX_GROWTH}× the smallest" if largest else "",
                modelled_ms <= MAX_GROWTH * reference if largest else None,
                f"client {load.client_seconds * 1000:.0f} ms + {load.requests} round trips; "
                f"moto's own {load.moto_seconds * 1000:.0f} ms left out"),
            Row(figure, f"{load.items:,} items: AWS requests", load.requests, "",
                smallest.requests, f"{smallest.items:,} items", "no Scan",
                load.scans == 0, f"{load.listed} items listed"),
        ]  # fmt: skip
    rows[0].note += f"; {smallest.how}"
    return rows
