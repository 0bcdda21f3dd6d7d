"""The asyncio SIP endpoint: transports + transaction layer + one loop timer, for a TU.

Incoming requests reach ``handler(handle)`` as a ``ServerTransactionHandle``:
- a new server transaction (``handle.key`` set): answer with ``await handle.respond(...)``;
  a final 2xx to INVITE is retransmitted by the endpoint until its ACK arrives
  (RFC 3261 §13.3.1.4); ``await handle.wait_ack()`` returns that ACK, or None after 64*T1.
  If the handler raises before a final response, the endpoint answers 500.
- a request outside any transaction (an ACK for a 2xx, ``handle.key is None``,
  ``handle.in_transaction`` False): ``respond`` raises LocalSipError.
CANCEL, merged requests (482), Max-Forwards 0 (483) and malformed messages (400/413/...)
are answered by the layers below; a CANCEL sets ``handle.cancelled`` on the INVITE's handle.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Final

from telephony.sip.address import DEFAULT_PORTS, Peer, TransportKind
from telephony.sip.errors import (
    LocalSipError,
    RemoteSipError,
    TransactionTimeout,
    TransportFailure,
)
from telephony.sip.message import SipRequest, SipResponse, make_response, new_branch, new_tag
from telephony.sip.timers import TimerConfig
from telephony.sip.transaction import (
    Ack2xxRetransmitter,
    FailureReason,
    InviteCancelled,
    MessageRejected,
    Output,
    RequestReceived,
    ResponseReceived,
    Send,
    StrayResponse,
    TransactionFailed,
    TransactionKey,
    TransactionTerminated,
)
from telephony.sip.transport import TcpTransport, TlsConfig, UdpTransport, create_transport
from telephony.sip.txlayer import TransactionLayer

__all__ = ["ClientTransaction", "Handler", "ServerTransactionHandle", "SipEndpoint"]

log = logging.getLogger(__name__)

Handler = Callable[["ServerTransactionHandle"], Awaitable[None] | None]
_FINAL: Final = object()  # marks the end of a client transaction's response stream


class ServerTransactionHandle:
    """One incoming request as the TU sees it."""

    def __init__(
        self, endpoint: SipEndpoint, request: SipRequest, source: Peer, key: TransactionKey | None
    ) -> None:
        self.endpoint = endpoint
        self.request = request
        self.source = source
        self.key = key
        self.cancelled = asyncio.Event()
        self.final_sent = False
        self.to_tag: str | None = None
        self._ack: asyncio.Future[SipRequest | None] | None = None

    @property
    def in_transaction(self) -> bool:
        return self.key is not None

    async def respond(
        self,
        status: int,
        reason: str | None = None,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        to_tag: str | None = None,
    ) -> SipResponse:
        """Answer with ``make_response``; a To tag is made once and reused (§8.2.6.2)."""
        if status > 100 and to_tag is None:
            to_tag = self.to_tag or new_tag()
        response = make_response(
            self.request, status, reason, to_tag=to_tag, headers=headers, body=body
        )
        await self.respond_message(response)
        return response

    async def respond_message(self, response: SipResponse) -> None:
        if self.key is None:
            raise LocalSipError(f"{self.request.method} outside a transaction cannot be answered")
        if response.status > 100 and self.to_tag is None:
            self.to_tag = response.to.tag
        self.endpoint._respond(self, response)
        if response.status >= 200:
            self.final_sent = True

    async def wait_ack(self) -> SipRequest | None:
        """The ACK for our 2xx to this INVITE, or None if none came within 64*T1."""
        if self._ack is None:
            raise LocalSipError("no 2xx to an INVITE was sent on this transaction")
        return await self._ack


class ClientTransaction:
    """A request we sent; iterate its responses or await the final one."""

    def __init__(
        self, endpoint: SipEndpoint, request: SipRequest, destination: Peer, key: TransactionKey
    ) -> None:
        self.endpoint = endpoint
        self.request = request
        self.destination = destination
        self.key = key
        self._queue: asyncio.Queue[SipResponse | BaseException | object] = asyncio.Queue()
        self._ack: Send | None = None
        self.final: SipResponse | None = None  # the first final response
        self.retransmitted_2xx = 0  # 2xx copies after the first (RFC 6026 Accepted state)

    async def responses(self) -> AsyncIterator[SipResponse]:
        """Provisional responses, then the final one; raises TransactionTimeout (Timer B/F)
        or TransportFailure instead of a final response."""
        while True:
            item = await self._queue.get()
            if item is _FINAL:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, SipResponse)
            yield item
            if item.status >= 200:
                return

    async def final_response(self) -> SipResponse:
        async for response in self.responses():
            if response.status >= 200:
                return response
        raise TransactionTimeout(f"{self.request.method} ended without a final response")

    def send_ack(self, ack: SipRequest) -> None:
        """Send the TU's ACK for a 2xx and re-send it for each retransmitted 2xx (§13.2.2.4)."""
        self._ack = Send(ack.serialize(), self.destination, ack)
        self.endpoint._send(self._ack)


class SipEndpoint:
    """Binds transports and runs the transaction layer on the event loop's clock."""

    def __init__(self, handler: Handler, timers: TimerConfig) -> None:
        self._handler = handler
        self.timers = timers
        self.layer = TransactionLayer(timers)
        self._transports: list[UdpTransport | TcpTransport] = []
        self._servers: dict[TransactionKey, ServerTransactionHandle] = {}
        self._clients: dict[TransactionKey, ClientTransaction] = {}
        # 2xx retransmission until ACK, keyed by (Call-ID, CSeq number) (§13.3.1.4)
        self._acks: dict[tuple[str, int], tuple[Ack2xxRetransmitter, ServerTransactionHandle]] = {}
        self._ack_heap: list[tuple[float, int, tuple[str, int]]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self.rejected = 0  # malformed messages seen (answered or dropped)

    @classmethod
    async def start(
        cls,
        bind: Sequence[tuple[str, str, int]],
        *,
        handler: Handler,
        timers: TimerConfig | None = None,
        tls: TlsConfig | None = None,
    ) -> SipEndpoint:
        """Bind ``[(kind, host, port), ...]`` e.g. ``[("udp", "127.0.0.1", 5060)]``;
        a ``("tls", ...)`` entry needs ``tls``."""
        self = cls(handler, timers or TimerConfig())
        try:
            for kind, host, port in bind:
                self._transports.append(
                    await create_transport(
                        kind, host, port, self._receive, self._stream_error, tls=tls
                    )
                )
        except BaseException:
            await self.close()
            raise
        return self

    # --- addresses ------------------------------------------------------------------------

    def local_address(
        self, transport: TransportKind | str = TransportKind.UDP, *, ipv6: bool | None = None
    ) -> Peer:
        """The bound address of the first transport of this kind (and family if given)."""
        kind = TransportKind(transport.lower()) if isinstance(transport, str) else transport
        for t in self._transports:
            if t.kind is kind and (ipv6 is None or (":" in t.local.host) == ipv6):
                return t.local
        raise LocalSipError(f"no {kind.value} transport bound (ipv6={ipv6})")

    def via_for(self, destination: Peer) -> str:
        """A Via value with a fresh branch and rport for a request to ``destination``."""
        local = self._transport_for(destination).local
        return (
            f"SIP/2.0/{local.transport.via_name} {local.host_for_uri}:{local.port}"
            f";branch={new_branch()};rport"
        )

    def _transport_for(self, destination: Peer) -> UdpTransport | TcpTransport:
        v6 = ":" in destination.host
        for t in self._transports:
            if t.kind is destination.transport and (":" in t.local.host) == v6:
                return t
        raise LocalSipError(f"no {destination.transport.value} transport for {destination}")

    # --- TU calls -------------------------------------------------------------------------

    def send_request(self, request: SipRequest, destination: Peer) -> ClientTransaction:
        """Start a client transaction; a Via (fresh branch, rport) is added if missing."""
        if not request.headers.get_all("Via"):
            request = SipRequest(
                request.method,
                request.uri,
                request.headers.with_added("Via", self.via_for(destination), first=True),
                request.body,
            )
        key, outputs = self.layer.send_request(request, destination, self._loop.time())
        tx = ClientTransaction(self, request, destination, key)
        self._clients[key] = tx
        self._process(outputs)
        return tx

    def send_stateless(self, message: SipRequest | SipResponse, destination: Peer) -> None:
        """Send outside any transaction (an ACK for a 2xx; RFC 3261 §17.1.1.3, §13.2.2.4)."""
        self._send(Send(message.serialize(), destination, message))

    async def close(self) -> None:
        """Stop timers and handler tasks, fail pending client transactions, close sockets."""
        if self._timer is not None:
            self._timer.cancel()
        for client in self._clients.values():
            client._queue.put_nowait(TransportFailure("the SIP endpoint was closed"))
        self._clients.clear()
        for _, owner in self._acks.values():
            if owner._ack is not None and not owner._ack.done():
                owner._ack.set_result(None)
        self._acks.clear()
        for task in list(self._tasks):
            task.cancel()
        for t in self._transports:
            await t.close()
        self._transports.clear()

    # --- internals ------------------------------------------------------------------------

    def _receive(self, data: bytes, source: Peer) -> None:
        self._process(self.layer.receive_data(data, source, self._loop.time()))

    def _stream_error(self, data: bytes, source: Peer, error: RemoteSipError) -> None:
        self._process(self.layer.reject(data, source, error))

    def _respond(self, handle: ServerTransactionHandle, response: SipResponse) -> None:
        assert handle.key is not None
        now = self._loop.time()
        outputs = self.layer.respond(handle.key, response, now)
        request = handle.request
        if request.method == "INVITE" and 200 <= response.status < 300:
            sent = next((o for o in outputs if isinstance(o, Send)), None)
            if sent is not None:
                rt = Ack2xxRetransmitter(sent, now, self.timers)
                ack_key = (request.call_id, request.cseq.seq)
                self._acks[ack_key] = (rt, handle)
                handle._ack = self._loop.create_future()
                deadline = rt.next_deadline()
                if deadline is not None:
                    heapq.heappush(self._ack_heap, (deadline, next(self._seq), ack_key))
        self._process(outputs)

    def _send(self, out: Send) -> None:
        try:
            transport = self._transport_for(out.destination)
        except LocalSipError:
            log.warning("no transport to send to %s; dropped", out.destination)
            return
        destination = out.destination
        if (
            isinstance(transport, TcpTransport)
            and isinstance(out.message, SipResponse)
            and not transport.connected(destination)
        ):
            # §18.2.2: the request's connection is gone; open one to received + sent-by port.
            via = out.message.top_via
            destination = Peer(
                destination.transport,
                via.received or via.host.strip("[]"),
                via.port or DEFAULT_PORTS[destination.transport],
            )
        key = out.key
        on_error = None if key is None else (lambda: self._transport_error(key))
        transport.send(out.data, destination, on_error)

    def _transport_error(self, key: TransactionKey) -> None:
        self._process(self.layer.transport_error(key, self._loop.time()))

    def _process(self, outputs: list[Output]) -> None:
        for out in outputs:
            if isinstance(out, Send):
                self._send(out)
            elif isinstance(out, RequestReceived):
                self._dispatch(out)
            elif isinstance(out, ResponseReceived):
                self._on_response(out.key, out.response)
            elif isinstance(out, InviteCancelled):
                handle = self._servers.get(out.key)
                if handle is not None:
                    handle.final_sent = True
                    handle.cancelled.set()
            elif isinstance(out, TransactionFailed):
                client = self._clients.pop(out.key, None)
                if client is not None:
                    client._queue.put_nowait(_failure(out.reason, client.request))
            elif isinstance(out, TransactionTerminated):
                self._servers.pop(out.key, None)
                client = self._clients.pop(out.key, None)
                if client is not None:
                    client._queue.put_nowait(_FINAL)
            elif isinstance(out, MessageRejected):
                self.rejected += 1
                # Answered ones at INFO; silent drops at DEBUG so a garbage flood cannot
                # flood the log as well.
                (log.info if out.status is not None else log.debug)(
                    "rejected SIP message from %s (%s): %s",
                    out.source,
                    out.status or "dropped",
                    out.reason,
                )
            elif isinstance(out, StrayResponse):
                log.debug("stray %s response from %s", out.response.status, out.source)
        self._reschedule()

    def _on_response(self, key: TransactionKey, response: SipResponse) -> None:
        client = self._clients.get(key)
        if client is None:
            return
        if client.final is not None:
            # Only 2xx get past a completed INVITE client (RFC 6026): the UAS retransmits
            # them until our ACK arrives, so repeat the ACK (§13.2.2.4).
            client.retransmitted_2xx += 1
            if client._ack is not None:
                self._send(client._ack)
            return
        if response.status >= 200:
            client.final = response
        client._queue.put_nowait(response)

    def _dispatch(self, event: RequestReceived) -> None:
        request = event.request
        if event.key is None and request.method == "ACK":
            entry = self._acks.pop((request.call_id, request.cseq.seq), None)
            if entry is not None:
                rt, owner = entry
                rt.ack_received()
                if owner._ack is not None and not owner._ack.done():
                    owner._ack.set_result(request)
        handle = ServerTransactionHandle(self, request, event.source, event.key)
        if event.key is not None:
            self._servers[event.key] = handle
        try:
            result = self._handler(handle)
        except Exception:
            log.exception("SIP handler failed on %s", request.method)
            self._answer_500(handle)
            return
        if inspect.isawaitable(result):
            task = self._loop.create_task(self._run(handle, result))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, handle: ServerTransactionHandle, work: Awaitable[None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("SIP handler failed on %s", handle.request.method)
            self._answer_500(handle)

    def _answer_500(self, handle: ServerTransactionHandle) -> None:
        if handle.key is not None and not handle.final_sent and handle.key in self._servers:
            try:
                self._respond(handle, make_response(handle.request, 500, to_tag=new_tag()))
            except LocalSipError:
                pass  # the transaction already ended

    def _on_timer(self) -> None:
        # call_at may run a hair before its deadline (clock resolution); never see time < it.
        now = max(self._loop.time(), self._timer_at or 0.0)
        self._timer = None
        self._timer_at = None
        heap = self._ack_heap
        while heap and heap[0][0] <= now:
            _, _, ack_key = heapq.heappop(heap)
            entry = self._acks.get(ack_key)
            if entry is None:
                continue
            rt, owner = entry
            for send in rt.on_timeout(now):
                self._send(send)
            deadline = rt.next_deadline()
            if deadline is not None:
                heapq.heappush(heap, (deadline, next(self._seq), ack_key))
            elif rt.gave_up:
                del self._acks[ack_key]
                if owner._ack is not None and not owner._ack.done():
                    owner._ack.set_result(None)
        self._process(self.layer.on_timeout(now))

    def _reschedule(self) -> None:
        deadline = self.layer.next_deadline()
        while self._ack_heap and self._ack_heap[0][2] not in self._acks:
            heapq.heappop(self._ack_heap)
        if self._ack_heap:
            ack_deadline = self._ack_heap[0][0]
            deadline = ack_deadline if deadline is None else min(deadline, ack_deadline)
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)


def _failure(reason: FailureReason, request: SipRequest) -> Exception:
    if reason is FailureReason.TRANSPORT_ERROR:
        return TransportFailure(f"{request.method} to {request.uri} could not be delivered")
    return TransactionTimeout(
        f"no final response to {request.method} {request.uri} (RFC 3261 Timer B/F)"
    )
