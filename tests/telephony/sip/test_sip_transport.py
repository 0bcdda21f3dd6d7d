"""asyncio SIP transports over real loopback sockets: UDP, TCP framing and reuse, TLS refusal."""

from __future__ import annotations

import asyncio

import pytest

from telephony.sip.address import Peer, TransportKind
from telephony.sip.errors import LocalSipError
from telephony.sip.transport import TcpTransport, TlsConfig, UdpTransport, create_transport

OPTIONS = (
    b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\n"
    b"From: <sip:b@c>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
    b"Content-Length: 3\r\n\r\nabc"
)


class Inbox:
    def __init__(self) -> None:
        self.items: asyncio.Queue[tuple[bytes, Peer]] = asyncio.Queue()

    def __call__(self, data: bytes, source: Peer) -> None:
        self.items.put_nowait((data, source))

    async def get(self) -> tuple[bytes, Peer]:
        return await asyncio.wait_for(self.items.get(), 5)


async def test_udp_datagrams_arrive_with_their_source() -> None:
    inbox_a, inbox_b = Inbox(), Inbox()
    a = await UdpTransport.bind("127.0.0.1", 0, inbox_a)
    b = await UdpTransport.bind("127.0.0.1", 0, inbox_b)
    try:
        a.send(b"hello", b.local)
        data, source = await inbox_b.get()
        assert data == b"hello" and source == a.local
        assert a.local.transport is TransportKind.UDP and a.local.port != 0
    finally:
        await a.close()
        await b.close()


async def test_tcp_frames_split_writes_and_reuses_the_connection_for_replies() -> None:
    server_inbox, client_inbox = Inbox(), Inbox()
    server = await TcpTransport.bind("127.0.0.1", 0, server_inbox)
    client = await TcpTransport.bind("127.0.0.1", 0, client_inbox)
    try:
        # Two messages and a keep-alive in one write are framed apart (RFC 3261 §18.3).
        client.send(OPTIONS + b"\r\n\r\n" + OPTIONS, server.local)
        first, source = await server_inbox.get()
        second, _ = await server_inbox.get()
        assert first == second == OPTIONS
        # The reply goes back over the same connection, not to a new one (§18.2.2).
        server.send(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", source)
        reply, _ = await client_inbox.get()
        assert reply.startswith(b"SIP/2.0 200 OK")
        assert server.connection_count == 1 and client.connection_count == 1
        client.send(OPTIONS, server.local)
        await server_inbox.get()
        assert client.connection_count == 1
    finally:
        await client.close()
        await server.close()


async def test_tcp_connect_failure_reports_delivery_error() -> None:
    inbox = Inbox()
    transport = await TcpTransport.bind("127.0.0.1", 0, inbox)
    probe = await TcpTransport.bind("127.0.0.1", 0, inbox)
    dead = probe.local
    await probe.close()  # nothing listens there now
    failed = asyncio.Event()
    try:
        transport.send(OPTIONS, dead, failed.set)
        await asyncio.wait_for(failed.wait(), 5)
    finally:
        await transport.close()


async def test_tls_without_certificates_is_refused_clearly() -> None:
    with pytest.raises(LocalSipError, match="TlsConfig"):
        await create_transport("tls", "127.0.0.1", 0, Inbox())


async def test_tls_carries_framed_messages_both_ways(tls_config: TlsConfig) -> None:
    server_inbox, client_inbox = Inbox(), Inbox()
    server = await create_transport("tls", "127.0.0.1", 0, server_inbox, tls=tls_config)
    client = await create_transport("tls", "127.0.0.1", 0, client_inbox, tls=tls_config)
    try:
        assert server.local.transport is TransportKind.TLS
        client.send(OPTIONS, server.local)
        data, source = await server_inbox.get()
        assert data == OPTIONS and source.transport is TransportKind.TLS
        server.send(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", source)
        reply, _ = await client_inbox.get()
        assert reply.startswith(b"SIP/2.0 200 OK")
    finally:
        await client.close()
        await server.close()


async def test_tcp_crlf_ping_gets_a_crlf_pong() -> None:
    server = await TcpTransport.bind("127.0.0.1", 0, Inbox())
    try:
        reader, writer = await asyncio.open_connection(server.local.host, server.local.port)
        writer.write(b"\r\n\r\n")  # RFC 5626 §4.4.1
        assert await asyncio.wait_for(reader.readexactly(2), 5) == b"\r\n"
        writer.close()
    finally:
        await server.close()
