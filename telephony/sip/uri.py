"""SIP URIs and name-addr values (RFC 3261 §19.1, §20.10, §25.1) with symmetric parse/str."""

from __future__ import annotations

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
_USERINFO_RE: Final = re.compile(
    rf"(?P<user>[{_USER_CHARS}]*)(?::(?P<password>[A-Za-z0-9\-_.!~*'()&=+$,%]*))?"
)
_HOSTPART_RE: Final = re.compile(
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-_.]+)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<params>(?:;[A-Za-z0-9\-_.!~*'()%\[\]/:&+$=]*)*)"
    r"(?:\?(?P<headers>[A-Za-z0-9\-_.!~*'()%\[\]/?:+$=&]*))?"
)
# RFC 3261 §25.1 token: 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_IPV4_RE: Final = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
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


def _check_host(host: str, text: str) -> None:
    if host.startswith("["):
        return
    if _IPV4_RE.fullmatch(host):
        if any(int(octet) > 255 for octet in host.split(".")):
            raise RemoteSipError(f"bad IPv4 address in URI {text!r}")
        return
    if host.startswith(("-", ".")) or ".." in host:
        raise RemoteSipError(f"bad host name in URI {text!r}")


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
        """Parse a SIP-URI; RemoteSipError(416) for other schemes, 400 for malformed ones."""
        if len(text) > MAX_URI_LENGTH:
            raise RemoteSipError("URI too long", 414)
        scheme, colon, rest = text.partition(":")
        if not colon or not _SCHEME_RE.fullmatch(scheme):
            raise RemoteSipError(f"malformed URI {text[:200]!r}")
        scheme = scheme.lower()
        if scheme not in _SUPPORTED_SCHEMES:
            raise RemoteSipError(f"unsupported URI scheme {scheme!r}", 416)
        user = password = None
        at = rest.find("@")
        if at >= 0:
            um = _USERINFO_RE.fullmatch(rest, 0, at)
            if um is None:
                raise RemoteSipError(f"malformed user part in URI {text[:200]!r}")
            user, password = um.group("user"), um.group("password")
            rest = rest[at + 1 :]
        m = _HOSTPART_RE.fullmatch(rest)
        if m is None:
            raise RemoteSipError(f"malformed SIP URI {text[:200]!r}")
        host = m.group("host")
        _check_host(host, text)
        port_text = m.group("port")
        port = None
        if port_text is not None:
            port = int(port_text)
            if port > 65535:
                raise RemoteSipError(f"port out of range in URI {text[:200]!r}")
        headers: tuple[tuple[str, str], ...] = ()
        htext = m.group("headers")
        if htext:
            pairs = []
            for part in htext.split("&"):
                name, _, value = part.partition("=")
                if not name:
                    raise RemoteSipError(f"empty URI header name in {text[:200]!r}")
                pairs.append((name, value))
            headers = tuple(pairs)
        return cls(
            scheme=scheme,
            user=user,
            host=host,
            port=port,
            params=_split_params(m.group("params")),
            headers=headers,
            password=password,
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


def _read_quoted(text: str, start: int) -> int:
    """Index just after the quoted-string that opens at ``start`` (text[start] == '"')."""
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        i += 1
    raise RemoteSipError(f"unterminated quoted string in {text[:200]!r}")


def parse_params(text: str) -> Params:
    """Parse header parameters ``;a=b ;c;d="x;y"`` (quoted values kept with their quotes)."""
    out: list[tuple[str, str | None]] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in " \t":
            i += 1
            continue
        if c != ";":
            raise RemoteSipError(f"expected ';' before parameter in {text[:200]!r}")
        i += 1
        # name
        j = i
        while j < n and text[j] not in ";=":
            j += 1
        name = text[i:j].strip()
        if not name or not _TOKEN_RE.fullmatch(name):
            raise RemoteSipError(f"bad parameter name {name[:50]!r}")
        if j < n and text[j] == "=":
            k = j + 1
            while k < n and text[k] in " \t":
                k += 1
            if k < n and text[k] == '"':
                end = _read_quoted(text, k)
                value = text[k:end]
                i = end
            else:
                end = k
                while end < n and text[end] != ";":
                    end += 1
                value = text[k:end].strip()
                if not value or any(ch in value for ch in ' \t"<>,'):
                    raise RemoteSipError(f"bad value for parameter {name!r}")
                i = end
            out.append((name, value))
        else:
            out.append((name, None))
            i = j
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
        text = text.strip()
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
        return cls(uri=uri, display=display, params=params)

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
