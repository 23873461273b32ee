"""Decode a gzip/deflate body incrementally, never past a size cap."""

from __future__ import annotations

import zlib

from feed_archiver.errors import FetchError


def size_text(size: int) -> str:
    """A byte count for messages: "10 MiB", "64 KiB" or "1234 bytes"."""
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


class BoundedDecoder:
    """Decodes gzip/deflate incrementally and stops once the output passes the cap.

    `zlib` writes at most `max_length` bytes per call, so a gzip bomb never gets
    inflated beyond the cap, whatever its ratio.
    """

    def __init__(self, content_encoding: str, max_bytes: int, url: str) -> None:
        encoding = content_encoding.strip().lower()
        if encoding in ("", "identity"):
            self._wbits: int | None = None
        elif encoding in ("gzip", "x-gzip"):
            self._wbits = 16 + zlib.MAX_WBITS
        elif encoding == "deflate":
            self._wbits = zlib.MAX_WBITS  # zlib-wrapped; raw deflate is tried on failure
        else:
            raise FetchError(f"unsupported Content-Encoding {content_encoding!r} from {url}")
        self._encoding = encoding or "identity"
        self._max = max_bytes
        self._url = url
        self._parts: list[bytes] = []
        self._size = 0
        self._started = False
        self._obj = zlib.decompressobj(self._wbits) if self._wbits else None

    def feed(self, data: bytes) -> None:
        if self._obj is None:
            self._keep(data)
            return
        try:
            self._inflate(data)
        except zlib.error as exc:
            if self._encoding == "deflate" and not self._started:
                # Some servers send raw deflate under "deflate": start over as raw.
                self._wbits = -zlib.MAX_WBITS
                self._obj = zlib.decompressobj(self._wbits)
                self._parts, self._size = [], 0
                self._started = True
                self.feed(data)
                return
            raise FetchError(
                f"could not decode the {self._encoding} body of {self._url}: {exc}"
            ) from exc
        self._started = True

    def finish(self) -> bytes:
        if self._obj is not None and not self._obj.eof:
            raise FetchError(f"the {self._encoding} body of {self._url} ended early")
        return b"".join(self._parts)

    def _inflate(self, data: bytes) -> None:
        assert self._obj is not None and self._wbits is not None
        while data:
            # One byte more than the room left: enough to know the cap is passed.
            self._keep(self._obj.decompress(data, self._max - self._size + 1))
            if self._obj.eof:
                data = self._obj.unused_data
                if not data or self._encoding == "deflate":
                    return
                self._obj = zlib.decompressobj(self._wbits)  # the next gzip member
            else:
                data = self._obj.unconsumed_tail

    def _keep(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._max:
            what = "body" if self._obj is None else f"decoded {self._encoding} body"
            raise FetchError(f"{what} larger than {size_text(self._max)} cap from {self._url}")
        if chunk:
            self._parts.append(chunk)
