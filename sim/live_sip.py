"""SIP client pieces `hotline sim --live` needs beyond telephony/sip: REGISTER with digest
authentication (RFC 3261 §10.2, §22.2), and RTP sessions described for SDP.

Hotline's own stack is the client here on purpose: this is a load tool against a service on
127.0.0.1, and interop with independent stacks is the e2e suite's job (pjsua2, baresip).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Final

from telephony.media.g711 import G711Law
from telephony.media.session import MediaParams, RtpSession
from telephony.sdp import Direction, LocalMedia, NegotiatedAudio
from telephony.sip.address import Peer, TransportKind
from telephony.sip.digest import (
    ClientCredentials,
    authorization_for,
    authorization_header,
    challenge_header,
    choose_challenge,
)
from telephony.sip.errors import RemoteSipError
from telephony.sip.message import Headers, Method, SipRequest, new_call_id, new_tag
from telephony.sip.uri import NameAddr, SipUri
from telephony.sip.useragent import UserAgent

# Asked for an hour; the registrar may grant less (its max_register_expires), so the binding is
# refreshed at half of what was granted (RFC 3261 §10.2.4), and removed at the end of the run.
REGISTER_EXPIRES: Final = 3600
_EXPIRES_PARAM: Final = re.compile(r";\s*expires\s*=\s*(\d+)", re.IGNORECASE)
# A 401 after an answered challenge means a wrong password (a stale nonce is retried once).
MAX_REGISTER_ATTEMPTS: Final = 3
PCMA_PAYLOAD_TYPE: Final = 8  # RFC 3551 table 4


class RegistrationFailed(RuntimeError):
    pass


@dataclass(slots=True)
class Registration:
    """One AOR's binding at a registrar: `register()` to add it, `unregister()` to remove it."""

    ua: UserAgent
    registrar: Peer
    user: str
    credentials: ClientCredentials
    call_id: str = ""
    cseq: int = 0
    granted: int = 0  # seconds the registrar granted last time

    def __post_init__(self) -> None:
        self.call_id = new_call_id()  # RFC 3261 §10.2: one Call-ID for all of a UA's REGISTERs

    def _request(self, expires: int, auth: tuple[tuple[str, str], ...] = ()) -> SipRequest:
        self.cseq += 1
        aor = SipUri("sip", self.user, self.registrar.host)
        contact = self.ua.local_contact(self.registrar.transport, toward=self.registrar.host)
        items = [
            ("Max-Forwards", "70"),
            ("From", str(NameAddr(aor).with_tag(new_tag()))),
            ("To", str(NameAddr(aor))),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq} REGISTER"),
            ("Contact", str(contact)),
            ("Expires", str(expires)),
            *auth,
        ]
        uri = SipUri("sip", None, self.registrar.host, self.registrar.port)
        return SipRequest(Method.REGISTER, uri, Headers(items), b"")

    async def _send(self, expires: int) -> None:
        request = self._request(expires)
        for _ in range(MAX_REGISTER_ATTEMPTS):
            tx = self.ua.endpoint.send_request(request, self.registrar)
            final = await tx.final_response()
            if final.is_success:
                self.granted = _granted(final.headers.get_all("Contact"), expires)
                return
            if final.status not in (401, 407):
                raise RegistrationFailed(f"REGISTER {self.user}: {final.status} {final.reason}")
            try:
                challenge = choose_challenge(final.headers.get_all(challenge_header(final.status)))
            except RemoteSipError as exc:
                raise RegistrationFailed(f"REGISTER {self.user}: {exc}") from None
            answer = authorization_for(
                challenge, self.credentials, method=Method.REGISTER, uri=str(request.uri)
            )
            request = self._request(
                expires, ((authorization_header(final.status), answer.serialize()),)
            )
        raise RegistrationFailed(f"REGISTER {self.user}: the password was not accepted")

    async def register(self) -> None:
        await self._send(REGISTER_EXPIRES)

    async def unregister(self) -> None:
        await self._send(0)

    async def keep_registered(self) -> None:
        """Refresh the binding at half its granted lifetime until cancelled."""
        while True:
            await asyncio.sleep(max(1.0, self.granted / 2))
            await self.register()


def _granted(contacts: list[str], asked: int) -> int:
    """The shortest expires the registrar put on the bindings it lists (else what we asked)."""
    values = [int(m[1]) for c in contacts for m in _EXPIRES_PARAM.finditer(c)]
    return min(values, default=asked)


def registrar_peer(host: str, port: int) -> Peer:
    return Peer(TransportKind.UDP, host, port)


def local_media(session: RtpSession) -> LocalMedia:
    host, port = session.local_address
    return LocalMedia(address=host, port=port)


def media_params(negotiated: NegotiatedAudio) -> MediaParams:
    """The RTP session settings an SDP negotiation gave (as the service derives its own)."""
    law = G711Law.PCMA if negotiated.codec.payload_type == PCMA_PAYLOAD_TYPE else G711Law.PCMU
    direction = negotiated.direction
    return MediaParams(
        remote=(negotiated.remote_address, negotiated.remote_port),
        law=law,
        dtmf_payload_type=negotiated.telephone_event_pt,
        send=direction in (Direction.SENDRECV, Direction.SENDONLY),
        receive=direction in (Direction.SENDRECV, Direction.RECVONLY),
    )
