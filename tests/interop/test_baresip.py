"""Interop with baresip (Debian package) over 127.0.0.1: it answers our call, and it calls us
(issue 3). Skipped where baresip is not installed."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from telephony.sdp import PCMU, LocalMedia
from telephony.sip.call_events import CallAnswered, CallConfirmed, CallEnded, EndReason, Side
from telephony.sip.uri import SipUri
from telephony.sip.useragent import UserAgent

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip not installed"),
]
STEP = 10.0
LIFETIME = 20  # baresip quits by itself after this many seconds (-t)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def baresip(
    tmp_path: Path, *, account: str, port: int, commands: list[str]
) -> subprocess.Popen[bytes]:
    tone = tmp_path / "tone.wav"
    with wave.open(str(tone), "wb") as w:  # baresip's aufile reads 16-bit PCM WAV
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x10" * 8000)
    (tmp_path / "config").write_text(
        "poll_method epoll\n"
        f"sip_listen 127.0.0.1:{port}\n"
        f"audio_player aufile,{tmp_path / 'heard.wav'}\n"
        f"audio_source aufile,{tone}\n"
        f"audio_alert aufile,{tmp_path / 'alert.wav'}\n"
        "module_path /usr/lib/baresip/modules\n"
        "module g711.so\nmodule aufile.so\nmodule account.so\nmodule menu.so\n"
    )
    (tmp_path / "accounts").write_text(account + "\n")
    args = ["baresip", "-f", str(tmp_path), "-t", str(LIFETIME)]
    for command in commands:
        args += ["-e", command]
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@pytest.fixture
def stop_later() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


async def next_of(leg: object, kind: type) -> object:
    async def loop() -> object:
        while True:
            event = await leg.next_event()  # type: ignore[attr-defined]
            if isinstance(event, kind):
                return event
            assert not isinstance(event, CallEnded), event
    return await asyncio.wait_for(loop(), STEP)


async def test_baresip_answers_our_call(tmp_path: Path, sip_service: UserAgent,
                                        stop_later: list[subprocess.Popen[bytes]]) -> None:
    port = free_udp_port()
    stop_later.append(baresip(tmp_path, account="<sip:agent@127.0.0.1>;regint=0;answermode=auto",
                              port=port, commands=[]))
    target = SipUri.parse(f"sip:agent@127.0.0.1:{port}")
    out = None
    for _ in range(int(STEP / 0.2)):  # until baresip listens
        out = sip_service.call(target, local_media=LocalMedia(address="127.0.0.1", port=34000))
        event = await asyncio.wait_for(out.next_event(), STEP)
        if not isinstance(event, CallEnded):
            break
        await asyncio.sleep(0.2)
    assert out is not None
    answered = await next_of(out, CallAnswered)
    assert isinstance(answered, CallAnswered) and answered.media.codec == PCMU
    await next_of(out, CallConfirmed)
    await out.hangup()
    assert out.ended == CallEnded(Side.LOCAL, EndReason.BYE)


async def test_baresip_calls_us_and_we_hang_up(tmp_path: Path, sip_service: UserAgent,
                                               stop_later: list[subprocess.Popen[bytes]]) -> None:
    local = sip_service.local_address()
    stop_later.append(baresip(tmp_path, account="<sip:caller@127.0.0.1>;regint=0",
                              port=free_udp_port(),
                              commands=[f"/dial sip:1000@127.0.0.1:{local.port}"]))
    call = await asyncio.wait_for(sip_service.incoming.get(), STEP)
    negotiated = await call.answer(LocalMedia(address="127.0.0.1", port=34002))
    assert negotiated is not None and negotiated.codec == PCMU
    await next_of(call, CallConfirmed)
    await call.hangup()
    assert call.ended == CallEnded(Side.LOCAL, EndReason.BYE)
