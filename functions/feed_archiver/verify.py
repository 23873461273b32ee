"""Recount the archive from its S3 documents and compare with the index and the counters."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from feed_archiver.aggregates import expected_cells
from feed_archiver.items import document_matches_record
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

    expected = expected_cells(list(documents.values()))
    actual = store.read_cells()
    for cell in sorted(expected.keys() | actual.keys()):
        want, have = expected.get(cell, 0), actual.get(cell, 0)
        if want != have:
            report.drift.append(f"counter {cell}: stored {have}, documents say {want}")
    return report
