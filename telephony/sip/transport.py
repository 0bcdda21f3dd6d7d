"""Thin asyncio SIP transports (UDP; TCP and TLS with stream framing; IPv4 and IPv6).

A transport only moves bytes: it hands each datagram or framed TCP message to a callback
with its source ``Peer`` and sends bytes to a ``Peer``. Parsing, routing decisions and
retransmissions live in the sans-IO layers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

from telephony.sip.address import Peer, TransportKind
from telephony.sip.errors import LocalSipError, RemoteSipError
from telephony.sip.parser import StreamFramer

__all__ = [
    "DeliveryFailed",
    "MessageCallback",
    "SipTransport",
    "StreamErrorCallback",
    "TcpTransport",
    "TlsConfig",
    "UdpTransport",
    "create_transport",
]

log = logging.getLogger(__name__)

MessageCallback = Callable[[bytes, Peer], None]
# Called with the unframeable bytes before a stream is closed, so they can be answered.
StreamErrorCallback = Callable[[bytes, Peer, RemoteSipError], None]
DeliveryFailed = Callable[[], None]


class SipTransport(Protocol):
    kind: TransportKind

    @property
    def local(self) -> Peer: ...

    def send(
        self, data: bytes, destination: Peer, on_error: DeliveryFailed | None = None
    ) -> None: ...

    async def close(self) -> None: ...


def _peer(kind: TransportKind, addr: tuple[str, int] | tuple[str, int, int, int]) -> Peer:
    host = addr[0]
    if "%" in host:  # link-local scope id is not part of a SIP host (RFC 3261 §25.1)
        host = host.split("%", 1)[0]
    return Peer(kind, host, addr[1])


# Room for about two seconds of a 200 call/s set-up burst (a few KB per message).
UDP_RECEIVE_BUFFER = 4 * 1024 * 1024


class UdpTransport(asyncio.DatagramProtocol):
    """One UDP socket. Each datagram is one message (RFC 3261 §18.3)."""

    kind = TransportKind.UDP

    def __init__(self, on_message: MessageCallback) -> None:
        self._on_message = on_message
        self._transport: asyncio.DatagramTransport | None = None
        self._local: Peer | None = None

    @classmethod
    async def bind(cls, host: str, port: int, on_message: MessageCallback) -> UdpTransport:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        _, protocol = await loop.create_datagram_endpoint(
            lambda: cls(on_message), local_addr=(host, port), family=family
        )
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # A burst of call set-ups overflowed the default ~208 KiB buffer while the loop
            # was busy (bench/call_bench at 200 set-ups/s); the kernel caps this at rmem_max.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
        self._local = _peer(self.kind, transport.get_extra_info("sockname"))

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        try:
            self._on_message(data, _peer(self.kind, addr))  # type: ignore[arg-type]
        except Exception:  # a bug upstream must not close the socket for everyone
            log.exception("SIP UDP message handler failed for a datagram from %s", addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable etc.; per-destination failures surface as timeouts (§17.1.4).
        log.debug("SIP UDP error: %s", exc)

    @property
    def local(self) -> Peer:
        if self._local is None:
            raise LocalSipError("UDP transport is not bound")
        return self._local

    def send(self, data: bytes, destination: Peer, on_error: DeliveryFailed | None = None) -> None:
        if self._transport is None or self._transport.is_closing():
            if on_error is not None:
                on_error()
            return
        try:
            self._transport.sendto(data, (destination.host, destination.port))
        except OSError:
            log.debug("SIP UDP send to %s failed", destination, exc_info=True)
            if on_error is not None:
                on_error()

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class _TcpConnection(asyncio.Protocol):
    """One TCP connection (accepted or opened by us), framed with ``StreamFramer``."""

    def __init__(self, owner: TcpTransport) -> None:
        self._owner = owner
        self._framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.peer: Peer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.peer = _peer(self._owner.kind, transport.get_extra_info("peername"))
        self._owner._register(self)

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None and self.transport is not None
        if b"\r\n\r\n" in data and not data.strip(b"\r\n") and not self._framer.buffered:
            self.transport.write(b"\r\n")  # RFC 5626 §4.4.1: a CRLFCRLF ping gets a CRLF pong
        try:
            frames = self._framer.feed(data)
        except RemoteSipError as exc:
            # Framing is lost: nothing after this point can be trusted (§18.3). Close.
            log.info("closing SIP TCP connection from %s: %s", self.peer, exc.reason)
            on_error = self._owner._on_stream_error
            if on_error is not None:
                try:
                    on_error(self._framer.pending, self.peer, exc)
                except Exception:
                    log.exception("SIP TCP stream error handler failed for %s", self.peer)
            self.transport.close()  # flushes what the handler wrote first
            return
        for frame in frames:
            try:
                self._owner._on_message(frame, self.peer)
            except Exception:
                log.exception("SIP TCP message handler failed for a frame from %s", self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._unregister(self)

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class TcpTransport:
    """A listening TCP socket plus every connection to or from it, reused by peer address.

    Responses go back over the connection the request came on (§18.2.2): the request's
    source ``Peer`` is that connection's remote address, which is the key we look up.
    """

    def __init__(
        self,
        on_message: MessageCallback,
        on_stream_error: StreamErrorCallback | None = None,
        tls: TlsConfig | None = None,
    ) -> None:
        # TLS is the same stream transport with ssl on both the listening and dialled side.
        self.kind = TransportKind.TLS if tls is not None else TransportKind.TCP
        self._server_ssl = tls.server_context() if tls is not None else None
        self._client_ssl = tls.client_context() if tls is not None else None
        self._on_message = on_message
        self._on_stream_error = on_stream_error
        self._server: asyncio.Server | None = None
        self._local: Peer | None = None
        self._connections: dict[tuple[str, int], _TcpConnection] = {}
        self._connecting: dict[tuple[str, int], asyncio.Task[_TcpConnection]] = {}

    @classmethod
    async def bind(
        cls,
        host: str,
        port: int,
        on_message: MessageCallback,
        on_stream_error: StreamErrorCallback | None = None,
        tls: TlsConfig | None = None,
    ) -> TcpTransport:
        self = cls(on_message, on_stream_error, tls)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _TcpConnection(self),
            host=host,
            port=port,
            reuse_address=True,
            ssl=self._server_ssl,
        )
        self._local = _peer(self.kind, self._server.sockets[0].getsockname())
        return self

    @property
    def local(self) -> Peer:
        if self._local is None:
            raise LocalSipError("TCP transport is not bound")
        return self._local

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def connected(self, peer: Peer) -> bool:
        """True when an open connection to ``peer`` exists (or is being opened)."""
        key = (peer.host, peer.port)
        conn = self._connections.get(key)
        if conn is not None and conn.transport is not None and not conn.transport.is_closing():
            return True
        return key in self._connecting

    def _register(self, conn: _TcpConnection) -> None:
        assert conn.peer is not None
        self._connections[(conn.peer.host, conn.peer.port)] = conn

    def _unregister(self, conn: _TcpConnection) -> None:
        if conn.peer is not None:
            key = (conn.peer.host, conn.peer.port)
            if self._connections.get(key) is conn:
                del self._connections[key]

    def send(self, data: bytes, destination: Peer, on_error: DeliveryFailed | None = None) -> None:
        key = (destination.host, destination.port)
        conn = self._connections.get(key)
        if conn is not None and conn.transport is not None and not conn.transport.is_closing():
            conn.write(data)
            return
        task = self._connecting.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._connect(destination))
            self._connecting[key] = task
            task.add_done_callback(lambda _t: self._connecting.pop(key, None))

        def deliver(t: asyncio.Task[_TcpConnection]) -> None:
            if t.cancelled() or t.exception() is not None:
                log.debug(
                    "SIP TCP connect to %s failed: %r",
                    destination,
                    None if t.cancelled() else t.exception(),
                )
                if on_error is not None:
                    on_error()
                return
            t.result().write(data)

        task.add_done_callback(deliver)

    async def _connect(self, destination: Peer) -> _TcpConnection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(
            lambda: _TcpConnection(self),
            destination.host,
            destination.port,
            ssl=self._client_ssl,
            server_hostname=destination.host if self._client_ssl is not None else None,
        )
        # Register under the address we dialled too, so replies and later requests reuse it.
        self._connections[(destination.host, destination.port)] = conn
        return conn

    async def close(self) -> None:
        for task in list(self._connecting.values()):
            task.cancel()
        for conn in list(self._connections.values()):
            if conn.transport is not None:
                conn.transport.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """Certificates for the TLS transport (RFC 3261 §26.3.1: SIP over TLS, port 5061).

    ``cafile`` lists the authorities whose peers we accept when we dial out; without it the
    system store is used. ``check_hostname`` is off by default because phones and trunks are
    usually reached by IP address.
    """

    certfile: str
    keyfile: str
    cafile: str | None = None
    check_hostname: bool = False

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certfile, self.keyfile)
        return context

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.cafile)
        context.check_hostname = self.check_hostname
        return context


async def create_transport(
    kind: TransportKind | str,
    host: str,
    port: int,
    on_message: MessageCallback,
    on_stream_error: StreamErrorCallback | None = None,
    *,
    tls: TlsConfig | None = None,
) -> UdpTransport | TcpTransport:
    """Bind a transport of ``kind`` on ``host``:``port`` (0 picks a free port)."""
    kind = TransportKind(kind.lower()) if isinstance(kind, str) else kind
    if kind is TransportKind.UDP:
        return await UdpTransport.bind(host, port, on_message)
    if kind is TransportKind.TCP:
        return await TcpTransport.bind(host, port, on_message, on_stream_error)
    if tls is None:
        raise LocalSipError("the TLS transport needs a TlsConfig (certificate and key files)")
    return await TcpTransport.bind(host, port, on_message, on_stream_error, tls)
