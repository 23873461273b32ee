"""The dashboard's IAM policy against the requests the dashboard really sends (moto): exactly equal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dashboard.data import (
    Filters,
    load_archive,
    load_capture_text,
    load_matching_items,
    load_view,
    load_warc,
)
from feed_archiver.storage import Store
from tests import template_checks as checks
from tests.cfn_template import BUCKET, TABLE
from tests.dashboard_seed import seed
from tests.unit.test_template import audit  # its reliability row, with the other audit rows


@audit(checks.check_dashboard_policy_exact)[0]
def test_the_dashboard_sends_exactly_what_its_policy_grants(
    aws: tuple[Any, Any], store: Store
) -> None:
    # Given an archive of two months with a feed state, an article capture, and a record of
    # every request sent
    seed(store)
    store.put_capture_text("captures/k/20190717T080000Z.json", {"text": "the article"})
    store.put_warc("captures/k/20190717T080000Z.warc.gz", b"WARC")
    sent: set[tuple[str, str]] = set()

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        target = service
        if service == "dynamodb":
            index = params.get("IndexName")
            target = f"${{{TABLE}.Arn}}" + (f"/index/{index}" if index else "")
        if service == "s3":
            target = f"${{{BUCKET}.Arn}}/{params['Key'].split('/', 1)[0]}/*"
        sent.add((f"{service}:{model.name}", target))

    for client in aws:
        client.meta.events.register("before-parameter-build.*.*", record)
    # When the dashboard loads, filters, searches and exports everything it shows
    archive = load_archive(store, now=datetime(2019, 7, 20, tzinfo=UTC))
    load_view(store, archive, Filters())
    load_view(store, archive, Filters(search="migration", regions=("Africa",)))
    load_matching_items(store, archive, Filters(categories=("Project News",)))
    # ... and shows an item's captured text and downloads its WARC
    load_capture_text(store, "captures/k/20190717T080000Z.json")
    load_warc(store, "captures/k/20190717T080000Z.warc.gz")
    # Then it sent exactly the requests its policy grants: no more (denied), no fewer (unused)
    assert sent == checks.DASHBOARD_GRANTS
