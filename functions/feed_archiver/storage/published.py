"""What the archive publishes from its items: analytics exports (exports/) and the Atom feed (feed/).

All of it is derived: feed_archiver.publish rebuilds any of it from items/ and the
index. Objects are replaced whole (a new S3 version); nothing here is ever deleted
(an emptied month is written empty), so the archiver needs no delete permission.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from feed_archiver import archive_format as fmt
from feed_archiver.storage.aws_errors import error_code, storage_errors
from feed_archiver.storage.tables import Tables

ATOM_TYPE = "application/atom+xml; charset=utf-8"
# A reader polling current.atom sees a new item within minutes; archive pages change rarely.
CURRENT_CACHE_CONTROL = "public, max-age=300"
ARCHIVE_CACHE_CONTROL = "public, max-age=3600"


class Published(Tables):
    def get_export(self, month: str) -> bytes | None:
        """A month's export (gzipped JSON Lines), or None if it was never written."""
        return self._get_optional(fmt.export_s3_key(month), action=f"reading the {month} export")

    def put_export(self, month: str, body: bytes) -> None:
        with storage_errors(f"writing the {month} export"):
            self.s3.put_object(
                Bucket=self.bucket,
                Key=fmt.export_s3_key(month),
                Body=body,
                # Stored gzipped, as Athena and DuckDB expect (.gz), not a transfer encoding.
                ContentType="application/gzip",
            )

    def list_export_keys(self) -> Iterator[str]:
        """Keys of every month's export object (exports/items/month=YYYY-MM/items.jsonl.gz)."""
        paginator = self.s3.get_paginator("list_objects_v2")
        with storage_errors("listing the exports"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=fmt.EXPORTS_PREFIX):
                for obj in page.get("Contents", []):
                    if obj["Key"].endswith(".jsonl.gz"):
                        yield obj["Key"]

    def download(self, key: str) -> bytes:
        with storage_errors(f"reading {key}"):
            data: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def get_published_manifest(self) -> dict[str, int]:
        """The months published, with the number of items each holds ({} before the first)."""
        data = self._get_optional(fmt.PUBLISHED_MANIFEST_KEY, action="reading the manifest")
        if data is None:
            return {}
        months = json.loads(data).get("months", {})
        return {str(m): int(n) for m, n in months.items()}

    def put_published_manifest(self, months: dict[str, int]) -> None:
        body = json.dumps({"months": dict(sorted(months.items()))}, indent=1).encode("utf-8")
        with storage_errors("writing the manifest"):
            self.s3.put_object(
                Bucket=self.bucket,
                Key=fmt.PUBLISHED_MANIFEST_KEY,
                Body=body,
                ContentType="application/json; charset=utf-8",
            )

    def put_feed_document(self, key: str, body: bytes) -> None:
        """current.atom or an archive page, with the caching a CDN and feed readers honour."""
        current = key == fmt.FEED_CURRENT_KEY
        with storage_errors(f"writing {key}"):
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=ATOM_TYPE,
                CacheControl=CURRENT_CACHE_CONTROL if current else ARCHIVE_CACHE_CONTROL,
            )

    def get_feed_document(self, key: str) -> bytes | None:
        return self._get_optional(key, action=f"reading {key}")

    def _get_optional(self, key: str, *, action: str) -> bytes | None:
        with storage_errors(action):
            try:
                data: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    return None
                raise
        return data

    def get_text_object(self, key: str) -> dict[str, Any] | None:
        """A JSON object stored beside the items (a capture's extracted text), or None if gone."""
        data = self._get_optional(key, action=f"reading {key}")
        if data is None:
            return None
        value = json.loads(data)
        return value if isinstance(value, dict) else None
