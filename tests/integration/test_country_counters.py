"""Country counters over moto (issue 13): exact through every writer, and backfilled safely.

`stats` by_country must equal a recount from the S3 documents after a run, a
retag and a `backfill-counters` of an archive written before country cells
existed, with the archiver writing at the same time.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from feed_archiver import archive_format as fmt
from feed_archiver import tag as tagger
from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.archive import archive_entries
from feed_archiver.cli import main
from feed_archiver.counter_backfill import backfill_counters
from feed_archiver.history.file_import import import_files
from feed_archiver.history.retag import retag
from feed_archiver.parse import parse_feed
from feed_archiver.storage import IndexChange, Store
from feed_archiver.verify import verify
from tests.conftest import BUCKET, SEED_XML, TABLE, CallCounter

FEED_URL = "https://www.icmpd.org/home/?type=100"
SEEN_AT = "2019-07-16T14:00:00Z"
_TAGGER_CACHES = ("tagger_version", "_gazetteer", "_countries", "_programmes", "_categories")


def archive_seed(store: Store) -> None:
    entries = parse_feed(SEED_XML.read_bytes(), base_url=FEED_URL).entries
    assert archive_entries(store, entries, feed_url=FEED_URL, seen_at=SEEN_AT).new == 10


def recount(store: Store) -> dict[str, int]:
    """Items per country, counted from the S3 documents themselves."""
    counts: Counter[str] = Counter()
    for key in store.list_document_keys():
        counts.update(set(store.get_document(key)["countries"]))
    return dict(counts)


def stats(store: Store) -> dict[str, Any]:
    return stats_from_cells(parse_cells(store.read_cells())).as_dict()


def cli_stats(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    capsys.readouterr()
    assert main(["stats", "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def as_before_country_counters(store: Store) -> None:
    """Make the archive what an older archiver left: no counter_version, no K/C/S cell."""
    for record in store.scan_index():
        store.ddb.update_item(
            TableName=store.table,
            Key={fmt.PK: {"S": record[fmt.PK]}, fmt.SK: {"S": record[fmt.SK]}},
            UpdateExpression=f"REMOVE {fmt.COUNTER_VERSION_FIELD}",
        )
    for cell in store.read_cells():
        if cell[0] in (fmt.COUNTED_CELL, fmt.COUNTRY_CELL, fmt.COUNTRY_SET_CELL):
            store.ddb.delete_item(
                TableName=store.table, Key={fmt.PK: {"S": fmt.COUNT_PK}, fmt.SK: {"S": cell}}
            )


@pytest.fixture
def tunisia_forgotten(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Call it to switch the tagger to data that no longer knows Tunisia (for retag)."""
    original = tagger._data_bytes

    def clear() -> None:
        for name in _TAGGER_CACHES:
            getattr(tagger, name).cache_clear()

    def data(name: str) -> bytes:
        raw = original(name)
        if name != "gazetteer.json":
            return raw
        gazetteer = json.loads(raw)
        gazetteer["terms"].pop("TN")
        return json.dumps(gazetteer).encode()

    def switch() -> None:
        monkeypatch.setattr(tagger, "_data_bytes", data)
        clear()

    clear()
    yield switch
    monkeypatch.undo()
    clear()


def test_stats_by_country_equals_a_recount_of_the_sample_archive(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the sample feed archived (items naming up to 24 countries)
    archive_seed(store)
    # When `feed-archiver stats --format json` reads the counters
    shown = cli_stats(monkeypatch, capsys)
    # Then by_country is the recount from the documents, and covers every item
    assert shown["by_country"] == recount(store)
    assert shown["by_country"]["TR"] == 4 and shown["by_country"]["TN"] == 2
    assert shown["countries_counted"] == shown["total"] == 10
    assert verify(store).ok


def test_stats_table_lists_countries_by_name(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    archive_seed(store)
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    assert main(["stats"]) == 0
    out = capsys.readouterr().out
    assert "By country (an item counts once in each of its countries)" in out
    assert any(line.split() == ["TR", "Türkiye", "4"] for line in out.splitlines())
    assert "backfill-counters" not in out


def test_an_import_counts_countries_like_a_run(store: Store) -> None:
    # Given the sample feed imported from a saved file (the history path), not fetched
    tally = import_files(store, [SEED_XML], feed_url=FEED_URL, max_bytes=10 * 2**20)
    assert tally.new == 10 and not tally.failed
    # Then its country counts are the documents' recount, and verify agrees
    assert stats(store)["by_country"] == recount(store)
    assert stats(store)["countries_counted"] == 10
    assert verify(store).ok


def test_retag_keeps_by_country_equal_to_a_recount(
    store: Store,
    tunisia_forgotten: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the sample archived, two of its items naming Tunisia
    archive_seed(store)
    assert cli_stats(monkeypatch, capsys)["by_country"]["TN"] == 2
    # When the tagger forgets Tunisia and the archive is retagged
    tunisia_forgotten()
    report = retag(store)
    assert report.retagged == 2 and not report.errors
    # Then Tunisia is gone from the counts, and by_country is the documents' recount
    shown = cli_stats(monkeypatch, capsys)
    assert "TN" not in shown["by_country"]
    assert shown["by_country"] == recount(store)
    assert verify(store).ok


def test_backfill_counts_an_archive_written_before_country_counters(
    store: Store,
    calls: CallCounter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the sample archived by an archiver that had no country cells
    archive_seed(store)
    as_before_country_counters(store)
    before = cli_stats(monkeypatch, capsys)
    assert before["by_country"] == {} and before["countries_counted"] == 0
    # And stats and verify both say what to do
    assert main(["stats"]) == 0
    assert "By country covers 0 of 10 items" in capsys.readouterr().out
    report = verify(store)
    assert not report.ok
    assert "10 index records are not counted by country yet" in report.drift[0]
    assert len(report.drift) == 1  # the cells of counted records are all right: none
    # When the backfill is tried first, then run
    calls.reset()
    assert main(["backfill-counters", "--dry-run"]) == 0
    assert "10 would be counted" in capsys.readouterr().out
    assert calls.writes == 0
    calls.reset()
    assert main(["backfill-counters"]) == 0
    out = capsys.readouterr().out
    # Then it read no document, and the counts are the documents' recount
    assert calls.calls["GetObject"] == 0
    assert "10 counted" in out and "country counts cover 10 of 10 items: complete" in out
    after = cli_stats(monkeypatch, capsys)
    assert after["by_country"] == recount(store)
    assert after["countries_counted"] == 10
    assert {k: after[k] for k in ("total", "by_category", "by_region", "by_month")} == {
        k: before[k] for k in ("total", "by_category", "by_region", "by_month")
    }
    assert verify(store).ok
    # And running it again writes nothing
    calls.reset()
    assert main(["backfill-counters"]) == 0
    assert "0 not counted by country yet" in capsys.readouterr().out
    assert calls.writes == 0


def test_backfill_is_exact_when_the_archiver_edits_an_item_meanwhile(store: Store) -> None:
    # Given an archive from before country counters
    archive_seed(store)
    as_before_country_counters(store)
    key = next(r["key"] for r in store.scan_index() if "TN" in r["countries"])
    # When the (current) archiver edits an item after the backfill's scan, before its write
    upgrade = store.upgrade_counters
    edited = False

    def archiver_first(records: Any) -> Any:
        nonlocal edited
        if not edited:
            edited = True
            old = store.get_index_records([key])[key]
            new = {
                **old,
                "countries": ["FR"],
                "revision": old["revision"] + 1,
                fmt.COUNTER_VERSION_FIELD: fmt.COUNTER_VERSION,
            }
            assert store.commit([IndexChange(new, old)]).committed == [key]
        return upgrade(records)

    store.upgrade_counters = archiver_first  # type: ignore[method-assign]
    report = backfill_counters(store)
    # Then the backfill's transaction conflicted, was read again, and the edited item was
    # left to the archiver's own commit: every item counted once, at its current tags
    assert edited and report.moved_on == 1 and report.counted == 9 and report.ok
    records = list(store.scan_index())
    expected: Counter[str] = Counter()
    for record in records:
        expected.update(set(record["countries"]))
    assert stats(store)["by_country"] == dict(expected)
    assert stats(store)["countries_counted"] == 10


@pytest.mark.reliability(
    group="5. Overlapping runs",
    case="the archiver commits an edit it planned before backfill-counters counted the item",
    must_hold="the edit conflicts and is re-planned: no country count moves twice or is missed",
)
def test_an_edit_planned_before_the_backfill_conflicts_instead_of_miscounting(
    store: Store,
) -> None:
    # Given an archive from before country counters, and an edit planned from a record read then
    archive_seed(store)
    as_before_country_counters(store)
    old = next(r for r in store.scan_index() if "TN" in r["countries"])
    new = {
        **old,
        "countries": ["FR"],
        "revision": old["revision"] + 1,
        fmt.COUNTER_VERSION_FIELD: fmt.COUNTER_VERSION,
    }
    # When the backfill counts the item first
    assert backfill_counters(store).counted == 10
    # Then the edit, which would subtract the cells of the record it read, conflicts
    assert store.commit([IndexChange(new, old)]).conflicted == [old["key"]]
    assert stats(store)["by_country"] == recount(store)
    # And planned again from the record as it is now, it commits with exact counts
    current = store.get_index_records([old["key"]])[old["key"]]
    assert store.commit([IndexChange({**new, "revision": current["revision"] + 1}, current)])
    assert stats(store)["by_country"]["TN"] == recount(store)["TN"] - 1


def test_many_items_naming_many_countries_commit_with_exact_counts(store: Store) -> None:
    # Given 120 items naming 15 countries each, and one naming 60 (a country-set cell)
    codes = sorted(json.loads(tagger._data_bytes("gazetteer.json"))["terms"])
    records: list[dict[str, Any]] = []
    for i in range(121):
        named = codes[:60] if i == 120 else codes[(i * 3) % 200 : (i * 3) % 200 + 15]
        key = f"{i:032x}"
        records.append(
            {
                **fmt.item_pk(key),
                "key": key,
                "feed_url": FEED_URL,
                "month": "2019-07",
                "category": "Project News",
                "regions": ["Europe"],
                "countries": named,
                "revision": 1,
                fmt.COUNTER_VERSION_FIELD: fmt.COUNTER_VERSION,
            }
        )
    # When they are committed together
    result = store.commit([IndexChange(r, None) for r in records])
    # Then every one is, in several transactions, and each country counts its items
    assert len(result.committed) == 121 and not result.failed
    expected: Counter[str] = Counter()
    for record in records:
        expected.update(record["countries"])
    assert stats(store)["by_country"] == dict(expected)
