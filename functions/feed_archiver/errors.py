"""Every exception the archiver raises on purpose, in one place."""

from __future__ import annotations


class FeedArchiverError(Exception):
    """Base class: an error a person can read and act on (printed as one line)."""


class ConfigError(FeedArchiverError):
    """A setting is missing or invalid."""


class FetchError(FeedArchiverError):
    """The feed could not be fetched.

    `status` is the last HTTP status when there was one; `gone` is true for
    410 Gone, which marks a feed inactive; `retry_after` is the wait in seconds
    the server asked for (Retry-After), when it did.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        gone: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.gone = gone
        self.retry_after = retry_after


class BlockedAddressError(FetchError):
    """The URL resolves to an address the fetcher refuses (private, loopback, metadata...)."""


class FeedParseError(FeedArchiverError):
    """The body is not a feed at all (an HTML page, an empty body...)."""


class StorageError(FeedArchiverError):
    """S3 or DynamoDB refused or failed a request in a way a retry within the run cannot fix."""
