"""Create the archive's bucket and table from template.yaml's own definitions.

Used by `feed-archiver init` (moto or any local endpoint) and by the tests, so
the local store and the deployed stack can never disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from feed_archiver.errors import ConfigError

BUCKET_RESOURCE = "ArchiveBucket"
TABLE_RESOURCE = "ArchiveTable"


def find_template(start: Path | None = None) -> Path:
    """template.yaml in the current folder or the nearest parent."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "template.yaml"
        if candidate.is_file():
            return candidate
    raise ConfigError("template.yaml not found here or in a parent folder: pass --template PATH")


def load_template(path: Path) -> dict[str, Any]:
    """Read a CloudFormation/SAM template, keeping short-form tags (!Ref, !Sub...) as dicts."""
    import yaml

    class CfnLoader(yaml.SafeLoader):
        pass

    def tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    CfnLoader.add_multi_constructor("!", tagged)
    try:
        data: dict[str, Any] = yaml.load(path.read_text("utf-8"), Loader=CfnLoader)  # noqa: S506
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    return data


def resource_properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    try:
        props: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    except KeyError:
        raise ConfigError(f"template has no {logical_id} resource with Properties") from None
    return props


def table_definition(template: dict[str, Any], table_name: str) -> dict[str, Any]:
    """create_table keyword arguments from the template's table resource."""
    props = resource_properties(template, TABLE_RESOURCE)
    definition: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    indexes = props.get("GlobalSecondaryIndexes")
    if indexes:
        definition["GlobalSecondaryIndexes"] = [
            {
                "IndexName": i["IndexName"],
                "KeySchema": i["KeySchema"],
                "Projection": i["Projection"],
            }
            for i in indexes
        ]
    return definition


def create_bucket(s3: Any, bucket: str, template: dict[str, Any]) -> bool:
    """Create the bucket as the template declares it; False if it already existed."""
    props = resource_properties(template, BUCKET_RESOURCE)
    region = s3.meta.region_name
    # us-east-1 answers 200 to creating a bucket you already own: ask first.
    created = not _bucket_exists(s3, bucket)
    if created:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration=props["VersioningConfiguration"]
        )
    if "BucketEncryption" in props:
        s3.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration=_encryption(props["BucketEncryption"])
        )
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=bucket, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    return created


def _bucket_exists(s3: Any, bucket: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise
    return True


def _encryption(config: dict[str, Any]) -> dict[str, Any]:
    rules = []
    for rule in config["ServerSideEncryptionConfiguration"]:
        default = dict(rule["ServerSideEncryptionByDefault"])
        # A KMS key given as an intrinsic (!GetAtt) cannot be resolved locally: use the default key.
        if isinstance(default.get("KMSMasterKeyID"), dict):
            default.pop("KMSMasterKeyID")
        entry: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": default}
        if "BucketKeyEnabled" in rule:
            entry["BucketKeyEnabled"] = rule["BucketKeyEnabled"]
        rules.append(entry)
    return {"Rules": rules}


def create_table(ddb: Any, table: str, template: dict[str, Any]) -> bool:
    """Create the table as the template declares it and wait for it; False if it existed."""
    try:
        ddb.create_table(**table_definition(template, table))
    except ddb.exceptions.ResourceInUseException:
        return False
    ddb.get_waiter("table_exists").wait(
        TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    return True
