"""Issue 14: the shape of the template's Athena, Glue and CloudFront resources, read offline.

`sam validate --lint`, cfn-lint and checkov check the same resources in infra/sam-checks.sh.
"""

from __future__ import annotations

from typing import Any

import pytest

from feed_archiver.exports import COLUMNS, PARTITION
from feed_archiver.stack import load_template
from tests.cfn_template import ROOT, Template, as_list, referenced_id, resources_of_type, statements

SECURITY = "Open the archive"


@pytest.fixture(scope="module")
def t() -> Template:
    return load_template(ROOT / "template.yaml")


def one(t: Template, kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = resources_of_type(t, kind).items()
    return found


def test_the_glue_table_has_the_export_columns_and_projects_the_month(t: Template) -> None:
    _, table = one(t, "AWS::Glue::Table")
    spec = table["Properties"]["TableInput"]
    assert spec["Name"] == "items"
    columns = [
        (c["Name"], c["Type"], c.get("Comment")) for c in spec["StorageDescriptor"]["Columns"]
    ]
    # One definition of the columns (feed_archiver.exports): the DuckDB table follows it too.
    assert columns == [(c.name, c.athena, c.comment) for c in COLUMNS]
    assert [(k["Name"], k["Type"]) for k in spec["PartitionKeys"]] == [(PARTITION.name, "string")]
    serde = spec["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    assert serde == "org.openx.data.jsonserde.JsonSerDe"
    p = spec["Parameters"]
    assert p["projection.enabled"] == "true"
    assert (p["projection.month.type"], p["projection.month.format"]) == ("date", "yyyy-MM")
    assert p["projection.month.range"] == "2000-01,NOW"
    assert (p["projection.month.interval"], p["projection.month.interval.unit"]) == ("1", "MONTHS")
    template = p["storage.location.template"]["Fn::Sub"]
    assert template == "s3://${ArchiveBucket}/exports/items/month=${!month}/"
    location = spec["StorageDescriptor"]["Location"]["Fn::Sub"]
    assert location == "s3://${ArchiveBucket}/exports/items/"
    assert referenced_id(table["Properties"]["DatabaseName"]) == one(t, "AWS::Glue::Database")[0]


@pytest.mark.reliability(
    group=SECURITY,
    case="an Athena query that would scan without bound",
    must_hold="the workgroup cancels it past BytesScannedCutoffPerQuery and clients cannot "
    "override the workgroup (encrypted results in the expiring results bucket)",
)
def test_the_workgroup_bounds_each_query_and_enforces_encrypted_expiring_results(
    t: Template,
) -> None:
    _, workgroup = one(t, "AWS::Athena::WorkGroup")
    config = workgroup["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    cutoff = t["Parameters"][referenced_id(config["BytesScannedCutoffPerQuery"]) or ""]
    assert 10 * 1024**2 <= cutoff["Default"] <= 1024**3 and cutoff["MinValue"] == 10 * 1024**2
    results = config["ResultConfiguration"]
    assert results["EncryptionConfiguration"]["EncryptionOption"] in ("SSE_S3", "SSE_KMS")
    bucket_name = referenced_id(results["OutputLocation"])
    bucket = t["Resources"][bucket_name]["Properties"]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and "ExpirationInDays" in rule
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())


def test_named_queries_count_by_category_region_country_month_and_list_a_country(
    t: Template,
) -> None:
    queries = {
        q["Properties"]["Name"]: q["Properties"]
        for q in resources_of_type(t, "AWS::Athena::NamedQuery").values()
    }
    assert set(queries) == {
        "items by category",
        "items by region",
        "items by country",
        "items by month",
        "items naming a country",
    }
    workgroup = one(t, "AWS::Athena::WorkGroup")[0]
    database = one(t, "AWS::Glue::Database")[0]
    for props in queries.values():
        assert referenced_id(props["WorkGroup"]) == workgroup
        assert referenced_id(props["Database"]) == database
        assert " FROM items" in props["QueryString"]


@pytest.mark.reliability(
    group=SECURITY,
    case="the public archive feed (PublicFeed=ENABLED)",
    must_hold="off by default; on, CloudFront reads only feed/ through Origin Access Control "
    "(origin path /feed; the bucket grants this distribution s3:GetObject on feed/* only), "
    "HTTPS only, GET and HEAD only",
)
def test_the_public_feed_is_off_by_default_and_reaches_only_the_feed_prefix(t: Template) -> None:
    assert t["Parameters"]["PublicFeed"]["Default"] == "DISABLED"
    condition = t["Conditions"]["HasPublicFeed"]["Fn::Equals"]
    assert referenced_id(condition[0]) == "PublicFeed" and condition[1] == "ENABLED"
    name, distribution = one(t, "AWS::CloudFront::Distribution")
    assert distribution["Condition"] == "HasPublicFeed"
    assert one(t, "AWS::CloudFront::OriginAccessControl")[1]["Condition"] == "HasPublicFeed"
    config = distribution["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginPath"] == "/feed" and "OriginAccessControlId" in origin
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")
    assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD"}
    grants = [
        s["Fn::If"]
        for p in resources_of_type(t, "AWS::S3::BucketPolicy").values()
        for s in statements(p["Properties"]["PolicyDocument"])
        if isinstance(s, dict) and "Fn::If" in s
    ]
    (grant,) = [g for g in grants if g[0] == "HasPublicFeed"]
    statement = grant[1]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert as_list(statement["Action"]) == ["s3:GetObject"]
    assert statement["Resource"] == {"Fn::Sub": "${ArchiveBucket.Arn}/feed/*"}
    source = statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source.endswith(f"distribution/${{{name}}}")
    output = t["Outputs"]["PublicFeedUrl"]
    assert output["Condition"] == "HasPublicFeed"


def test_the_archiver_may_publish_exports_and_feed_but_never_delete(t: Template) -> None:
    role = t["Resources"]["ArchiverFunctionRole"]["Properties"]["Policies"]
    granted = {
        (action, r["Fn::Sub"] if isinstance(r, dict) and "Fn::Sub" in r else str(r))
        for p in role
        for s in statements(p["PolicyDocument"])
        for action in as_list(s["Action"])
        for r in as_list(s["Resource"])
    }
    for prefix in ("exports", "feed"):
        for action in ("s3:GetObject", "s3:PutObject"):
            assert (action, f"${{ArchiveBucket.Arn}}/{prefix}/*") in granted
    assert not any("Delete" in action for action, _ in granted)
