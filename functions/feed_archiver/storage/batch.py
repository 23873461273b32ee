"""BatchGetItem with DynamoDB's unprocessed keys retried: the one batch read."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from feed_archiver.errors import StorageError
from feed_archiver.storage.aws_errors import storage_errors
from feed_archiver.storage.codec import from_dynamo, to_dynamo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_LIMIT = 100
UNPROCESSED_RETRIES = 8


def batch_get(
    ddb: DynamoDBClient, table: str, keys: Sequence[dict[str, str]], *, action: str
) -> list[dict[str, Any]]:
    """Every record found for `keys`, read consistently, 100 keys a request.

    Unprocessed keys (throttling) are asked again with a growing pause; a key
    still unprocessed after that raises StorageError naming `action`.
    """
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: Any = {
            table: {
                "Keys": [to_dynamo(k) for k in keys[start : start + BATCH_GET_LIMIT]],
                "ConsistentRead": True,
            }
        }
        for attempt in range(UNPROCESSED_RETRIES + 1):
            with storage_errors(action):
                resp = ddb.batch_get_item(RequestItems=request)
            found.extend(from_dynamo(dict(i)) for i in resp.get("Responses", {}).get(table, []))
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                break
            if attempt < UNPROCESSED_RETRIES:
                time.sleep(min(2.0, 0.05 * 2 ** (attempt + 1)))
        else:
            raise StorageError(f"{action}: DynamoDB kept keys unprocessed")
    return found
