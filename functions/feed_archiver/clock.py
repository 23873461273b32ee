"""The archive's one time format: RFC 3339 in UTC, to the second, with a Z."""

from __future__ import annotations

from datetime import UTC, datetime

# No feed item is older than this: the web began in 1990-91, RSS in 1999, ICMPD in
# 1993. An earlier date is a placeholder (Hugo's and Go's/.NET's 0001-01-01 for
# "no date", a zero Unix time 1970-01-01), taken as no date, as a future one is.
DATE_FLOOR = datetime(1990, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """UTC timestamp with a Z, to the second: the archive's one time format.

    The year always has four digits: strftime's %Y does not pad on Linux (year 1 is "1").
    """
    m = moment.astimezone(UTC)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 timestamp (Z or an offset) as an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
