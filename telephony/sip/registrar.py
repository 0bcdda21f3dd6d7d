"""The REGISTER side of RFC 3261 §10: a pure binding store and the request handler over it.

`BindingStore` holds address-of-record → contacts with expiry and q, applying the §10.3
Call-ID/CSeq ordering rules all-or-nothing; `Registrar.handle` authenticates a REGISTER
(digest, `telephony.sip.digest`) and turns the outcome into the 200/401/403/423/400 answer.
Both take `now`; neither touches a socket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Final

from telephony.sip.digest import AuthOutcome, DigestAuthenticator
from telephony.sip.errors import RemoteSipError
from telephony.sip.message import Method, SipRequest, SipResponse, make_response, new_tag
from telephony.sip.uri import NameAddr, SipUri

# RFC 3261 §10.2.1.1: "the default of 3600 seconds" when the client states no expiry.
DEFAULT_EXPIRES: Final = 3600
# RFC 3261 §10.3 step 7: a registrar MAY refuse very short registrations with 423; 60 s is
# the value the RFC's own example uses and what common softphones re-register within.
DEFAULT_MIN_EXPIRES: Final = 60
# Registrations longer than this are shortened (§10.3: "MAY be shortened"); an agent's phone
# that vanished is forgotten within the hour.
DEFAULT_MAX_EXPIRES: Final = 3600
# Contacts one AOR may hold: an agent with desk phone, softphone and a mobile client is 3;
# the cap stops a misbehaving client from growing the table without bound.
MAX_CONTACTS_PER_AOR: Final = 10
# RFC 3261 §20.10: q is a decimal in [0, 1]; no q means "unspecified", ranked as 1.0 here.
DEFAULT_Q: Final = 1.0


class RegisterRejected(Exception):
    """The REGISTER cannot be applied; `status` and `headers` say what to answer."""

    def __init__(self, status: int, reason: str, headers: Iterable[tuple[str, str]] = ()):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = tuple(headers)


def aor_key(uri: SipUri) -> str:
    """Canonical address-of-record: scheme, user and host (RFC 3261 §10.3 step 5)."""
    user = f"{uri.user}@" if uri.user is not None else ""
    return f"{uri.scheme}:{user}{uri.host.lower()}"


def _contact_key(uri: SipUri) -> tuple[str, str | None, str, int | None, str | None]:
    # RFC 3261 §19.1.4 equality, reduced to the parts that tell two phones apart.
    return (uri.scheme, uri.user, uri.host.lower(), uri.port, uri.transport)


@dataclass(frozen=True, slots=True)
class Binding:
    """One contact registered for an AOR."""

    aor: str
    contact: NameAddr  # without the expires/q parameters: those live in the fields below
    expires_at: float
    q: float
    call_id: str
    cseq: int
    registered_at: float
    source: tuple[str, int] | None = None  # where the REGISTER came from (NAT traversal)

    def expires_in(self, now: float) -> int:
        return max(0, round(self.expires_at - now))

    def contact_header_value(self, now: float) -> str:
        """`<uri>;expires=N[;q=..]` as a 200 to REGISTER lists it (§10.3 step 8)."""
        addr = self.contact.with_param("expires", str(self.expires_in(now)))
        if self.q != DEFAULT_Q:
            addr = addr.with_param("q", f"{self.q:g}")
        return str(addr)


@dataclass(frozen=True, slots=True)
class ContactUpdate:
    """One Contact of a REGISTER with its effective expiry already worked out."""

    contact: NameAddr
    expires: int
    q: float


@dataclass(frozen=True, slots=True)
class RegistrarLimits:
    min_expires: int = DEFAULT_MIN_EXPIRES
    max_expires: int = DEFAULT_MAX_EXPIRES
    default_expires: int = DEFAULT_EXPIRES
    max_contacts: int = MAX_CONTACTS_PER_AOR


@dataclass(frozen=True, slots=True)
class BindingsChanged:
    """Event: the reachable contacts of an AOR changed (the ACD listens for agents)."""

    aor: str
    bindings: tuple[Binding, ...]


@dataclass(slots=True)
class BindingStore:
    """AOR → bindings; every method takes `now` and drops what expired before it."""

    _by_aor: dict[str, tuple[Binding, ...]] = field(default_factory=dict, init=False)

    def lookup(self, aor: str, now: float) -> tuple[Binding, ...]:
        """Live bindings, best first: highest q, then most recently registered."""
        live = tuple(b for b in self._by_aor.get(aor, ()) if b.expires_at > now)
        return tuple(sorted(live, key=lambda b: (-b.q, -b.registered_at)))

    def aors(self, now: float) -> tuple[str, ...]:
        return tuple(aor for aor in self._by_aor if self.lookup(aor, now))

    def next_expiry(self) -> float | None:
        """When the earliest binding expires (a deadline for the caller's timer), or None."""
        times = [b.expires_at for bindings in self._by_aor.values() for b in bindings]
        return min(times) if times else None

    def purge(self, now: float) -> tuple[str, ...]:
        """Forget expired bindings; returns the AORs that lost one."""
        changed = []
        for aor, bindings in list(self._by_aor.items()):
            live = tuple(b for b in bindings if b.expires_at > now)
            if len(live) != len(bindings):
                changed.append(aor)
                if live:
                    self._by_aor[aor] = live
                else:
                    del self._by_aor[aor]
        return tuple(changed)

    def remove_all(self, aor: str, *, call_id: str, cseq: int, now: float) -> None:
        """`Contact: *` with Expires: 0 (§10.3 step 6)."""
        current = self.lookup(aor, now)
        for binding in current:
            if binding.call_id == call_id and cseq <= binding.cseq:
                raise RegisterRejected(400, "CSeq not higher than the stored binding's")
        self._by_aor.pop(aor, None)

    def apply(
        self,
        aor: str,
        updates: Iterable[ContactUpdate],
        *,
        call_id: str,
        cseq: int,
        now: float,
        max_contacts: int = MAX_CONTACTS_PER_AOR,
        source: tuple[str, int] | None = None,
    ) -> tuple[Binding, ...]:
        """Add, refresh or remove (expires=0) contacts; all-or-nothing (§10.3 step 7)."""
        by_key = {_contact_key(b.contact.uri): b for b in self.lookup(aor, now)}
        for update in updates:
            key = _contact_key(update.contact.uri)
            existing = by_key.get(key)
            if existing is not None and existing.call_id == call_id and cseq <= existing.cseq:
                # A retransmitted or reordered REGISTER from the same client.
                raise RegisterRejected(400, "CSeq not higher than the stored binding's")
            if update.expires == 0:
                by_key.pop(key, None)
                continue
            by_key[key] = Binding(
                aor=aor,
                contact=_strip_binding_params(update.contact),
                expires_at=now + update.expires,
                q=update.q,
                call_id=call_id,
                cseq=cseq,
                registered_at=now,
                source=source,
            )
        if len(by_key) > max_contacts:
            raise RegisterRejected(403, f"more than {max_contacts} contacts for one AOR")
        if by_key:
            self._by_aor[aor] = tuple(by_key.values())
        else:
            self._by_aor.pop(aor, None)
        return self.lookup(aor, now)


def _strip_binding_params(contact: NameAddr) -> NameAddr:
    kept = tuple((n, v) for n, v in contact.params if n.lower() not in ("expires", "q"))
    return replace(contact, params=kept)


def _parse_q(contact: NameAddr) -> float:
    text = contact.param("q")
    if text is None:
        return DEFAULT_Q
    try:
        q = float(text)
    except ValueError:
        raise RemoteSipError(f"bad q value {text[:20]!r}") from None
    if not 0.0 <= q <= 1.0:
        raise RemoteSipError(f"q value {text[:20]!r} outside 0..1")
    return q


def contact_updates(request: SipRequest, limits: RegistrarLimits) -> list[ContactUpdate]:
    """Effective expiry per Contact (§10.3 step 7); 423 if any is too brief, 400 if malformed."""
    header_expires = request.expires
    updates: list[ContactUpdate] = []
    for contact in request.contacts:
        text = contact.param("expires")
        if text is not None:
            if not text.isdigit():
                raise RemoteSipError(f"bad Contact expires {text[:20]!r}")
            expires = int(text)
        elif header_expires is not None:
            expires = header_expires
        else:
            expires = limits.default_expires
        if 0 < expires < limits.min_expires:
            raise RegisterRejected(
                423, "Interval Too Brief", [("Min-Expires", str(limits.min_expires))]
            )
        updates.append(ContactUpdate(contact, min(expires, limits.max_expires), _parse_q(contact)))
    return updates


@dataclass(slots=True)
class Registrar:
    """Answers REGISTER requests for the given domains (None: any domain)."""

    bindings: BindingStore
    authenticator: DigestAuthenticator | None
    domains: frozenset[str] | None = None
    limits: RegistrarLimits = field(default_factory=RegistrarLimits)
    listener: Callable[[BindingsChanged], None] | None = None

    def handle(
        self, request: SipRequest, *, now: float, source: tuple[str, int] | None = None
    ) -> SipResponse:
        """The final response to one REGISTER; every failure becomes a response."""
        try:
            return self._handle(request, now, source)
        except RegisterRejected as exc:
            return make_response(
                request, exc.status, exc.reason, to_tag=new_tag(), headers=exc.headers
            )
        except RemoteSipError as exc:
            return make_response(request, exc.status_hint, exc.reason[:100], to_tag=new_tag())

    def _handle(
        self, request: SipRequest, now: float, source: tuple[str, int] | None
    ) -> SipResponse:
        if request.method != Method.REGISTER:
            raise RemoteSipError(f"{request.method} sent to the registrar", 405)
        if self.domains is not None and request.uri.host.lower() not in self.domains:
            raise RegisterRejected(404, "Not a domain we register for")
        aor = aor_key(request.to.uri)
        username = self._authenticate(request, now)
        if username is not None and request.to.uri.user != username:
            # §10.3 step 3: this user may not register bindings for someone else's AOR.
            raise RegisterRejected(403, "Not allowed to register this address")
        _ = request.cseq  # validates CSeq (400 when malformed) before any change
        if request.contact_wildcard:
            if len(request.headers.get_all("Contact")) != 1 or request.expires != 0:
                raise RemoteSipError("Contact: * needs Expires: 0 and no other Contact")
            self.bindings.remove_all(aor, call_id=request.call_id, cseq=request.cseq.seq, now=now)
            current: tuple[Binding, ...] = ()
            self._notify(aor, current)
        elif request.contacts:
            updates = contact_updates(request, self.limits)
            current = self.bindings.apply(
                aor,
                updates,
                call_id=request.call_id,
                cseq=request.cseq.seq,
                now=now,
                max_contacts=self.limits.max_contacts,
                source=source,
            )
            self._notify(aor, current)
        else:
            current = self.bindings.lookup(aor, now)  # a query (§10.2.3)
        headers = [("Contact", b.contact_header_value(now)) for b in current]
        return make_response(request, 200, to_tag=new_tag(), headers=headers)

    def _authenticate(self, request: SipRequest, now: float) -> str | None:
        if self.authenticator is None:
            return None
        decision = self.authenticator.verify(
            method=request.method,
            request_uri=request.uri,
            authorizations=request.headers.get_all("Authorization"),
            now=now,
        )
        if decision.outcome is AuthOutcome.ACCEPTED:
            return decision.username
        if decision.outcome in (AuthOutcome.CHALLENGE, AuthOutcome.STALE):
            stale = decision.outcome is AuthOutcome.STALE
            raise RegisterRejected(
                401, "Unauthorized", self.authenticator.challenge_headers(now, stale=stale)
            )
        if decision.outcome is AuthOutcome.FORBIDDEN:
            raise RegisterRejected(403, "Forbidden")
        raise RemoteSipError(decision.reason)

    def expire(self, now: float) -> list[BindingsChanged]:
        """Drop bindings that expired by `now` and tell the listener which AORs changed.

        Call it when `bindings.next_expiry()` passes, so the ACD learns that an agent's
        phone is gone even if it never sent an unREGISTER.
        """
        changes = [
            BindingsChanged(aor, self.bindings.lookup(aor, now))
            for aor in self.bindings.purge(now)
        ]
        for change in changes:
            self._notify(change.aor, change.bindings)
        return changes

    def _notify(self, aor: str, bindings: tuple[Binding, ...]) -> None:
        if self.listener is not None:
            self.listener(BindingsChanged(aor, bindings))
