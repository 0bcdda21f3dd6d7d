"""The transaction layer: matches messages to transactions, drives their tables and timers.

Sans-IO like the tables in ``transaction.py``: every method takes ``now`` and returns a list
of outputs (``Send`` and events). The asyncio endpoint calls ``on_timeout(now)`` when
``next_deadline()`` passes.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from typing import Final

from telephony.sip.address import Peer
from telephony.sip.errors import LocalSipError, RemoteSipError
from telephony.sip.message import (
    Headers,
    SipRequest,
    SipResponse,
    make_response,
    new_tag,
)
from telephony.sip.parser import parse_message, salvage_headers
from telephony.sip.timers import Timer, TimerConfig
from telephony.sip.transaction import (
    _ENTRY_TIMERS,
    _KEEP,
    INITIAL_STATE,
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
    TxKind,
    TxState,
    _classify_response,
    _client_key,
    _Do,
    _In,
    _server_key,
    _Tx,
    make_ack_for_non2xx,
    response_destination,
    stamp_received,
    transition,
)
from telephony.sip.uri import SipUri

__all__ = ["TransactionLayer"]

log = logging.getLogger(__name__)

_FAILURES = {
    _Do.FAIL_TIMEOUT: FailureReason.TIMEOUT,
    _Do.FAIL_NO_ACK: FailureReason.NO_ACK,
    _Do.FAIL_TRANSPORT: FailureReason.TRANSPORT_ERROR,
}


class TransactionLayer:
    """All client and server transactions of one endpoint."""

    def __init__(self, timers: TimerConfig | None = None, *, send_trying: bool = True) -> None:
        self.timers = timers or TimerConfig()
        self.send_trying = send_trying
        self._server: dict[TransactionKey, _Tx] = {}
        self._client: dict[TransactionKey, _Tx] = {}
        # §8.2.2.2: (From tag, Call-ID, CSeq) of live server transactions without a To tag
        self._merge: dict[tuple[str, ...], TransactionKey] = {}
        self._heap: list[tuple[float, int, TransactionKey, bool, Timer]] = []
        self._tokens = itertools.count(1)

    # --- inspection -----------------------------------------------------------------------

    def state(self, key: TransactionKey) -> TxState:
        """Current state of a live transaction; TERMINATED once it is gone."""
        tx = self._server.get(key) or self._client.get(key)
        return tx.state if tx is not None else TxState.TERMINATED

    def server_request(self, key: TransactionKey) -> SipRequest | None:
        tx = self._server.get(key)
        return tx.request if tx is not None else None

    def __len__(self) -> int:
        return len(self._server) + len(self._client)

    # --- network input --------------------------------------------------------------------

    def receive_data(self, data: bytes, source: Peer, now: float) -> list[Output]:
        """A datagram or stream frame from ``source``: parse it, answer errors, dispatch."""
        if not data.strip(b"\r\n"):
            return []  # CRLF keep-alive (RFC 5626 §3.5.1; pjsip sends them over UDP too)
        try:
            message = parse_message(data)
        except RemoteSipError as exc:
            return self.reject(data, source, exc)
        return self.receive(message, source, now)

    def receive(self, message: SipRequest | SipResponse, source: Peer, now: float) -> list[Output]:
        if isinstance(message, SipResponse):
            return self._receive_response(message, source, now)
        return self._receive_request(message, source, now)

    def reject(self, data: bytes, source: Peer, exc: RemoteSipError) -> list[Output]:
        """Answer unusable ``data`` with ``exc.status_hint`` if a response can be routed."""
        salvaged = salvage_headers(data)
        if salvaged is None:
            return [MessageRejected(source, exc.reason, None)]
        method, headers = salvaged
        status = exc.status_hint
        items = list(headers)
        warning = [("Warning", f'399 hotline "{_warning_text(exc.reason)}"')]
        try:
            fake = stamp_received(SipRequest(method, _PLACEHOLDER_URI, Headers(items)), source)
            dest = response_destination(fake, source)
        except RemoteSipError:
            return [MessageRejected(source, exc.reason, None)]
        try:
            reply = make_response(fake, status, to_tag=new_tag(), headers=warning)
        except RemoteSipError:  # unparsable To: answer with it copied as it came
            reply = make_response(fake, status, headers=warning)
        return [
            MessageRejected(source, exc.reason, status),
            Send(reply.serialize(), dest, reply),
        ]

    def _receive_request(self, request: SipRequest, source: Peer, now: float) -> list[Output]:
        request = stamp_received(request, source)
        method = request.method
        key = _server_key(request, "INVITE" if method == "ACK" else method)
        tx = self._server.get(key)
        if tx is not None:
            if method == "ACK":
                if tx.kind is TxKind.INVITE_SERVER:
                    return self._fire(tx, _In.ACK, now, request=request, source=source)
                return []
            return self._fire(tx, _In.REQUEST, now)
        if method == "ACK":
            return [RequestReceived(request, source, None)]
        dest = response_destination(request, source)
        kind = TxKind.INVITE_SERVER if method == "INVITE" else TxKind.NON_INVITE_SERVER
        tx = self._new(kind, key, request, dest, now)
        out: list[Output] = []
        if method == "CANCEL":
            return self._cancel(tx, request, now)
        if request.max_forwards == 0 and method != "OPTIONS":
            return self._auto_answer(tx, 483, now)
        if request.to.tag is None:
            merge_key = (request.from_.tag or "", request.call_id, str(request.cseq))
            other = self._merge.get(merge_key)
            if other is not None and other in self._server:
                return self._auto_answer(tx, 482, now)
            self._merge[merge_key] = key
            tx.merge_key = merge_key
        if kind is TxKind.INVITE_SERVER and self.send_trying:
            out += self._fire(tx, _In.TU_1XX, now, response=make_response(request, 100))
        out.append(RequestReceived(request, source, key))
        return out

    def _auto_answer(self, tx: _Tx, status: int, now: float) -> list[Output]:
        response = make_response(tx.request, status, to_tag=new_tag())
        return self._fire(
            tx, _classify_response(tx.kind, status, from_tu=True), now, response=response
        )

    def _cancel(self, tx: _Tx, cancel: SipRequest, now: float) -> list[Output]:
        """§9.2: answer the CANCEL; 487 the INVITE if still Proceeding; tell the TU."""
        invite_key = _server_key(cancel, "INVITE")
        invite = self._server.get(invite_key)
        if invite is None:
            return self._auto_answer(tx, 481, now)
        to_tag = invite.to_tag or new_tag()
        invite.to_tag = to_tag
        out = self._fire(tx, _In.TU_FINAL, now, response=make_response(cancel, 200, to_tag=to_tag))
        if invite.state is TxState.PROCEEDING:
            terminated = make_response(invite.request, 487, to_tag=to_tag)
            out += self._fire(invite, _In.TU_FINAL, now, response=terminated)
            out.append(InviteCancelled(invite_key, cancel))
        return out

    def _receive_response(self, response: SipResponse, source: Peer, now: float) -> list[Output]:
        # §17.1.3: top Via branch + CSeq method.
        via = response.top_via
        tx = self._client.get(_client_key(via.branch or "", response.cseq.method))
        if tx is None:
            return [StrayResponse(response, source)]
        event = _classify_response(tx.kind, response.status, from_tu=False)
        return self._fire(tx, event, now, response=response)

    # --- TU input -------------------------------------------------------------------------

    def send_request(
        self, request: SipRequest, destination: Peer, now: float
    ) -> tuple[TransactionKey, list[Output]]:
        """Start a client transaction. The request must carry its top Via with a branch."""
        if request.method == "ACK":
            raise LocalSipError("ACK is not sent in a transaction; use send_stateless")
        try:
            branch = request.top_via.branch
        except RemoteSipError as exc:
            raise LocalSipError(f"request has no usable Via: {exc.reason}") from None
        if not branch:
            raise LocalSipError("request's top Via has no branch (RFC 3261 §8.1.1.7)")
        key = _client_key(branch, request.method)
        if key in self._client:
            raise LocalSipError(f"a client transaction with branch {branch} already exists")
        kind = TxKind.INVITE_CLIENT if request.method == "INVITE" else TxKind.NON_INVITE_CLIENT
        tx = self._new(kind, key, request, destination, now)
        tx.request_bytes = request.serialize()
        return key, [Send(tx.request_bytes, destination, request, key)]

    def respond(self, key: TransactionKey, response: SipResponse, now: float) -> list[Output]:
        """Send a TU response through server transaction ``key``."""
        tx = self._server.get(key)
        if tx is None:
            raise LocalSipError(f"server transaction {key!r} no longer exists")
        if response.status >= 101:
            tag = response.to.tag
            if tag is not None:
                tx.to_tag = tag
        event = _classify_response(tx.kind, response.status, from_tu=True)
        return self._fire(tx, event, now, response=response)

    def transport_error(self, key: TransactionKey, now: float) -> list[Output]:
        """The transport could not deliver for ``key`` (§17.1.4, §17.2.4)."""
        tx = self._server.get(key) or self._client.get(key)
        if tx is None:
            return []
        return self._fire(tx, _In.TRANSPORT_ERROR, now)

    # --- time -----------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap:
            deadline, token, key, server, timer = heap[0]
            table = self._server if server else self._client
            tx = table.get(key)
            if tx is not None and tx.timers.get(timer) == token:
                return deadline
            heapq.heappop(heap)
        return None

    def on_timeout(self, now: float) -> list[Output]:
        out: list[Output] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _deadline, token, key, server, timer = heapq.heappop(heap)
            tx = (self._server if server else self._client).get(key)
            if tx is None or tx.timers.get(timer) != token:
                continue
            del tx.timers[timer]
            out += self._fire(tx, timer, now)
        return out

    # --- machinery ------------------------------------------------------------------------

    def _new(
        self, kind: TxKind, key: TransactionKey, request: SipRequest, peer: Peer, now: float
    ) -> _Tx:
        tx = _Tx(kind, key, request, peer)
        (self._server if _is_server(kind) else self._client)[key] = tx
        self._enter(tx, INITIAL_STATE[kind], now)
        return tx

    def _arm(self, tx: _Tx, timer: Timer, delay: float, now: float) -> None:
        token = next(self._tokens)
        tx.timers[timer] = token
        heapq.heappush(self._heap, (now + delay, token, tx.key, _is_server(tx.kind), timer))

    def _enter(self, tx: _Tx, state: TxState, now: float) -> None:
        kind = tx.kind
        keep = _KEEP.get((kind, state))
        if tx.timers and state is not tx.state:
            tx.timers = {t: tok for t, tok in tx.timers.items() if keep and t in keep}
        tx.state = state
        reliable = tx.peer.transport.reliable
        for timer in _ENTRY_TIMERS.get((kind, state), ()):
            delay = self.timers.initial(timer, reliable=reliable)
            if delay is None:
                continue
            if delay == 0.0:
                tx.state = TxState.TERMINATED
                return
            tx.intervals[timer] = delay
            self._arm(tx, timer, delay, now)

    def _fire(
        self,
        tx: _Tx,
        event: _In | Timer,
        now: float,
        *,
        response: SipResponse | None = None,
        request: SipRequest | None = None,
        source: Peer | None = None,
    ) -> list[Output]:
        is_tu = event in (_In.TU_1XX, _In.TU_2XX, _In.TU_FINAL)
        try:
            state, actions = transition(tx.kind, tx.state, event)
        except LocalSipError:
            if is_tu:
                raise
            return []  # network retransmissions and stale inputs are absorbed
        out: list[Output] = []
        for action in actions:
            if action is _Do.SEND:
                assert response is not None
                sent = Send(response.serialize(), tx.peer, response, tx.key)
                tx.last_response = sent
                out.append(sent)
            elif action is _Do.RESEND:
                if tx.last_response is not None:
                    out.append(tx.last_response)
            elif action is _Do.RESEND_FINAL:
                if tx.last_response is not None:
                    out.append(tx.last_response)
                self._rearm(tx, Timer.G, now)
            elif action is _Do.RETRANSMIT:
                out.append(Send(tx.request_bytes, tx.peer, tx.request, tx.key))
                assert isinstance(event, Timer)
                if tx.kind is TxKind.NON_INVITE_CLIENT and tx.state is TxState.PROCEEDING:
                    # §17.1.2.2: in Proceeding, Timer E is reset to T2 (not doubled)
                    tx.intervals[event] = self.timers.t2
                    self._arm(tx, event, self.timers.t2, now)
                else:
                    self._rearm(tx, event, now)
            elif action is _Do.RESTART_C:
                self._arm(tx, Timer.C, self.timers.timer_c, now)
            elif action is _Do.REPORT:
                if response is not None:
                    out.append(ResponseReceived(response, tx.key))
                elif request is not None and source is not None:
                    out.append(RequestReceived(request, source, None))
            elif action is _Do.SEND_ACK:
                assert response is not None
                ack = make_ack_for_non2xx(tx.request, response)
                tx.ack = Send(ack.serialize(), tx.peer, ack, tx.key)
                out.append(tx.ack)
            elif action is _Do.RESEND_ACK:
                if tx.ack is not None:
                    out.append(tx.ack)
            else:
                out.append(TransactionFailed(tx.key, _FAILURES[action]))
        if state is not tx.state:
            self._enter(tx, state, now)
        if tx.state is TxState.TERMINATED:
            out += self._remove(tx)
        return out

    def _rearm(self, tx: _Tx, timer: Timer, now: float) -> None:
        interval = self.timers.next_interval(timer, tx.intervals[timer])
        tx.intervals[timer] = interval
        self._arm(tx, timer, interval, now)

    def _remove(self, tx: _Tx) -> list[Output]:
        table = self._server if _is_server(tx.kind) else self._client
        if table.pop(tx.key, None) is None:
            return []
        tx.timers.clear()
        if tx.merge_key is not None and self._merge.get(tx.merge_key) == tx.key:
            del self._merge[tx.merge_key]
        return [TransactionTerminated(tx.key)]


def _is_server(kind: TxKind) -> bool:
    return kind in (TxKind.INVITE_SERVER, TxKind.NON_INVITE_SERVER)


def _warning_text(reason: str) -> str:
    # warn-text is a quoted-string (RFC 3261 §20.43): keep it printable and quote-free.
    return "".join(c if c.isprintable() and c not in '"\\' else " " for c in reason)[:200]


_PLACEHOLDER_URI: Final = SipUri("sip", None, "invalid")
