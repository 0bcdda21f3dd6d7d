"""Header names (compact forms, canonical spelling), comma-list splitting, Via and CSeq values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from telephony.sip.errors import RemoteSipError
from telephony.sip.limits import MAX_CSEQ
from telephony.sip.uri import Params, format_params, parse_params

__all__ = [
    "COMPACT_FORMS",
    "LIST_HEADERS",
    "CSeq",
    "Via",
    "canonical_name",
    "header_key",
    "name_and_key",
    "split_comma_list",
]

# RFC 3261 §7.3.3 and §20 compact forms, plus the ones later RFCs registered
# (IANA "Header Fields" registry). Keys are lowercase.
COMPACT_FORMS: Final[dict[str, str]] = {
    "i": "Call-ID",  # RFC 3261
    "m": "Contact",  # RFC 3261
    "e": "Content-Encoding",  # RFC 3261
    "l": "Content-Length",  # RFC 3261
    "c": "Content-Type",  # RFC 3261
    "f": "From",  # RFC 3261
    "s": "Subject",  # RFC 3261
    "k": "Supported",  # RFC 3261
    "t": "To",  # RFC 3261
    "v": "Via",  # RFC 3261
    "o": "Event",  # RFC 6665 (was RFC 3265)
    "u": "Allow-Events",  # RFC 6665
    "r": "Refer-To",  # RFC 3515
    "b": "Referred-By",  # RFC 3892
    "a": "Accept-Contact",  # RFC 3841
    "j": "Reject-Contact",  # RFC 3841
    "d": "Request-Disposition",  # RFC 3841
    "x": "Session-Expires",  # RFC 4028
    "y": "Identity",  # RFC 8224
}

# Spelling used when we serialise; lookup is always case-insensitive. Unknown names keep the
# spelling they arrived with.
_CANONICAL: Final[dict[str, str]] = {
    name.lower(): name
    for name in (
        *COMPACT_FORMS.values(),
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Authentication-Info",
        "Authorization",
        "Call-Info",
        "Content-Disposition",
        "Content-Language",
        "CSeq",
        "Date",
        "Error-Info",
        "Expires",
        "In-Reply-To",
        "Max-Forwards",
        "Min-Expires",
        "MIME-Version",
        "Organization",
        "Priority",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Require",
        "Record-Route",
        "Reply-To",
        "Require",
        "Retry-After",
        "Route",
        "Server",
        "Timestamp",
        "Unsupported",
        "User-Agent",
        "Warning",
        "WWW-Authenticate",
        "RSeq",
        "RAck",
        "Path",
        "Service-Route",
        "Min-SE",
        "Replaces",
        "Reason",
        "P-Asserted-Identity",
        "Privacy",
        "Subscription-State",
    )
}

# Headers whose value is a comma-separated list (RFC 3261 §7.3.1 "#element" rules), so that
# several values may share one line. The authentication headers are NOT lists: their
# parameters contain commas (§7.3.1 names them as the exception).
LIST_HEADERS: Final = frozenset(
    {
        "via",
        "contact",
        "route",
        "record-route",
        "allow",
        "supported",
        "require",
        "proxy-require",
        "unsupported",
        "accept",
        "accept-encoding",
        "accept-language",
        "content-encoding",
        "content-language",
        "allow-events",
        "path",
        "service-route",
        "in-reply-to",
        "warning",
        "alert-info",
        "call-info",
        "error-info",
        "p-asserted-identity",
        "accept-contact",
        "reject-contact",
        "request-disposition",
        "reason",
    }
)


def canonical_name(name: str) -> str:
    """The spelling we use for ``name``: compact forms expanded, known names canonical."""
    lower = name.lower()
    full = COMPACT_FORMS.get(lower)
    if full is not None:
        return full
    return _CANONICAL.get(lower, name)


_NAME_CACHE: dict[str, tuple[str, str]] = {}
_NAME_CACHE_SIZE: Final = 1024  # bounded so hostile peers cannot grow it without limit


def name_and_key(name: str) -> tuple[str, str]:
    """(canonical spelling, lowercase lookup key) of a header name, memoised."""
    hit = _NAME_CACHE.get(name)
    if hit is None:
        canon = canonical_name(name)
        hit = (canon, canon.lower())
        if len(_NAME_CACHE) < _NAME_CACHE_SIZE:
            _NAME_CACHE[name] = hit
    return hit


def header_key(name: str) -> str:
    """The lowercase lookup key of a header name (compact forms expanded)."""
    return name_and_key(name)[1]


def split_comma_list(value: str) -> list[str]:
    """Split a header value at commas that are outside quotes and <...> (RFC 3261 §7.3.1)."""
    if "," not in value:
        stripped = value.strip(" \t")
        return [stripped] if stripped else []
    out: list[str] = []
    start = 0
    i = 0
    n = len(value)
    in_angle = False
    while i < n:
        c = value[i]
        if c == '"' and not in_angle:
            i += 1
            while i < n and value[i] != '"':
                i += 2 if value[i] == "\\" else 1
            if i >= n:
                raise RemoteSipError(f"unterminated quoted string in {value[:200]!r}")
        elif c == "<":
            in_angle = True
        elif c == ">":
            in_angle = False
        elif c == "," and not in_angle:
            part = value[start:i].strip(" \t")
            if part:
                out.append(part)
            start = i + 1
        i += 1
    part = value[start:].strip(" \t")
    if part:
        out.append(part)
    return out


# RFC 3261 §25.1:
#   via-parm         = sent-protocol LWS sent-by *( SEMI via-params )
#   sent-protocol    = protocol-name SLASH protocol-version SLASH transport
#   sent-by          = host [ COLON port ]
_VIA_RE: Final = re.compile(
    r"\s*SIP\s*/\s*2\.0\s*/\s*(?P<transport>[A-Za-z0-9\-.!%*_+`'~]+)\s+"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-_.]+)"
    r"(?:\s*:\s*(?P<port>[0-9]{1,5}))?\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Via:
    """One Via entry. ``transport`` is uppercase (UDP, TCP, TLS, WS...)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()

    @classmethod
    def parse(cls, text: str) -> Via:
        m = _VIA_RE.match(text)
        if m is None:
            raise RemoteSipError(f"malformed Via {text[:200]!r}")
        port = None
        if m.group("port") is not None:
            port = int(m.group("port"))
            if port > 65535:
                raise RemoteSipError(f"Via port out of range in {text[:200]!r}")
        return cls(
            transport=m.group("transport").upper(),
            host=m.group("host"),
            port=port,
            params=parse_params(text[m.end() :]),
        )

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{format_params(self.params)}"

    def param(self, name: str) -> str | None:
        lname = name.lower()
        for n, v in self.params:
            if n.lower() == lname:
                return "" if v is None else v
        return None

    @property
    def branch(self) -> str | None:
        return self.param("branch")

    @property
    def received(self) -> str | None:
        return self.param("received")

    @property
    def rport(self) -> int | None:
        """The filled-in rport value (RFC 3581); None when absent or only requested."""
        value = self.param("rport")
        if value and value.isascii() and value.isdigit() and len(value) <= 5:
            port = int(value)
            return port if 0 < port <= 65535 else None
        return None

    @property
    def wants_rport(self) -> bool:
        """True when the client asked for rport (RFC 3581 §3), filled in or not."""
        return self.param("rport") is not None

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return self.host, self.port

    def with_param(self, name: str, value: str | None) -> Via:
        """A copy with ``name`` set to ``value`` (replacing it in place when present)."""
        lname = name.lower()
        params = list(self.params)
        for i, (n, _) in enumerate(params):
            if n.lower() == lname:
                params[i] = (n, value)
                break
        else:
            params.append((name, value))
        return Via(self.transport, self.host, self.port, tuple(params))


_CSEQ_RE: Final = re.compile(r"\s*([0-9]{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)\s*")


@dataclass(frozen=True, slots=True)
class CSeq:
    """CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16)."""

    seq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        m = _CSEQ_RE.fullmatch(text)
        if m is None:
            raise RemoteSipError(f"malformed CSeq {text[:100]!r}")
        seq = int(m.group(1))
        if seq > MAX_CSEQ:
            raise RemoteSipError(f"CSeq number {seq} is not below 2**31 (RFC 3261 §8.1.1.5)")
        return cls(seq, m.group(2))

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"
