"""Recount the archive from its S3 documents and compare with the index and the counters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from feed_archiver.aggregates import expected_cells
from feed_archiver.archive_format import (
    ALIAS_PK_PREFIX,
    COUNTER_VERSION,
    PK,
    counter_version,
    item_key,
    load_item_schema,
)
from feed_archiver.items import document_matches_record
from feed_archiver.schema_check import schema_errors
from feed_archiver.storage import Store


@dataclass
class VerifyReport:
    documents: int = 0
    index_records: int = 0
    drift: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.drift

    def lines(self) -> list[str]:
        head = f"{self.documents} documents, {self.index_records} index records"
        if self.ok:
            return [f"OK: {head}; counts match the documents"]
        return [f"DRIFT: {head}; {len(self.drift)} problems", *(f"  - {d}" for d in self.drift)]


def verify(store: Store, *, pool_size: int = 16) -> VerifyReport:
    """Compare S3 documents, index records and counter cells; every mismatch is drift."""
    keys = list(store.list_document_keys())
    with ThreadPoolExecutor(max_workers=pool_size) as pool:
        documents = dict(zip(keys, pool.map(store.get_document, keys), strict=True))
    records = {r["key"]: r for r in store.scan_index()}
    report = VerifyReport(documents=len(documents), index_records=len(records))

    for key in sorted(documents.keys() - records.keys()):
        report.drift.append(f"document items/{key}.json has no index record (unacknowledged)")
    for key in sorted(records.keys() - documents.keys()):
        report.drift.append(f"index record {key} has no document in S3")
    for key in sorted(documents.keys() & records.keys()):
        fields = document_matches_record(documents[key], records[key])
        if fields:
            report.drift.append(f"item {key}: document and index differ in {', '.join(fields)}")
    schema = load_item_schema()
    for key in sorted(documents):
        errors = schema_errors(documents[key], schema)
        if errors:
            report.drift.append(f"item {key}: document breaks the JSON Schema: {'; '.join(errors)}")
    report.drift.extend(_alias_drift(store.scan_aliases(), records))

    # Each item counts in the cells its index record is counted in: a record from
    # before country counters is not in them until backfill-counters has run.
    versions = {key: counter_version(record) for key, record in records.items()}
    behind = sum(1 for v in versions.values() if v < COUNTER_VERSION)
    if behind:
        report.drift.append(
            f"{behind} index records are not counted by country yet (counter version 1): "
            "run `feed-archiver backfill-counters`"
        )
    expected = expected_cells(list(documents.values()), versions=versions)
    actual = store.read_cells()
    for cell in sorted(expected.keys() | actual.keys()):
        want, have = expected.get(cell, 0), actual.get(cell, 0)
        if want != have:
            report.drift.append(f"counter {cell}: stored {have}, documents say {want}")
    return report


def _alias_drift(aliases: Iterable[dict[str, Any]], records: dict[str, Any]) -> Iterator[str]:
    """An alias names an indexed item, is the key of its id, and no item is indexed under it."""
    for alias in aliases:
        key = str(alias[PK])[len(ALIAS_PK_PREFIX) :]
        if key in records:
            yield f"alias {key}: an item is indexed under the same key (archived twice)"
        if alias.get("target") not in records:
            yield f"alias {key}: names item {alias.get('target')}, which has no index record"
        if item_key(str(alias.get("id"))) != key:
            yield f"alias {key}: is not the key of its id {alias.get('id')!r}"
