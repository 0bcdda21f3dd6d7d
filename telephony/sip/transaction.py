"""Sans-IO SIP transactions (RFC 3261 §17, amended by RFC 6026): tables, timers, matching.

Rules of this file:
- Nothing here touches a socket or a clock. Inputs are ``(message, source, now)``, TU calls
  and ``on_timeout(now)``; outputs are lists of ``Send`` (bytes to a ``Peer``) and events.
- Each of the four machines is one table ``(kind, state, input) -> (next state, actions)``.
  An input with no row raises ``LocalSipError`` for TU inputs (the TU broke the rules) and is
  silently absorbed for network inputs (the peer may retransmit anything at any time).
- Timers are named after RFC 3261 §17 (A-K) plus L and M from RFC 6026 §7.1, which replaces
  "INVITE transaction ends on 2xx" with an Accepted state, so that 2xx retransmissions reach
  the UAC's TU and INVITE retransmissions after our 2xx are absorbed.
- The layer sends 100 Trying itself as soon as an INVITE server transaction starts
  (§17.2.1 allows either; doing it here makes it independent of the TU's speed).
- CANCEL (§9.2) is answered here: 200 to the CANCEL and 487 to the matched INVITE if it is
  still Proceeding, then ``InviteCancelled`` tells the TU; no match gives 481.
- A merged request (§8.2.2.2) is answered 482 and a request with Max-Forwards 0 is answered
  483 (except OPTIONS, which the TU may answer, cf. §16.3 item 3); the TU sees neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from telephony.sip.address import DEFAULT_PORTS, Peer
from telephony.sip.errors import LocalSipError
from telephony.sip.headers import split_comma_list
from telephony.sip.message import (
    MAGIC_COOKIE,
    Headers,
    SipRequest,
    SipResponse,
)
from telephony.sip.timers import Timer, TimerConfig

__all__ = [
    "INITIAL_STATE",
    "Ack2xxRetransmitter",
    "FailureReason",
    "InviteCancelled",
    "MessageRejected",
    "Output",
    "RequestReceived",
    "ResponseReceived",
    "Send",
    "StrayResponse",
    "TransactionFailed",
    "TransactionKey",
    "TransactionTerminated",
    "TxKind",
    "TxState",
    "make_ack_for_non2xx",
    "make_cancel",
    "response_destination",
    "stamp_received",
    "transaction_diagram",
]

# (branch, sent-by host, sent-by port, method) for servers; (branch, method) for clients.
TransactionKey = tuple[str, ...]


# --- outputs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Bytes for the transport to deliver (``message`` is what they encode)."""

    data: bytes
    destination: Peer
    message: SipRequest | SipResponse
    key: TransactionKey | None = None  # the transaction to fail if delivery fails


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A new request for the TU. ``key`` is None for requests outside any transaction
    (an ACK for a 2xx, RFC 3261 §17.2.3/§13.3.1.4): the TU must not answer those."""

    request: SipRequest
    source: Peer
    key: TransactionKey | None


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response for the client transaction ``key`` (provisional or final)."""

    response: SipResponse
    key: TransactionKey


@dataclass(frozen=True, slots=True)
class StrayResponse:
    """A response that matches no client transaction (§18.1.2: the core may use or drop it)."""

    response: SipResponse
    source: Peer


@dataclass(frozen=True, slots=True)
class InviteCancelled:
    """The INVITE server transaction ``key`` was CANCELled; 200 and 487 are already sent."""

    key: TransactionKey
    cancel: SipRequest


class FailureReason(Enum):
    __hash__ = object.__hash__  # identity hash: Enum's is Python-level and hot here

    TIMEOUT = auto()  # Timer B, C or F (client): no final response
    NO_ACK = auto()  # Timer H (INVITE server): our non-2xx final was never ACKed
    TRANSPORT_ERROR = auto()  # §17.1.4 / §17.2.4


@dataclass(frozen=True, slots=True)
class TransactionFailed:
    key: TransactionKey
    reason: FailureReason


@dataclass(frozen=True, slots=True)
class TransactionTerminated:
    key: TransactionKey


@dataclass(frozen=True, slots=True)
class MessageRejected:
    """An unusable datagram/frame: answered with ``status`` (None: dropped), for logging."""

    source: Peer
    reason: str
    status: int | None


Event = (
    RequestReceived
    | ResponseReceived
    | StrayResponse
    | InviteCancelled
    | TransactionFailed
    | TransactionTerminated
    | MessageRejected
)
Output = Send | Event


# --- the tables -------------------------------------------------------------------------------


class TxKind(Enum):
    __hash__ = object.__hash__  # identity hash: Enum's is Python-level and hot here

    INVITE_CLIENT = auto()
    NON_INVITE_CLIENT = auto()
    INVITE_SERVER = auto()
    NON_INVITE_SERVER = auto()


class TxState(Enum):
    __hash__ = object.__hash__  # identity hash: Enum's is Python-level and hot here

    CALLING = auto()
    TRYING = auto()
    PROCEEDING = auto()
    COMPLETED = auto()
    CONFIRMED = auto()
    ACCEPTED = auto()  # RFC 6026
    TERMINATED = auto()


class _In(Enum):
    __hash__ = object.__hash__  # identity hash: Enum's is Python-level and hot here

    REQUEST = auto()  # server: a retransmission of the request
    ACK = auto()  # INVITE server: ACK with the transaction's branch (non-2xx ACK)
    TU_1XX = auto()
    TU_2XX = auto()
    TU_FINAL = auto()  # INVITE: 300-699; non-INVITE: 200-699
    RESP_1XX = auto()
    RESP_2XX = auto()
    RESP_FINAL = auto()  # INVITE: 300-699; non-INVITE: 200-699
    TIMER = auto()  # distinguished further by the Timer
    TRANSPORT_ERROR = auto()


class _Do(Enum):
    __hash__ = object.__hash__  # identity hash: Enum's is Python-level and hot here

    SEND = auto()  # send the TU's response and remember it
    RESEND = auto()  # resend the last response sent
    REPORT = auto()  # give the message to the TU
    SEND_ACK = auto()  # build and send the ACK for a non-2xx (§17.1.1.3)
    RESEND_ACK = auto()
    RETRANSMIT = auto()  # client: send the request again (timer A/E)
    RESEND_FINAL = auto()  # server: timer G
    RESTART_C = auto()  # INVITE client: a provisional restarts Timer C (§16.7 item 2)
    FAIL_TIMEOUT = auto()
    FAIL_NO_ACK = auto()
    FAIL_TRANSPORT = auto()


_IC, _NIC, _IS, _NIS = (
    TxKind.INVITE_CLIENT,
    TxKind.NON_INVITE_CLIENT,
    TxKind.INVITE_SERVER,
    TxKind.NON_INVITE_SERVER,
)
_S = TxState
_T = Timer

# (kind, state, input or timer) -> (next state, actions)
_TABLE: dict[tuple[TxKind, TxState, _In | Timer], tuple[TxState, tuple[_Do, ...]]] = {
    # INVITE client, RFC 3261 §17.1.1 figure 5 + RFC 6026 §7.2
    (_IC, _S.CALLING, _T.A): (_S.CALLING, (_Do.RETRANSMIT,)),
    (_IC, _S.CALLING, _T.B): (_S.TERMINATED, (_Do.FAIL_TIMEOUT,)),
    (_IC, _S.CALLING, _In.RESP_1XX): (_S.PROCEEDING, (_Do.REPORT,)),
    (_IC, _S.CALLING, _In.RESP_2XX): (_S.ACCEPTED, (_Do.REPORT,)),
    (_IC, _S.CALLING, _In.RESP_FINAL): (_S.COMPLETED, (_Do.REPORT, _Do.SEND_ACK)),
    (_IC, _S.PROCEEDING, _In.RESP_1XX): (_S.PROCEEDING, (_Do.REPORT, _Do.RESTART_C)),
    (_IC, _S.PROCEEDING, _T.C): (_S.TERMINATED, (_Do.FAIL_TIMEOUT,)),
    (_IC, _S.PROCEEDING, _In.RESP_2XX): (_S.ACCEPTED, (_Do.REPORT,)),
    (_IC, _S.PROCEEDING, _In.RESP_FINAL): (_S.COMPLETED, (_Do.REPORT, _Do.SEND_ACK)),
    (_IC, _S.COMPLETED, _In.RESP_FINAL): (_S.COMPLETED, (_Do.RESEND_ACK,)),
    (_IC, _S.COMPLETED, _T.D): (_S.TERMINATED, ()),
    (_IC, _S.ACCEPTED, _In.RESP_2XX): (_S.ACCEPTED, (_Do.REPORT,)),
    (_IC, _S.ACCEPTED, _T.M): (_S.TERMINATED, ()),
    # non-INVITE client, §17.1.2 figure 6
    (_NIC, _S.TRYING, _T.E): (_S.TRYING, (_Do.RETRANSMIT,)),
    (_NIC, _S.TRYING, _T.F): (_S.TERMINATED, (_Do.FAIL_TIMEOUT,)),
    (_NIC, _S.TRYING, _In.RESP_1XX): (_S.PROCEEDING, (_Do.REPORT,)),
    (_NIC, _S.TRYING, _In.RESP_FINAL): (_S.COMPLETED, (_Do.REPORT,)),
    (_NIC, _S.PROCEEDING, _T.E): (_S.PROCEEDING, (_Do.RETRANSMIT,)),
    (_NIC, _S.PROCEEDING, _T.F): (_S.TERMINATED, (_Do.FAIL_TIMEOUT,)),
    (_NIC, _S.PROCEEDING, _In.RESP_1XX): (_S.PROCEEDING, (_Do.REPORT,)),
    (_NIC, _S.PROCEEDING, _In.RESP_FINAL): (_S.COMPLETED, (_Do.REPORT,)),
    (_NIC, _S.COMPLETED, _T.K): (_S.TERMINATED, ()),
    # INVITE server, §17.2.1 figure 7 + RFC 6026 §7.1
    (_IS, _S.PROCEEDING, _In.REQUEST): (_S.PROCEEDING, (_Do.RESEND,)),
    (_IS, _S.PROCEEDING, _In.TU_1XX): (_S.PROCEEDING, (_Do.SEND,)),
    (_IS, _S.PROCEEDING, _In.TU_2XX): (_S.ACCEPTED, (_Do.SEND,)),
    (_IS, _S.PROCEEDING, _In.TU_FINAL): (_S.COMPLETED, (_Do.SEND,)),
    (_IS, _S.COMPLETED, _In.REQUEST): (_S.COMPLETED, (_Do.RESEND,)),
    (_IS, _S.COMPLETED, _T.G): (_S.COMPLETED, (_Do.RESEND_FINAL,)),
    (_IS, _S.COMPLETED, _T.H): (_S.TERMINATED, (_Do.FAIL_NO_ACK,)),
    (_IS, _S.COMPLETED, _In.ACK): (_S.CONFIRMED, ()),
    (_IS, _S.CONFIRMED, _T.I): (_S.TERMINATED, ()),
    (_IS, _S.ACCEPTED, _In.TU_2XX): (_S.ACCEPTED, (_Do.SEND,)),
    (_IS, _S.ACCEPTED, _In.ACK): (_S.ACCEPTED, (_Do.REPORT,)),
    (_IS, _S.ACCEPTED, _T.L): (_S.TERMINATED, ()),
    # non-INVITE server, §17.2.2 figure 8
    (_NIS, _S.TRYING, _In.TU_1XX): (_S.PROCEEDING, (_Do.SEND,)),
    (_NIS, _S.TRYING, _In.TU_FINAL): (_S.COMPLETED, (_Do.SEND,)),
    (_NIS, _S.PROCEEDING, _In.REQUEST): (_S.PROCEEDING, (_Do.RESEND,)),
    (_NIS, _S.PROCEEDING, _In.TU_1XX): (_S.PROCEEDING, (_Do.SEND,)),
    (_NIS, _S.PROCEEDING, _In.TU_FINAL): (_S.COMPLETED, (_Do.SEND,)),
    (_NIS, _S.COMPLETED, _In.REQUEST): (_S.COMPLETED, (_Do.RESEND,)),
    (_NIS, _S.COMPLETED, _T.J): (_S.TERMINATED, ()),
}
for _kind in TxKind:
    for _state in TxState:
        if _state is not TxState.TERMINATED:
            _TABLE[(_kind, _state, _In.TRANSPORT_ERROR)] = (_S.TERMINATED, (_Do.FAIL_TRANSPORT,))

INITIAL_STATE: dict[TxKind, TxState] = {
    TxKind.INVITE_CLIENT: TxState.CALLING,
    TxKind.NON_INVITE_CLIENT: TxState.TRYING,
    TxKind.INVITE_SERVER: TxState.PROCEEDING,
    TxKind.NON_INVITE_SERVER: TxState.TRYING,
}

# Timers started on entering a state; any other armed timer is cancelled on a state change,
# except the ones listed in _KEEP (non-INVITE client keeps E and F into Proceeding).
_ENTRY_TIMERS: dict[tuple[TxKind, TxState], tuple[Timer, ...]] = {
    (_IC, _S.CALLING): (_T.A, _T.B),
    (_IC, _S.PROCEEDING): (_T.C,),
    (_IC, _S.COMPLETED): (_T.D,),
    (_IC, _S.ACCEPTED): (_T.M,),
    (_NIC, _S.TRYING): (_T.E, _T.F),
    (_NIC, _S.COMPLETED): (_T.K,),
    (_IS, _S.COMPLETED): (_T.G, _T.H),
    (_IS, _S.CONFIRMED): (_T.I,),
    (_IS, _S.ACCEPTED): (_T.L,),
    (_NIS, _S.COMPLETED): (_T.J,),
}
_KEEP: dict[tuple[TxKind, TxState], frozenset[Timer]] = {
    (_NIC, _S.PROCEEDING): frozenset({_T.E, _T.F}),
}


def transition(kind: TxKind, state: TxState, event: _In | Timer) -> tuple[TxState, tuple[_Do, ...]]:
    """Look up a row; raises LocalSipError naming what cannot happen where."""
    row = _TABLE.get((kind, state, event))
    if row is None:
        raise LocalSipError(f"{kind.name} transaction can't handle {event.name} in {state.name}")
    return row


def transaction_diagram(kind: TxKind) -> str:
    """A mermaid state diagram of ``kind`` generated from the table (docs/sip.md holds them)."""
    initial = INITIAL_STATE[kind]
    lines = ["stateDiagram-v2", f"    [*] --> {initial.name}"]
    for (k, state, event), (target, actions) in _TABLE.items():
        if k is not kind or event is _In.TRANSPORT_ERROR:
            continue
        label = f"timer {event.name}" if isinstance(event, Timer) else event.name
        if actions:
            label += " / " + ", ".join(a.name for a in actions)
        lines.append(f"    {state.name} --> {target.name}: {label}")
    lines.append("    TERMINATED --> [*]")
    return "\n".join(lines)


# --- routing helpers (pure) -------------------------------------------------------------------


def stamp_received(request: SipRequest, source: Peer) -> SipRequest:
    """Add ``received`` (§18.2.1) and fill ``rport`` (RFC 3581 §4) in the top Via."""
    via = request.top_via
    new = via
    # A received= the client wrote itself is never trusted: only the packet source is.
    if via.host.strip("[]") != source.host or (
        via.received is not None and via.received != source.host
    ):
        new = new.with_param("received", source.host)
    if via.wants_rport:
        new = new.with_param("rport", str(source.port))
        if new.received is None:
            new = new.with_param("received", source.host)  # RFC 3581 §4: MUST add both
    if new is via:
        return request
    first_raw = request.headers.raw_values("Via")[0]
    if "," in first_raw:
        first_line = ", ".join([str(new), *split_comma_list(first_raw)[1:]])
    else:
        first_line = str(new)
    headers = request.headers.with_first_replaced("Via", first_line)
    result = SipRequest(request.method, request.uri, headers, request.body)
    cache = result.__dict__
    for name in _CACHED:
        if name in request.__dict__:
            cache[name] = request.__dict__[name]
    cache["vias"] = (new, *request.vias[1:])
    return result


# Accessors the parser pre-fills; carried over when only the top Via changes.
_CACHED = ("call_id", "cseq", "from_", "to", "max_forwards")


def response_destination(request: SipRequest, source: Peer) -> Peer:
    """Where responses to ``request`` go (§18.2.2, RFC 3581 §4).

    Reliable: back to the source (the transport reuses that connection). UDP: ``received``
    (or sent-by) host, at ``rport`` if present, else the sent-by port, else 5060.
    """
    if source.transport.reliable:
        return source
    via = request.top_via
    host = via.received or via.host.strip("[]")
    port = via.rport or via.port or DEFAULT_PORTS[source.transport]
    return Peer(source.transport, host, port)


def make_ack_for_non2xx(request: SipRequest, response: SipResponse) -> SipRequest:
    """The ACK a client INVITE transaction sends for a 300-699 (RFC 3261 §17.1.1.3)."""
    h = request.headers
    items: list[tuple[str, str]] = [("Via", str(request.top_via))]
    items += [("Route", v) for v in h.raw_values("Route")]
    items += [
        ("Max-Forwards", "70"),
        ("From", h.raw_values("From")[0]),
        ("To", response.headers.raw_values("To")[0]),
        ("Call-ID", request.call_id),
        ("CSeq", f"{request.cseq.seq} ACK"),
    ]
    return SipRequest("ACK", request.uri, Headers(items))


def make_cancel(invite: SipRequest) -> SipRequest:
    """A CANCEL for ``invite`` (RFC 3261 §9.1): same URI, Call-ID, From, To, CSeq number,
    the same top Via (so it matches the INVITE's server transaction) and Route set."""
    h = invite.headers
    items: list[tuple[str, str]] = [("Via", str(invite.top_via))]
    items += [("Route", v) for v in h.raw_values("Route")]
    items += [
        ("Max-Forwards", "70"),
        ("From", h.raw_values("From")[0]),
        ("To", h.raw_values("To")[0]),
        ("Call-ID", invite.call_id),
        ("CSeq", f"{invite.cseq.seq} CANCEL"),
    ]
    return SipRequest("CANCEL", invite.uri, Headers(items))


def _server_key(request: SipRequest, method: str) -> TransactionKey:
    """§17.2.3 matching: branch + sent-by + method (ACK matches INVITE)."""
    via = request.top_via
    branch = via.branch or ""
    if branch.startswith(MAGIC_COOKIE):
        return (branch, via.host.lower(), str(via.port or 0), method)
    # RFC 2543 peers: no usable branch. Approximate §17.2.3's rules with the dialog-ish ids.
    return (
        "2543",
        request.call_id,
        request.from_.tag or "",
        str(request.cseq.seq),
        str(request.uri),
        str(via),
        method,
    )


def _client_key(branch: str, method: str) -> TransactionKey:
    return (branch, method)


def _classify_response(kind: TxKind, status: int, *, from_tu: bool) -> _In:
    if status < 200:
        return _In.TU_1XX if from_tu else _In.RESP_1XX
    if status < 300 and kind in (TxKind.INVITE_CLIENT, TxKind.INVITE_SERVER):
        return _In.TU_2XX if from_tu else _In.RESP_2XX
    return _In.TU_FINAL if from_tu else _In.RESP_FINAL


class _Tx:
    __slots__ = (
        "ack",
        "intervals",
        "key",
        "kind",
        "last_response",
        "merge_key",
        "peer",
        "request",
        "request_bytes",
        "state",
        "timers",
        "to_tag",
    )

    def __init__(self, kind: TxKind, key: TransactionKey, request: SipRequest, peer: Peer) -> None:
        self.kind = kind
        self.key = key
        self.request = request
        self.peer = peer  # client: destination; server: where responses go
        self.state = TxState.TERMINATED
        self.request_bytes = b""
        self.last_response: Send | None = None
        self.ack: Send | None = None
        self.timers: dict[Timer, int] = {}  # timer -> token of its live heap entry
        self.intervals: dict[Timer, float] = {}
        self.to_tag: str | None = None
        self.merge_key: tuple[str, ...] | None = None


class Ack2xxRetransmitter:
    """Sans-IO retransmission of a 2xx to INVITE until its ACK arrives (RFC 3261 §13.3.1.4).

    The UAS core (not the transaction) owns this: "the 2xx response is passed to the transport
    with an interval that starts at T1 seconds and doubles for each retransmission until it
    reaches T2 seconds"; it stops on the ACK, and after 64*T1 without one the session SHOULD
    be ended with a BYE (``gave_up`` becomes True). This runs on reliable transports too,
    because an intermediate proxy may forward over UDP.
    """

    __slots__ = ("_deadline", "_give_up_at", "_interval", "_send", "_t2", "acked", "gave_up")

    def __init__(self, send: Send, now: float, timers: TimerConfig) -> None:
        self._send = send
        self._interval = timers.t1
        self._t2 = timers.t2
        self._deadline: float | None = now + timers.t1
        self._give_up_at = now + 64 * timers.t1
        self.acked = False
        self.gave_up = False

    def next_deadline(self) -> float | None:
        return self._deadline

    def on_timeout(self, now: float) -> list[Send]:
        """Retransmissions due at ``now`` (empty once acked or given up)."""
        if self._deadline is None or now < self._deadline:
            return []
        if now >= self._give_up_at:
            self._deadline = None
            self.gave_up = True
            return []
        self._interval = min(self._interval * 2, self._t2)
        self._deadline = min(now + self._interval, self._give_up_at)
        return [self._send]

    def ack_received(self) -> None:
        self.acked = True
        self._deadline = None
