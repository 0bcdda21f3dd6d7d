"""The user agent: routes every incoming request to its call leg, the registrar or an answer.

Out-of-dialog INVITEs become `InboundCall`s for the application; requests with a To tag go
to the leg that owns the dialog (481 when none does); REGISTER goes to the `Registrar`;
OPTIONS gets 200 with Allow/Accept; anything else 405 with Allow. Outbound calls are placed
with `call` (any URI) or `call_registered` (an AOR's best registered contact).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Final

from telephony.sdp import LocalMedia, SdpParseError
from telephony.sip.address import Peer, TransportKind
from telephony.sip.call_leg import ACCEPT, ALLOW, CallLeg, peer_for_uri, sdp_body
from telephony.sip.dialog import Dialog, DialogId
from telephony.sip.digest import ClientCredentials
from telephony.sip.endpoint import ServerTransactionHandle, SipEndpoint
from telephony.sip.errors import LocalSipError, RemoteSipError
from telephony.sip.message import Method, new_call_id
from telephony.sip.registrar import Binding, Registrar, aor_key
from telephony.sip.timers import TimerConfig
from telephony.sip.ua import InboundCall, OutboundCall
from telephony.sip.uri import NameAddr, SipUri

log = logging.getLogger(__name__)

# Option tags we implement (RFC 3261 §19.2); an INVITE that Requires others gets 420.
SUPPORTED_EXTENSIONS: Final = frozenset[str]()

# How long close() waits for each call's BYE/CANCEL before it just drops the call.
CLOSE_HANGUP_TIMEOUT: Final = 1.0

IncomingHandler = Callable[[InboundCall], Awaitable[None] | None]
Clock = Callable[[], float]


class UserAgent:
    """One SIP identity on one endpoint: dispatcher, dialog table and call factory."""

    def __init__(
        self,
        *,
        user: str = "hotline",
        domain: str | None = None,
        registrar: Registrar | None = None,
        on_incoming: IncomingHandler | None = None,
        wall_clock: Clock = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.user = user
        self.domain = domain
        self.registrar = registrar
        self.rng = rng or random.Random()
        self._on_incoming = on_incoming
        self._wall_clock = wall_clock  # registrar expiry and nonce stamps are wall-clock
        self._legs: dict[DialogId, CallLeg] = {}
        self._calls: set[CallLeg] = set()
        self.incoming: asyncio.Queue[InboundCall] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._endpoint: SipEndpoint | None = None

    @classmethod
    async def start(
        cls,
        bind: Sequence[tuple[str, str, int]],
        *,
        timers: TimerConfig | None = None,
        user: str = "hotline",
        domain: str | None = None,
        registrar: Registrar | None = None,
        on_incoming: IncomingHandler | None = None,
        wall_clock: Clock = time.time,
        rng: random.Random | None = None,
    ) -> UserAgent:
        """Bind e.g. ``[("udp", "127.0.0.1", 0)]`` and start answering."""
        self = cls(user=user, domain=domain, registrar=registrar, on_incoming=on_incoming,
                   wall_clock=wall_clock, rng=rng)
        self._endpoint = await SipEndpoint.start(bind, handler=self._handle, timers=timers)
        return self

    @property
    def endpoint(self) -> SipEndpoint:
        if self._endpoint is None:
            raise LocalSipError("UserAgent not started")
        return self._endpoint

    def attach(self, endpoint: SipEndpoint) -> None:
        """Use an endpoint built elsewhere (its handler must call `handle`)."""
        self._endpoint = endpoint

    def local_address(self, transport: TransportKind = TransportKind.UDP) -> Peer:
        return self.endpoint.local_address(transport)

    def local_contact(
        self, transport: TransportKind = TransportKind.UDP, *, toward: str | None = None
    ) -> NameAddr:
        """Our Contact for messages on `transport`, in the address family of host `toward`."""
        ipv6 = None if toward is None else ":" in toward
        local = self.endpoint.local_address(transport, ipv6=ipv6)
        params: tuple[tuple[str, str | None], ...] = ()
        if transport is not TransportKind.UDP:
            params = (("transport", transport.value),)
        return NameAddr(SipUri("sip", self.user, local.host_for_uri, local.port, params))

    def identity(self, toward: Peer | None = None) -> NameAddr:
        """Our From address: the configured domain, else our address toward that peer."""
        if self.domain is not None:
            return NameAddr(SipUri("sip", self.user, self.domain))
        kind = toward.transport if toward is not None else TransportKind.UDP
        ipv6 = None if toward is None else ":" in toward.host
        host = self.endpoint.local_address(kind, ipv6=ipv6).host_for_uri
        return NameAddr(SipUri("sip", self.user, host))

    async def close(self) -> None:
        """Hang up what is still up (bounded), stop every call's tasks, close the sockets."""
        for leg in list(self._calls):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(leg.hangup(), timeout=CLOSE_HANGUP_TIMEOUT)
        for leg in list(self._calls):
            await leg.abandon()
        for task in list(self._tasks):
            task.cancel()
        if self._endpoint is not None:
            await self._endpoint.close()

    # --- dialog table ----------------------------------------------------------------------

    def remember_dialog(self, dialog: Dialog, leg: CallLeg) -> None:
        self._legs[dialog.id] = leg

    def forget_dialog(self, dialog: Dialog) -> None:
        leg = self._legs.pop(dialog.id, None)
        if leg is not None:
            self._calls.discard(leg)

    @property
    def active_calls(self) -> int:
        return sum(1 for leg in self._calls if leg.is_active)

    # --- dispatch --------------------------------------------------------------------------

    async def handle(self, handle: ServerTransactionHandle) -> None:
        await self._handle(handle)

    async def _handle(self, handle: ServerTransactionHandle) -> None:
        request = handle.request
        method = request.method
        if request.to.tag:
            leg = self._legs.get(DialogId.for_incoming_request(request))
            if leg is not None:
                await leg.on_request(handle)
            elif method != Method.ACK and handle.in_transaction:
                await handle.respond(481)  # RFC 3261 §12.2.2
            return
        if not handle.in_transaction:
            return  # a stray ACK
        if method == Method.INVITE:
            await self._new_call(handle)
        elif method == Method.REGISTER and self.registrar is not None:
            now = self._wall_clock()
            source = (handle.source.host, handle.source.port)
            await handle.respond_message(self.registrar.handle(request, now=now, source=source))
        elif method == Method.OPTIONS:
            await handle.respond(200, headers=[("Allow", ALLOW), ("Accept", ACCEPT)])
        elif method in (Method.BYE, Method.INFO, Method.UPDATE, Method.PRACK):
            await handle.respond(481)
        else:
            await handle.respond(405, headers=[("Allow", ALLOW)])

    async def _new_call(self, handle: ServerTransactionHandle) -> None:
        request = handle.request
        unsupported = [
            tag.strip()
            for value in request.headers.get_all("Require")
            for tag in value.split(",")
            if tag.strip() and tag.strip() not in SUPPORTED_EXTENSIONS
        ]
        if unsupported:
            await handle.respond(420, headers=[("Unsupported", ", ".join(unsupported))])
            return
        try:
            offer = sdp_body(request)
            if not request.contacts:
                raise RemoteSipError("INVITE without Contact")
        except SdpParseError as exc:
            await handle.respond(400, f"Bad SDP: {exc}"[:80])
            return
        except RemoteSipError as exc:
            extra = [("Accept", ACCEPT)] if exc.status_hint == 415 else []
            await handle.respond(exc.status_hint, exc.reason[:80], headers=extra)
            return
        call = InboundCall(self, handle, offer)
        self._calls.add(call)  # (the transaction layer has already sent 100 Trying)
        if self._on_incoming is None:
            self.incoming.put_nowait(call)
            return
        result = self._on_incoming(call)
        if inspect.isawaitable(result):
            await result

    # --- outbound --------------------------------------------------------------------------

    def call(
        self,
        target: SipUri,
        *,
        local_media: LocalMedia,
        to: NameAddr | None = None,
        from_: NameAddr | None = None,
        destination: Peer | None = None,
        credentials: ClientCredentials | None = None,
        ring_timeout: float | None = None,
        extra_headers: Iterable[tuple[str, str]] = (),
    ) -> OutboundCall:
        """Place a call to `target` (sent to `destination`, default: the URI's host/port)."""
        destination = destination or peer_for_uri(target)
        leg = OutboundCall(
            self,
            request_uri=target,
            to=to or NameAddr(target.with_params()),
            from_=from_ or self.identity(destination),
            destination=destination,
            local_media=local_media,
            credentials=credentials,
            ring_timeout=ring_timeout,
            extra_headers=extra_headers,
            call_id=new_call_id(),
        )
        self._calls.add(leg)
        leg.start()
        return leg

    def bindings(self, aor: SipUri) -> tuple[Binding, ...]:
        if self.registrar is None:
            return ()
        return self.registrar.bindings.lookup(aor_key(aor), self._wall_clock())

    def call_registered(
        self,
        aor: SipUri,
        *,
        local_media: LocalMedia,
        ring_timeout: float | None = None,
        extra_headers: Iterable[tuple[str, str]] = (),
    ) -> OutboundCall:
        """Call the best registered contact of `aor` (highest q, newest); LookupError if none.

        The request goes to the registered Contact (RFC 3261 §10.3); the REGISTER's source
        address is kept in the binding for NAT-aware routing later (RFC 5626 is not done).
        """
        bindings = self.bindings(aor)
        if not bindings:
            raise LookupError(f"{aor} has no registered contact")
        contact = bindings[0].contact.uri
        destination = peer_for_uri(contact)
        return self.call(
            contact,
            local_media=local_media,
            to=NameAddr(aor),
            destination=destination,
            ring_timeout=ring_timeout,
            extra_headers=extra_headers,
        )
