"""Issue 3 item 6 against the whole running service: every hostile message of the torture
fixtures (RFC 4475's categories) gets its status or a silent drop, and the next caller is
still answered by a real phone."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from conftest import sip_port
from pjsua_phones import Phone, PjsuaLibrary, hang_up, wait_for

from hotline.app import Service

pytestmark = pytest.mark.interop

FIXTURES = sorted(
    p
    for p in (Path(__file__).parents[1] / "fixtures" / "sip").glob("*.sip")
    if not p.name.startswith("ok_")
)


def probe(port: int, n: int, marker: str) -> bytes:
    return (
        f"OPTIONS sip:hotline@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch={marker};rport\r\n"
        f"From: <sip:probe@127.0.0.1>;tag=p{n}\r\nTo: <sip:hotline@127.0.0.1>\r\n"
        f"Call-ID: probe-{n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()


async def test_hostile_messages_get_their_answer_and_the_next_call_is_answered(
    service: Service, pjsua: PjsuaLibrary
) -> None:
    assert len(FIXTURES) >= 20
    target = ("127.0.0.1", sip_port(service))
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.bind(("127.0.0.1", 0))
        raw.setblocking(False)
        port = raw.getsockname()[1]
        for n, path in enumerate(FIXTURES):
            branch = f"z9hG4bKsvc{n}"
            data = path.read_bytes().replace(b"z9hG4bKtorture1", branch.encode())
            data = data.replace(b"127.0.0.1:5099", f"127.0.0.1:{port}".encode())
            await loop.sock_sendto(raw, data, target)
            marker = f"z9hG4bKsvcmark{n}"
            # Whatever the fixture caused arrives before the answer to this probe.
            await loop.sock_sendto(raw, probe(port, n, marker), target)
            answers: list[int] = []
            while True:
                reply, _ = await asyncio.wait_for(loop.sock_recvfrom(raw, 65535), 5)
                if marker.encode() in reply:
                    assert reply.startswith(b"SIP/2.0 200"), "the service stopped serving"
                    break
                if branch.encode() in reply:
                    answers.append(int(reply.split(b" ", 2)[1]))
            expected = path.name.split("_", 1)[0]
            if expected == "drop":
                assert answers == [], path.name
            else:
                assert answers[:1] == [int(expected)], path.name
    caller = Phone(pjsua, "13700000001")
    call = caller.call(f"sip:1000@127.0.0.1:{sip_port(service)}")
    await wait_for(lambda: call.confirmed, what="the next call to be answered")
    hang_up(call)
    await wait_for(lambda: call.disconnected, what="BYE")
