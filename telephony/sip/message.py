"""SIP requests and responses as immutable values, their header map and serialisation."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Final

from telephony.sip.errors import LocalSipError, RemoteSipError
from telephony.sip.headers import (
    LIST_HEADERS,
    CSeq,
    Via,
    header_key,
    name_and_key,
    split_comma_list,
)
from telephony.sip.limits import MAX_EXPIRES, MAX_MAX_FORWARDS
from telephony.sip.uri import NameAddr, SipUri

__all__ = [
    "MAGIC_COOKIE",
    "REASON_PHRASES",
    "Headers",
    "Method",
    "SipMessage",
    "SipRequest",
    "SipResponse",
    "make_response",
    "new_branch",
    "new_call_id",
    "new_tag",
]

# RFC 3261 §8.1.1.7: a branch starting with this cookie marks an RFC 3261 transaction id.
MAGIC_COOKIE: Final = "z9hG4bK"


class Method(StrEnum):
    INVITE = "INVITE"
    ACK = "ACK"
    BYE = "BYE"
    CANCEL = "CANCEL"
    REGISTER = "REGISTER"
    OPTIONS = "OPTIONS"
    INFO = "INFO"  # RFC 6086
    UPDATE = "UPDATE"  # RFC 3311
    PRACK = "PRACK"  # RFC 3262
    SUBSCRIBE = "SUBSCRIBE"  # RFC 6665
    NOTIFY = "NOTIFY"  # RFC 6665
    REFER = "REFER"  # RFC 3515
    MESSAGE = "MESSAGE"  # RFC 3428


# RFC 3261 §21 (plus RFC 3265/3329/4028/6665 codes we may send).
REASON_PHRASES: Final[dict[int, str]] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


def new_branch() -> str:
    """A fresh RFC 3261 branch (magic cookie + 64 random bits)."""
    return MAGIC_COOKIE + secrets.token_hex(8)


def new_tag() -> str:
    """A fresh From/To tag: 'at least 32 bits of randomness' (RFC 3261 §19.3)."""
    return secrets.token_hex(6)


def new_call_id(host: str | None = None) -> str:
    """A globally unique Call-ID (RFC 3261 §8.1.1.4), ``random@host`` when a host is given."""
    token = secrets.token_hex(12)
    return f"{token}@{host}" if host else token


class Headers:
    """Immutable, ordered, case-insensitive multi-map of header fields.

    Names are stored in canonical spelling (compact forms expanded), values as on the wire.
    ``get_all`` splits comma lists for list-type headers (Via, Contact, Route, ...).
    """

    __slots__ = ("_items", "_keys")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        pairs = []
        keys = []
        for name, value in items:
            if "\r" in value or "\n" in value or "\0" in value:
                raise LocalSipError(f"header {name!r} value contains CR, LF or NUL")
            canon, key = name_and_key(name)
            pairs.append((canon, value))
            keys.append(key)
        self._items: tuple[tuple[str, str], ...] = tuple(pairs)
        self._keys: tuple[str, ...] = tuple(keys)

    @classmethod
    def _trusted(cls, items: tuple[tuple[str, str], ...], keys: tuple[str, ...]) -> Headers:
        """Build from already-canonical names (the parser's fast path)."""
        self = cls.__new__(cls)
        self._items = items
        self._keys = keys
        return self

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and header_key(name) in self._keys

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"

    def raw_values(self, name: str) -> list[str]:
        """Each header line's value for ``name``, unsplit, in order."""
        key = header_key(name)
        return [v for k, (_, v) in zip(self._keys, self._items, strict=True) if k == key]

    def get_all(self, name: str) -> list[str]:
        """All values; comma lists are split for list-type headers (RFC 3261 §7.3.1)."""
        key = header_key(name)
        values = [v for k, (_, v) in zip(self._keys, self._items, strict=True) if k == key]
        if key in LIST_HEADERS:
            return [part for v in values for part in split_comma_list(v)]
        return values

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value (first list element for list-type headers), or ``default``."""
        key = header_key(name)
        for k, (_, v) in zip(self._keys, self._items, strict=True):
            if k == key:
                if key in LIST_HEADERS:
                    parts = split_comma_list(v)
                    if parts:
                        return parts[0]
                    continue
                return v
        return default

    def with_added(self, name: str, value: str, *, first: bool = False) -> Headers:
        """A copy with one more field, at the end or (``first=True``) at the top."""
        added = Headers(((name, value),))
        if first:
            return Headers._trusted(added._items + self._items, added._keys + self._keys)
        return Headers._trusted(self._items + added._items, self._keys + added._keys)

    def with_replaced(self, name: str, value: str) -> Headers:
        """A copy where all ``name`` fields become one field, at the first one's position."""
        added = Headers(((name, value),))
        key = added._keys[0]
        items: list[tuple[str, str]] = []
        done = False
        for k, item in zip(self._keys, self._items, strict=True):
            if k == key:
                if not done:
                    items.append(added._items[0])
                    done = True
            else:
                items.append(item)
        if not done:
            items.append(added._items[0])
        return Headers._trusted(tuple(items), tuple(n.lower() for n, _ in items))

    def with_first_replaced(self, name: str, value: str) -> Headers:
        """A copy where only the first ``name`` field gets ``value`` (others stay)."""
        key = header_key(name)
        try:
            index = self._keys.index(key)
        except ValueError:
            return self.with_added(name, value)
        if "\r" in value or "\n" in value or "\0" in value:
            raise LocalSipError(f"header {name!r} value contains CR, LF or NUL")
        items = list(self._items)
        items[index] = (items[index][0], value)
        return Headers._trusted(tuple(items), self._keys)

    def without(self, name: str) -> Headers:
        """A copy with every ``name`` field removed."""
        key = header_key(name)
        keep = [i for i, k in enumerate(self._keys) if k != key]
        return Headers._trusted(
            tuple(self._items[i] for i in keep), tuple(self._keys[i] for i in keep)
        )


def _required(headers: Headers, name: str) -> str:
    value = headers.get(name)
    if value is None:
        raise RemoteSipError(f"missing {name} header")
    return value


def _int_header(headers: Headers, name: str, maximum: int) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit() or not value.isascii() or len(value) > 10 or int(value) > maximum:
        raise RemoteSipError(f"bad {name} value {value[:20]!r}")
    return int(value)


class SipMessage:
    """Typed, cached accessors shared by requests and responses.

    The accessors parse on first use and cache (the parser pre-fills the ones it validated);
    that is why the message classes are frozen dataclasses without ``slots``.
    """

    headers: Headers
    body: bytes

    @cached_property
    def call_id(self) -> str:
        return _required(self.headers, "Call-ID").strip()

    @cached_property
    def cseq(self) -> CSeq:
        return CSeq.parse(_required(self.headers, "CSeq"))

    @cached_property
    def from_(self) -> NameAddr:
        return NameAddr.parse(_required(self.headers, "From"))

    @cached_property
    def to(self) -> NameAddr:
        return NameAddr.parse(_required(self.headers, "To"))

    @cached_property
    def vias(self) -> tuple[Via, ...]:
        return tuple(Via.parse(v) for v in self.headers.get_all("Via"))

    @property
    def top_via(self) -> Via:
        vias = self.vias
        if not vias:
            raise RemoteSipError("missing Via header")
        return vias[0]

    @cached_property
    def contacts(self) -> tuple[NameAddr, ...]:
        """Contact values; the REGISTER wildcard ``*`` is reported by ``contact_wildcard``."""
        return tuple(NameAddr.parse(v) for v in self.headers.get_all("Contact") if v != "*")

    @property
    def contact_wildcard(self) -> bool:
        return "*" in self.headers.get_all("Contact")

    @cached_property
    def max_forwards(self) -> int | None:
        return _int_header(self.headers, "Max-Forwards", MAX_MAX_FORWARDS)

    @property
    def content_type(self) -> str | None:
        """The Content-Type value as sent (media type plus parameters), or None."""
        value = self.headers.get("Content-Type")
        return value.strip() if value is not None else None

    @property
    def media_type(self) -> str | None:
        """The lowercase media type without parameters, e.g. ``application/sdp``."""
        value = self.content_type
        return value.partition(";")[0].strip().lower() if value is not None else None

    @cached_property
    def expires(self) -> int | None:
        return _int_header(self.headers, "Expires", MAX_EXPIRES)

    @property
    def routes(self) -> tuple[NameAddr, ...]:
        return tuple(NameAddr.parse(v) for v in self.headers.get_all("Route"))

    @property
    def record_routes(self) -> tuple[NameAddr, ...]:
        return tuple(NameAddr.parse(v) for v in self.headers.get_all("Record-Route"))

    def _serialize(self, start_line: str) -> bytes:
        parts = [start_line]
        for name, value in self.headers:
            if name != "Content-Length":
                parts.append(f"{name}: {value}")
        parts.append(f"Content-Length: {len(self.body)}\r\n\r\n")
        return "\r\n".join(parts).encode() + self.body


@dataclass(frozen=True)
class SipRequest(SipMessage):
    """A request. ``method`` is a str so unknown methods survive (compare with ``Method``)."""

    method: str
    uri: SipUri
    headers: Headers
    body: bytes = b""

    def serialize(self) -> bytes:
        """Wire bytes; Content-Length is always written from ``len(body)``."""
        return self._serialize(f"{self.method} {self.uri} SIP/2.0")

    def __bytes__(self) -> bytes:
        return self.serialize()


@dataclass(frozen=True)
class SipResponse(SipMessage):
    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    def serialize(self) -> bytes:
        """Wire bytes; Content-Length is always written from ``len(body)``."""
        return self._serialize(f"SIP/2.0 {self.status} {self.reason}")

    def __bytes__(self) -> bytes:
        return self.serialize()

    @property
    def is_provisional(self) -> bool:
        return self.status < 200

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300


def make_response(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> SipResponse:
    """A response to ``request`` per RFC 3261 §8.2.6.2.

    Copies every Via (in order), From, Call-ID and CSeq; copies To and adds ``to_tag`` when
    the request's To has none (a 100 Trying may omit it). Record-Route is NOT copied: that is
    the dialog layer's decision (§12.1.1). ``headers`` are appended after those.
    """
    if not 100 <= status <= 699:
        raise LocalSipError(f"status {status} is not a SIP status code (RFC 3261 §7.2)")
    items: list[tuple[str, str]] = []
    keys: list[str] = []
    seen: set[str] = set()
    for key, item in zip(request.headers._keys, request.headers._items, strict=True):
        if key == "via" or (key in _COPIED and key not in seen):
            if key == "to" and to_tag is not None and request.to.tag is None:
                item = ("To", str(request.to.with_tag(to_tag)))
            items.append(item)
            keys.append(key)
            seen.add(key)
    result = Headers._trusted(tuple(items), tuple(keys))
    extra = Headers(headers)
    if len(extra):
        result = Headers._trusted(result._items + extra._items, result._keys + extra._keys)
    return SipResponse(
        status=status,
        reason=reason if reason is not None else REASON_PHRASES.get(status, "Unknown"),
        headers=result,
        body=body,
    )


_COPIED: Final = frozenset({"from", "to", "call-id", "cseq"})
