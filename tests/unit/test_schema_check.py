"""schema_check, verify's JSON Schema validator, gives jsonschema's answers on item documents."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from feed_archiver import archive_format as fmt
from feed_archiver.items import build_document
from feed_archiver.parse import parse_feed
from feed_archiver.schema_check import UnsupportedSchema, schema_errors
from tests.conftest import SEED_XML

SCHEMA = fmt.load_item_schema()
FEED_URL = "https://www.icmpd.org/news-centre/rss"


def seed_documents() -> list[dict[str, Any]]:
    parsed = parse_feed(
        SEED_XML.read_bytes(), base_url=FEED_URL, now=datetime(2019, 7, 16, 14, tzinfo=UTC)
    )
    return [
        build_document(e, feed_url=FEED_URL, seen_at="2019-07-16T14:00:00Z", previous=None)
        for e in parsed.entries
    ]


Mutation = Callable[[dict[str, Any]], object]

MUTATIONS: dict[str, Mutation] = {
    "published year 1": lambda d: d.update(published="1-01-01T00:00:00Z"),
    "month year 1": lambda d: d.update(month="1-01"),
    "month 13": lambda d: d.update(month="2019-13"),
    "upper-case link": lambda d: d.update(link="HTTP://www.example.org/thing"),
    "null link": lambda d: d.update(link=None),
    "missing id": lambda d: d.pop("id"),
    "empty id": lambda d: d.update(id=""),
    "short key": lambda d: d.update(key="abc"),
    "extra field": lambda d: d.update(surprise=1),
    "schema version 2": lambda d: d.update(schema_version=2),
    "schema version true": lambda d: d.update(schema_version=True),
    "revision 0": lambda d: d.update(revision=0),
    "revision 1.0": lambda d: d.update(revision=1.0),
    "revision '1'": lambda d: d.update(revision="1"),
    "revision true": lambda d: d.update(revision=True),
    "date_estimated 0": lambda d: d.update(date_estimated=0),
    "no regions": lambda d: d.update(regions=[]),
    "unknown region": lambda d: d.update(regions=["Atlantis"]),
    "repeated region": lambda d: d.update(regions=["Europe", "Europe"]),
    "lower-case country": lambda d: d.update(countries=["at"]),
    "category with #": lambda d: d.update(category="a#b"),
    "via unknown": lambda d: d.update(first_seen_via="carrier pigeon"),
    "problems not strings": lambda d: d.update(problems=[1]),
    "feed_urls empty": lambda d: d.update(feed_urls=[]),
    "feed_urls ftp": lambda d: d.update(feed_urls=["ftp://x.example/"]),
    "feed_urls repeated": lambda d: d.update(feed_urls=[FEED_URL, FEED_URL]),
    "feed_hashes short": lambda d: d.update(feed_hashes={FEED_URL: "abc"}),
    "feed_hashes list": lambda d: d.update(feed_hashes=[FEED_URL]),
    "published with fraction": lambda d: d.update(published="2019-07-16T13:32:30.5Z"),
    "no feed_urls (older document)": lambda d: (d.pop("feed_urls"), d.pop("feed_hashes")),
    "guid null": lambda d: d.update(guid=None),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_it_agrees_with_jsonschema(name: str) -> None:
    for document in seed_documents()[:2]:
        changed = copy.deepcopy(document)
        MUTATIONS[name](changed)
        reference = jsonschema.Draft202012Validator(SCHEMA).is_valid(changed)
        assert (schema_errors(changed, SCHEMA) == []) == reference, name


def test_every_seed_document_is_valid() -> None:
    for document in seed_documents():
        assert schema_errors(document, SCHEMA) == []
        jsonschema.validate(document, SCHEMA)


def test_an_error_names_the_field_and_the_value() -> None:
    document = seed_documents()[0]
    document["published"] = "1-01-01T00:00:00Z"
    (error,) = schema_errors(document, SCHEMA)
    assert error.startswith('/published: "1-01-01T00:00:00Z" matches 0 of the oneOf')


def test_a_keyword_it_does_not_implement_is_refused_not_ignored() -> None:
    with pytest.raises(UnsupportedSchema, match="maxLength"):
        schema_errors("x", {"type": "string", "maxLength": 3})
