"""The load generator's own minimal SIP/SDP text: build a caller's requests, read responses.

Deliberately independent of ``telephony.sip`` (the service under test must not be measured
with its own parser on both ends) and deliberately small: one UDP caller per dialog, no
forking, no authentication. Whatever the benchmark cannot parse is dropped and counted by the
caller, never raised into the event loop.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

# RFC 3261 §8.1.1.7: every branch of an RFC 3261 client starts with the magic cookie.
BRANCH_COOKIE = "z9hG4bK"
MAX_FORWARDS = 70  # RFC 3261 §8.1.1.6
# RFC 3261 §7.3.3 compact header names the service might use.
_COMPACT = {
    "i": "call-id",
    "f": "from",
    "t": "to",
    "v": "via",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
}
SDP_CONTENT_TYPE = "application/sdp"


class SipWireError(Exception):
    """A datagram the benchmark cannot read as SIP."""


@dataclass(frozen=True, slots=True)
class SipMessage:
    """A parsed datagram: a request (method set) or a response (status set)."""

    method: str | None
    request_uri: str | None
    status: int | None
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str:
        values = self.headers.get(name)
        if not values:
            raise SipWireError(f"missing {name} header")
        return values[0]

    @property
    def call_id(self) -> str:
        return self.header("call-id").strip()

    @property
    def cseq(self) -> tuple[int, str]:
        number, _, method = self.header("cseq").strip().partition(" ")
        return int(number), method.strip()

    @property
    def to_tag(self) -> str | None:
        return _tag_of(self.header("to"))

    @property
    def contact_uri(self) -> str | None:
        values = self.headers.get("contact")
        if not values:
            return None
        value = values[0]
        if "<" in value:
            return value.split("<", 1)[1].split(">", 1)[0]
        return value.split(";", 1)[0].strip()


def _tag_of(value: str) -> str | None:
    for param in value.split(";")[1:]:
        name, _, tag = param.partition("=")
        if name.strip().lower() == "tag":
            return tag.strip()
    return None


def parse(data: bytes) -> SipMessage:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise SipWireError("no end of headers")
    try:
        lines = head.decode("utf-8").split("\r\n")
    except UnicodeDecodeError as exc:
        raise SipWireError("headers are not UTF-8") from exc
    start = lines[0].split(" ", 2)
    if len(start) < 3:
        raise SipWireError(f"bad start line {lines[0]!r}")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            continue
        key = name.strip().lower()
        headers.setdefault(_COMPACT.get(key, key), []).append(value.strip())
    if start[0] == "SIP/2.0":
        try:
            status = int(start[1])
        except ValueError as exc:
            raise SipWireError(f"bad status {start[1]!r}") from exc
        return SipMessage(None, None, status, headers, body)
    return SipMessage(start[0], start[1], None, headers, body)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return BRANCH_COOKIE + secrets.token_hex(8)


def offer_sdp(host: str, rtp_port: int, session_id: int) -> bytes:
    """PCMU and PCMA with RFC 4733 events, 20 ms: what a desk phone offers."""
    return (
        f"v=0\r\no=bench {session_id} 1 IN IP4 {host}\r\ns=bench\r\nc=IN IP4 {host}\r\n"
        f"t=0 0\r\nm=audio {rtp_port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    ).encode("ascii")


def answer_media(body: bytes) -> tuple[str, int, int] | None:
    """(address, port, first payload type) of the answer's audio stream, or None."""
    address: str | None = None
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("c=") and address is None:
            address = line.split()[-1]
        elif line.startswith("m=audio"):
            fields = line.split()
            if len(fields) < 4 or address is None:
                return None
            return address, int(fields[1]), int(fields[3])
    return None


@dataclass(frozen=True, slots=True)
class Dialog:
    """What a caller needs to build every request of one call."""

    call_id: str
    from_tag: str
    local_host: str
    local_port: int
    target_uri: str

    def _common(self, method: str, uri: str, cseq: int, branch: str, to: str) -> list[str]:
        return [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.local_host}:{self.local_port};branch={branch};rport",
            f"Max-Forwards: {MAX_FORWARDS}",
            f"From: <sip:bench@{self.local_host}>;tag={self.from_tag}",
            f"To: {to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {cseq} {method}",
        ]

    def invite(self, branch: str, body: bytes, caller: str) -> bytes:
        lines = self._common("INVITE", self.target_uri, 1, branch, f"<{self.target_uri}>")
        lines[3] = f"From: <sip:{caller}@{self.local_host}>;tag={self.from_tag}"
        lines += [
            f"Contact: <sip:{caller}@{self.local_host}:{self.local_port}>",
            f"Content-Type: {SDP_CONTENT_TYPE}",
            f"Content-Length: {len(body)}",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body

    def ack(self, remote_uri: str, to_tag: str) -> bytes:
        # RFC 3261 §13.2.2.4: the ACK for a 2xx is its own transaction with a new branch.
        to = f"<{self.target_uri}>;tag={to_tag}"
        lines = self._common("ACK", remote_uri, 1, new_branch(), to)
        lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")

    def bye(self, remote_uri: str, to_tag: str, branch: str) -> bytes:
        to = f"<{self.target_uri}>;tag={to_tag}"
        lines = self._common("BYE", remote_uri, 2, branch, to)
        lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def response_to(request: SipMessage, status: int, reason: str, extra: list[str]) -> bytes:
    """A response echoing the request's Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6)."""
    lines = [f"SIP/2.0 {status} {reason}"]
    lines += [f"Via: {via}" for via in request.headers.get("via", [])]
    for name, label in (("from", "From"), ("to", "To"), ("call-id", "Call-ID"), ("cseq", "CSeq")):
        lines += [f"{label}: {value}" for value in request.headers.get(name, [])]
    lines += extra
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
