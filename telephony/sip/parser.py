"""Bytes to SIP messages (RFC 3261 §7, §18.3, §25): datagram parsing and stream framing.

Every malformed input raises ``RemoteSipError`` (with the status to answer); any other
exception escaping ``parse_message`` is a bug (a fuzz test holds us to it).
"""

from __future__ import annotations

import re
from typing import Final

from telephony.sip.errors import RemoteSipError
from telephony.sip.headers import COMPACT_FORMS, CSeq, Via, name_and_key, split_comma_list
from telephony.sip.limits import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    MAX_HEADER_COUNT,
    MAX_MAX_FORWARDS,
    MAX_MESSAGE_BYTES,
    MAX_VIA_COUNT,
)
from telephony.sip.message import Headers, SipRequest, SipResponse
from telephony.sip.uri import NameAddr, SipUri

__all__ = ["StreamFramer", "parse_message", "salvage_headers"]

# RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# TEXT-UTF8char excludes control characters; only HTAB may appear, and CR only as CRLF.
_BAD_CHAR_RE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Call-ID = word [ "@" word ] (RFC 3261 §25.1); word excludes whitespace and separators < > ,
_CALL_ID_RE: Final = re.compile(r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+(?:@[^\s@]+)?")
_SIP_VERSION: Final = "SIP/2.0"
_VERSION_RE: Final = re.compile(r"SIP/[0-9]+\.[0-9]+", re.IGNORECASE)

# RFC 3261 §8.1.1 mandatory request headers; Max-Forwards is deliberately absent from this
# list: old UAs omit it and §16.6 lets a proxy add it; `max_forwards` is then None.
_REQUIRED: Final = (
    ("via", "Via"),
    ("from", "From"),
    ("to", "To"),
    ("call-id", "Call-ID"),
    ("cseq", "CSeq"),
)
# Headers the parser reads while splitting lines; all but Via may appear only once.
_TRACKED: Final = frozenset(
    {"via", "from", "to", "call-id", "cseq", "max-forwards", "content-type", "content-length"}
)

_FOLD_RE: Final = re.compile(r"[ \t]*\r\n[ \t]+")
# Raw header names already validated, with their (canonical, key); bounded (hostile peers).
_VALID_NAMES: dict[str, tuple[str, str]] = {}
_VALID_NAMES_SIZE: Final = 1024


def _name(raw: str) -> tuple[str, str]:
    """(canonical name, lowercase key) of a header name received from the network."""
    name = raw.rstrip(" \t")  # RFC 3261 §7.3.1 allows whitespace before the colon
    if not _TOKEN_RE.fullmatch(name):
        raise RemoteSipError(f"bad header name {name[:50]!r}")
    hit = name_and_key(name)
    if len(_VALID_NAMES) < _VALID_NAMES_SIZE:
        _VALID_NAMES[raw] = hit
    return hit


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """Parse one complete message (a UDP datagram, or a frame from ``StreamFramer``).

    Datagram rules (RFC 3261 §18.3): bytes beyond Content-Length are discarded; a body
    shorter than Content-Length is an error; without Content-Length the body is the rest.
    Content-Length is not kept in ``headers``: serialisation derives it from ``body``.
    """
    if len(data) > MAX_MESSAGE_BYTES:
        raise RemoteSipError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}", 513)
    start = 0
    # RFC 3261 §7.5: implementations SHOULD ignore CRLFs before the start line.
    while data.startswith(b"\r\n", start):
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        if len(data) - start > MAX_HEADER_BYTES:
            raise RemoteSipError("header section too large", 513)
        raise RemoteSipError("no empty line after the headers (RFC 3261 §7.5)")
    if end - start > MAX_HEADER_BYTES:
        raise RemoteSipError(f"header section exceeds {MAX_HEADER_BYTES} bytes", 513)
    try:
        head = data[start:end].decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteSipError("header section is not UTF-8 (RFC 3261 §7.3)") from None
    if _BAD_CHAR_RE.search(head):
        raise RemoteSipError("control character in the header section")
    lines = head.split("\r\n")
    crlfs = len(lines) - 1
    if head.count("\n") != crlfs or head.count("\r") != crlfs:
        raise RemoteSipError("bare CR or LF in the header section (RFC 3261 §7.3.1)")
    if len(lines) - 1 > MAX_HEADER_COUNT:
        raise RemoteSipError(f"more than {MAX_HEADER_COUNT} header lines", 513)

    # Unfold (RFC 3261 §7.3.1: a line starting with SP/HTAB continues the previous one).
    if "\r\n " in head or "\r\n\t" in head:
        head = _FOLD_RE.sub(" ", head)
    lines = head.split("\r\n")
    items: list[tuple[str, str]] = []
    kept_keys: list[str] = []
    content_lengths: list[str] = []
    tracked: dict[str, str] = {}
    names = _VALID_NAMES
    for line in lines[1:]:
        raw_name, colon, value = line.partition(":")
        if not colon:
            raise RemoteSipError(f"header line without ':' {line[:80]!r}")
        hit = names.get(raw_name)
        if hit is None:
            hit = _name(raw_name)
        value = value.strip(" \t")
        key = hit[1]
        if key in _TRACKED:
            if key == "content-length":
                content_lengths.append(value)
                continue
            if key in tracked:
                if key != "via":
                    raise RemoteSipError(f"more than one {hit[0]} header")
                tracked["via"] = tracked["via"] + "," + value
            else:
                tracked[key] = value
        items.append((hit[0], value))
        kept_keys.append(key)
    headers = Headers._trusted(tuple(items), tuple(kept_keys))

    body = data[end + 4 :]
    if content_lengths:
        if any(v != content_lengths[0] for v in content_lengths):
            raise RemoteSipError("conflicting Content-Length headers")
        length = _parse_content_length(content_lengths[0])
        if length > len(body):
            raise RemoteSipError(
                f"Content-Length {length} exceeds the {len(body)} body bytes received"
            )
        body = body[:length]
    if len(body) > MAX_BODY_BYTES:
        raise RemoteSipError(f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES}", 413)

    first = lines[0]
    msg: SipRequest | SipResponse
    if first.startswith("SIP/") or first[:4].upper() == "SIP/":
        status, reason = _status_line(first)
        msg = SipResponse(status, reason, headers, body)
    else:
        msg = _request(first, headers, body)
    _validate(msg, tracked)
    return msg


def _parse_content_length(value: str) -> int:
    # Content-Length = 1*DIGIT (RFC 3261 §20.14); no sign, no spaces, bounded digits.
    if not value.isdigit() or not value.isascii() or len(value) > 10:
        raise RemoteSipError(f"bad Content-Length {value[:20]!r}")
    length = int(value)
    if length > MAX_BODY_BYTES:
        raise RemoteSipError(f"Content-Length {length} exceeds {MAX_BODY_BYTES}", 413)
    return length


def _status_line(first: str) -> tuple[int, str]:
    # Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
    parts = first.split(" ", 2)
    if len(parts) < 2:
        raise RemoteSipError(f"malformed status line {first[:80]!r}")
    if parts[0].upper() != _SIP_VERSION:
        raise RemoteSipError(f"unsupported SIP version {parts[0][:20]!r}", 505)
    code = parts[1]
    if len(code) != 3 or not code.isdigit() or not code.isascii() or not "100" <= code <= "699":
        raise RemoteSipError(f"bad status code {code[:10]!r}")
    return int(code), parts[2] if len(parts) == 3 else ""


def _request(first: str, headers: Headers, body: bytes) -> SipRequest:
    # Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 §7.1): single spaces.
    parts = first.split(" ")
    if len(parts) != 3:
        raise RemoteSipError(f"malformed request line {first[:80]!r}")
    method, uri_text, version = parts
    if not _TOKEN_RE.fullmatch(method):
        raise RemoteSipError(f"bad method {method[:30]!r}")
    if version.upper() != _SIP_VERSION:
        if _VERSION_RE.fullmatch(version):
            raise RemoteSipError(f"unsupported SIP version {version!r}", 505)
        raise RemoteSipError(f"bad SIP version {version[:20]!r}")
    return SipRequest(method, SipUri.parse(uri_text), headers, body)


def _validate(msg: SipRequest | SipResponse, tracked: dict[str, str]) -> None:
    """Check mandatory headers and pre-fill the message's cached typed accessors."""
    for key, name in _REQUIRED:
        if key not in tracked:
            raise RemoteSipError(f"missing {name} header (RFC 3261 §8.1.1)")
    via_text = tracked["via"]
    via_values = split_comma_list(via_text) if "," in via_text else [via_text]
    if not via_values or not via_values[0]:
        raise RemoteSipError("empty Via header")
    if len(via_values) > MAX_VIA_COUNT:
        raise RemoteSipError(f"more than {MAX_VIA_COUNT} Via entries", 483)
    vias = tuple([Via.parse(v) for v in via_values])
    cseq = CSeq.parse(tracked["cseq"])
    call_id = tracked["call-id"]
    if not _CALL_ID_RE.fullmatch(call_id):
        raise RemoteSipError(f"bad Call-ID {call_id[:80]!r}")
    from_ = NameAddr.parse(tracked["from"])
    to = NameAddr.parse(tracked["to"])
    cache = msg.__dict__
    if isinstance(msg, SipRequest):
        if cseq.method != msg.method:
            raise RemoteSipError(
                f"CSeq method {cseq.method!r} does not match {msg.method!r} (RFC 3261 §8.1.1.5)"
            )
        # Read Max-Forwards now so a bad value is a 400 here, not an exception later.
        mf = tracked.get("max-forwards")
        if mf is not None:
            if not (mf.isdigit() and mf.isascii() and len(mf) <= 3 and int(mf) <= MAX_MAX_FORWARDS):
                raise RemoteSipError(f"bad Max-Forwards {mf[:20]!r}")
            cache["max_forwards"] = int(mf)
        else:
            cache["max_forwards"] = None
    cache["vias"] = vias
    cache["cseq"] = cseq
    cache["call_id"] = call_id
    cache["from_"] = from_
    cache["to"] = to


def salvage_headers(data: bytes) -> tuple[str, Headers] | None:
    """Best effort (method, headers) of an unparsable *request*, to answer it with an error.

    Returns None for responses, ACKs (never answered, §17.2.1) and anything whose header
    lines cannot be read at all; the caller then drops the datagram silently.
    """
    try:
        end = data.find(b"\r\n\r\n")
        head = data[: end if end >= 0 else min(len(data), MAX_HEADER_BYTES)]
        text = head.lstrip(b"\r\n").decode("utf-8", errors="replace")
        lines = text.split("\r\n")
        method = lines[0].split(" ", 1)[0]
        if not method or method.upper().startswith("SIP/") or not method.isprintable():
            return None
        if method == "ACK":
            return None
        items: list[tuple[str, str]] = []
        for line in lines[1 : MAX_HEADER_COUNT + 1]:
            name, colon, value = line.partition(":")
            name = name.strip()
            if not colon or not _TOKEN_RE.fullmatch(name):
                continue
            canon = COMPACT_FORMS.get(name.lower(), name)
            if canon.lower() in ("via", "from", "to", "call-id", "cseq"):
                if any(c in value for c in "\r\n\0"):
                    continue
                items.append((canon, value.strip()))
        headers = Headers(items)
        vias = headers.get_all("Via")
        if not vias:
            return None
        Via.parse(vias[0])
        return method, headers
    except RemoteSipError:
        return None


# Content-Length inside a header section being framed (RFC 3261 §20.14, compact form "l").
_CL_RE: Final = re.compile(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*([^\r]*)\r\n", re.IGNORECASE)


class StreamFramer:
    """Cuts a TCP/TLS byte stream into message frames (RFC 3261 §18.3).

    ``feed`` returns the complete frames (bytes, each then given to ``parse_message``).
    CRLF keep-alives between messages are skipped (RFC 5626 §3.5.1). On a stream,
    Content-Length is mandatory; when framing is impossible ``feed`` raises RemoteSipError
    and the framer stays broken: the connection must be closed.
    """

    __slots__ = ("_broken", "_buf", "_header_end", "_scan")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._scan = 0
        self._header_end = -1
        self._broken = False

    def feed(self, data: bytes) -> list[bytes]:
        if self._broken:
            raise RemoteSipError("stream framing was lost earlier")
        self._buf += data
        frames: list[bytes] = []
        try:
            while True:
                frame = self._next()
                if frame is None:
                    return frames
                frames.append(frame)
        except RemoteSipError:
            self._broken = True
            raise

    @property
    def buffered(self) -> int:
        return len(self._buf)

    @property
    def pending(self) -> bytes:
        """The bytes not yet framed (after an error: the offending message, to answer it)."""
        return bytes(self._buf)

    def _next(self) -> bytes | None:
        buf = self._buf
        if self._header_end < 0:
            lead = 0
            n = len(buf)
            while lead < n and buf[lead] in (0x0D, 0x0A):
                lead += 1
            if lead:  # keep-alive CRLFs between messages (RFC 5626 §3.5.1)
                del buf[:lead]
                self._scan = 0
            end = buf.find(b"\r\n\r\n", max(0, self._scan - 3))
            if end < 0:
                if len(buf) > MAX_HEADER_BYTES:
                    raise RemoteSipError("header section too large on stream", 513)
                self._scan = len(buf)
                return None
            if end > MAX_HEADER_BYTES:
                raise RemoteSipError("header section too large on stream", 513)
            self._header_end = end
        end = self._header_end
        found = _CL_RE.findall(buf, 0, end + 2)
        if not found:
            raise RemoteSipError("Content-Length is mandatory on stream transports (§18.3)")
        values = {v.strip() for v in found}
        if len(values) != 1:
            raise RemoteSipError("conflicting Content-Length headers on stream")
        length = _parse_content_length(values.pop().decode("ascii", errors="replace"))
        total = end + 4 + length
        if len(buf) < total:
            return None
        frame = bytes(buf[:total])
        del buf[:total]
        self._header_end = -1
        self._scan = 0
        return frame
