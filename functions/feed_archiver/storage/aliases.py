"""Id aliases: ALIAS#<key of an id as written> names the item archived under a resolved id.

See feed_archiver.aliases for why they exist. An alias is written once, with a
conditional put, and never changed: it moves no counter, and the item it names
keeps its key, its document and its counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from feed_archiver import archive_format as fmt
from feed_archiver.storage.aws_errors import error_code, storage_errors
from feed_archiver.storage.batch import batch_get
from feed_archiver.storage.codec import from_dynamo, to_dynamo
from feed_archiver.storage.tables import Tables


class Aliases(Tables):
    def get_aliases(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Alias records by the key they alias (the key of the id as written)."""
        wanted = [fmt.alias_pk(k) for k in dict.fromkeys(keys)]
        if not wanted:
            return {}
        records = batch_get(self.ddb, self.table, wanted, action="reading id aliases")
        return {r[fmt.PK][len(fmt.ALIAS_PK_PREFIX) :]: r for r in records}

    def put_alias(self, key: str, attributes: dict[str, Any]) -> bool:
        """Write the alias of `key` unless one exists; False if one does (re-read it)."""
        record = {**fmt.alias_pk(key), **attributes}
        with storage_errors("writing an id alias"):
            try:
                self.ddb.put_item(
                    TableName=self.table,
                    Item=to_dynamo(record),
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    def scan_aliases(self) -> Iterator[dict[str, Any]]:
        """Every alias record. Only `verify` uses this (it audits, so it scans)."""
        paginator = self.ddb.get_paginator("scan")
        with storage_errors("scanning id aliases"):
            for page in paginator.paginate(
                TableName=self.table,
                FilterExpression="begins_with(pk, :p)",
                ExpressionAttributeValues={":p": {"S": fmt.ALIAS_PK_PREFIX}},
            ):
                for item in page.get("Items", []):
                    yield from_dynamo(dict(item))
