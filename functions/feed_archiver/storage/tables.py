"""What every storage entity shares: the bucket, the table and their clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from feed_archiver.storage.aws_errors import storage_errors
from feed_archiver.storage.codec import from_dynamo, to_dynamo
from feed_archiver.storage.journal import Journal

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


class Tables:
    """The archive's S3 bucket and DynamoDB table. Clients are built only when none is given."""

    def __init__(
        self,
        bucket: str,
        table: str,
        *,
        s3_client: S3Client | None = None,
        dynamodb_client: DynamoDBClient | None = None,
    ) -> None:
        if s3_client is None or dynamodb_client is None:
            from feed_archiver.storage.clients import make_clients

            clients = make_clients()
            s3_client = s3_client or clients.s3
            dynamodb_client = dynamodb_client or clients.dynamodb
        self.bucket = bucket
        self.table = table
        self.s3: S3Client = s3_client
        self.ddb: DynamoDBClient = dynamodb_client
        # What this store wrote, for feed_archiver.publish (see storage/journal.py).
        self.journal = Journal()

    def query_partition(self, pk: str) -> Iterator[dict[str, Any]]:
        """Every record of one partition, read consistently, page by page."""
        paginator = self.ddb.get_paginator("query")
        with storage_errors(f"reading {pk.lower()} records"):
            for page in paginator.paginate(
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": pk}},
                ConsistentRead=True,
            ):
                for item in page.get("Items", []):
                    yield from_dynamo(dict(item))

    def put_record(self, record: dict[str, Any], *, action: str) -> None:
        with storage_errors(action):
            self.ddb.put_item(TableName=self.table, Item=to_dynamo(record))
