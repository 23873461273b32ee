"""The index's transactions, packed before anything is sent: DynamoDB's action and size limits."""

from __future__ import annotations

import json

from feed_archiver.storage import IndexChange, counter_deltas, pack_transactions
from tests.index_records import record


def test_transactions_are_packed_under_dynamodb_s_4_mb_limit() -> None:
    # Given 100 index changes of about 60 KB each (6 MB in all)
    from feed_archiver.storage import MAX_TRANSACTION_BYTES, IndexChange, pack_transactions

    def change(n: int) -> IndexChange:
        record = {"key": f"{n:032x}", "feed_url": "https://example.org/feed", "month": "2019-07",
                  "category": "Project News", "regions": ["Europe"], "title": "€" * 20_000}  # fmt: skip
        return IndexChange(new=record, old=None)

    batches = pack_transactions([change(n) for n in range(100)])
    # Then no transaction carries more than the budget, and none is lost
    assert len(batches) > 1 and sum(len(b) for b in batches) == 100
    for batch in batches:
        assert sum(len(json.dumps(c.new, ensure_ascii=False).encode()) for c in batch) <= (
            MAX_TRANSACTION_BYTES
        )


def test_transactions_stay_within_100_actions() -> None:
    # Given 300 items spread over many cells
    changes = [
        IndexChange(
            record(f"{i:032x}", month=f"20{i % 20:02d}-0{1 + i % 9}", regions=("Africa", "Europe")),
            None,
        )
        for i in range(300)
    ]
    # When they are packed
    batches = pack_transactions(changes)
    # Then every transaction (items + distinct cells) fits and nothing is lost
    assert sum(len(b) for b in batches) == 300
    for batch in batches:
        assert len(batch) + len(counter_deltas(batch)) <= 100


def test_net_zero_cells_are_not_sent() -> None:
    # Given an edit that changes only the content, not month, category or regions
    old = record("f" * 32)
    new = record("f" * 32, revision=2)
    # Then no counter moves
    assert counter_deltas([IndexChange(new, old)]) == {}
