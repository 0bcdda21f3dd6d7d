"""RTP port allocation from a configured range, and binding the UDP socket of a session.

RTP takes even ports and leaves the odd one above for RTCP (RFC 3550 §11), so the allocator
hands out even ports only. Released ports go to the back of the line: a port reused at once
could still receive the tail of the previous call's stream.
"""

from __future__ import annotations

import errno
import socket
from collections import deque
from typing import Final

# RFC 3550 §11 / RFC 3551 §8: RTP on an even port, RTCP on the next odd one.
RTP_PORT_PARITY: Final = 0
# RTP packets are at most a few hundred bytes; a 64 KiB receive buffer holds a 300 ms burst
# of a busy stream, enough while the engine polls every 20 ms.
RECEIVE_BUFFER_BYTES: Final = 65536


class PortsExhausted(RuntimeError):
    """Every port of the configured RTP range is in use."""


class PortAllocator:
    """Even ports from [low, high], handed out least-recently-used first."""

    def __init__(self, low: int, high: int) -> None:
        if not 1024 <= low <= high <= 65535:
            raise ValueError(f"RTP port range {low}-{high} must lie within 1024-65535")
        first = low + (low % 2)
        if first > high:
            raise ValueError(f"RTP port range {low}-{high} holds no even port")
        self.low = low
        self.high = high
        self._free: deque[int] = deque(range(first, high + 1, 2))
        self._used: set[int] = set()

    @property
    def available(self) -> int:
        return len(self._free)

    def acquire(self) -> int:
        if not self._free:
            raise PortsExhausted(f"all RTP ports in {self.low}-{self.high} are in use")
        port = self._free.popleft()
        self._used.add(port)
        return port

    def release(self, port: int) -> None:
        if port not in self._used:
            raise ValueError(f"port {port} was not allocated")
        self._used.remove(port)
        self._free.append(port)


def bind_rtp_socket(allocator: PortAllocator, host: str) -> socket.socket:
    """A non-blocking UDP socket bound to the next port of the range that is really free.

    Ports another process holds are skipped (and returned to the back of the line).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(allocator.available):
        port = allocator.acquire()
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            allocator.release(port)
            if exc.errno == errno.EADDRINUSE:
                continue
            raise
        sock.setblocking(False)
        return sock
    raise PortsExhausted(f"no free RTP port in {allocator.low}-{allocator.high} on {host}")
