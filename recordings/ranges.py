"""Parsing an HTTP ``Range`` header for recording playback, so a player can seek (issue 6).

Sans-IO: the web layer passes the header and the file size, and gets a byte range, None
(serve the whole file with 200) or RangeNotSatisfiable (answer 416 with
``Content-Range: bytes */<size>``).

RFC 9110 §14.1.2::

    Range         = ranges-specifier
    ranges-specifier = range-unit "=" range-set
    range-set     = 1#range-spec
    range-spec    = int-range / suffix-range / other-range
    int-range     = first-pos "-" [ last-pos ]
    suffix-range  = "-" suffix-length
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 9110 §14.2: a server MAY ignore Range; we do so for several ranges (multipart/byteranges
# buys a player nothing) and for a syntax we do not understand, and serve the whole file.
_INT_RANGE = re.compile(r"^(\d+)-(\d*)$")
_SUFFIX_RANGE = re.compile(r"^-(\d+)$")
# Digits beyond this cannot address a recording and would only make int() work hard.
MAX_POSITION_DIGITS = 19


class RangeNotSatisfiable(Exception):
    """No byte of the requested range exists (RFC 9110 §15.5.17, status 416)."""

    status_hint = 416

    def __init__(self, total: int) -> None:
        super().__init__(f"range not satisfiable for a {total}-byte file")
        self.total = total

    @property
    def content_range(self) -> str:
        return f"bytes */{self.total}"


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range
    total: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.total}"


def parse_range(header: str | None, total: int) -> ByteRange | None:
    """The single byte range ``header`` asks of a ``total``-byte file, or None for all of it."""
    if total < 0:
        raise ValueError("file size cannot be negative")
    if header is None:
        return None
    unit, sep, range_set = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    specs = [spec.strip() for spec in range_set.split(",") if spec.strip()]
    if len(specs) != 1 or len(specs[0]) > 2 * MAX_POSITION_DIGITS + 1:
        return None
    spec = specs[0]
    if match := _INT_RANGE.match(spec):
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else None
        if last is not None and last < first:
            return None  # invalid, not unsatisfiable (RFC 9110 §14.1.1): ignore it
        if first >= total:
            raise RangeNotSatisfiable(total)
        return ByteRange(first, total - 1 if last is None else min(last, total - 1), total)
    if match := _SUFFIX_RANGE.match(spec):
        suffix = int(match.group(1))
        if suffix == 0 or total == 0:
            raise RangeNotSatisfiable(total)
        return ByteRange(max(0, total - suffix), total - 1, total)
    return None
