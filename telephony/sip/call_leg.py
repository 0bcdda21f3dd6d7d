"""The part every call leg shares: its dialog, negotiated media, events and in-dialog requests.

`CallLeg` answers what arrives inside its dialog (BYE, re-INVITE/UPDATE hold and resume,
INFO DTMF, OPTIONS) and sends BYE, INFO and hold/resume re-INVITEs; `ua.py` adds the
inbound (UAS) and outbound (UAC) call set-up on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, Final

from telephony.media.dtmf import (
    DTMF_RELAY_CONTENT_TYPE,
    DtmfParseError,
    DtmfSource,
    parse_info_dtmf,
)
from telephony.sdp import (
    Direction,
    LocalMedia,
    NegotiatedAudio,
    NoCommonCodec,
    SdpError,
    SdpParseError,
    SessionDescription,
    accept_answer,
    answer_offer,
    build_offer,
    parse_sdp,
)
from telephony.sip.address import Peer, TransportKind
from telephony.sip.call_events import (
    CallEnded,
    CallEvent,
    CallState,
    CallStateError,
    CallStep,
    DtmfReceived,
    EndReason,
    HoldChanged,
    MediaUpdated,
    Side,
    next_call_state,
)
from telephony.sip.dialog import Dialog, DialogEvent, DialogState, RequestPending
from telephony.sip.endpoint import ServerTransactionHandle
from telephony.sip.errors import RemoteSipError, SipError, TransactionTimeout, TransportFailure
from telephony.sip.headers import Via
from telephony.sip.message import Method, SipRequest, SipResponse
from telephony.sip.uri import SipUri

if TYPE_CHECKING:
    from telephony.sip.useragent import UserAgent

log = logging.getLogger(__name__)

SDP_CONTENT_TYPE: Final = "application/sdp"
ALLOW: Final = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REGISTER"
ACCEPT: Final = "application/sdp, application/dtmf-relay, application/dtmf"
# SIP INFO DTMF duration when the application gives none (RFC 4733 §2.5.1.3 typical tone).
DEFAULT_INFO_DTMF_MS: Final = 160


def peer_for_uri(uri: SipUri, default: TransportKind = TransportKind.UDP) -> Peer:
    """Where a SIP URI is reached (RFC 3263 without DNS: hosts are IP addresses here)."""
    transport = TransportKind.from_via(uri.transport) if uri.transport else default
    port = uri.port or (5061 if uri.scheme == "sips" else 5060)
    return Peer(transport, uri.host_bare, port)


def sdp_body(message: SipRequest | SipResponse) -> SessionDescription | None:
    """The SDP in a message, None without a body; SdpParseError / 415 for anything else."""
    if not message.body:
        return None
    if message.media_type != SDP_CONTENT_TYPE:
        raise RemoteSipError(f"unsupported body type {message.media_type}", 415)
    return parse_sdp(message.body)


class CallLeg:
    """One call leg: its dialog, its negotiated media and its event stream."""

    def __init__(self, ua: UserAgent, *, local_media: LocalMedia | None) -> None:
        self._ua = ua
        self.state = CallState.NEW
        self.dialog: Dialog | None = None
        self.local_media = local_media
        self.media: NegotiatedAudio | None = None
        self.remote_sdp: SessionDescription | None = None
        self.ended: CallEnded | None = None
        self._events: asyncio.Queue[CallEvent] = asyncio.Queue()
        self._session_id = ua.rng.getrandbits(31)
        self._sdp_version = 0
        self._direction = Direction.SENDRECV  # what we want: SENDONLY while we hold
        self._tasks: set[asyncio.Task[Any]] = set()
        self._transport = TransportKind.UDP

    # --- events ----------------------------------------------------------------------------

    async def next_event(self) -> CallEvent:
        return await self._events.get()

    async def events(self) -> AsyncIterator[CallEvent]:
        """Every event of this leg, ending with (and including) CallEnded."""
        while True:
            event = await self._events.get()
            yield event
            if isinstance(event, CallEnded):
                return

    def _emit(self, event: CallEvent) -> None:
        self._events.put_nowait(event)

    def _step(self, step: CallStep) -> None:
        self.state = next_call_state(self.state, step)

    @property
    def is_active(self) -> bool:
        return self.state is not CallState.ENDED

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call task failed", exc_info=task.exception())

    async def abandon(self) -> None:
        """Stop this leg's background tasks without any signalling (shutdown)."""
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _finish(self, by: Side, reason: EndReason, status: int | None = None) -> None:
        """End the leg once: emit CallEnded, forget the dialog, stop background tasks."""
        if self.state is CallState.ENDED:
            return
        self._step(CallStep.END)
        self.ended = CallEnded(by, reason, status)
        if self.dialog is not None:
            self._ua.forget_dialog(self.dialog)
        self._emit(self.ended)
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()

    # --- SDP helpers -----------------------------------------------------------------------

    def _next_sdp_version(self) -> int:
        self._sdp_version += 1
        return self._sdp_version

    def _answer(
        self, offer: SessionDescription
    ) -> tuple[SessionDescription, NegotiatedAudio]:
        if self.local_media is None:
            raise CallStateError(self.state, "answer an offer without local media for")
        answer, negotiated = answer_offer(
            offer,
            self.local_media,
            session_id=self._session_id,
            session_version=self._next_sdp_version(),
            direction=self._direction,
        )
        return answer, negotiated

    def _offer(self) -> SessionDescription:
        if self.local_media is None:
            raise CallStateError(self.state, "make an offer without local media for")
        return build_offer(
            self.local_media,
            session_id=self._session_id,
            session_version=self._next_sdp_version(),
            direction=self._direction,
        )

    def _media_changed(self, remote: SessionDescription, media: NegotiatedAudio) -> None:
        was_held = self.media.on_hold if self.media is not None else False
        self.remote_sdp, self.media = remote, media
        self._emit(MediaUpdated(remote, media))
        if media.on_hold != was_held:
            self._emit(HoldChanged(media.direction, media.on_hold))

    # --- requests inside our dialog ----------------------------------------------------

    def _via(self, destination: Peer) -> Via:
        return Via.parse(self._ua.endpoint.via_for(destination))

    async def on_request(self, handle: ServerTransactionHandle) -> None:
        """An in-dialog request the dispatcher routed to this leg."""
        request = handle.request
        dialog = self.dialog
        if dialog is None:
            return
        if request.method == Method.ACK:
            return  # ACKs for our 2xx are matched by the endpoint (wait_ack)
        try:
            dialog.request_received(request, self._ua.rng)
        except RequestPending as exc:
            extra = [("Retry-After", str(exc.retry_after))] if exc.retry_after is not None else []
            await handle.respond(exc.status_hint, exc.reason[:80], headers=extra)
            return
        except RemoteSipError as exc:
            await handle.respond(exc.status_hint, exc.reason[:80])
            return
        method = request.method
        if method == Method.BYE:
            await handle.respond(200)
            await self._remote_bye()
        elif method in (Method.INVITE, Method.UPDATE):
            await self._on_reoffer(handle, dialog)
        elif method == Method.INFO:
            await self._on_info(handle)
        elif method == Method.OPTIONS:
            await handle.respond(200, headers=[("Allow", ALLOW), ("Accept", ACCEPT)])
        else:
            await handle.respond(405, headers=[("Allow", ALLOW)])

    async def _remote_bye(self) -> None:
        self._finish(Side.REMOTE, EndReason.BYE)

    async def _on_reoffer(self, handle: ServerTransactionHandle, dialog: Dialog) -> None:
        """re-INVITE or UPDATE: hold (sendonly/inactive), resume, or new address (RFC 3264 §8)."""
        request = handle.request
        try:
            offer = sdp_body(request)
            if offer is None:
                if request.method == Method.UPDATE:
                    await handle.respond(200, headers=[("Contact", str(dialog.local_contact))])
                    return
                # Offer-less re-INVITE: our offer goes in the 200, the answer in the ACK.
                ours = self._offer()
                negotiated = None
            else:
                ours, negotiated = self._answer(offer)
        except NoCommonCodec as exc:
            await handle.respond(488, str(exc)[:80])
            dialog.remote_request_answered(request)
            return
        except (SdpParseError, RemoteSipError) as exc:
            status = exc.status_hint if isinstance(exc, RemoteSipError) else 400
            await handle.respond(status, str(exc)[:80])
            dialog.remote_request_answered(request)
            return
        headers = [("Contact", str(dialog.local_contact)), ("Content-Type", SDP_CONTENT_TYPE)]
        await handle.respond(200, headers=headers, body=ours.serialize())
        dialog.remote_request_answered(request)
        if offer is not None and negotiated is not None:
            self._media_changed(offer, negotiated)
        if request.method == Method.INVITE:
            self._spawn(self._await_reinvite_ack(handle, ours))

    async def _await_reinvite_ack(
        self, handle: ServerTransactionHandle, our_offer: SessionDescription
    ) -> None:
        ack = await handle.wait_ack()
        if ack is None:
            await self._send_bye()
            self._finish(Side.LOCAL, EndReason.NO_ACK)
            return
        if ack.body and handle.request.body == b"":
            try:
                answer = sdp_body(ack)
                if answer is not None:
                    self._media_changed(answer, accept_answer(our_offer, answer))
            except (SdpError, RemoteSipError):
                await self.hangup()

    async def _on_info(self, handle: ServerTransactionHandle) -> None:
        request = handle.request
        try:
            digit = parse_info_dtmf(request.content_type or "", request.body)
        except DtmfParseError as exc:
            await handle.respond(400, str(exc)[:80])
            return
        if digit is None:
            await handle.respond(415, headers=[("Accept", ACCEPT)])
            return
        await handle.respond(200)
        self._emit(DtmfReceived(digit.key.value, digit.duration_ms, DtmfSource.SIP_INFO))

    async def _in_dialog(
        self,
        method: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        extra_headers: Iterable[tuple[str, str]] = (),
    ) -> SipResponse | None:
        """Send one in-dialog request and wait for its final response (None: no answer)."""
        dialog = self.dialog
        if dialog is None:
            raise CallStateError(self.state, f"send {method} without a dialog")
        destination = peer_for_uri(dialog.next_hop(), self._transport)
        request = dialog.build_request(
            method,
            via=self._via(destination),
            body=body,
            content_type=content_type,
            extra_headers=extra_headers,
        )
        tx = self._ua.endpoint.send_request(request, destination)
        try:
            response = await tx.final_response()
        except (TransactionTimeout, TransportFailure):
            dialog.local_request_abandoned(request)
            return None
        if dialog.state is not DialogState.TERMINATED:
            dialog.response_received(request, response)
        return response

    async def _send_bye(self) -> None:
        dialog = self.dialog
        if dialog is None or dialog.state is DialogState.TERMINATED:
            return
        with contextlib.suppress(SipError):
            await self._in_dialog(Method.BYE)
        # Our BYE ends the dialog whatever came back (a 481 already ended it).
        dialog.handle(DialogEvent.BYE)

    # --- what the application can do once the call is up ---------------------------------

    async def hangup(self) -> None:
        """End an answered call with BYE (subclasses handle the unanswered states)."""
        if self.state in (CallState.ANSWERED, CallState.CONFIRMED):
            self._finish(Side.LOCAL, EndReason.BYE)
            await self._send_bye()

    async def send_dtmf_info(self, digit: str, duration_ms: int = DEFAULT_INFO_DTMF_MS) -> bool:
        """Send one key as SIP INFO application/dtmf-relay; True when the peer took it."""
        if self.state is not CallState.CONFIRMED:
            raise CallStateError(self.state, "send DTMF in")
        body = f"Signal={digit}\r\nDuration={duration_ms}\r\n".encode()
        response = await self._in_dialog(
            Method.INFO, body=body, content_type=DTMF_RELAY_CONTENT_TYPE
        )
        return response is not None and response.is_success

    async def hold(self) -> bool:
        """Put the peer on hold with a sendonly re-INVITE (RFC 3264 §8.4)."""
        return await self._reinvite(Direction.SENDONLY)

    async def resume(self) -> bool:
        return await self._reinvite(Direction.SENDRECV)

    async def _reinvite(self, direction: Direction, attempts: int = 3) -> bool:
        if self.state is not CallState.CONFIRMED or self.dialog is None:
            raise CallStateError(self.state, "re-INVITE")
        self._direction = direction
        for _ in range(attempts):
            offer = self._offer()
            dialog = self.dialog
            destination = peer_for_uri(dialog.next_hop(), self._transport)
            request = dialog.build_request(
                Method.INVITE,
                via=self._via(destination),
                body=offer.serialize(),
                content_type=SDP_CONTENT_TYPE,
            )
            tx = self._ua.endpoint.send_request(request, destination)
            try:
                response = await tx.final_response()
            except (TransactionTimeout, TransportFailure):
                dialog.local_request_abandoned(request)
                return False
            dialog.response_received(request, response)
            if response.is_success:
                tx.send_ack(dialog.build_ack(request, via=self._via(destination)))
                try:
                    answer = sdp_body(response)
                    if answer is not None:
                        self._media_changed(answer, accept_answer(offer, answer))
                except (SdpError, RemoteSipError):
                    await self.hangup()
                    return False
                return True
            if response.status != 491:
                if dialog.state is DialogState.TERMINATED:
                    self._finish(Side.REMOTE, EndReason.GONE, response.status)
                return False
            await asyncio.sleep(dialog.glare_retry_delay(self._ua.rng))  # §14.1
        return False


