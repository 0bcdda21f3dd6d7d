"""Call legs and the dispatcher over real UDP sockets on 127.0.0.1: two of our user agents
talk to each other, and a raw socket plays the misbehaving peer (issue 3)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from telephony.media.dtmf import DtmfSource
from telephony.sdp import PCMA, PCMU, Direction, LocalMedia, NoCommonCodec
from telephony.sip.address import TransportKind
from telephony.sip.call_events import (
    CallAnswered,
    CallConfirmed,
    CallEnded,
    CallEvent,
    CallRinging,
    CallState,
    DtmfReceived,
    EndReason,
    HoldChanged,
    MediaUpdated,
    Side,
)
from telephony.sip.digest import (
    AuthOutcome,
    ClientCredentials,
    DigestAuthenticator,
    InMemoryCredentialStore,
)
from telephony.sip.message import SipRequest, SipResponse
from telephony.sip.parser import parse_message
from telephony.sip.registrar import BindingStore, Registrar
from telephony.sip.timers import TimerConfig
from telephony.sip.ua import InboundCall
from telephony.sip.uri import SipUri
from telephony.sip.useragent import UserAgent

FAST = TimerConfig(t1=0.05, t2=0.4, t4=0.5, timer_d=0.5)
STEP = 5.0  # generous bound for one network step; tests end as soon as it happens


def media(port: int, *codecs: object) -> LocalMedia:
    return LocalMedia(address="127.0.0.1", port=port, codecs=tuple(codecs) or (PCMU, PCMA))  # type: ignore[arg-type]


@pytest.fixture
async def service() -> AsyncIterator[UserAgent]:
    ua = await UserAgent.start([("udp", "127.0.0.1", 0)], timers=FAST, user="hotline")
    yield ua
    await ua.close()


@pytest.fixture
async def phone() -> AsyncIterator[UserAgent]:
    ua = await UserAgent.start([("udp", "127.0.0.1", 0)], timers=FAST, user="phone")
    yield ua
    await ua.close()


def service_uri(ua: UserAgent) -> SipUri:
    local = ua.local_address()
    return SipUri.parse(f"sip:1000@{local.host}:{local.port}")


async def next_of(leg: InboundCall | object, kind: type[CallEvent]) -> CallEvent:
    """The next event of `kind`, skipping others (bounded in time)."""

    async def wait() -> CallEvent:
        while True:
            event = await leg.next_event()  # type: ignore[attr-defined]
            if isinstance(event, kind):
                return event

    return await asyncio.wait_for(wait(), STEP)


async def incoming(ua: UserAgent) -> InboundCall:
    return await asyncio.wait_for(ua.incoming.get(), STEP)


async def connected(service: UserAgent, phone: UserAgent) -> tuple[InboundCall, object]:
    out = phone.call(service_uri(service), local_media=media(40000))
    call = await incoming(service)
    await call.ring()
    await call.answer(media(30000))
    await next_of(out, CallConfirmed)
    await next_of(call, CallConfirmed)
    return call, out


async def test_call_rings_answers_and_caller_hangs_up(service: UserAgent, phone: UserAgent) -> None:
    out = phone.call(service_uri(service), local_media=media(40000))
    call = await incoming(service)
    assert call.caller.uri.user == "phone"
    assert call.called.user == "1000"
    await call.ring()
    assert isinstance(await next_of(out, CallRinging), CallRinging)
    negotiated = await call.answer(media(30000))
    assert negotiated is not None and negotiated.codec == PCMU
    assert (negotiated.remote_address, negotiated.remote_port) == ("127.0.0.1", 40000)
    answered = await next_of(out, CallAnswered)
    assert isinstance(answered, CallAnswered)
    assert answered.media.remote_port == 30000 and answered.media.codec == PCMU
    await next_of(call, CallConfirmed)
    assert call.state is CallState.CONFIRMED and out.state is CallState.CONFIRMED
    await out.hangup()
    ended = await next_of(call, CallEnded)
    assert ended == CallEnded(Side.REMOTE, EndReason.BYE)
    assert out.ended == CallEnded(Side.LOCAL, EndReason.BYE)
    assert service.active_calls == 0


async def test_service_hangs_up_and_phone_sees_remote_bye(
    service: UserAgent, phone: UserAgent
) -> None:
    call, out = await connected(service, phone)
    await call.hangup()
    assert await next_of(out, CallEnded) == CallEnded(Side.REMOTE, EndReason.BYE)


async def test_no_common_codec_answers_488(service: UserAgent, phone: UserAgent) -> None:
    out = phone.call(service_uri(service), local_media=media(40000, PCMA))
    call = await incoming(service)
    with pytest.raises(NoCommonCodec):
        await call.answer(media(30000, PCMU))
    ended = await next_of(out, CallEnded)
    assert ended == CallEnded(Side.REMOTE, EndReason.NOT_ACCEPTABLE, 488)
    assert call.ended == CallEnded(Side.LOCAL, EndReason.NOT_ACCEPTABLE, 488)


async def test_ring_timeout_cancels_and_callee_sees_487(
    service: UserAgent, phone: UserAgent
) -> None:
    out = phone.call(service_uri(service), local_media=media(40000), ring_timeout=0.3)
    call = await incoming(service)
    await call.ring()
    assert await next_of(call, CallEnded) == CallEnded(Side.REMOTE, EndReason.CANCELLED, 487)
    assert await next_of(out, CallEnded) == CallEnded(Side.LOCAL, EndReason.NO_ANSWER, 487)


async def test_rejected_call_reports_status(service: UserAgent, phone: UserAgent) -> None:
    out = phone.call(service_uri(service), local_media=media(40000))
    call = await incoming(service)
    await call.reject(486)
    assert await next_of(out, CallEnded) == CallEnded(Side.REMOTE, EndReason.REJECTED, 486)


async def test_hold_and_resume_by_reinvite(service: UserAgent, phone: UserAgent) -> None:
    call, out = await connected(service, phone)
    assert await out.hold()  # type: ignore[attr-defined]
    held = await next_of(call, HoldChanged)
    assert held == HoldChanged(Direction.RECVONLY, True)
    assert call.media is not None and call.media.direction is Direction.RECVONLY
    updated = await next_of(out, MediaUpdated)
    assert isinstance(updated, MediaUpdated) and updated.media.direction is Direction.SENDONLY
    assert await out.resume()  # type: ignore[attr-defined]
    assert await next_of(call, HoldChanged) == HoldChanged(Direction.SENDRECV, False)
    await out.hangup()  # type: ignore[attr-defined]
    assert await next_of(call, CallEnded) == CallEnded(Side.REMOTE, EndReason.BYE)


async def test_info_dtmf_is_delivered_as_event(service: UserAgent, phone: UserAgent) -> None:
    call, out = await connected(service, phone)
    assert await out.send_dtmf_info("5", 120)  # type: ignore[attr-defined]
    assert await next_of(call, DtmfReceived) == DtmfReceived("5", 120, DtmfSource.SIP_INFO)
    assert await out.send_dtmf_info("#")  # type: ignore[attr-defined]
    assert await next_of(call, DtmfReceived) == DtmfReceived("#", 160, DtmfSource.SIP_INFO)


async def test_outbound_call_answers_digest_challenge(service: UserAgent, phone: UserAgent) -> None:
    store = InMemoryCredentialStore([("phone", "hotline.test", "pw")])
    auth = DigestAuthenticator(realm="hotline.test", store=store, secret=b"x" * 32)
    out = phone.call(
        service_uri(service), local_media=media(40000), credentials=ClientCredentials("phone", "pw")
    )
    first = await incoming(service)
    assert first.request.headers.get("Authorization") is None
    await first.reject(401, headers=auth.challenge_headers(0.0))
    second = await incoming(service)
    assert second.request.call_id == first.request.call_id
    assert second.request.cseq.seq == first.request.cseq.seq + 1
    decision = auth.verify(
        method="INVITE",
        request_uri=second.request.uri,
        authorizations=second.request.headers.get_all("Authorization"),
        now=1.0,
    )
    assert decision.outcome is AuthOutcome.ACCEPTED
    await second.answer(media(30000))
    await next_of(out, CallConfirmed)


async def test_wrong_credentials_end_as_unauthorized(service: UserAgent, phone: UserAgent) -> None:
    store = InMemoryCredentialStore([("phone", "hotline.test", "pw")])
    auth = DigestAuthenticator(realm="hotline.test", store=store, secret=b"x" * 32)
    out = phone.call(
        service_uri(service),
        local_media=media(40000),
        credentials=ClientCredentials("phone", "wrong"),
    )
    for _ in range(3):
        leg = await incoming(service)
        await leg.reject(401, headers=auth.challenge_headers(0.0))
        if out.ended is not None:
            break
    ended = await next_of(out, CallEnded)
    assert ended == CallEnded(Side.REMOTE, EndReason.UNAUTHORIZED, 401)


async def test_registered_phone_is_called_at_its_contact(phone: UserAgent) -> None:
    registrar = Registrar(bindings=BindingStore(), authenticator=None)
    service = await UserAgent.start([("udp", "127.0.0.1", 0)], timers=FAST, registrar=registrar)
    try:
        reply = await raw_exchange(service, register_text(phone))
        assert reply.status == 200  # type: ignore[union-attr]
        aor = SipUri.parse("sip:phone@hotline.test")
        out = service.call_registered(aor, local_media=media(30000))
        call = await incoming(phone)
        assert call.request.uri.user == "phone"
        await call.answer(media(40000))
        await next_of(out, CallConfirmed)
        await call.hangup()
        assert await next_of(out, CallEnded) == CallEnded(Side.REMOTE, EndReason.BYE)
        with pytest.raises(LookupError):
            service.call_registered(SipUri.parse("sip:nobody@hotline.test"), local_media=media(1))
    finally:
        await service.close()


# --- a raw socket as the peer ---------------------------------------------------------------


def register_text(phone: UserAgent) -> str:
    local = phone.local_address()
    return (
        "REGISTER sip:hotline.test SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-reg1;rport\r\n"
        "From: <sip:phone@hotline.test>;tag=r1\r\nTo: <sip:phone@hotline.test>\r\n"
        "Call-ID: reg-1\r\nCSeq: 1 REGISTER\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:phone@127.0.0.1:{local.port}>\r\nExpires: 600\r\n"
        "Content-Length: 0\r\n\r\n"
    )


async def raw_exchange(
    ua: UserAgent, text: str, *, sock: socket.socket | None = None, want_final: bool = True
) -> SipRequest | SipResponse:
    """Send `text` from a plain UDP socket; return the first (final) message that comes back.

    Via is rewritten to the socket's address so responses reach it.
    """
    own = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if sock is None:
        own.bind(("127.0.0.1", 0))
    own.setblocking(False)
    port = own.getsockname()[1]
    text = text.replace("127.0.0.1:9;", f"127.0.0.1:{port};")
    local = ua.local_address()
    loop = asyncio.get_running_loop()
    await loop.sock_sendto(own, text.encode("utf-8", "surrogateescape"),
                           (local.host, local.port))
    try:
        while True:
            data = await asyncio.wait_for(loop.sock_recv(own, 65535), STEP)
            msg = parse_message(data)
            if not want_final or not isinstance(msg, SipResponse) or msg.status >= 200:
                return msg
    finally:
        if sock is None:
            own.close()


def request_text(
    method: str, ua: UserAgent, *, to_tag: str = "", extra: str = "", body: str = ""
) -> str:
    local = ua.local_address()
    tag = f";tag={to_tag}" if to_tag else ""
    return (
        f"{method} sip:1000@127.0.0.1:{local.port} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-raw" + method + "\r\n"
        "From: <sip:raw@127.0.0.1>;tag=raw1\r\n"
        f"To: <sip:1000@127.0.0.1>{tag}\r\n"
        f"Call-ID: raw-{method}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
        "Contact: <sip:raw@127.0.0.1:9>\r\n"
        f"{extra}Content-Length: {len(body)}\r\n\r\n{body}"
    )


async def test_options_gets_200_with_allow_and_accept(service: UserAgent) -> None:
    reply = await raw_exchange(service, request_text("OPTIONS", service))
    assert isinstance(reply, SipResponse) and reply.status == 200
    allow = reply.headers.get_all("Allow")
    assert {"INVITE", "BYE", "CANCEL", "OPTIONS", "INFO", "UPDATE"} <= set(allow)
    assert "application/sdp" in reply.headers.get_all("Accept")


async def test_unknown_method_gets_405_with_allow(service: UserAgent) -> None:
    reply = await raw_exchange(service, request_text("SUBSCRIBE", service))
    assert isinstance(reply, SipResponse) and reply.status == 405
    assert "INVITE" in reply.headers.get_all("Allow")


async def test_request_for_unknown_dialog_gets_481(service: UserAgent) -> None:
    for method in ("BYE", "INFO", "INVITE"):
        reply = await raw_exchange(service, request_text(method, service, to_tag="nope"))
        assert isinstance(reply, SipResponse) and reply.status == 481


async def test_register_without_registrar_is_not_allowed(service: UserAgent) -> None:
    reply = await raw_exchange(service, request_text("REGISTER", service))
    assert isinstance(reply, SipResponse) and reply.status == 405


async def test_invite_with_bad_sdp_gets_400_and_no_call(service: UserAgent) -> None:
    text = request_text(
        "INVITE",
        service,
        extra="Content-Type: application/sdp\r\n",
        body="v=0\r\nthis is not sdp\r\n",
    )
    reply = await raw_exchange(service, text)
    assert isinstance(reply, SipResponse) and reply.status == 400
    assert service.incoming.empty()


async def test_invite_with_other_body_type_gets_415(service: UserAgent) -> None:
    text = request_text("INVITE", service, extra="Content-Type: text/plain\r\n", body="hi")
    reply = await raw_exchange(service, text)
    assert isinstance(reply, SipResponse) and reply.status == 415
    assert "application/sdp" in reply.headers.get_all("Accept")


async def test_invite_requiring_unknown_extension_gets_420(service: UserAgent) -> None:
    text = request_text("INVITE", service, extra="Require: 100rel\r\n")
    reply = await raw_exchange(service, text)
    assert isinstance(reply, SipResponse) and reply.status == 420
    assert reply.headers.get("Unsupported") == "100rel"


OFFER = (
    "v=0\r\no=raw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 41000 RTP/AVP 0\r\n"
)


async def test_unacknowledged_200_is_retransmitted_then_call_ended_with_bye(
    service: UserAgent,
) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        port = sock.getsockname()[1]
        text = request_text(
            "INVITE", service, extra="Content-Type: application/sdp\r\n", body=OFFER
        ).replace("raw@127.0.0.1:9>", f"raw@127.0.0.1:{port}>")
        loop = asyncio.get_running_loop()
        send = asyncio.ensure_future(raw_exchange(service, text, sock=sock, want_final=False))
        call = await incoming(service)
        await send  # the 100 Trying
        await call.answer(media(30000))
        seen: list[str] = []
        while "BYE" not in seen:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65535), STEP)
            msg = parse_message(data)
            seen.append(msg.method if isinstance(msg, SipRequest) else str(msg.status))
        assert seen.count("200") >= 2  # retransmitted until it gave up (RFC 3261 §13.3.1.4)
        assert await next_of(call, CallEnded) == CallEnded(Side.LOCAL, EndReason.NO_ACK)
    finally:
        sock.close()


async def test_late_offer_invite_gets_our_offer_and_answer_comes_in_ack(service: UserAgent) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    try:
        port = sock.getsockname()[1]
        text = request_text("INVITE", service).replace("127.0.0.1:9", f"127.0.0.1:{port}")
        loop = asyncio.get_running_loop()
        local = service.local_address()
        await loop.sock_sendto(sock, text.encode(), (local.host, local.port))
        call = await incoming(service)
        assert await call.answer(media(30000)) is None
        ok: SipResponse | None = None
        while ok is None:
            msg = parse_message(await asyncio.wait_for(loop.sock_recv(sock, 65535), STEP))
            if isinstance(msg, SipResponse) and msg.status == 200:
                ok = msg
        assert b"m=audio 30000 RTP/AVP 0 8 101" in ok.body
        to = ok.headers.get("To")
        ack = (
            f"ACK sip:hotline@127.0.0.1:{local.port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-ack1\r\n"
            f"From: <sip:raw@127.0.0.1>;tag=raw1\r\nTo: {to}\r\nCall-ID: raw-INVITE\r\n"
            "CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n"
            f"Content-Length: {len(OFFER)}\r\n\r\n{OFFER}"
        )
        await loop.sock_sendto(sock, ack.encode(), (local.host, local.port))
        answered = await next_of(call, CallAnswered)
        assert isinstance(answered, CallAnswered) and answered.media.remote_port == 41000
        await next_of(call, CallConfirmed)
    finally:
        sock.close()


async def test_update_with_sendonly_offer_is_answered_recvonly(service: UserAgent) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    local = service.local_address()

    async def final(text: str) -> SipResponse:
        await loop.sock_sendto(sock, text.encode(), (local.host, local.port))
        while True:
            msg = parse_message(await asyncio.wait_for(loop.sock_recv(sock, 65535), STEP))
            if isinstance(msg, SipResponse) and msg.status >= 200:
                return msg

    try:
        port = sock.getsockname()[1]
        invite = request_text("INVITE", service, extra="Content-Type: application/sdp\r\n",
                              body=OFFER).replace("127.0.0.1:9", f"127.0.0.1:{port}")
        await loop.sock_sendto(sock, invite.encode(), (local.host, local.port))
        call = await incoming(service)
        await call.answer(media(30000))
        ok: SipResponse | None = None
        while ok is None:
            msg = parse_message(await asyncio.wait_for(loop.sock_recv(sock, 65535), STEP))
            if isinstance(msg, SipResponse) and msg.status == 200:
                ok = msg
        to = ok.headers.get("To")
        common = (f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{{b}}\r\n"
                  f"From: <sip:raw@127.0.0.1>;tag=raw1\r\nTo: {to}\r\nCall-ID: raw-INVITE\r\n"
                  "Max-Forwards: 70\r\n")
        ack = (f"ACK sip:hotline@127.0.0.1:{local.port} SIP/2.0\r\n"
               + common.format(b="ack1") + "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n")
        await loop.sock_sendto(sock, ack.encode(), (local.host, local.port))
        await next_of(call, CallConfirmed)
        held = OFFER + "a=sendonly\r\n"
        update = (f"UPDATE sip:hotline@127.0.0.1:{local.port} SIP/2.0\r\n"
                  + common.format(b="upd1") + "CSeq: 2 UPDATE\r\n"
                  f"Contact: <sip:raw@127.0.0.1:{port}>\r\nContent-Type: application/sdp\r\n"
                  f"Content-Length: {len(held)}\r\n\r\n{held}")
        reply = await final(update)
        assert reply.status == 200 and b"a=recvonly" in reply.body
        assert await next_of(call, HoldChanged) == HoldChanged(Direction.RECVONLY, True)
        # An UPDATE with an old CSeq is refused with 500 (RFC 3261 §12.2.2).
        stale = update.replace("upd1", "upd0").replace("CSeq: 2 UPDATE", "CSeq: 1 UPDATE")
        assert (await final(stale)).status == 500
        bye = (f"BYE sip:hotline@127.0.0.1:{local.port} SIP/2.0\r\n"
               + common.format(b="bye1") + "CSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n")
        assert (await final(bye)).status == 200
        assert await next_of(call, CallEnded) == CallEnded(Side.REMOTE, EndReason.BYE)
    finally:
        sock.close()


async def test_bye_in_early_dialog_ends_invite_with_487(service: UserAgent) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    local = service.local_address()
    try:
        port = sock.getsockname()[1]
        invite = request_text("INVITE", service, extra="Content-Type: application/sdp\r\n",
                              body=OFFER).replace("127.0.0.1:9", f"127.0.0.1:{port}")
        await loop.sock_sendto(sock, invite.encode(), (local.host, local.port))
        call = await incoming(service)
        await call.ring()
        ringing: SipResponse | None = None
        while ringing is None:
            msg = parse_message(await asyncio.wait_for(loop.sock_recv(sock, 65535), STEP))
            if isinstance(msg, SipResponse) and msg.status == 180:
                ringing = msg
        bye = (f"BYE sip:hotline@127.0.0.1:{local.port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-ebye\r\n"
               f"From: <sip:raw@127.0.0.1>;tag=raw1\r\nTo: {ringing.headers.get('To')}\r\n"
               "Call-ID: raw-INVITE\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\n"
               "Content-Length: 0\r\n\r\n")
        await loop.sock_sendto(sock, bye.encode(), (local.host, local.port))
        finals: dict[str, int] = {}
        while len(finals) < 2:
            msg = parse_message(await asyncio.wait_for(loop.sock_recv(sock, 65535), STEP))
            if isinstance(msg, SipResponse) and msg.status >= 200:
                finals[msg.cseq.method] = msg.status
        assert finals == {"BYE": 200, "INVITE": 487}
        assert await next_of(call, CallEnded) == CallEnded(Side.REMOTE, EndReason.BYE)
    finally:
        sock.close()


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        pytest.param("127.0.0.1", "tcp", id="tcp"),
        pytest.param("::1", "udp", id="ipv6-udp",
                     marks=pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback")),
    ],
)
async def test_call_over_tcp_and_ipv6(host: str, kind: str) -> None:
    service = await UserAgent.start([(kind, host, 0)], timers=FAST)
    phone = await UserAgent.start([(kind, host, 0)], timers=FAST, user="phone")
    try:
        transport = TransportKind(kind)
        local = service.local_address(transport)
        suffix = ";transport=tcp" if kind == "tcp" else ""
        target = SipUri.parse(f"sip:1000@{local.host_for_uri}:{local.port}{suffix}")
        out = phone.call(target, local_media=LocalMedia(address=host, port=40000))
        call = await incoming(service)
        negotiated = await call.answer(LocalMedia(address=host, port=30000))
        assert negotiated is not None and negotiated.remote_address == host
        await next_of(out, CallConfirmed)
        await next_of(call, CallConfirmed)
        await call.hangup()  # BYE goes to the phone's Contact over the same transport
        assert await next_of(out, CallEnded) == CallEnded(Side.REMOTE, EndReason.BYE)
    finally:
        await phone.close()
        await service.close()


async def test_outbound_call_answers_proxy_challenge_with_proxy_authorization(
        service: UserAgent, phone: UserAgent) -> None:
    store = InMemoryCredentialStore([("phone", "proxy.test", "pw")])
    auth = DigestAuthenticator(realm="proxy.test", store=store, secret=b"y" * 32)
    out = phone.call(service_uri(service), local_media=media(40000),
                     credentials=ClientCredentials("phone", "pw"))
    first = await incoming(service)
    await first.reject(407, headers=auth.challenge_headers(0.0, proxy=True))
    second = await incoming(service)
    assert second.request.headers.get("Authorization") is None
    values = second.request.headers.get_all("Proxy-Authorization")
    decision = auth.verify(method="INVITE", request_uri=second.request.uri,
                           authorizations=values, now=1.0)
    assert decision.outcome is AuthOutcome.ACCEPTED
    await second.reject(486)
    assert await next_of(out, CallEnded) == CallEnded(Side.REMOTE, EndReason.REJECTED, 486)


async def test_hangup_right_after_answer_waits_for_the_ack(service: UserAgent,
                                                           phone: UserAgent) -> None:
    out = phone.call(service_uri(service), local_media=media(40000))
    call = await incoming(service)
    await call.answer(media(30000))
    await call.hangup()  # before the ACK can have arrived
    events = [type(e) async for e in call.events()]
    assert events.index(CallConfirmed) < events.index(CallEnded)
    assert call.ended == CallEnded(Side.LOCAL, EndReason.BYE)
    assert await next_of(out, CallEnded) == CallEnded(Side.REMOTE, EndReason.BYE)


async def test_cancel_before_any_response_returns_when_invite_times_out(
        phone: UserAgent) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # receives the INVITE, never answers
    try:
        port = silent.getsockname()[1]
        out = phone.call(SipUri.parse(f"sip:x@127.0.0.1:{port}"), local_media=media(40000))
        await asyncio.wait_for(out.cancel(), STEP)  # Timer B (64*T1 = 3.2 s here) ends it
        assert out.ended == CallEnded(Side.LOCAL, EndReason.CANCELLED)
    finally:
        silent.close()


async def test_crossing_reinvites_resolve_by_491_and_retry(service: UserAgent,
                                                          phone: UserAgent) -> None:
    call, out = await connected(service, phone)
    # Both sides hold at the same moment: each gets 491 for its re-INVITE or succeeds;
    # the loser retries after the RFC 3261 §14.1 wait, and both end up done.
    results = await asyncio.wait_for(
        asyncio.gather(call.hold(), out.hold()), 3 * STEP)  # type: ignore[attr-defined]
    assert results == [True, True]
    assert call.dialog is not None and out.dialog is not None  # type: ignore[attr-defined]
    await out.hangup()  # type: ignore[attr-defined]
    assert await next_of(call, CallEnded) == CallEnded(Side.REMOTE, EndReason.BYE)


HOSTILE = [
    # (what, extra headers, body, expected status)
    ("sdp with garbage line", "Content-Type: application/sdp\r\n", "v=0\r\n%%%\r\n", 400),
    ("sdp without origin", "Content-Type: application/sdp\r\n", "v=0\r\ns=-\r\n", 400),
    ("sdp port out of range", "Content-Type: application/sdp\r\n",
     OFFER.replace("41000", "70000"), 400),
    ("sdp not utf-8", "Content-Type: application/sdp\r\n", "v=0\r\no=\udcff\r\n", 400),
    ("body of another type", "Content-Type: application/x-foo\r\n", "hello", 415),
    ("required extension", "Require: foo, bar\r\n", "", 420),
]


@pytest.mark.parametrize(("what", "extra", "body", "status"), HOSTILE,
                         ids=[h[0] for h in HOSTILE])
async def test_hostile_invites_get_4xx_and_the_next_call_is_answered(
        service: UserAgent, phone: UserAgent, what: str, extra: str, body: str,
        status: int) -> None:
    text = request_text("INVITE", service, extra=extra, body="")
    raw = text.encode()
    payload = body.encode("utf-8", "surrogateescape")
    raw = raw.replace(b"Content-Length: 0\r\n\r\n",
                      b"Content-Length: %d\r\n\r\n" % len(payload)) + payload
    reply = await raw_exchange(service, raw.decode("utf-8", "surrogateescape"))
    assert isinstance(reply, SipResponse) and reply.status == status, what
    assert service.incoming.empty()
    out = phone.call(service_uri(service), local_media=media(40000))
    call = await incoming(service)
    await call.answer(media(30000))
    await next_of(out, CallConfirmed)
