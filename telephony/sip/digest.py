"""HTTP Digest authentication for SIP (RFC 7616, RFC 8760): challenges, verification, client.

Server side: `DigestAuthenticator` issues stateless HMAC-signed nonces that carry their
issue time (so an old nonce is answered with stale=true without any table of nonces) and
checks Authorization values against HA1s from a `CredentialStore`; the only state it keeps
is the highest nonce-count seen per live nonce, to refuse replays.
Client side: `choose_challenge` + `authorization_for` answer a 401/407.
Time is always passed in; nothing here reads a clock or touches a socket.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Protocol

from telephony.sip.errors import RemoteSipError
from telephony.sip.uri import SipUri

# How long a nonce is accepted before the answer is "stale=true" and a fresh challenge.
# RFC 7616 §3.3 leaves it to the server; 5 minutes covers a re-REGISTER retry with room to
# spare and bounds how long a sniffed response could be replayed on legacy (no-qop) clients.
DEFAULT_NONCE_LIFETIME: Final = 300.0
# A nonce stamped this far in the future was not issued by us (clock skew between workers).
NONCE_FUTURE_SKEW: Final = 5.0
# Bound on the replay table (one entry per live nonce); beyond it the oldest are forgotten,
# which only makes those nonces answer stale=true early.
MAX_TRACKED_NONCES: Final = 100_000
# An Authorization value larger than this is refused outright (a real one is ~300 bytes).
MAX_AUTH_HEADER_BYTES: Final = 4096
_MAC_HEX_LEN: Final = 32  # 128 bits of HMAC-SHA-256 is plenty against forgery
_RANDOM_BYTES: Final = 8


class DigestAlgorithm(StrEnum):
    """RFC 8760 §2 makes SHA-256 mandatory for SIP; MD5 stays for older phones."""

    SHA256 = "SHA-256"
    MD5 = "MD5"

    def hash(self, text: str) -> str:
        name = "sha256" if self is DigestAlgorithm.SHA256 else "md5"
        return hashlib.new(name, text.encode("utf-8")).hexdigest()

    @classmethod
    def parse(cls, text: str | None) -> DigestAlgorithm:
        # RFC 7616 §3.3: "If this is not present, it is assumed to be MD5".
        if text is None:
            return cls.MD5
        for algorithm in cls:
            if algorithm.value.lower() == text.strip().lower():
                return algorithm
        raise RemoteSipError(f"unsupported digest algorithm {text[:40]!r}")


# Strongest first: the order of the WWW-Authenticate fields is our preference (RFC 8760 §2.4).
DEFAULT_ALGORITHMS: Final = (DigestAlgorithm.SHA256, DigestAlgorithm.MD5)
QOP_AUTH: Final = "auth"


def _split_auth_params(text: str) -> dict[str, str]:
    """auth-param list: token "=" ( token / quoted-string ), separated by commas."""
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t,":
            i += 1
        if i >= n:
            break
        eq = text.find("=", i)
        if eq < 0:
            raise RemoteSipError(f"bad auth parameter in {text[:80]!r}")
        name = text[i:eq].strip().lower()
        if not name or any(c in name for c in ' \t,"'):
            raise RemoteSipError(f"bad auth parameter name {name[:40]!r}")
        j = eq + 1
        while j < n and text[j] in " \t":
            j += 1
        if j < n and text[j] == '"':
            out: list[str] = []
            j += 1
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                out.append(text[j])
                j += 1
            if j >= n:
                raise RemoteSipError("unterminated quoted string in auth header")
            value = "".join(out)
            j += 1
        else:
            end = text.find(",", j)
            end = n if end < 0 else end
            value = text[j:end].strip()
            j = end
        if name in params:
            raise RemoteSipError(f"repeated auth parameter {name!r}")
        params[name] = value
        i = j
    return params


def parse_digest_params(value: str) -> dict[str, str]:
    """Split ``Digest a=b, c="d"`` into lowercase names and unquoted values."""
    if len(value) > MAX_AUTH_HEADER_BYTES:
        raise RemoteSipError("auth header too long")
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise RemoteSipError(f"unsupported auth scheme {scheme[:20]!r}")
    return _split_auth_params(rest)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class DigestChallenge:
    """One WWW-Authenticate / Proxy-Authenticate value (RFC 7616 §3.3)."""

    realm: str
    nonce: str
    algorithm: DigestAlgorithm
    qop: tuple[str, ...] = (QOP_AUTH,)
    stale: bool = False
    opaque: str | None = None

    def serialize(self) -> str:
        parts = [f"realm={_quote(self.realm)}", f"nonce={_quote(self.nonce)}"]
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        parts.append(f"algorithm={self.algorithm.value}")
        if self.qop:
            parts.append(f"qop={_quote(','.join(self.qop))}")
        if self.stale:
            parts.append("stale=true")
        return "Digest " + ", ".join(parts)

    @classmethod
    def parse(cls, value: str) -> DigestChallenge:
        params = parse_digest_params(value)
        if "realm" not in params or "nonce" not in params:
            raise RemoteSipError("digest challenge without realm or nonce")
        qop = tuple(q.strip() for q in params.get("qop", "").split(",") if q.strip())
        return cls(
            realm=params["realm"],
            nonce=params["nonce"],
            algorithm=DigestAlgorithm.parse(params.get("algorithm")),
            qop=qop,
            stale=params.get("stale", "").lower() == "true",
            opaque=params.get("opaque"),
        )


@dataclass(frozen=True, slots=True)
class DigestResponse:
    """One Authorization / Proxy-Authorization value (RFC 7616 §3.4)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: DigestAlgorithm = DigestAlgorithm.MD5
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None

    def serialize(self) -> str:
        parts = [
            f"username={_quote(self.username)}",
            f"realm={_quote(self.realm)}",
            f"nonce={_quote(self.nonce)}",
            f"uri={_quote(self.uri)}",
            f"response={_quote(self.response)}",
            f"algorithm={self.algorithm.value}",
        ]
        if self.qop is not None:
            parts += [f"qop={self.qop}", f"nc={self.nc}", f"cnonce={_quote(self.cnonce or '')}"]
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        return "Digest " + ", ".join(parts)

    @classmethod
    def parse(cls, value: str) -> DigestResponse:
        params = parse_digest_params(value)
        missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in params]
        if missing:
            raise RemoteSipError(f"Authorization lacks {', '.join(missing)}")
        qop = params.get("qop")
        if qop is not None and (not params.get("nc") or not params.get("cnonce")):
            raise RemoteSipError("Authorization with qop needs nc and cnonce (RFC 7616 §3.4)")
        return cls(
            username=params["username"],
            realm=params["realm"],
            nonce=params["nonce"],
            uri=params["uri"],
            response=params["response"].lower(),
            algorithm=DigestAlgorithm.parse(params.get("algorithm")),
            qop=qop,
            nc=params.get("nc"),
            cnonce=params.get("cnonce"),
            opaque=params.get("opaque"),
        )


def compute_ha1(username: str, realm: str, password: str, algorithm: DigestAlgorithm) -> str:
    """H(username ":" realm ":" password) — what a CredentialStore keeps instead of passwords."""
    return algorithm.hash(f"{username}:{realm}:{password}")


def compute_response(
    *,
    ha1: str,
    algorithm: DigestAlgorithm,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None,
    nc: str | None,
    cnonce: str | None,
) -> str:
    """RFC 7616 §3.4.1 request-digest (RFC 2069 form when qop is absent)."""
    ha2 = algorithm.hash(f"{method}:{uri}")
    if qop is None:
        return algorithm.hash(f"{ha1}:{nonce}:{ha2}")
    return algorithm.hash(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


class CredentialStore(Protocol):
    """Where HA1 values live (the agent account store implements this; no plain passwords)."""

    def lookup_ha1(self, username: str, realm: str, algorithm: str) -> str | None:
        """HA1 for this user in this realm under `algorithm` ("MD5", "SHA-256"), or None."""
        ...


class InMemoryCredentialStore:
    """A CredentialStore for tests and small setups: hashes passwords at once, keeps HA1s."""

    def __init__(
        self,
        accounts: Iterable[tuple[str, str, str]] = (),
        algorithms: Sequence[DigestAlgorithm] = DEFAULT_ALGORITHMS,
    ) -> None:
        self._ha1: dict[tuple[str, str, str], str] = {}
        self._algorithms = tuple(algorithms)
        for username, realm, password in accounts:
            self.add(username, realm, password)

    def add(self, username: str, realm: str, password: str) -> None:
        for algorithm in self._algorithms:
            key = (username, realm, algorithm.value)
            self._ha1[key] = compute_ha1(username, realm, password, algorithm)

    def lookup_ha1(self, username: str, realm: str, algorithm: str) -> str | None:
        return self._ha1.get((username, realm, algorithm))


class AuthOutcome(StrEnum):
    ACCEPTED = "accepted"
    CHALLENGE = "challenge"  # no credentials for our realm: answer 401/407
    STALE = "stale"  # right password, old nonce: 401/407 with stale=true
    FORBIDDEN = "forbidden"  # wrong password, unknown user or replay: 403
    BAD_REQUEST = "bad_request"  # malformed Authorization: 400


@dataclass(frozen=True, slots=True)
class AuthDecision:
    outcome: AuthOutcome
    reason: str
    username: str | None = None


@dataclass(slots=True)
class DigestAuthenticator:
    """Server side of digest auth for one realm.

    `secret` signs nonces; share it between workers to accept each other's nonces.
    `allow_no_qop` accepts the RFC 2069 form (no qop/nc/cnonce) that pyVoIP 1.6.8 sends;
    such nonces are then single-use, since there is no nonce-count to order replays.
    """

    realm: str
    store: CredentialStore
    secret: bytes
    algorithms: tuple[DigestAlgorithm, ...] = DEFAULT_ALGORITHMS
    nonce_lifetime: float = DEFAULT_NONCE_LIFETIME
    allow_no_qop: bool = False
    _last_nc: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _nonce_time: dict[str, float] = field(default_factory=dict, init=False, repr=False)

    def new_nonce(self, now: float) -> str:
        stamp = f"{int(now * 1000):x}"
        rand = secrets.token_hex(_RANDOM_BYTES)
        return f"{stamp}.{rand}.{self._mac(stamp, rand)}"

    def _mac(self, stamp: str, rand: str) -> str:
        msg = f"{stamp}.{rand}.{self.realm}".encode()
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()[:_MAC_HEX_LEN]

    def _nonce_issued_at(self, nonce: str) -> float | None:
        """The issue time of a nonce we signed, or None if we did not sign it."""
        parts = nonce.split(".")
        if len(parts) != 3:
            return None
        stamp, rand, mac = parts
        if not hmac.compare_digest(self._mac(stamp, rand), mac):
            return None
        try:
            return int(stamp, 16) / 1000.0
        except ValueError:
            return None

    def challenges(self, now: float, *, stale: bool = False) -> list[DigestChallenge]:
        """One challenge per algorithm, strongest first, all with the same fresh nonce."""
        nonce = self.new_nonce(now)
        return [
            DigestChallenge(self.realm, nonce, algorithm, stale=stale)
            for algorithm in self.algorithms
        ]

    def challenge_headers(
        self, now: float, *, stale: bool = False, proxy: bool = False
    ) -> list[tuple[str, str]]:
        name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        return [(name, c.serialize()) for c in self.challenges(now, stale=stale)]

    def verify(
        self, *, method: str, request_uri: SipUri, authorizations: Sequence[str], now: float
    ) -> AuthDecision:
        """Check the Authorization values of one request (RFC 7616 §3.4, RFC 3261 §22.4)."""
        ours: DigestResponse | None = None
        for value in authorizations:
            try:
                parsed = DigestResponse.parse(value)
            except RemoteSipError as exc:
                return AuthDecision(AuthOutcome.BAD_REQUEST, exc.reason)
            if parsed.realm == self.realm:
                ours = parsed
                break
        if ours is None:
            return AuthDecision(AuthOutcome.CHALLENGE, "no credentials for this realm")
        return self._check(ours, method, request_uri, now)

    def _check(
        self, auth: DigestResponse, method: str, request_uri: SipUri, now: float
    ) -> AuthDecision:
        user = auth.username
        if auth.algorithm not in self.algorithms:
            return AuthDecision(AuthOutcome.CHALLENGE, "algorithm not offered", user)
        if not _same_resource(auth.uri, request_uri):
            return AuthDecision(AuthOutcome.BAD_REQUEST, "digest uri does not match Request-URI")
        if auth.qop is None and not self.allow_no_qop:
            return AuthDecision(AuthOutcome.CHALLENGE, "qop=auth is required", user)
        if auth.qop is not None and auth.qop != QOP_AUTH:
            return AuthDecision(AuthOutcome.CHALLENGE, f"qop {auth.qop!r} not offered", user)
        issued = self._nonce_issued_at(auth.nonce)
        if issued is None or issued > now + NONCE_FUTURE_SKEW:
            # A nonce we never signed (another realm's or a restart with a new secret):
            # challenge afresh rather than accuse the phone.
            return AuthDecision(AuthOutcome.STALE, "nonce not issued by us", user)
        ha1 = self.store.lookup_ha1(user, self.realm, auth.algorithm.value)
        if ha1 is None:
            return AuthDecision(AuthOutcome.FORBIDDEN, "unknown user or wrong password", user)
        expected = compute_response(
            ha1=ha1,
            algorithm=auth.algorithm,
            nonce=auth.nonce,
            method=method,
            uri=auth.uri,
            qop=auth.qop,
            nc=auth.nc,
            cnonce=auth.cnonce,
        )
        if not hmac.compare_digest(expected, auth.response):
            return AuthDecision(AuthOutcome.FORBIDDEN, "unknown user or wrong password", user)
        if now - issued > self.nonce_lifetime:
            # RFC 7616 §3.3: the password was right, only the nonce is old.
            return AuthDecision(AuthOutcome.STALE, "nonce expired", user)
        if not self._count_ok(auth, now):
            return AuthDecision(AuthOutcome.FORBIDDEN, "nonce count replayed", user)
        return AuthDecision(AuthOutcome.ACCEPTED, "ok", user)

    def _count_ok(self, auth: DigestResponse, now: float) -> bool:
        """RFC 7616 §3.4: nc must grow per nonce; a no-qop nonce may be used only once."""
        self._forget_expired(now)
        if auth.qop is None:
            count = 1
        else:
            try:
                count = int(auth.nc or "", 16)
            except ValueError:
                return False
        last = self._last_nc.get(auth.nonce, 0)
        if count <= last:
            return False
        self._last_nc[auth.nonce] = count
        self._nonce_time.setdefault(auth.nonce, now)
        return True

    def _forget_expired(self, now: float) -> None:
        horizon = now - self.nonce_lifetime - NONCE_FUTURE_SKEW
        while self._nonce_time:
            oldest, seen_at = next(iter(self._nonce_time.items()))
            if seen_at >= horizon and len(self._nonce_time) < MAX_TRACKED_NONCES:
                break
            del self._nonce_time[oldest]
            self._last_nc.pop(oldest, None)


def _same_resource(digest_uri: str, request_uri: SipUri) -> bool:
    """RFC 7616 §3.4.6: the digest uri names the Request-URI.

    URI parameters are ignored: pyVoIP 1.6.8 signs "sip:host;transport=UDP" while sending
    REGISTER to "sip:host"; what matters is that the response was computed for this target.
    """
    try:
        parsed = SipUri.parse(digest_uri)
    except RemoteSipError:
        return False
    return (parsed.scheme, parsed.user, parsed.host.lower(), parsed.port) == (
        request_uri.scheme,
        request_uri.user,
        request_uri.host.lower(),
        request_uri.port,
    )


# --- client side -----------------------------------------------------------------------------


def choose_challenge(
    values: Iterable[str], supported: Sequence[DigestAlgorithm] = DEFAULT_ALGORITHMS
) -> DigestChallenge:
    """The challenge to answer: the first in `supported` order that the server offered."""
    offered: list[DigestChallenge] = []
    for value in values:
        try:
            offered.append(DigestChallenge.parse(value))
        except RemoteSipError:
            continue  # another scheme or algorithm we do not speak; try the others
    for algorithm in supported:
        for challenge in offered:
            if challenge.algorithm is algorithm:
                return challenge
    raise RemoteSipError("no digest challenge we can answer", 401)


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    username: str
    password: str


def authorization_for(
    challenge: DigestChallenge,
    credentials: ClientCredentials,
    *,
    method: str,
    uri: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> DigestResponse:
    """The Authorization value answering `challenge` for one request."""
    ha1 = compute_ha1(
        credentials.username, challenge.realm, credentials.password, challenge.algorithm
    )
    qop = QOP_AUTH if QOP_AUTH in challenge.qop else None
    nc_text = f"{nc:08x}" if qop else None
    cnonce_value = (cnonce or secrets.token_hex(8)) if qop else None
    response = compute_response(
        ha1=ha1,
        algorithm=challenge.algorithm,
        nonce=challenge.nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc_text,
        cnonce=cnonce_value,
    )
    return DigestResponse(
        username=credentials.username,
        realm=challenge.realm,
        nonce=challenge.nonce,
        uri=uri,
        response=response,
        algorithm=challenge.algorithm,
        qop=qop,
        nc=nc_text,
        cnonce=cnonce_value,
        opaque=challenge.opaque,
    )


def challenge_header(status: int) -> str:
    """Where a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate) carries its challenges."""
    return "Proxy-Authenticate" if status == 407 else "WWW-Authenticate"


def authorization_header(status: int) -> str:
    """The header that answers a 401 (Authorization) or a 407 (Proxy-Authorization)."""
    return "Proxy-Authorization" if status == 407 else "Authorization"
