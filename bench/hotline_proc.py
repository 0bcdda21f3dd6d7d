"""The Hotline service as bench/ runs it: its own process, plus send-timing stats on signals.

    python -m bench.hotline_proc CONFIG.yaml STATS.json

Builds the service exactly as ``hotline serve`` does (``hotline.app.build_service``, INFO
logging to stderr) so its CPU and memory are measured alone, and adds two signal handlers
the load generator uses around its measured window:

* SIGUSR1: forget every live session's send-timing window (the warm-up is not measured);
* SIGUSR2: write the media engine's own timing summary of the live sessions, and the
  garbage collector's pauses since SIGUSR1, to STATS.json.

Each session keeps the send times of its last ``DEFAULT_TIMING_WINDOW`` packets (10 s), so
the service-side figures cover the last 10 s of the window; the load generator measures the
whole window at the receiving end. SIGTERM or SIGINT stops the service; with
``BENCH_PROFILE=path`` in the environment the service runs under cProfile.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import json
import logging
import os
import signal
import sys
import time
import tracemalloc
from pathlib import Path

from hotline.app import build_service
from hotline.config import load_config
from telephony.media.engine import MediaEngine

READY_PREFIX = "BENCH-READY"
# Set to a file path to run the service under cProfile and dump its statistics to path.<pid> at stop
# (for finding out why the service is slow, not for the benchmark's figures).
PROFILE_ENV = "BENCH_PROFILE"
# Set to a file path to trace allocations: at SIGUSR2 the biggest growths since start-up are
# written to path.<pid> (finds what the memory per call is made of; slows the service).
TRACEMALLOC_ENV = "BENCH_TRACEMALLOC"
TRACEMALLOC_TOP = 40
# Set (to anything) to call gc.freeze() once the service is built: an experiment on whether
# keeping start-up objects out of full collections shortens the collector's pauses.
GC_FREEZE_ENV = "BENCH_GC_FREEZE"


def _write_allocations(baseline: tracemalloc.Snapshot, path: str) -> None:
    growth = tracemalloc.take_snapshot().compare_to(baseline, "lineno")
    lines = [str(stat) for stat in growth[:TRACEMALLOC_TOP]]
    Path(f"{path}.{os.getpid()}").write_text("\n".join(lines) + "\n", encoding="utf-8")


class GcPauses:
    """Durations of the cyclic garbage collector's runs: a pause stops the event loop too."""

    def __init__(self) -> None:
        self._started: float | None = None
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))
            self._started = None

    def summary(self) -> dict[str, float]:
        durations = [seconds for _generation, seconds in self.pauses]
        full = [seconds for generation, seconds in self.pauses if generation == 2]
        return {
            "gc_runs": len(durations),
            "gc_full_runs": len(full),
            "gc_pause_max_ms": 1000.0 * max(durations, default=0.0),
            "gc_full_pause_max_ms": 1000.0 * max(full, default=0.0),
            "gc_pause_total_ms": 1000.0 * sum(durations),
            "gc_tracked_objects": len(gc.get_objects()),
            "gc_frozen_objects": gc.get_freeze_count(),
        }


def _write_stats(media: MediaEngine, gc_figures: dict[str, float], path: Path) -> None:
    sessions = media.sessions
    summary = media.timing_summary(sessions)
    payload = {
        **gc_figures,
        "sessions": len(sessions),
        "packets": summary.packets,
        "grid_error_p50_ms": summary.grid_error_p50_ms,
        "grid_error_p99_ms": summary.grid_error_p99_ms,
        "interval_error_p50_ms": summary.interval_error_p50_ms,
        "interval_error_p99_ms": summary.interval_error_p99_ms,
    }
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(payload), encoding="utf-8")
    partial.replace(path)  # the reader polls for the file: it appears complete or not at all


async def serve(config_path: Path, stats_path: Path) -> None:
    config = load_config(config_path, environ=os.environ)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with build_service(config, announce=lambda _text: None) as service:
        media = service.telephony.media

        gc_pauses = GcPauses()
        gc.callbacks.append(gc_pauses)

        def reset() -> None:
            for session in media.sessions:
                session.timing.reset()
            gc_pauses.pauses.clear()

        trace_path = os.environ.get(TRACEMALLOC_ENV)
        baseline = tracemalloc.take_snapshot() if trace_path else None

        if os.environ.get(GC_FREEZE_ENV):
            gc.freeze()  # the experiment: start-up objects never scanned again

        def report() -> None:
            # After the window: how long one full collection of everything now alive takes
            # (what a gen-2 run costs the event loop at this many calls).
            # (Summarised first: this collection is not one the window saw.)
            figures = gc_pauses.summary()
            started = time.perf_counter()
            gc.collect()
            figures["gc_full_collect_ms"] = 1000.0 * (time.perf_counter() - started)
            _write_stats(media, figures, stats_path)
            if trace_path and baseline is not None:
                _write_allocations(baseline, trace_path)

        loop.add_signal_handler(signal.SIGUSR1, reset)
        loop.add_signal_handler(signal.SIGUSR2, report)
        sip = service.telephony.ua.local_address()
        print(f"{READY_PREFIX} {sip.port} {service.web_port}", flush=True)
        await stop.wait()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.hotline_proc CONFIG.yaml STATS.json", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if os.environ.get(TRACEMALLOC_ENV):
        tracemalloc.start(1)
    profile_path = os.environ.get(PROFILE_ENV)
    if not profile_path:
        asyncio.run(serve(Path(argv[0]), Path(argv[1])))
        return 0
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(serve(Path(argv[0]), Path(argv[1])))
    finally:
        profiler.disable()
        profiler.dump_stats(f"{profile_path}.{os.getpid()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
