"""The baseline: a feed archived the way public samples do it.

Every run GETs the feed (no conditional request), parses it with feedparser,
and writes every entry again: one S3 PutObject and one DynamoDB PutItem per
entry, one after the other. No tagging, no counters, no identity rules. It
runs in the same process, against the same moto archive and the same local
feed server as the archiver, so the ratios compare designs, not machines.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import feedparser
import urllib3

from benchmarks.aws import BUCKET, TABLE


@dataclass(frozen=True)
class NaiveOutcome:
    http_requests: int
    entries: int


def naive_archive(url: str, s3: Any, dynamodb: Any) -> NaiveOutcome:
    """GET, parse, and PUT every entry to S3 and DynamoDB."""
    http = urllib3.PoolManager()
    response = http.request("GET", url, preload_content=True)
    parsed = feedparser.parse(io.BytesIO(response.data))
    for entry in parsed.entries:
        link = entry.get("link", "")
        key = hashlib.sha256(link.encode("utf-8")).hexdigest()[:32]
        document = {
            "link": link,
            "title": entry.get("title", ""),
            "published": entry.get("published"),
            "summary": entry.get("summary", ""),
            "content": [c.get("value", "") for c in entry.get("content", [])],
        }
        s3.put_object(
            Bucket=BUCKET,
            Key=f"naive/{key}.json",
            Body=json.dumps(document, ensure_ascii=False).encode("utf-8"),
            ContentType="application/json",
        )
        dynamodb.put_item(
            TableName=TABLE,
            Item={
                "pk": {"S": f"NAIVE#{key}"},
                "sk": {"S": "ITEM"},
                "link": {"S": link},
                "title": {"S": document["title"]},
                "published": {"S": document["published"] or ""},
                "summary": {"S": document["summary"][:600]},
            },
        )
    return NaiveOutcome(http_requests=1, entries=len(parsed.entries))
