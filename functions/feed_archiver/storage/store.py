"""The one object callers hold: every storage entity over one bucket and one table.

Every method maps to a handful of requests whose count is part of the design
(see docs/archive-format.md): the run's cost is what this package sends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from feed_archiver.storage.aliases import Aliases
from feed_archiver.storage.captures import Captures
from feed_archiver.storage.documents import Documents
from feed_archiver.storage.feed_states import FeedStates
from feed_archiver.storage.index import Index
from feed_archiver.storage.published import Published
from feed_archiver.storage.web_archive import WebArchiveRecords

if TYPE_CHECKING:
    from feed_archiver.settings import Settings


class Store(FeedStates, Documents, Index, WebArchiveRecords, Published, Captures, Aliases):
    """The archive's S3 bucket and DynamoDB table (see storage.tables.Tables for the clients)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """The archive the settings name (clients built from the standard AWS variables)."""
        return cls(settings.archive_bucket, settings.archive_table)
