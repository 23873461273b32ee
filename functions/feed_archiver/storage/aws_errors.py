"""The one place where an AWS failure becomes a StorageError a person can read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from feed_archiver.errors import StorageError
from feed_archiver.storage.clients import describe_aws_error


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ClientError (ConditionalCheckFailedException...), else None."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


@contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Raise any botocore failure inside the block as StorageError("<action> failed: ...")."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"{action} failed: {describe_aws_error(exc)}") from exc
