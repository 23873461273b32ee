"""AWS clients, built once per cold start and injected everywhere else.

The endpoint comes from the standard AWS_ENDPOINT_URL (boto3 reads it), so the
same code talks to moto's server locally and to AWS when deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Clients:
    s3: Any
    dynamodb: Any


def make_clients(*, max_pool_connections: int = 32) -> Clients:
    """Create the S3 and DynamoDB clients with bounded timeouts and standard retries."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=5,
        read_timeout=20,
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=max_pool_connections,
        user_agent_extra="feed-archiver",
    )
    from feed_archiver.settings import aws_region

    session = boto3.session.Session(region_name=aws_region())
    return Clients(
        s3=session.client("s3", config=config),
        dynamodb=session.client("dynamodb", config=config),
    )


_HINTS = {
    "NoSuchBucket": "the archive bucket does not exist: check ARCHIVE_BUCKET or run `feed-archiver init`",
    "ResourceNotFoundException": "the archive table does not exist: check ARCHIVE_TABLE or run `feed-archiver init`",
    "AccessDenied": "access denied: check the credentials' permissions on the bucket",
    "AccessDeniedException": "access denied: check the credentials' permissions on the table",
    "ExpiredToken": "the AWS credentials have expired: refresh them",
    "ExpiredTokenException": "the AWS credentials have expired: refresh them",
    "UnrecognizedClientException": "the AWS credentials are not valid for this endpoint",
    "InvalidAccessKeyId": "the AWS access key is not valid for this endpoint",
}


def describe_aws_error(exc: Exception) -> str:
    """One readable line for a botocore error, with what to check."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if isinstance(exc, NoRegionError):
        return "no AWS region set: set AWS_REGION (or AWS_DEFAULT_REGION)"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach the storage endpoint ({exc.kwargs.get('endpoint_url')}): is it running? check AWS_ENDPOINT_URL"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        return _HINTS.get(code, f"{code}: {error.get('Message', '')}".strip(": "))
    return str(exc) or type(exc).__name__
