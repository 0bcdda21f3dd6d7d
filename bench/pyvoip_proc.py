"""A minimal pyVoIP 1.6.8 answering service for comparison: answers every call, plays a prompt.

    python -m bench.pyvoip_proc --server HOST:PORT --sip-port P --rtp-low L --rtp-high H

pyVoIP is a phone, not a server: it must REGISTER somewhere and sends every response to that
registrar's address rather than to the request's Via. So the "server" it registers with is the
load generator's own SIP socket, which answers REGISTER with 200 and places the calls; that is
as close to "answering INVITEs directly" as pyVoIP 1.6.8 gets without patching it.

Each call runs pyVoIP's documented pattern: ``answer()``, ``write_audio()`` with the prompt
(the bundled hold music, 8-bit as pyVoIP wants it), topped up one loop ahead so the caller
hears it continuously, until the caller hangs up. pyVoIP starts the callback 1 s after the
INVITE (its own ``Timer(1, …)``), which is part of its set-up time.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

import numpy as np

from prompts.catalogue import DEFAULT_DIR, PromptCatalogue
from prompts.texts import Language

READY_PREFIX = "BENCH-READY"
SAMPLE_RATE = 8000
# Keep this much audio queued ahead of pyVoIP's sender, re-checked this often.
AHEAD_SECONDS = 2.0
POLL_SECONDS = 0.1


def prompt_u8(prompt_id: str = "hold_music") -> bytes:
    """The catalogue prompt as unsigned 8-bit linear PCM (pyVoIP's write_audio format)."""
    samples = PromptCatalogue(DEFAULT_DIR).get(prompt_id, Language.ZH).samples
    pcm = np.asarray(samples, dtype=np.int16).astype(np.int32)
    return ((pcm >> 8) + 128).astype(np.uint8).tobytes()


class Answerer:
    """pyVoIP's call callback, run on a thread of its own per call."""

    def __init__(self, audio: bytes) -> None:
        self._audio = audio
        self.answered = 0
        self._lock = threading.Lock()

    def __call__(self, call: Any) -> None:
        from pyVoIP.VoIP import CallState, InvalidStateError

        try:
            call.answer()
        except InvalidStateError:
            return  # the caller gave up while pyVoIP's 1 s timer ran
        with self._lock:
            self.answered += 1
        queued = 0.0
        started = time.monotonic()
        while call.state == CallState.ANSWERED:
            if queued - (time.monotonic() - started) < AHEAD_SECONDS:
                call.write_audio(self._audio)
                queued += len(self._audio) / SAMPLE_RATE
            time.sleep(POLL_SECONDS)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pyvoip_proc")
    parser.add_argument("--server", required=True, help="HOST:PORT of the registrar")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--sip-port", type=int, required=True)
    parser.add_argument("--rtp-low", type=int, default=40000)
    parser.add_argument("--rtp-high", type=int, default=44999)
    args = parser.parse_args(argv)

    from pyVoIP.VoIP import VoIPPhone

    server_host, _, server_port = args.server.rpartition(":")
    phone = VoIPPhone(
        server_host,
        int(server_port),
        "bench",
        "bench",
        myIP=args.host,
        callCallback=Answerer(prompt_u8()),
        sipPort=args.sip_port,
        rtpPortLow=args.rtp_low,
        rtpPortHigh=args.rtp_high,
    )

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # pyVoIP's threads are not daemons and its deregistration waits up to 30 s for a
        # registrar that has already gone: the benchmark is over, leave at once.
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    phone.start()  # returns once the REGISTER is answered
    print(f"{READY_PREFIX} {args.sip_port} 0", flush=True)
    while True:  # signals reach the main thread between sleeps
        time.sleep(1.0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
