"""The TypedDicts of the archive format cannot drift from the JSON Schema and the index fields."""

from __future__ import annotations

from feed_archiver import archive_format as fmt


def test_the_item_document_type_names_exactly_the_schema_properties() -> None:
    # Given the JSON Schema every stored document is checked against
    properties = set(fmt.load_item_schema()["properties"])
    # Then the TypedDict used in the code declares the same fields, no more, no fewer
    assert set(fmt.ItemDocument.__annotations__) == properties


def test_the_index_record_type_declares_every_field_an_index_record_carries() -> None:
    declared = set(fmt.IndexRecord.__annotations__)
    keys = {fmt.PK, fmt.SK, fmt.GSI1PK, fmt.GSI1SK}
    written_by_items = {"s3_version_id", "summary", "first_seen_via"}
    assert set(fmt.INDEX_FIELDS) | keys | written_by_items <= declared
    # and nothing a record never carries
    assert declared - set(fmt.INDEX_FIELDS) - keys - written_by_items <= {"counter_version"}
