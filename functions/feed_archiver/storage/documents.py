"""Item documents (items/) and raw feed snapshots (raw/) in S3."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote

from botocore.exceptions import ClientError

from feed_archiver import archive_format as fmt
from feed_archiver.errors import RawSnapshotMissing
from feed_archiver.storage.aws_errors import error_code, storage_errors
from feed_archiver.storage.tables import Tables

RAW_BASE_URL = "base-url"  # S3 metadata of a raw/ snapshot: the URL it was retrieved from
# URL syntax kept as is; anything else (and "%", so that unquote gives the URL back) encoded.
_URL_SAFE = ":/?#[]@!$&'()*+,;=~"


class Documents(Tables):
    """The S3 side of the archive."""

    def put_document(self, document: dict[str, Any]) -> str | None:
        """Write one item document; returns its S3 version id."""
        body = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        with storage_errors(f"writing item {document['key']}"):
            resp = self.s3.put_object(
                Bucket=self.bucket,
                Key=fmt.item_s3_key(document["key"]),
                Body=body,
                ContentType="application/json; charset=utf-8",
            )
        version = resp.get("VersionId")
        self.journal.stored(document, version)
        return version

    def get_document(self, key: str, version_id: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": fmt.item_s3_key(key)}
        if version_id:
            kwargs["VersionId"] = version_id
        with storage_errors(f"reading item {key}"):
            body = self.s3.get_object(**kwargs)["Body"].read()
        document: dict[str, Any] = json.loads(body)
        return document

    def list_document_keys(self) -> Iterator[str]:
        """Item keys of every document under items/ (latest versions)."""
        for name in self._list(fmt.ITEMS_PREFIX, action="listing item documents"):
            name = name[len(fmt.ITEMS_PREFIX) :]
            if name.endswith(".json"):
                yield name[: -len(".json")]

    def put_raw(
        self, feed: str, fetched_at: str, body: bytes, body_hash: str, base_url: str | None = None
    ) -> str:
        """Keep a changed feed body, gzipped, under raw/, with the URL it was retrieved from
        (`reprocess` resolves its links against it, as the run did)."""
        key = fmt.raw_s3_key(feed, fetched_at, body_hash)
        # S3 metadata is ASCII: a URL with other characters is kept percent-encoded.
        metadata = {RAW_BASE_URL: quote(base_url, safe=_URL_SAFE)} if base_url else {}
        with storage_errors("writing the raw feed snapshot"):
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=gzip.compress(body, mtime=0),
                ContentType="application/xml",
                ContentEncoding="gzip",
                Metadata=metadata,
            )
        return key

    def list_raw_keys(self, feed: str | None = None) -> Iterator[str]:
        prefix = fmt.RAW_PREFIX + (f"{feed}/" if feed else "")
        return self._list(prefix, action="listing raw snapshots")

    def get_raw(self, key: str) -> bytes:
        return self.get_raw_snapshot(key)[0]

    def get_raw_snapshot(self, key: str) -> tuple[bytes, str | None]:
        """A raw snapshot's body, and the URL it was retrieved from (None if not recorded)."""
        with storage_errors(f"reading {key}"):
            try:
                resp = self.s3.get_object(Bucket=self.bucket, Key=key)
                data: bytes = resp["Body"].read()
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    raise RawSnapshotMissing(f"{key} is gone (expired or deleted)") from exc
                raise
        base_url = resp.get("Metadata", {}).get(RAW_BASE_URL)
        body = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        return body, unquote(base_url) if base_url else None

    def _list(self, prefix: str, *, action: str) -> Iterator[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        with storage_errors(action):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    yield obj["Key"]
