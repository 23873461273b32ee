"""Every exception the archiver raises on purpose, in one place."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every command's exit code: 0 done; 1 something failed (the rest was done, or verify
    found drift); 2 nothing could start (a setting, the storage, the command line)."""

    OK = 0
    FAILED = 1
    USAGE = 2


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


class RobotsDisallowedError(FetchError):
    """robots.txt does not let the archiver fetch a URL.

    `unavailable` is true when robots.txt itself could not be read (5xx, timeout):
    then nothing on that host is fetched for now, as Google does.
    """

    def __init__(self, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.unavailable = unavailable


class FeedParseError(FeedArchiverError):
    """The body is not a feed at all (an HTML page, an empty body...)."""


class StorageError(FeedArchiverError):
    """S3 or DynamoDB refused or failed a request in a way a retry within the run cannot fix."""


class RawSnapshotMissing(StorageError):
    """A raw/ snapshot no longer exists (the lifecycle rule expired it, or it was deleted)."""
