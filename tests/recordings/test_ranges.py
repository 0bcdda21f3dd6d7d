"""Range headers for seeking in a recording (RFC 9110 §14): a range, the whole file, or 416."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recordings.ranges import ByteRange, RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 99, 1000)),
        ("bytes=500-", ByteRange(500, 999, 1000)),
        ("bytes=-100", ByteRange(900, 999, 1000)),
        ("bytes=-5000", ByteRange(0, 999, 1000)),
        ("bytes=900-5000", ByteRange(900, 999, 1000)),
        ("Bytes = 10-19", ByteRange(10, 19, 1000)),  # lenient about case and spaces
        ("BYTES=10-19", ByteRange(10, 19, 1000)),
        (None, None),
        ("items=0-1", None),
        ("bytes=0-1,5-6", None),
        ("bytes=5-1", None),
        ("bytes=abc", None),
        ("bytes=", None),
    ],
)
def test_parse_range(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 1000) == expected


def test_content_range_headers() -> None:
    assert ByteRange(0, 99, 1000).content_range == "bytes 0-99/1000"
    assert ByteRange(0, 99, 1000).length == 100
    with pytest.raises(RangeNotSatisfiable) as refused:
        parse_range("bytes=1000-", 1000)
    assert refused.value.content_range == "bytes */1000"
    assert refused.value.status_hint == 416
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-0", 1000)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-10", 0)


@given(st.text(max_size=60), st.integers(min_value=0, max_value=10**9))
def test_any_header_gives_a_range_inside_the_file_none_or_416(header: str, total: int) -> None:
    try:
        result = parse_range(header, total)
    except RangeNotSatisfiable:
        return
    if result is not None:
        assert 0 <= result.start <= result.end < total
