"""Call legs on top of the asyncio `SipEndpoint`: inbound (UAS) and outbound (UAC) calls.

`InboundCall` answers an INVITE (ring, answer with SDP, 488, reject, CANCEL → 487, 2xx
retransmitted until ACK); `OutboundCall` places one (offer, 401/407 digest answers, ringing,
CANCEL on ring timeout, ACK, BYE). Shared in-dialog behaviour is `CallLeg` in `call_leg.py`;
the dispatcher that routes requests to legs is `UserAgent` in `useragent.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from telephony.sdp import (
    Direction,
    LocalMedia,
    NegotiatedAudio,
    NoCommonCodec,
    SdpError,
    SdpParseError,
    SessionDescription,
    accept_answer,
)
from telephony.sip.address import Peer
from telephony.sip.call_events import (
    CallAnswered,
    CallConfirmed,
    CallRinging,
    CallState,
    CallStateError,
    CallStep,
    EndReason,
    Side,
)
from telephony.sip.call_leg import ALLOW, SDP_CONTENT_TYPE, CallLeg, sdp_body
from telephony.sip.dialog import Dialog, DialogEvent
from telephony.sip.digest import (
    ClientCredentials,
    authorization_for,
    authorization_header,
    challenge_header,
    choose_challenge,
)
from telephony.sip.endpoint import ClientTransaction, ServerTransactionHandle
from telephony.sip.errors import (
    LocalSipError,
    RemoteSipError,
    SipError,
    TransactionTimeout,
    TransportFailure,
)
from telephony.sip.message import Headers, Method, SipRequest, SipResponse, new_tag
from telephony.sip.transaction import make_cancel
from telephony.sip.uri import NameAddr, SipUri

if TYPE_CHECKING:
    from telephony.sip.useragent import UserAgent

log = logging.getLogger(__name__)

# How often we answer a 401/407 for one INVITE before giving up: a second challenge after
# an answered one means the password is wrong (or the nonce went stale once).
MAX_AUTH_ATTEMPTS: Final = 2


class InboundCall(CallLeg):
    """A call someone placed to us (UAS): ring, answer with SDP, reject; CANCEL ends it."""

    def __init__(
        self, ua: UserAgent, handle: ServerTransactionHandle, offer: SessionDescription | None
    ) -> None:
        super().__init__(ua, local_media=None)
        self.handle = handle
        self.request = handle.request
        self.offer = offer
        self.local_tag = new_tag()
        self._transport = handle.source.transport
        self._spawn(self._watch_cancel())

    @property
    def caller(self) -> NameAddr:
        return self.request.from_

    @property
    def called(self) -> SipUri:
        return self.request.uri

    def _ensure_dialog(self) -> Dialog:
        if self.dialog is None:
            source = self.handle.source
            contact = self._ua.local_contact(source.transport, toward=source.host)
            self.dialog = Dialog.as_uas(self.request, local_tag=self.local_tag,
                                        local_contact=contact)
            self._ua.remember_dialog(self.dialog, self)
        return self.dialog

    async def _watch_cancel(self) -> None:
        await self.handle.cancelled.wait()
        if self.state in (CallState.NEW, CallState.RINGING):
            if self.dialog is not None:
                self.dialog.handle(DialogEvent.FAILED)
            self._finish(Side.REMOTE, EndReason.CANCELLED, 487)

    async def ring(self) -> None:
        """180 Ringing (creates the early dialog)."""
        self._step(CallStep.RING)
        dialog = self._ensure_dialog()
        await self.handle.respond(
            180, to_tag=self.local_tag, headers=[("Contact", str(dialog.local_contact))]
        )
        self._emit(CallRinging(180))

    async def answer(
        self, local_media: LocalMedia, *, direction: Direction = Direction.SENDRECV
    ) -> NegotiatedAudio | None:
        """200 OK with our SDP answer (or offer, if the INVITE had none).

        Returns the negotiated audio (None until the ACK brings the answer to our offer).
        Raises NoCommonCodec after answering 488 when no codec is shared.
        """
        if self.state not in (CallState.NEW, CallState.RINGING):
            raise CallStateError(self.state, "answer")
        self.local_media = local_media
        self._direction = direction
        negotiated: NegotiatedAudio | None = None
        try:
            if self.offer is not None:
                ours, negotiated = self._answer(self.offer)
            else:
                ours = self._offer()
        except NoCommonCodec as exc:
            await self.reject(488, str(exc)[:80], reason_end=EndReason.NOT_ACCEPTABLE)
            raise
        dialog = self._ensure_dialog()
        self._step(CallStep.ANSWER)
        headers = [
            ("Contact", str(dialog.local_contact)),
            ("Allow", ALLOW),
            ("Content-Type", SDP_CONTENT_TYPE),
        ]
        try:
            await self.handle.respond(
                200, to_tag=self.local_tag, headers=headers, body=ours.serialize()
            )
        except LocalSipError:
            # A CANCEL got there first: the transaction layer already answered 487.
            dialog.handle(DialogEvent.FAILED)
            self._finish(Side.REMOTE, EndReason.CANCELLED, 487)
            raise CallStateError(CallState.ENDED, CallStep.ANSWER) from None
        dialog.handle(DialogEvent.ANSWERED)
        dialog.remote_request_answered(self.request)
        if negotiated is not None and self.offer is not None:
            self.remote_sdp, self.media = self.offer, negotiated
            self._emit(CallAnswered(self.offer, negotiated))
        self._spawn(self._await_ack(ours))
        return negotiated

    async def _await_ack(self, our_sdp: SessionDescription) -> None:
        ack = await self.handle.wait_ack()
        if self.state is not CallState.ANSWERED:
            return  # BYE overtook the ACK
        if ack is None:
            # RFC 3261 §13.3.1.4: no ACK within 64*T1 -> end the session with BYE.
            self._step(CallStep.CONFIRM)
            await self._send_bye()
            self._finish(Side.LOCAL, EndReason.NO_ACK)
            return
        self._step(CallStep.CONFIRM)
        if self.offer is None:
            try:
                answer = sdp_body(ack)
                if answer is None:
                    raise SdpParseError("ACK without the answer to our offer")
                self.media = accept_answer(our_sdp, answer)
                self.remote_sdp = answer
                self._emit(CallAnswered(answer, self.media))
            except (SdpError, RemoteSipError):
                self._emit(CallConfirmed())
                await self.hangup()
                return
        self._emit(CallConfirmed())

    async def reject(
        self,
        status: int = 486,
        reason: str | None = None,
        *,
        headers: Iterable[tuple[str, str]] = (),
        reason_end: EndReason = EndReason.REJECTED,
    ) -> None:
        """A final non-2xx answer (486 Busy Here, 480, 603 Decline, 488...)."""
        if self.state not in (CallState.NEW, CallState.RINGING):
            raise CallStateError(self.state, "reject")
        if not 300 <= status <= 699:
            raise ValueError(f"{status} is not a rejection status")
        await self.handle.respond(status, reason, to_tag=self.local_tag, headers=headers)
        if self.dialog is not None:
            self.dialog.handle(DialogEvent.FAILED)
        self._finish(Side.LOCAL, reason_end, status)

    async def hangup(self) -> None:
        if self.state in (CallState.NEW, CallState.RINGING):
            await self.reject(480)
            return
        if self.state is CallState.ANSWERED:
            # RFC 3261 §15: no BYE before the ACK for our 2xx (or its timeout, 64*T1).
            await self.handle.wait_ack()
            await asyncio.sleep(0)  # let _await_ack see the ACK first
        await super().hangup()

    async def _remote_bye(self) -> None:
        if self.state in (CallState.NEW, CallState.RINGING) and not self.handle.final_sent:
            # RFC 3261 §15.1.2: a BYE in an early dialog ends the INVITE with 487.
            with contextlib.suppress(LocalSipError):
                await self.handle.respond(487, to_tag=self.local_tag)
        await super()._remote_bye()


class OutboundCall(CallLeg):
    """A call we place (UAC): INVITE with our offer, auth, ringing, CANCEL, ACK, BYE."""

    def __init__(
        self,
        ua: UserAgent,
        *,
        request_uri: SipUri,
        to: NameAddr,
        from_: NameAddr,
        destination: Peer,
        local_media: LocalMedia,
        credentials: ClientCredentials | None = None,
        ring_timeout: float | None = None,
        extra_headers: Iterable[tuple[str, str]] = (),
        call_id: str,
    ) -> None:
        super().__init__(ua, local_media=local_media)
        self.request_uri = request_uri
        self.to = to
        self.from_ = from_.with_tag(new_tag())
        self.destination = destination
        self.credentials = credentials
        self.ring_timeout = ring_timeout
        self.call_id = call_id
        self._extra = tuple(extra_headers)
        self._transport = destination.transport
        self._invite: SipRequest | None = None
        self._offer_sdp: SessionDescription | None = None
        self._provisional = asyncio.Event()
        self._cancel_reason: EndReason | None = None
        self._cancel_sent = False

    def start(self) -> None:
        """Send the INVITE; progress arrives as events."""
        self._step(CallStep.INVITE_SENT)
        self._spawn(self._run())
        if self.ring_timeout is not None:
            self._spawn(self._ring_timer(self.ring_timeout))

    def _build_invite(self, cseq: int, auth: Iterable[tuple[str, str]] = ()) -> SipRequest:
        if self._offer_sdp is None:
            self._offer_sdp = self._offer()
        contact = self._ua.local_contact(self.destination.transport,
                                         toward=self.destination.host)
        items = [
            ("Via", str(self._via(self.destination))),
            ("Max-Forwards", "70"),
            ("From", str(self.from_)),
            ("To", str(self.to)),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} INVITE"),
            ("Contact", str(contact)),
            ("Allow", ALLOW),
            *self._extra,
            *auth,
            ("Content-Type", SDP_CONTENT_TYPE),
        ]
        return SipRequest(Method.INVITE, self.request_uri, Headers(items),
                          self._offer_sdp.serialize())

    async def _ring_timer(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self.state in (CallState.CALLING, CallState.RINGING):
            await self.cancel(EndReason.NO_ANSWER)

    async def cancel(self, reason: EndReason = EndReason.CANCELLED) -> None:
        """Stop ringing: CANCEL once a provisional response came (RFC 3261 §9.1)."""
        if self.state not in (CallState.CALLING, CallState.RINGING):
            return
        if self._cancel_reason is None:
            self._cancel_reason = reason
        await self._provisional.wait()  # also released when the INVITE ends
        if self._cancel_sent or self._invite is None:
            return
        if self.state not in (CallState.CALLING, CallState.RINGING):
            return  # answered (the 2xx path sends BYE) or already over
        self._cancel_sent = True
        tx = self._ua.endpoint.send_request(make_cancel(self._invite), self.destination)
        with contextlib.suppress(SipError):
            await tx.final_response()

    async def hangup(self) -> None:
        if self.state in (CallState.NEW, CallState.CALLING, CallState.RINGING):
            if self.state is CallState.NEW:
                self._finish(Side.LOCAL, EndReason.CANCELLED)
                return
            await self.cancel()
        else:
            await super().hangup()

    async def _run(self) -> None:
        try:
            await self._invite_loop()
        except TransactionTimeout:
            self._finish(Side.LOCAL, self._cancel_reason or EndReason.TIMEOUT)
        except TransportFailure:
            self._finish(Side.LOCAL, EndReason.TRANSPORT_ERROR)
        finally:
            self._provisional.set()  # nobody may wait for a CANCEL chance any longer

    async def _invite_loop(self) -> None:
        cseq, attempts = 1, 0
        invite = self._build_invite(cseq)
        while True:
            self._invite = invite
            self._provisional.clear()  # §9.1: CANCEL only after a provisional to *this* INVITE
            tx = self._ua.endpoint.send_request(invite, self.destination)
            final = await self._provisionals_then_final(tx)
            if final.is_success:
                await self._on_2xx(invite, tx, final)
                return
            if (
                final.status in (401, 407)
                and self.credentials is not None
                and attempts < MAX_AUTH_ATTEMPTS
                and self._cancel_reason is None
            ):
                attempts += 1
                try:
                    challenge = choose_challenge(
                        final.headers.get_all(challenge_header(final.status))
                    )
                except RemoteSipError:
                    self._finish(Side.REMOTE, EndReason.UNAUTHORIZED, final.status)
                    return
                answer = authorization_for(
                    challenge, self.credentials, method=Method.INVITE, uri=str(self.request_uri)
                )
                cseq += 1
                auth = [(authorization_header(final.status), answer.serialize())]
                invite = self._build_invite(cseq, auth)
                continue
            self._finish(*self._failure(final))
            return

    def _failure(self, final: SipResponse) -> tuple[Side, EndReason, int]:
        if final.status == 487 and self._cancel_reason is not None:
            return Side.LOCAL, self._cancel_reason, final.status
        reason = {
            401: EndReason.UNAUTHORIZED,
            407: EndReason.UNAUTHORIZED,
            408: EndReason.NO_ANSWER,
            480: EndReason.NO_ANSWER,
            487: EndReason.CANCELLED,
            488: EndReason.NOT_ACCEPTABLE,
            606: EndReason.NOT_ACCEPTABLE,
        }.get(final.status, EndReason.REJECTED)
        return Side.REMOTE, reason, final.status

    async def _provisionals_then_final(self, tx: ClientTransaction) -> SipResponse:
        async for response in tx.responses():
            if response.status >= 200:
                return response
            if response.status == 100:
                self._provisional.set()  # a CANCEL may be sent from now on (§9.1)
                continue
            self._provisional.set()
            if self.state in (CallState.CALLING, CallState.RINGING):
                self._step(CallStep.RING)
                self._emit(CallRinging(response.status))
        raise TransactionTimeout("INVITE ended without a final response")

    async def _on_2xx(self, invite: SipRequest, tx: ClientTransaction, ok: SipResponse) -> None:
        dialog = Dialog.as_uac(invite, ok)
        self.dialog = dialog
        self._ua.remember_dialog(dialog, self)
        dialog.handle(DialogEvent.ANSWERED)
        tx.send_ack(dialog.build_ack(invite, via=self._via(self.destination)))
        self._step(CallStep.ANSWER)
        self._step(CallStep.CONFIRM)
        if self._cancel_reason is not None:
            # The 200 crossed our CANCEL: the call exists, so end it with BYE (§9.1).
            await self._send_bye()
            self._finish(Side.LOCAL, self._cancel_reason)
            return
        try:
            answer = sdp_body(ok)
            if answer is None or self._offer_sdp is None:
                raise SdpParseError("2xx without the answer to our offer")
            self.media = accept_answer(self._offer_sdp, answer)
            self.remote_sdp = answer
        except (SdpError, RemoteSipError):
            # RFC 3261 §13.2.2.4 / RFC 3264 §6: ACK, then end an unusable session.
            await self._send_bye()
            self._finish(Side.LOCAL, EndReason.NOT_ACCEPTABLE)
            return
        self._emit(CallAnswered(answer, self.media))
        self._emit(CallConfirmed())
