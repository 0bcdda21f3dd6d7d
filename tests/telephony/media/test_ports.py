"""RTP port allocation from the configured range (issue 3)."""

from __future__ import annotations

import random
import socket

import pytest

from telephony.media.ports import PortAllocator, PortsExhausted, bind_rtp_socket


def test_hands_out_even_ports_only_and_reuses_released_ones_last() -> None:
    ports = PortAllocator(10001, 10008)
    got = [ports.acquire() for _ in range(4)]
    assert got == [10002, 10004, 10006, 10008]
    with pytest.raises(PortsExhausted, match="10001-10008"):
        ports.acquire()
    ports.release(10004)
    assert ports.acquire() == 10004


def test_released_ports_go_to_the_back_of_the_line() -> None:
    ports = PortAllocator(10000, 10006)
    first = ports.acquire()
    ports.release(first)
    assert ports.acquire() == 10002


def test_bad_ranges_and_releases_are_refused() -> None:
    with pytest.raises(ValueError, match="1024-65535"):
        PortAllocator(80, 90)
    with pytest.raises(ValueError, match="no even port"):
        PortAllocator(10001, 10001)
    with pytest.raises(ValueError, match="not allocated"):
        PortAllocator(10000, 10010).release(10002)


def test_binding_skips_a_port_another_process_holds() -> None:
    low = random.randrange(20000, 60000) & ~1
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        squatter.bind(("127.0.0.1", low))
    except OSError:
        pytest.skip("the random port happened to be busy")
    try:
        ports = PortAllocator(low, low + 10)
        sock = bind_rtp_socket(ports, "127.0.0.1")
        try:
            port = sock.getsockname()[1]
            assert port != low
            assert port % 2 == 0
            assert low < port <= low + 10
        finally:
            sock.close()
    finally:
        squatter.close()
