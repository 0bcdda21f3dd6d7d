"""The service's telephony: one SIP user agent with its registrar, and the media engine.

The call manager asks this file for RTP sessions, SDP-side descriptions of them, agents'
registered contacts and new outbound legs; it never touches the SIP stack's construction.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from hotline.config import HotlineConfig
from telephony.media.engine import MediaEngine
from telephony.media.ports import PortAllocator
from telephony.media.session import MediaParams, RtpSession
from telephony.sdp import LocalMedia, NegotiatedAudio
from telephony.sip.address import Peer, TransportKind
from telephony.sip.digest import CredentialStore, DigestAlgorithm, DigestAuthenticator
from telephony.sip.registrar import BindingsChanged, BindingStore, Registrar, RegistrarLimits
from telephony.sip.timers import TimerConfig
from telephony.sip.ua import InboundCall, OutboundCall
from telephony.sip.uri import SipUri
from telephony.sip.useragent import UserAgent

# An agent's phone rings at most this long per offer even if the ACD forgets to stop it.
AGENT_RING_LIMIT_SECONDS = 120.0
# A callback rings the caller about as long as a person waits for an answer (~6 rings).
CALLBACK_RING_SECONDS = 30.0


class TelephonyService:
    def __init__(
        self,
        config: HotlineConfig,
        ua: UserAgent,
        media: MediaEngine,
        inbound: list[Callable[[InboundCall], None]],
        aor_of_user: dict[str, str],
    ) -> None:
        self._config = config
        self.ua = ua
        self.media = media
        self._inbound = inbound
        self._aor_of_user = aor_of_user

    @classmethod
    async def start(
        cls, config: HotlineConfig, *, credentials: CredentialStore
    ) -> TelephonyService:
        sip = config.sip
        registrar = Registrar(
            bindings=BindingStore(),
            authenticator=DigestAuthenticator(
                realm=sip.realm,
                store=credentials,
                # Nonces are signed per process; a restart makes phones re-authenticate.
                secret=secrets.token_bytes(32),
                # pyVoIP (an agent softphone we support) answers without qop (RFC 2069).
                allow_no_qop=True,
                algorithms=tuple(DigestAlgorithm(name) for name in sip.digest_algorithms),
            ),
            limits=RegistrarLimits(
                min_expires=sip.min_register_expires, max_expires=sip.max_register_expires
            ),
        )
        aor_of_user: dict[str, str] = {}

        def bindings_changed(event: BindingsChanged) -> None:
            user = event.aor.split(":", 1)[-1].split("@", 1)[0]
            aor_of_user[user] = event.aor

        registrar.listener = bindings_changed
        inbound: list[Callable[[InboundCall], None]] = []

        def incoming(call: InboundCall) -> None:
            for handler in inbound:
                handler(call)

        ua = await UserAgent.start(
            [(kind, sip.host, sip.port) for kind in sip.transports],
            timers=TimerConfig(t1=sip.timers.t1, t2=sip.timers.t2, t4=sip.timers.t4),
            user="hotline",
            domain=sip.advertised_host or sip.host,
            registrar=registrar,
            on_incoming=incoming,
        )
        media = MediaEngine(
            ports=PortAllocator(config.media.rtp_port_min, config.media.rtp_port_max),
            host=sip.host,
        )
        await media.start()
        return cls(config, ua, media, inbound, aor_of_user)

    # --- inbound ---------------------------------------------------------------------------

    def on_inbound_call(self, handler: Callable[[InboundCall], None]) -> None:
        self._inbound.append(handler)

    # --- media -----------------------------------------------------------------------------

    def open_media(self) -> RtpSession:
        return self.media.open_session(MediaParams(remote=None))

    def local_media(self, session: RtpSession) -> LocalMedia:
        host = self._config.sip.advertised_host or session.local_address[0]
        return LocalMedia(address=host, port=session.local_address[1])

    @staticmethod
    def media_params(negotiated: NegotiatedAudio) -> MediaParams:
        return MediaParams.from_negotiated(negotiated)

    # --- agents' phones --------------------------------------------------------------------

    def contacts_of(self, agent_number: str) -> list[str]:
        """The AOR to ring for an agent, if any of its phones is registered."""
        aor = self._aor_of_user.get(agent_number)
        registrar = self.ua.registrar
        if aor is None or registrar is None:
            return []
        return [aor] if registrar.bindings.lookup(aor, time.time()) else []

    def place_call(self, aor: str, session: RtpSession) -> OutboundCall:
        """Ring an agent's best registered phone; the desktop shows who is calling."""
        return self.ua.call_registered(
            SipUri.parse(aor),
            local_media=self.local_media(session),
            ring_timeout=AGENT_RING_LIMIT_SECONDS,
        )

    def dial(self, target: SipUri, destination: Peer, session: RtpSession) -> OutboundCall:
        """Call a phone back at the Contact and address it called us from (a callback)."""
        return self.ua.call(
            target,
            local_media=self.local_media(session),
            destination=destination,
            ring_timeout=CALLBACK_RING_SECONDS,
        )

    def describe(self) -> str:
        parts = []
        for kind in self._config.sip.transports:
            local = self.ua.endpoint.local_address(TransportKind(kind))
            parts.append(f"{kind} {local.host_for_uri}:{local.port}")
        return ", ".join(parts)

    async def close(self) -> None:
        await self.ua.close()
        await self.media.stop()
