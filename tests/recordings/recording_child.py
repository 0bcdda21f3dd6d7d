"""A process that records a call in real time until it is killed (for the kill -9 test).

Usage: python recording_child.py <root> <call-id> <started_at>
After handing each 20 ms frame to the writer it prints the frame's end position, so the
parent knows a lower bound of what was sent when it kills us.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from recording_signals import FRAME, frames, signal

from recordings.metadata import recording_path
from recordings.writer import Channel, StereoWavWriter


def main() -> None:
    root, call_id, started_at = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    caller, agent = frames(signal(11, 60.0)), frames(signal(12, 60.0))
    t0 = time.monotonic()
    writer = StereoWavWriter(
        recording_path(root, call_id, started_at), call_id=call_id, started_at=started_at, now=t0
    )
    for i, (left, right) in enumerate(zip(caller, agent, strict=True)):
        due = t0 + i * 0.02
        time.sleep(max(0.0, due - time.monotonic()))
        now = time.monotonic()
        if i == 25:
            writer.pause(now, reason="card number")
        if i == 50:
            writer.resume(now)
        writer.add_rtp(Channel.CALLER, 1000 + i * FRAME, 1, left, now)
        writer.add_rtp(Channel.AGENT, 9000 + i * FRAME, 2, right, now)
        print((i + 1) * FRAME, flush=True)


if __name__ == "__main__":
    main()
