"""`feed-archiver import`: saved feed files (plain or gzipped, files or folders) into the archive."""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feed_archiver.clock import parse_rfc3339, rfc3339
from feed_archiver.history.snapshots import (
    VIA_IMPORT,
    HistoryError,
    HistoryRun,
    HistoryTally,
    Snapshot,
    feed_time,
)
from feed_archiver.progress import ProgressFactory, no_progress
from feed_archiver.storage import Store

# What a folder contributes: feed-looking files. A file named on the command line is always read.
FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".rdf", ".gz"})
# A raw/ snapshot's name carries its fetch time: <fetched at>-<hash12>.xml.gz
_RAW_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)-[0-9a-f]{12}\.xml(?:\.gz)?$")
_GZIP_MAGIC = b"\x1f\x8b"


class FeedFileError(HistoryError):
    """One file cannot be read as a feed body (reported; the others continue)."""


@dataclass(frozen=True)
class FeedFile:
    path: Path
    seen_at: str  # when this copy was current: raw/ name, else feed date, else mtime


def find_feed_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files named, and the feed files under the folders named (recursively), once each."""
    found: dict[Path, None] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden and child.suffix.lower() in FEED_SUFFIXES:
                    found.setdefault(child.resolve(), None)
        elif path.is_file():
            found.setdefault(path.resolve(), None)
        else:
            raise HistoryError(f"no such file or folder: {given}")
    if not found:
        raise HistoryError(
            f"no feed files ({', '.join(sorted(FEED_SUFFIXES))}) under {', '.join(map(str, paths))}"
        )
    return list(found)


def read_feed_file(path: Path, max_bytes: int) -> bytes:
    """The file's feed body, gunzipped if gzipped, never more than `max_bytes` decoded."""
    try:
        with path.open("rb") as raw:
            if raw.read(2) == _GZIP_MAGIC:
                raw.seek(0)
                with gzip.GzipFile(fileobj=raw) as unzipped:
                    body = unzipped.read(max_bytes + 1)  # bounded: a small .gz can inflate hugely
            else:
                raw.seek(0)
                body = raw.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise FeedFileError(f"cannot read {path}: {exc}") from exc
    if len(body) > max_bytes:
        raise FeedFileError(f"{path} is larger than {max_bytes} bytes (FETCH_MAX_BYTES)")
    return body


def snapshot_time(path: Path, body: bytes) -> datetime:
    """When this copy was current: a raw/ snapshot's fetch time, else the feed's date, else mtime."""
    named = _RAW_NAME.match(path.name)
    if named:
        return parse_rfc3339(named.group(1))
    return feed_time(body) or datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def date_files(
    paths: Sequence[Path], max_bytes: int, *, now: datetime
) -> tuple[list[FeedFile], list[tuple[str, str]]]:
    """Every readable file with its time, oldest first (so later edits win); and the unreadable."""
    dated: list[FeedFile] = []
    failed: list[tuple[str, str]] = []
    for path in paths:
        try:
            moment = min(snapshot_time(path, read_feed_file(path, max_bytes)), now)
        except (FeedFileError, OSError) as exc:
            failed.append((str(path), str(exc)))
            continue
        dated.append(FeedFile(path, rfc3339(moment)))
    dated.sort(key=lambda f: (f.seen_at, str(f.path)))
    return dated, failed


def import_files(
    store: Store,
    paths: Sequence[str | Path],
    *,
    feed_url: str,
    max_bytes: int,
    dry_run: bool = False,
    pool_size: int = 16,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: ProgressFactory = no_progress,
) -> HistoryTally:
    """Import saved feed files under `feed_url`, oldest first. A bad file is recorded, not raised."""
    moment = now()
    dated, unreadable = date_files(find_feed_files(paths), max_bytes, now=moment)
    run = HistoryRun(store, via=VIA_IMPORT, dry_run=dry_run, pool_size=pool_size)
    run.tally.failed.extend(unreadable)
    bar = progress(len(dated), "file")
    try:
        for feed_file in dated:
            try:
                body = read_feed_file(feed_file.path, max_bytes)
            except FeedFileError as exc:  # changed or vanished since it was dated
                run.tally.failed.append((str(feed_file.path), str(exc)))
                continue
            snapshot = Snapshot(
                name=str(feed_file.path), seen_at=feed_file.seen_at, body=body, base_url=feed_url
            )
            run.add(snapshot, feed_url)
            bar.update(1)
            bar.set_postfix(run.tally.postfix())
    finally:
        bar.close()
    return run.tally
