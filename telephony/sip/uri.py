"""SIP URIs and name-addr values (RFC 3261 §19.1, §20.10, §25.1) with symmetric parse/str."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from typing import Final

from telephony.sip.errors import RemoteSipError
from telephony.sip.limits import MAX_URI_LENGTH

__all__ = ["NameAddr", "Params", "SipUri", "format_params", "parse_params"]

Params = tuple[tuple[str, str | None], ...]

# RFC 3261 §25.1:
#   SIP-URI  = "sip:" [ userinfo ] hostport uri-parameters [ headers ]
#   userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
#   hostport = host [ ":" port ];  host = hostname / IPv4address / IPv6reference
# "@" never appears unescaped after the userinfo, so the first "@" ends it. We keep user,
# password, parameter and header text as on the wire (escapes are not decoded) so that
# str(parse(x)) reproduces x and no re-escaping rules are needed.
_USER_CHARS: Final = r"A-Za-z0-9\-_.!~*'()&=+$,;?/%"
_SCHEME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_HOSTPART: Final = (
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-_.]+)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<params>(?:;[A-Za-z0-9\-_.!~*'()%\[\]/:&+$=]*)*)"
    r"(?:\?(?P<headers>[A-Za-z0-9\-_.!~*'()%\[\]/?:+$=&]*))?"
)
# Two whole-URI patterns so that neither has to guess where the userinfo ends: with an "@"
# the userinfo is everything before it ("@" is never unescaped elsewhere), without one
# there is none. Both are linear: no nested or overlapping quantifiers.
_URI_WITH_USER_RE: Final = re.compile(
    rf"(?P<scheme>[sS][iI][pP][sS]?):(?P<user>[{_USER_CHARS}]*)"
    r"(?::(?P<password>[A-Za-z0-9\-_.!~*'()&=+$,%]*))?@" + _HOSTPART
)
_URI_NO_USER_RE: Final = re.compile(r"(?P<scheme>[sS][iI][pP][sS]?):" + _HOSTPART)
# RFC 3261 §25.1 token: 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_IPV4_RE: Final = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
# IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT, each 0-255 (RFC 3986 §3.2.2)
_OCTET: Final = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[0-9]{1,2})"
_IPV4_VALID_RE: Final = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_SUPPORTED_SCHEMES: Final = frozenset({"sip", "sips"})


def _split_params(text: str) -> Params:
    """Split ``;a=b;c`` (the leading ';' included) into ((a, b), (c, None))."""
    if not text:
        return ()
    out: list[tuple[str, str | None]] = []
    for part in text[1:].split(";"):
        name, eq, value = part.partition("=")
        if not name:
            raise RemoteSipError(f"empty URI parameter name in {text!r}")
        out.append((name, value if eq else None))
    return tuple(out)


def format_params(params: Params) -> str:
    """The inverse of :func:`parse_params`: ``;name=value;flag``."""
    return "".join(f";{n}" if v is None else f";{n}={v}" for n, v in params)


def _find_param(params: Params, name: str) -> str | None:
    lname = name.lower()
    for n, v in params:
        if n.lower() == lname:
            return "" if v is None else v
    return None


def _check_ipv4(host: str, text: str) -> None:
    if _IPV4_RE.fullmatch(host) and not _IPV4_VALID_RE.fullmatch(host):
        raise RemoteSipError(f"bad IPv4 address in URI {text[:200]!r}")


@dataclass(frozen=True, slots=True)
class SipUri:
    """A sip: or sips: URI. ``host`` keeps IPv6 brackets ("[::1]"); params keep their case."""

    scheme: str
    user: str | None
    host: str
    port: int | None = None
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()
    password: str | None = None

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse a SIP-URI; RemoteSipError(416) for other schemes, 400 for malformed ones.

        Results are memoised (values are immutable and the same URIs recur in every call).
        """
        return _parse_uri(text)

    @classmethod
    def _parse(cls, text: str) -> SipUri:
        if len(text) > MAX_URI_LENGTH:
            raise RemoteSipError("URI too long", 414)
        m = (_URI_WITH_USER_RE if "@" in text else _URI_NO_USER_RE).fullmatch(text)
        if m is None:
            scheme = text.partition(":")[0]
            if ":" in text and _SCHEME_RE.fullmatch(scheme):
                if scheme.lower() not in _SUPPORTED_SCHEMES:
                    raise RemoteSipError(f"unsupported URI scheme {scheme[:30]!r}", 416)
            raise RemoteSipError(f"malformed SIP URI {text[:200]!r}")
        scheme, host, port_text, params, htext = m.group(
            "scheme", "host", "port", "params", "headers"
        )
        if host[0].isdigit() and host[-1].isdigit():
            _check_ipv4(host, text)
        elif host[0] in "-." or ".." in host:
            raise RemoteSipError(f"bad host name in URI {text[:200]!r}")
        port = None
        if port_text is not None:
            port = int(port_text)
            if port > 65535:
                raise RemoteSipError(f"port out of range in URI {text[:200]!r}")
        headers: tuple[tuple[str, str], ...] = ()
        if htext:
            pairs = []
            for part in htext.split("&"):
                name, _, value = part.partition("=")
                if not name:
                    raise RemoteSipError(f"empty URI header name in {text[:200]!r}")
                pairs.append((name, value))
            headers = tuple(pairs)
        user = password = None
        if m.re is _URI_WITH_USER_RE:
            user, password = m.group("user", "password")
        return cls(
            scheme if scheme in _SUPPORTED_SCHEMES else scheme.lower(),
            user,
            host,
            port,
            _split_params(params) if params else (),
            headers,
            password,
        )

    def __str__(self) -> str:
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts.append(self.user)
            if self.password is not None:
                parts.append(":" + self.password)
            parts.append("@")
        parts.append(self.host)
        if self.port is not None:
            parts.append(f":{self.port}")
        if self.params:
            parts.append(format_params(self.params))
        if self.headers:
            parts.append("?" + "&".join(f"{n}={v}" for n, v in self.headers))
        return "".join(parts)

    def param(self, name: str) -> str | None:
        """Value of a URI parameter (case-insensitive name); "" for a flag; None if absent."""
        return _find_param(self.params, name)

    @property
    def host_bare(self) -> str:
        """The host without IPv6 brackets, as socket functions want it."""
        return self.host[1:-1] if self.host.startswith("[") else self.host

    @property
    def transport(self) -> str | None:
        """The ``transport=`` parameter lowercased, if any (RFC 3261 §19.1.1)."""
        value = self.param("transport")
        return value.lower() if value else None

    def with_params(self, **params: str | None) -> SipUri:
        """A copy with these parameters set (replacing same-named ones)."""
        lowered = {k.lower() for k in params}
        kept = tuple((n, v) for n, v in self.params if n.lower() not in lowered)
        return replace(self, params=kept + tuple(params.items()))


# --- name-addr ------------------------------------------------------------------------------

# RFC 3261 §25.1:
#   name-addr    = [ display-name ] LAQUOT addr-spec RAQUOT
#   display-name = *(token LWS) / quoted-string
#   (From/To/Contact/Route) = ( name-addr / addr-spec ) *( SEMI param )
# Without angle brackets, everything after the first ';' is a header parameter (§20.10).


# quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE  (RFC 3261 §25.1)
_QUOTED_RE: Final = re.compile(r'"(?:[^"\\]|\\.)*"')
# generic-param = token [ EQUAL gen-value ]; gen-value = token / host / quoted-string
_PARAM_RE: Final = re.compile(
    r"[ \t]*;[ \t]*(?P<name>[A-Za-z0-9\-.!%*_+`'~]+)[ \t]*"
    r'(?:=[ \t]*(?P<value>"(?:[^"\\]|\\.)*"|[^;"\s<>,]+))?[ \t]*'
)


def _read_quoted(text: str, start: int) -> int:
    """Index just after the quoted-string that opens at ``start`` (text[start] == '"')."""
    m = _QUOTED_RE.match(text, start)
    if m is None:
        raise RemoteSipError(f"unterminated quoted string in {text[:200]!r}")
    return m.end()


def parse_params(text: str) -> Params:
    """Parse header parameters ``;a=b ;c;d="x;y"`` (quoted values kept with their quotes)."""
    text = text.rstrip(" \t")
    out: list[tuple[str, str | None]] = []
    pos = 0
    n = len(text)
    match = _PARAM_RE.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            raise RemoteSipError(f"malformed parameters {text[pos : pos + 100]!r}")
        out.append((m.group("name"), m.group("value")))
        pos = m.end()
    return tuple(out)


def _unquote(quoted: str) -> str:
    inner = quoted[1:-1]
    if "\\" not in inner:
        return inner
    out = []
    i = 0
    while i < len(inner):
        if inner[i] == "\\" and i + 1 < len(inner):
            i += 1
        out.append(inner[i])
        i += 1
    return "".join(out)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class NameAddr:
    """A From/To/Contact/Route value: optional display name, URI and header parameters."""

    uri: SipUri
    display: str | None = None
    params: Params = ()

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        """Parse ``[display] <uri>;params`` or ``uri;params`` (RFC 3261 §20.10); memoised."""
        return _parse_name_addr(text)

    @classmethod
    def _parse(cls, text: str) -> NameAddr:
        text = text.strip(" \t")
        if not text:
            raise RemoteSipError("empty name-addr")
        display: str | None = None
        if text[0] == '"':
            end = _read_quoted(text, 0)
            display = _unquote(text[:end])
            rest = text[end:].lstrip()
            if not rest.startswith("<"):
                raise RemoteSipError(f"expected '<' after display name in {text[:200]!r}")
            text = rest
        lt = text.find("<")
        if lt >= 0:
            if lt > 0:
                words = text[:lt].split()
                if not all(_TOKEN_RE.fullmatch(w) for w in words):
                    raise RemoteSipError(f"bad display name in {text[:200]!r}")
                display = " ".join(words)
            gt = text.find(">", lt)
            if gt < 0:
                raise RemoteSipError(f"missing '>' in {text[:200]!r}")
            uri = SipUri.parse(text[lt + 1 : gt].strip())
            params = parse_params(text[gt + 1 :])
        else:
            semi = text.find(";")
            addr = text if semi < 0 else text[:semi]
            addr = addr.strip()
            if any(c in addr for c in " \t,?"):
                raise RemoteSipError(f"bad addr-spec {addr[:200]!r}")
            uri = SipUri.parse(addr)
            params = parse_params(text[semi:]) if semi >= 0 else ()
        return cls(uri, display, params)

    def __str__(self) -> str:
        head = f"{_quote(self.display)} <{self.uri}>" if self.display else f"<{self.uri}>"
        return head + format_params(self.params) if self.params else head

    def param(self, name: str) -> str | None:
        """Value of a header parameter (case-insensitive); "" for a flag; None if absent."""
        return _find_param(self.params, name)

    @property
    def tag(self) -> str | None:
        return self.param("tag")

    def with_tag(self, tag: str) -> NameAddr:
        return self.with_param("tag", tag)

    def with_param(self, name: str, value: str | None) -> NameAddr:
        lname = name.lower()
        kept = tuple((n, v) for n, v in self.params if n.lower() != lname)
        return replace(self, params=(*kept, (name, value)))


# Bounded memo tables: a hostile peer can only evict entries, not grow memory.
_MEMO_SIZE: Final = 4096
_parse_uri = functools.lru_cache(maxsize=_MEMO_SIZE)(SipUri._parse)
_parse_name_addr = functools.lru_cache(maxsize=_MEMO_SIZE)(NameAddr._parse)
