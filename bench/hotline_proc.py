"""The Hotline service as bench/ runs it: its own process, plus send-timing stats on signals.

    python -m bench.hotline_proc CONFIG.yaml STATS.json

Builds the service exactly as ``hotline serve`` does (``hotline.app.build_service``, INFO
logging to stderr) so its CPU and memory are measured alone, and adds two signal handlers
the load generator uses around its measured window:

* SIGUSR1: forget every live session's send-timing window (the warm-up is not measured);
* SIGUSR2: write the media engine's own timing summary of the live sessions to STATS.json.

Each session keeps the send times of its last ``DEFAULT_TIMING_WINDOW`` packets (10 s), so
the service-side figures cover the last 10 s of the window; the load generator measures the
whole window at the receiving end. SIGTERM or SIGINT stops the service.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from hotline.app import build_service
from hotline.config import load_config
from telephony.media.engine import MediaEngine

READY_PREFIX = "BENCH-READY"


def _write_stats(media: MediaEngine, path: Path) -> None:
    sessions = media.sessions
    summary = media.timing_summary(sessions)
    payload = {
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

        def reset() -> None:
            for session in media.sessions:
                session.timing.reset()

        loop.add_signal_handler(signal.SIGUSR1, reset)
        loop.add_signal_handler(signal.SIGUSR2, _write_stats, media, stats_path)
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
    asyncio.run(serve(Path(argv[0]), Path(argv[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
