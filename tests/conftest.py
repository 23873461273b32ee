"""Shared fixtures: a moto-backed archive built from template.yaml, and request counting."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from benchmarks.aws import WRITES
from benchmarks.moto_patches import cheap_transaction_snapshots
from feed_archiver.settings import FetchOptions, Settings
from feed_archiver.stack import create_bucket, create_table, load_template
from feed_archiver.storage import Store
from tests.faults import FakeLambdaContext

pytest_plugins = [
    "tests.httpserver",
    "tests.reliability_plugin",
    "tests.tagger_swap",  # the `new_tagger` fixture of the retag tests
    "tests.integration.capture_site",  # the `site` fixture of the article-capture tests
]

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SEED_XML = FIXTURES / "icmpd-news-centre-2019-07.xml"
BUCKET = "test-archive-bucket"
TABLE = "test-archive-table"


def pytest_configure(config: pytest.Config) -> None:
    """Powertools reads its settings when the handler module is imported: set them first."""
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "feed-archiver-test")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "FeedArchiverTest")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
    _share_botocore_models()


def _share_botocore_models() -> None:
    """One botocore loader per test process instead of one per session.

    The code builds a boto3 Session per client set (once per cold start in Lambda); the
    tests build hundreds, and each new loader re-reads the service models from disk.
    The models are read-only, so sharing the loader changes nothing but the time.
    """
    import functools

    import botocore.session

    botocore.session.create_loader = functools.cache(botocore.session.create_loader)  # type: ignore[attr-defined]


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `serial` share one xdist group: one worker runs them, one after another."""
    for item in items:
        if item.get_closest_marker("serial"):
            item.add_marker(pytest.mark.xdist_group("serial"))


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets fake credentials and no endpoint override: nothing reaches AWS."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "FeedArchiverTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "feed-archiver-test")


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


class CallCounter:
    """Counts AWS API calls by hooking botocore's events on the given clients."""

    WRITES = WRITES  # the same operations the benchmarks count as writes

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def attach(self, *clients: Any) -> None:
        for client in clients:
            client.meta.events.register("before-call.*.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def reset(self) -> None:
        self.calls.clear()

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op in self.WRITES)


@pytest.fixture
def aws(template: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    """moto S3 and DynamoDB clients with the bucket and table created from template.yaml."""
    # moto copies the whole table once per transaction action (quadratic); the patch snapshots
    # only the items a transaction names, with moto's own outcomes (see benchmarks.moto_patches).
    with mock_aws(), cheap_transaction_snapshots():
        s3 = boto3.client("s3", region_name="us-east-1")
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_bucket(s3, BUCKET, template)
        create_table(ddb, TABLE, template)
        yield s3, ddb


@pytest.fixture
def fresh_store(aws: tuple[Any, Any], template: dict[str, Any]) -> Store:
    """A second, empty archive in the same fake AWS (to compare with one built differently)."""
    s3, ddb = aws
    create_bucket(s3, "fresh-bucket", template)
    create_table(ddb, "fresh-table", template)
    return Store("fresh-bucket", "fresh-table", s3_client=s3, dynamodb_client=ddb)


@pytest.fixture
def calls() -> CallCounter:
    return CallCounter()


@pytest.fixture
def store(aws: tuple[Any, Any], calls: CallCounter) -> Store:
    s3, ddb = aws
    calls.attach(s3, ddb)
    return Store(BUCKET, TABLE, s3_client=s3, dynamodb_client=ddb)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """The context the handler is invoked with: 120 s left (a test may set `remaining`)."""
    return FakeLambdaContext()


@pytest.fixture
def handler_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """What the handler reads at its cold start: the test archive, feeds on 127.0.0.1 allowed.

    Set FEED_URLS and the rest on the monkeypatch it gives; the handler's cached setup is
    cleared before and after, so each test's handler reads its own environment.
    """
    from feed_archiver import handler  # not at import: Powertools reads its settings then

    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    monkeypatch.setenv("ALLOW_PRIVATE_NETWORKS", "1")
    handler._setup.cache_clear()
    yield monkeypatch
    handler._setup.cache_clear()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        archive_bucket=BUCKET,
        archive_table=TABLE,
        feed_urls=(),
        fetch=FetchOptions(allow_private_networks=True, max_retries=1, retry_after_cap=0.2),
    )
