"""Records of the web-archive captures that backfill-wayback imported or found broken."""

from __future__ import annotations

from typing import Any

from feed_archiver import archive_format as fmt
from feed_archiver.storage.tables import Tables


class WebArchiveRecords(Tables):
    def known_captures(self, feed: str) -> list[dict[str, Any]]:
        """Every capture record of a feed: the captures backfill-wayback imported or found broken."""
        return list(self.query_partition(f"{fmt.CAPTURE_PK_PREFIX}{feed}"))

    def remember_capture(self, feed: str, capture: str, attributes: dict[str, Any]) -> None:
        """Record one capture (`capture` = <timestamp>#<digest>), replacing an earlier record."""
        record = {fmt.PK: f"{fmt.CAPTURE_PK_PREFIX}{feed}", fmt.SK: capture, **attributes}
        self.put_record(record, action="recording a web-archive capture")
