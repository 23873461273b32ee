"""Storage: the only package that talks to S3 and DynamoDB, one module per entity.

May import: archive_format, errors, feed_state, clock. Must never import: fetch,
parse, tag, run, history, the dashboard.
"""

from feed_archiver.errors import RawSnapshotMissing
from feed_archiver.feed_state import FeedState
from feed_archiver.storage.codec import from_dynamo, to_dynamo
from feed_archiver.storage.feed_states import FeedWork, PendingBody
from feed_archiver.storage.index import (
    MAX_TRANSACTION_BYTES,
    CommitResult,
    IndexChange,
    counter_deltas,
    pack_transactions,
)
from feed_archiver.storage.store import Store

__all__ = [
    "MAX_TRANSACTION_BYTES",
    "CommitResult",
    "FeedState",
    "FeedWork",
    "IndexChange",
    "PendingBody",
    "RawSnapshotMissing",
    "Store",
    "counter_deltas",
    "from_dynamo",
    "pack_transactions",
    "to_dynamo",
]
