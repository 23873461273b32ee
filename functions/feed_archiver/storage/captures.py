"""Article captures in S3: captures/<item key>/<UTC timestamp>.warc.gz and its .json text."""

from __future__ import annotations

import json
from typing import Any

from feed_archiver import archive_format as fmt
from feed_archiver.storage.aws_errors import storage_errors
from feed_archiver.storage.tables import Tables


class Captures(Tables):
    """The WARC file and the extracted text of each article capture (see capture/)."""

    def put_warc(self, s3_key: str, data: bytes) -> None:
        """Store a gzipped WARC file (already gzipped per record: no Content-Encoding)."""
        with storage_errors(f"writing {s3_key}"):
            self.s3.put_object(
                Bucket=self.bucket, Key=s3_key, Body=data, ContentType="application/warc"
            )

    def get_warc(self, s3_key: str) -> bytes:
        with storage_errors(f"reading {s3_key}"):
            data: bytes = self.s3.get_object(Bucket=self.bucket, Key=s3_key)["Body"].read()
        return data

    def put_capture_text(self, s3_key: str, text: dict[str, Any]) -> None:
        body = json.dumps(text, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
        with storage_errors(f"writing {s3_key}"):
            self.s3.put_object(
                Bucket=self.bucket,
                Key=s3_key,
                Body=body,
                ContentType="application/json; charset=utf-8",
            )

    def get_capture_text(self, s3_key: str) -> dict[str, Any]:
        with storage_errors(f"reading {s3_key}"):
            body = self.s3.get_object(Bucket=self.bucket, Key=s3_key)["Body"].read()
        text: dict[str, Any] = json.loads(body)
        return text

    def list_capture_keys(self, item_key: str) -> list[str]:
        """Every S3 key under captures/<item key>/, oldest first."""
        paginator = self.s3.get_paginator("list_objects_v2")
        keys: list[str] = []
        with storage_errors(f"listing the captures of item {item_key}"):
            for page in paginator.paginate(
                Bucket=self.bucket, Prefix=f"{fmt.CAPTURES_PREFIX}{item_key}/"
            ):
                keys += [obj["Key"] for obj in page.get("Contents", [])]
        return sorted(keys)
