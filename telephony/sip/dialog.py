"""SIP dialogs (RFC 3261 §12, §13.2.2.4, §14): identity, CSeq, route set, in-dialog requests.

Rules of this file:
- A dialog's state changes only through `_TRANSITIONS`, keyed by (state, event). A pair that
  is not in the table raises `DialogStateError` naming both: the caller fed an event that
  cannot happen in that state (a bug on our side, never the peer's).
- What the peer may get wrong is a `RemoteSipError` with the status to answer: a CSeq lower
  than the last one (500, §12.2.2), an INVITE or offer while one is in progress (491 or 500
  with Retry-After, §14.2, RFC 3311 §5.2).
- Nothing here reads a clock or touches a socket; the caller supplies the Via (with a fresh
  branch) and delivers what `build_request` / `build_ack` return to `next_hop()`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from telephony.sip.errors import LocalSipError, RemoteSipError
from telephony.sip.headers import Via
from telephony.sip.limits import DEFAULT_MAX_FORWARDS, MAX_CSEQ
from telephony.sip.message import Headers, Method, SipRequest, SipResponse
from telephony.sip.uri import NameAddr, SipUri

# RFC 3261 §14.1: after a 491 the owner of the Call-ID waits 2.1-4 s, the other side 0-2 s.
GLARE_OWNER_WAIT: Final = (2.1, 4.0)
GLARE_OTHER_WAIT: Final = (0.0, 2.0)
# RFC 3261 §14.2: a second INVITE while one is in progress gets 500 with a Retry-After
# "randomly chosen value between 0 and 10 seconds".
RETRY_AFTER_MAX: Final = 10

# Methods that refresh the remote target when they carry a Contact (§12.2, RFC 3311 §5.2).
TARGET_REFRESH_METHODS: Final = frozenset({Method.INVITE, Method.UPDATE})


class DialogState(StrEnum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class DialogEvent(StrEnum):
    PROVISIONAL = "provisional"  # 1xx with a To tag for the dialog-creating INVITE
    ANSWERED = "answered"  # 2xx for the dialog-creating INVITE (sent or received)
    FAILED = "failed"  # non-2xx final for the dialog-creating INVITE
    BYE = "bye"  # a BYE sent or received
    GONE = "gone"  # 481/408 to an in-dialog request (§12.2.1.2)


class Role(StrEnum):
    UAC = "uac"  # we sent the dialog-creating INVITE
    UAS = "uas"  # we received it


_E = DialogEvent
_S = DialogState
_TRANSITIONS: Final[dict[tuple[DialogState, DialogEvent], DialogState]] = {
    (_S.EARLY, _E.PROVISIONAL): _S.EARLY,
    (_S.EARLY, _E.ANSWERED): _S.CONFIRMED,
    (_S.EARLY, _E.FAILED): _S.TERMINATED,
    (_S.EARLY, _E.BYE): _S.TERMINATED,  # §15: the caller may BYE an early dialog
    (_S.EARLY, _E.GONE): _S.TERMINATED,
    (_S.CONFIRMED, _E.PROVISIONAL): _S.CONFIRMED,  # a late, reordered 1xx changes nothing
    (_S.CONFIRMED, _E.ANSWERED): _S.CONFIRMED,  # 2xx retransmission
    (_S.CONFIRMED, _E.BYE): _S.TERMINATED,
    (_S.CONFIRMED, _E.GONE): _S.TERMINATED,
    (_S.TERMINATED, _E.BYE): _S.TERMINATED,  # BYEs crossing on the wire
    (_S.TERMINATED, _E.GONE): _S.TERMINATED,
}


class DialogStateError(LocalSipError):
    def __init__(self, state: DialogState, event: DialogEvent) -> None:
        super().__init__(f"can't handle {event.value} in dialog state {state.value}")
        self.state = state
        self.event = event


class RequestPending(RemoteSipError):
    """The peer's INVITE/offer collides with one in progress (§14.2): 491, or 500 + retry."""

    def __init__(self, reason: str, status_hint: int, retry_after: int | None = None) -> None:
        super().__init__(reason, status_hint)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class DialogId:
    """Call-ID plus both tags, each seen from our side (§12)."""

    call_id: str
    local_tag: str
    remote_tag: str

    @classmethod
    def for_incoming_request(cls, request: SipRequest) -> DialogId:
        return cls(request.call_id, request.to.tag or "", request.from_.tag or "")

    @classmethod
    def for_response(cls, response: SipResponse) -> DialogId:
        return cls(response.call_id, response.from_.tag or "", response.to.tag or "")


def _first_contact(message: SipRequest | SipResponse) -> SipUri | None:
    contacts = message.contacts
    return contacts[0].uri if contacts else None


class Dialog:
    """One dialog. Mutable (sequence numbers, target, state), changed only by its methods."""

    __slots__ = (
        "_local_offer_pending",
        "_local_seq",
        "_remote_offer_pending",
        "id",
        "local_contact",
        "local_uri",
        "remote_seq",
        "remote_target",
        "remote_uri",
        "role",
        "route_set",
        "state",
    )

    def __init__(
        self,
        *,
        id: DialogId,
        role: Role,
        local_uri: NameAddr,
        remote_uri: NameAddr,
        remote_target: SipUri,
        route_set: tuple[NameAddr, ...],
        local_seq: int,
        remote_seq: int | None,
        local_contact: NameAddr,
        state: DialogState = DialogState.EARLY,
    ) -> None:
        self.id = id
        self.role = role
        self.local_uri = local_uri
        self.remote_uri = remote_uri
        self.remote_target = remote_target
        self.route_set = route_set
        self._local_seq = local_seq
        self.remote_seq = remote_seq
        self.local_contact = local_contact
        self.state = state
        self._local_offer_pending = False
        self._remote_offer_pending = False

    def __repr__(self) -> str:
        return f"Dialog({self.id!r}, {self.role.value}, {self.state.value})"

    # --- creation ------------------------------------------------------------------------

    @classmethod
    def as_uas(
        cls, invite: SipRequest, *, local_tag: str, local_contact: NameAddr, initial_seq: int = 1
    ) -> Dialog:
        """The dialog an INVITE we received creates when we send a 1xx/2xx with a tag (§12.1.1).

        The route set is the Record-Route list in order; the remote target is its Contact.
        """
        target = _first_contact(invite)
        if target is None:
            raise RemoteSipError("INVITE without Contact (RFC 3261 §8.1.1.8)")
        dialog = cls(
            id=DialogId(invite.call_id, local_tag, invite.from_.tag or ""),
            role=Role.UAS,
            local_uri=invite.to.with_tag(local_tag),
            remote_uri=invite.from_,
            remote_target=target,
            route_set=invite.record_routes,
            local_seq=initial_seq,
            remote_seq=invite.cseq.seq,
            local_contact=local_contact,
        )
        # The dialog-creating INVITE stays in progress until we send its final response.
        dialog._remote_offer_pending = True
        return dialog

    @classmethod
    def as_uac(cls, invite: SipRequest, response: SipResponse) -> Dialog:
        """The dialog a 1xx-with-tag or 2xx to our INVITE creates (§12.1.2).

        The route set is the response's Record-Route list reversed; CSeq continues from the
        INVITE's; the remote sequence number stays empty until the peer sends a request.
        """
        to_tag = response.to.tag
        if not to_tag:
            raise RemoteSipError("dialog-creating response without To tag")
        target = _first_contact(response)
        if target is None:
            if response.is_success:
                raise RemoteSipError("2xx to INVITE without Contact (RFC 3261 §13.3.1.4)")
            target = invite.uri  # an early dialog without Contact: keep the request target
        local_contact = invite.contacts[0] if invite.contacts else NameAddr(invite.from_.uri)
        dialog = cls(
            id=DialogId(invite.call_id, invite.from_.tag or "", to_tag),
            role=Role.UAC,
            local_uri=invite.from_,
            remote_uri=response.to,
            remote_target=target,
            route_set=tuple(reversed(response.record_routes)),
            local_seq=invite.cseq.seq,
            remote_seq=None,
            local_contact=local_contact,
        )
        return dialog

    # --- state -------------------------------------------------------------------------

    def handle(self, event: DialogEvent) -> DialogState:
        """Apply one event through the transition table; raises DialogStateError if none."""
        try:
            self.state = _TRANSITIONS[(self.state, event)]
        except KeyError:
            raise DialogStateError(self.state, event) from None
        return self.state

    @property
    def local_seq(self) -> int:
        return self._local_seq

    @property
    def owns_call_id(self) -> bool:
        """§14.1: the UA that generated the Call-ID (the dialog's UAC) waits longer on 491."""
        return self.role is Role.UAC

    def glare_retry_delay(self, rng: random.Random) -> float:
        low, high = GLARE_OWNER_WAIT if self.owns_call_id else GLARE_OTHER_WAIT
        return rng.uniform(low, high)

    # --- requests we send --------------------------------------------------------------

    def next_hop(self) -> SipUri:
        """Where in-dialog requests go first: the top route, else the remote target (§12.2.1.1)."""
        return self.route_set[0].uri if self.route_set else self.remote_target

    def _request_line_and_routes(self) -> tuple[SipUri, list[str]]:
        if not self.route_set:
            return self.remote_target, []
        first = self.route_set[0]
        if first.uri.param("lr") is not None:
            return self.remote_target, [str(r) for r in self.route_set]
        # Strict router (RFC 2543): it gets the Request-URI; the target becomes the last Route.
        routes = [str(r) for r in self.route_set[1:]] + [f"<{self.remote_target}>"]
        return first.uri.with_params(), routes

    def build_request(
        self,
        method: str,
        *,
        via: Via,
        body: bytes = b"",
        content_type: str | None = None,
        extra_headers: Iterable[tuple[str, str]] = (),
    ) -> SipRequest:
        """A new in-dialog request (BYE, re-INVITE, UPDATE, INFO, OPTIONS...) with the next CSeq."""
        if method in (Method.ACK, Method.CANCEL):
            raise LocalSipError(f"{method} is not built with build_request (use build_ack)")
        if self.state is DialogState.TERMINATED:
            raise LocalSipError(f"no {method} in a terminated dialog {self.id}")
        if method == Method.BYE and self.state is DialogState.EARLY and self.role is Role.UAS:
            raise LocalSipError("the callee must not BYE an early dialog (RFC 3261 §15)")
        if method == Method.INVITE:
            if self.state is not DialogState.CONFIRMED:
                raise LocalSipError("re-INVITE needs a confirmed dialog")
            if self._local_offer_pending or self._remote_offer_pending:
                raise LocalSipError("an INVITE is already in progress (RFC 3261 §14.1)")
        if self._local_seq >= MAX_CSEQ:
            raise LocalSipError("CSeq space of this dialog is exhausted")
        self._local_seq += 1
        if method == Method.INVITE or (method == Method.UPDATE and body):
            self._local_offer_pending = True
        return self._build(method, self._local_seq, via, body, content_type, extra_headers)

    def build_ack(
        self,
        invite: SipRequest,
        *,
        via: Via,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> SipRequest:
        """The ACK for a 2xx to `invite` (§13.2.2.4): the INVITE's CSeq number, new branch,
        and the INVITE's credentials so a proxy that challenged it accepts the ACK too."""
        auth = [
            (name, value)
            for name in ("Authorization", "Proxy-Authorization")
            for value in invite.headers.raw_values(name)
        ]
        return self._build(Method.ACK, invite.cseq.seq, via, body, content_type, auth)

    def _build(
        self,
        method: str,
        seq: int,
        via: Via,
        body: bytes,
        content_type: str | None,
        extra_headers: Iterable[tuple[str, str]],
    ) -> SipRequest:
        uri, routes = self._request_line_and_routes()
        items: list[tuple[str, str]] = [("Via", str(via))]
        items += [("Route", r) for r in routes]
        items += [
            ("Max-Forwards", str(DEFAULT_MAX_FORWARDS)),
            ("From", str(self.local_uri)),
            ("To", str(self.remote_uri)),
            ("Call-ID", self.id.call_id),
            ("CSeq", f"{seq} {method}"),
        ]
        if method in TARGET_REFRESH_METHODS or method == Method.ACK:
            items.append(("Contact", str(self.local_contact)))
        items += list(extra_headers)
        if body:
            if content_type is None:
                raise LocalSipError(f"{method} with a body needs a Content-Type")
            items.append(("Content-Type", content_type))
        return SipRequest(method, uri, Headers(items), body)

    def response_received(self, request: SipRequest, response: SipResponse) -> None:
        """A final or provisional response to one of our in-dialog requests (§12.2.1.2)."""
        if response.is_provisional:
            return
        if request.method in (Method.INVITE, Method.UPDATE):
            self._local_offer_pending = False
        if response.status in (481, 408):
            self.handle(DialogEvent.GONE)
            return
        if response.is_success and request.method in TARGET_REFRESH_METHODS:
            target = _first_contact(response)
            if target is not None:
                self.remote_target = target

    def local_request_abandoned(self, request: SipRequest) -> None:
        """Our in-dialog request timed out or failed in transport: it no longer blocks."""
        if request.method in (Method.INVITE, Method.UPDATE):
            self._local_offer_pending = False

    # --- requests we receive ----------------------------------------------------------

    def request_received(self, request: SipRequest, rng: random.Random | None = None) -> None:
        """Check one incoming in-dialog request and update the dialog from it.

        Raises RemoteSipError with the status to answer (500 for an old CSeq, 491/500 for
        an INVITE or offer that collides). ACK and CANCEL pass through unchecked.
        """
        if request.method in (Method.ACK, Method.CANCEL):
            return
        seq = request.cseq.seq
        if self.remote_seq is not None and seq <= self.remote_seq:
            # §12.2.2 says "lower"; equal is a retransmission the transaction layer absorbs,
            # so one reaching us is a new request reusing the number.
            raise RemoteSipError("CSeq lower than the dialog's remote sequence number", 500)
        offer = request.method == Method.INVITE or (
            request.method == Method.UPDATE and bool(request.body)
        )
        if offer:
            if self._local_offer_pending:
                raise RequestPending("our own offer is in progress (glare)", 491)
            if self._remote_offer_pending:
                retry = (rng or random.Random()).randint(0, RETRY_AFTER_MAX)
                raise RequestPending("an INVITE from you is in progress", 500, retry)
        self.remote_seq = seq
        if request.method == Method.INVITE:
            self._remote_offer_pending = True
        if request.method in TARGET_REFRESH_METHODS:
            target = _first_contact(request)
            if target is not None:
                self.remote_target = target
        if request.method == Method.BYE:
            self.handle(DialogEvent.BYE)

    def remote_request_answered(self, request: SipRequest) -> None:
        """We sent the final response to an incoming in-dialog INVITE: it no longer blocks."""
        if request.method == Method.INVITE:
            self._remote_offer_pending = False
