"""SipEndpoint over real sockets on 127.0.0.1 and ::1: a client/server pair harness (issue 3)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from telephony.sip.address import Peer, TransportKind
from telephony.sip.endpoint import ServerTransactionHandle, SipEndpoint
from telephony.sip.errors import TransactionTimeout, TransportFailure
from telephony.sip.message import Headers, SipRequest, new_call_id, new_tag
from telephony.sip.parser import parse_message
from telephony.sip.timers import TimerConfig
from telephony.sip.transaction import make_cancel
from telephony.sip.transport import TlsConfig
from telephony.sip.uri import SipUri

FAST = TimerConfig(t1=0.05, t2=0.4, t4=0.5, timer_d=0.5)


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


FAMILIES = [
    pytest.param("127.0.0.1", id="ipv4"),
    pytest.param(
        "::1", id="ipv6", marks=pytest.mark.skipif(not has_ipv6(), reason="no IPv6 loopback")
    ),
]


def request(method: str, target: Peer, cseq: int = 1, call_id: str | None = None) -> SipRequest:
    host = target.host_for_uri
    return SipRequest(
        method,
        SipUri.parse(f"sip:service@{host}:{target.port}"),
        Headers(
            [
                ("Max-Forwards", "70"),
                ("From", f"<sip:caller@{host}>;tag={new_tag()}"),
                ("To", f"<sip:service@{host}>"),
                ("Call-ID", call_id or new_call_id()),
                ("CSeq", f"{cseq} {method}"),
            ]
        ),
    )


class Service:
    """A server TU: answers OPTIONS 200, rings INVITEs until CANCELled or told to answer."""

    def __init__(self) -> None:
        self.seen: list[ServerTransactionHandle] = []
        self.cancelled = asyncio.Event()
        self.acks: list[SipRequest | None] = []

    async def __call__(self, handle: ServerTransactionHandle) -> None:
        self.seen.append(handle)
        method = handle.request.method
        if handle.request.headers.get("Subject") == "slow":
            await asyncio.sleep(0.3)
        if method == "OPTIONS":
            await handle.respond(200, headers=[("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")])
        elif method == "INVITE":
            await handle.respond(180)
            if handle.request.headers.get("Subject") == "answer":
                await handle.respond(200, body=b"v=0\r\n")
                self.acks.append(await handle.wait_ack())
                return
            await handle.cancelled.wait()
            self.cancelled.set()
        elif method == "BYE":
            await handle.respond(200)


@pytest.fixture
async def pair(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[SipEndpoint, SipEndpoint, Service]]:
    host = request.param
    service = Service()
    server = await SipEndpoint.start(
        [("udp", host, 0), ("tcp", host, 0)], handler=service, timers=FAST
    )
    client = await SipEndpoint.start(
        [("udp", host, 0), ("tcp", host, 0)], handler=lambda h: None, timers=FAST
    )
    yield client, server, service
    await client.close()
    await server.close()


@pytest.mark.parametrize("pair", FAMILIES, indirect=True)
@pytest.mark.parametrize("kind", [TransportKind.UDP, TransportKind.TCP])
async def test_options_is_answered_over_udp_and_tcp(pair, kind) -> None:
    client, server, _ = pair
    target = server.local_address(kind)
    tx = client.send_request(request("OPTIONS", target), target)
    response = await asyncio.wait_for(tx.final_response(), 5)
    assert response.status == 200
    assert "INVITE" in response.headers.get_all("Allow")
    # RFC 3581: the server filled in where it saw us; the response came back to that port.
    via = response.top_via
    assert via.received == client.local_address(kind).host
    if kind is TransportKind.UDP:
        assert via.rport == client.local_address(kind).port


@pytest.mark.parametrize("pair", FAMILIES, indirect=True)
@pytest.mark.parametrize("kind", [TransportKind.UDP, TransportKind.TCP])
async def test_invite_cancel_gives_200_and_487(pair, kind) -> None:
    client, server, service = pair
    target = server.local_address(kind)
    invite_tx = client.send_request(request("INVITE", target), target)
    statuses = []
    async for response in invite_tx.responses():
        statuses.append(response.status)
        if response.status == 180:
            cancel_tx = client.send_request(make_cancel(invite_tx.request), target)
            assert (await asyncio.wait_for(cancel_tx.final_response(), 5)).status == 200
    assert statuses[-1] == 487
    assert 180 in statuses
    await asyncio.wait_for(service.cancelled.wait(), 5)


@pytest.mark.parametrize("pair", FAMILIES[:1], indirect=True)
async def test_2xx_is_retransmitted_until_the_ack_arrives(pair) -> None:
    client, server, service = pair
    target = server.local_address("udp")
    invite = request("INVITE", target)
    invite = SipRequest(invite.method, invite.uri, invite.headers.with_added("Subject", "answer"))
    tx = client.send_request(invite, target)
    final = await asyncio.wait_for(tx.final_response(), 5)
    assert final.status == 200 and final.body == b"v=0\r\n"
    # Hold the ACK back until the service has retransmitted its 2xx (§13.3.1.4).
    for _ in range(200):
        if tx.retransmitted_2xx >= 2:
            break
        await asyncio.sleep(FAST.t1 / 2)
    assert tx.retransmitted_2xx >= 2
    ack = SipRequest(
        "ACK",
        invite.uri,
        Headers(
            [
                ("Via", client.via_for(target)),
                ("Max-Forwards", "70"),
                ("From", invite.headers.get("From") or ""),
                ("To", final.headers.get("To") or ""),
                ("Call-ID", invite.call_id),
                ("CSeq", f"{invite.cseq.seq} ACK"),
            ]
        ),
    )
    tx.send_ack(ack)
    for _ in range(100):
        if service.acks:
            break
        await asyncio.sleep(0.02)
    assert service.acks and service.acks[0] is not None
    assert service.acks[0].method == "ACK"
    # once ACKed, the retransmissions stop
    settled = tx.retransmitted_2xx
    await asyncio.sleep(FAST.t2 * 2)
    assert tx.retransmitted_2xx <= settled + 1  # at most one was already in flight


@pytest.mark.parametrize("pair", FAMILIES[:1], indirect=True)
async def test_request_to_silent_peer_times_out_with_clear_error(pair) -> None:
    client, _, _ = pair
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        target = Peer(TransportKind.UDP, "127.0.0.1", silent.getsockname()[1])
        tx = client.send_request(request("OPTIONS", target), target)
        with pytest.raises(TransactionTimeout, match="Timer B/F"):
            await asyncio.wait_for(tx.final_response(), 10)
        # Timer E retransmitted the request while we waited.
        silent.setblocking(False)
        copies = 0
        while True:
            try:
                silent.recv(65535)
                copies += 1
            except BlockingIOError:
                break
        assert copies >= 3
    finally:
        silent.close()


GARBAGE = [
    b"\x00\x01\x02garbage",
    b"INVITE sip:x SIP/2.0\r\n\r\n",
    b"NOTSIP\r\n\r\n",
    b"\xff" * 2000,
    b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\nCSeq: x\r\n\r\n",
]


@pytest.mark.parametrize("pair", FAMILIES, indirect=True)
async def test_garbage_does_not_stop_the_endpoint(pair) -> None:
    client, server, _ = pair
    udp_target = server.local_address("udp")
    family = socket.AF_INET6 if ":" in udp_target.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as raw:
        for junk in GARBAGE:
            raw.sendto(junk, (udp_target.host, udp_target.port))
    tcp_target = server.local_address("tcp")
    reader, writer = await asyncio.open_connection(tcp_target.host, tcp_target.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # no Content-Length: framing lost
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # the server closed it
    writer.close()
    for kind in (TransportKind.UDP, TransportKind.TCP):
        target = server.local_address(kind)
        tx = client.send_request(request("OPTIONS", target), target)
        assert (await asyncio.wait_for(tx.final_response(), 5)).status == 200
    assert server.rejected >= len(GARBAGE)


@pytest.mark.parametrize("pair", FAMILIES[:1], indirect=True)
async def test_malformed_request_gets_400_at_its_received_rport(pair) -> None:
    _, server, _ = pair
    target = server.local_address("udp")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.bind(("127.0.0.1", 0))
        raw.setblocking(False)
        our_port = raw.getsockname()[1]
        # Via names a port nobody listens on; rport makes the answer come back to us.
        raw.sendto(
            b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKbad;rport\r\n"
            b"From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\n"
            b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
            (target.host, target.port),
        )
        loop = asyncio.get_running_loop()
        data, _ = await asyncio.wait_for(loop.sock_recvfrom(raw, 65535), 5)
    response = parse_message(data)
    assert response.status == 400
    assert "CSeq method" in (response.headers.get("Warning") or "")
    assert response.top_via.rport == our_port


@pytest.mark.parametrize("pair", FAMILIES[:1], indirect=True)
async def test_tcp_response_opens_a_connection_to_sent_by_when_the_old_one_closed(pair) -> None:
    _, server, _ = pair
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.put_nowait(await reader.readuntil(b"\r\n\r\n"))
        writer.close()

    listener = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        target = server.local_address("tcp")
        _, writer = await asyncio.open_connection(target.host, target.port)
        writer.write(
            f"OPTIONS sip:svc@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP 127.0.0.1:{port};branch=z9hG4bKgone\r\n"
            f"From: <sip:c@x>;tag=1\r\nTo: <sip:svc@x>\r\nCall-ID: gone-1\r\n"
            f"CSeq: 1 OPTIONS\r\nSubject: slow\r\nContent-Length: 0\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()  # gone before the (slow) answer: §18.2.2 says connect to sent-by
        response = parse_message(await asyncio.wait_for(received.get(), 5))
        assert response.status == 200 and response.call_id == "gone-1"
    finally:
        listener.close()
        await listener.wait_closed()


FIXTURES = sorted(
    p
    for p in (Path(__file__).parents[2] / "fixtures" / "sip").glob("*.sip")
    if not p.name.startswith("ok_")
)


@pytest.mark.parametrize("pair", FAMILIES[:1], indirect=True)
async def test_every_hostile_fixture_gets_its_answer_over_udp_then_a_call_still_works(pair) -> None:
    """Issue 3 item 6: each torture message gets its 4xx/5xx or a silent drop, live."""
    client, server, _service = pair
    target = server.local_address("udp")
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.bind(("127.0.0.1", 0))
        raw.setblocking(False)
        port = raw.getsockname()[1]
        for n, path in enumerate(FIXTURES):
            branch = f"z9hG4bKlive{n}"
            data = path.read_bytes().replace(b"z9hG4bKtorture1", branch.encode())
            data = data.replace(b"127.0.0.1:5099", f"127.0.0.1:{port}".encode())
            await loop.sock_sendto(raw, data, (target.host, target.port))
            # A marker after each fixture: everything the fixture caused arrives before it.
            marker = f"z9hG4bKmark{n}"
            await loop.sock_sendto(
                raw,
                (
                    f"OPTIONS sip:svc@127.0.0.1 SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch={marker};rport\r\n"
                    f"From: <sip:probe@x>;tag=p{n}\r\nTo: <sip:svc@x>\r\nCall-ID: mark-{n}\r\n"
                    f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
                ).encode(),
                (target.host, target.port),
            )
            answers = []
            while True:
                reply, _ = await asyncio.wait_for(loop.sock_recvfrom(raw, 65535), 5)
                response = reply.split(b"\r\n", 1)[0]
                if marker.encode() in reply:
                    break
                if branch.encode() in reply:
                    answers.append(int(response.split(b" ")[1]))
            expected = path.name.split("_", 1)[0]
            if expected == "drop":
                assert answers == [], path.name
            else:
                assert answers and set(answers) == {int(expected)}, path.name
    # and the endpoint still answers a call
    invite = request("INVITE", target)
    invite = SipRequest(invite.method, invite.uri, invite.headers.with_added("Subject", "answer"))
    final = await asyncio.wait_for(client.send_request(invite, target).final_response(), 5)
    assert final.status == 200


@pytest.mark.parametrize("pair", FAMILIES[:1], indirect=True)
async def test_tcp_request_without_content_length_gets_400_then_the_connection_closes(pair) -> None:
    _, server, _ = pair
    target = server.local_address("tcp")
    reader, writer = await asyncio.open_connection(target.host, target.port)
    writer.write(
        b"OPTIONS sip:svc@127.0.0.1 SIP/2.0\r\n"
        b"Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKnocl\r\n"
        b"From: <sip:c@x>;tag=1\r\nTo: <sip:svc@x>\r\nCall-ID: nocl\r\nCSeq: 1 OPTIONS\r\n\r\n"
    )
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)  # everything until the server closes
    writer.close()
    response = parse_message(data)
    assert response.status == 400
    assert "Content-Length is mandatory" in (response.headers.get("Warning") or "")


async def test_closing_the_endpoint_fails_pending_client_transactions() -> None:
    endpoint = await SipEndpoint.start([("udp", "127.0.0.1", 0)], handler=lambda h: None)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        target = Peer(TransportKind.UDP, "127.0.0.1", silent.getsockname()[1])
        tx = endpoint.send_request(request("OPTIONS", target), target)
        await endpoint.close()
        with pytest.raises(TransportFailure, match="closed"):
            await asyncio.wait_for(tx.final_response(), 5)


async def test_options_and_invite_cancel_over_tls(tls_config: TlsConfig) -> None:
    tls = tls_config
    service = Service()
    server = await SipEndpoint.start(
        [("tls", "127.0.0.1", 0)], handler=service, timers=FAST, tls=tls
    )
    client = await SipEndpoint.start(
        [("tls", "127.0.0.1", 0)], handler=lambda h: None, timers=FAST, tls=tls
    )
    try:
        target = server.local_address("tls")
        options = client.send_request(request("OPTIONS", target), target)
        response = await asyncio.wait_for(options.final_response(), 5)
        assert response.status == 200 and response.top_via.transport == "TLS"
        invite_tx = client.send_request(request("INVITE", target), target)
        async for provisional in invite_tx.responses():
            if provisional.status == 180:
                client.send_request(make_cancel(invite_tx.request), target)
            last = provisional
        assert last.status == 487
    finally:
        await client.close()
        await server.close()
