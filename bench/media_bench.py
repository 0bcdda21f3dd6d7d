"""Media engine benchmark: N concurrent calls each hearing a prompt while their caller talks.

Not a test (issue 3's target: >= 500 concurrent calls per core with p99 send-interval error
<= 2 ms). The engine runs in this process exactly as in the service: one MediaEngine, N
sessions each playing a looped prompt and receiving a caller stream through the jitter buffer
to 20 ms frames whose level is computed (as the IVR's voice detection does). A peer process on
the other core sends the N caller streams from one socket on its own 20 ms grid and records
when each of the engine's packets arrives.

    .venv/bin/python -m bench.media_bench --calls 500 --seconds 30

Prints calls, the engine process's CPU %, CPU µs per call-second, memory per call, the
engine's p50/p99 send-time error against the grid and send-interval error (from the sessions'
own statistics), and the interval error and loss the peer saw (which include the peer's own
scheduling delays, so they are an upper bound).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.connection
import os
import random
import select
import socket
import struct
import time

import numpy as np

from telephony.media.audio import FRAME_SAMPLES, level_dbfs, tone
from telephony.media.engine import MediaEngine
from telephony.media.g711 import PCMU
from telephony.media.ports import PortAllocator
from telephony.media.session import AudioFrame, MediaParams

INTERVAL = 0.020
WARM_UP = 2.0
PROBED_CALLS = 40  # calls whose packets the peer times (spread over all slots)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peer(conn: multiprocessing.connection.Connection, host: str, seconds: float) -> None:
    """The callers: one PCMU packet per call every 20 ms, on the peer's own absolute grid.

    Timing every packet of 500 calls in Python would make the peer the bottleneck, so only a
    sample of calls is timed: their streams come from (and, by symmetric RTP, return to) the
    probe socket; all other streams come from the bulk socket, which is never read (the
    kernel drops what overflows it, at no cost to the engine).
    """
    bulk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    for sock in (bulk, probe):
        sock.bind((host, 0))
        sock.setblocking(False)
    conn.send((bulk.getsockname(), probe.getsockname()))
    targets: list[tuple[tuple[str, int], bool]] = conn.recv()
    probed = [address for address, is_probe in targets if is_probe]
    index = {address: i for i, address in enumerate(probed)}
    voice = PCMU.encode(tone(300, 1.0, level=-20))
    header = struct.Struct("!BBHII")
    arrivals: list[list[float]] = [[] for _ in probed]
    start = time.monotonic() + 0.05
    end = start + seconds
    cpu_start = time.process_time()
    tick = 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        next_send = start + tick * INTERVAL
        if now < next_send:
            select.select([probe], [], [], next_send - now)
        while True:
            try:
                _, source = probe.recvfrom(2048)
            except BlockingIOError:
                break
            slot = index.get(source)
            if slot is not None:
                arrivals[slot].append(time.monotonic())
        if time.monotonic() >= next_send:
            offset = (tick * FRAME_SAMPLES) % (voice.size - FRAME_SAMPLES)
            payload = voice[offset : offset + FRAME_SAMPLES].tobytes()
            seq, ts = tick & 0xFFFF, tick * FRAME_SAMPLES & 0xFFFFFFFF
            for i, (address, is_probe) in enumerate(targets):
                packet = header.pack(0x80, 0, seq, ts, i) + payload
                (probe if is_probe else bulk).sendto(packet, address)
            tick += 1
    errors = []
    received = 0
    for times in arrivals:
        steady = [t for t in times if t >= start + WARM_UP]
        received += len(steady)
        if len(steady) > 1:
            errors.append(np.abs(np.diff(steady) - INTERVAL))
    pooled = np.concatenate(errors) if errors else np.zeros(1)
    expected = len(probed) * (seconds - WARM_UP) / INTERVAL
    conn.send(
        {
            "probed": len(probed),
            "cpu_pct": 100.0 * (time.process_time() - cpu_start) / (time.monotonic() - start),
            "arrival_p50_ms": float(np.percentile(pooled, 50)) * 1000,
            "arrival_p99_ms": float(np.percentile(pooled, 99)) * 1000,
            "loss_pct": max(0.0, 100.0 * (1 - received / expected)),
        }
    )
    bulk.close()
    probe.close()


async def run_engine(calls: int, seconds: float, host: str, slots: int, levels: bool) -> None:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=peer, args=(child, host, seconds + 1.0), daemon=True)
    process.start()
    bulk_address, probe_address = parent.recv()
    probe_every = max(1, calls // PROBED_CALLS)
    low = random.randrange(20000, 40000)
    rss_before = _rss_bytes()
    engine = MediaEngine(
        ports=PortAllocator(low, low + 4 * calls + 100),
        host=host,
        slots=slots,
        timing_window=int(seconds / INTERVAL) + 50,
    )
    prompt = tone(440, 5.0, level=-18)
    sessions = []
    level_sink: list[float] = []

    def measure(frame: AudioFrame) -> None:
        level_sink.append(level_dbfs(frame.pcm))
        if len(level_sink) > 1000:
            level_sink.clear()

    probes: list[bool] = []
    for i in range(calls):
        probes.append(i % probe_every == 0)
        remote = probe_address if probes[-1] else bulk_address
        session = engine.open_session(MediaParams(remote=remote))
        if levels:
            session.subscribe_audio(measure)
        sessions.append(session)
    rss_after = _rss_bytes()
    parent.send([(s.local_address, p) for s, p in zip(sessions, probes, strict=True)])
    await engine.start()

    async def keep_playing() -> None:
        while True:
            for s in sessions:
                if not s.playing:
                    s.play(prompt)
            await asyncio.sleep(1.0)

    player = asyncio.create_task(keep_playing())
    await asyncio.sleep(WARM_UP)
    for s in sessions:  # only the steady state counts
        s.timing.reset()
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds - WARM_UP)
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - wall0
    summary = engine.timing_summary()
    skipped = sum(s.stats.skipped_ticks for s in sessions)
    send_errors = sum(s.stats.send_errors for s in sessions)
    player.cancel()
    peer_result = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
    await engine.stop()
    process.join(timeout=5)
    print(f"calls                       {calls}")
    print(f"slots                       {slots}")
    print(f"engine CPU                  {100 * cpu / wall:.1f} % of one core")
    print(f"CPU per call-second         {1e6 * cpu / wall / calls:.0f} µs")
    print(f"memory per call             {(rss_after - rss_before) / calls / 1024:.1f} KiB")
    print(f"send vs grid p50 / p99      {summary.grid_error_p50_ms:.3f} / "
          f"{summary.grid_error_p99_ms:.3f} ms")
    print(f"send interval err p50 / p99 {summary.interval_error_p50_ms:.3f} / "
          f"{summary.interval_error_p99_ms:.3f} ms")
    print(f"arrival interval err p50/p99 {peer_result['arrival_p50_ms']:.3f} / "
          f"{peer_result['arrival_p99_ms']:.3f} ms ({peer_result['probed']} calls timed)")
    print(f"packets lost (timed calls)  {peer_result['loss_pct']:.2f} %")
    print(f"peer process CPU            {peer_result['cpu_pct']:.1f} % of one core")
    print(f"machine load average        {os.getloadavg()[0]:.2f} (2+ on 2 cores spoils jitter)")
    print(f"skipped ticks / send errors {skipped} / {send_errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--slots", type=int, default=10)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-levels", action="store_true", help="skip per-frame level")
    args = parser.parse_args()
    if args.seconds <= WARM_UP + 1:
        parser.error(f"--seconds must exceed the {WARM_UP + 1:.0f} s warm-up")
    asyncio.run(run_engine(args.calls, args.seconds, args.host, args.slots, not args.no_levels))


if __name__ == "__main__":
    main()
