"""Whole-service call benchmark: Hotline against a minimal pyVoIP answering service (issue 3).

    .venv/bin/python -m bench.call_bench [--calls N] [--seconds S] [--setup-rate R] [--json]
    .venv/bin/python -m bench.call_bench --quick --hotline-only      (smoke: 20 calls x 5 s)

Every service runs in a process of its own (``bench.hotline_proc`` builds Hotline exactly as
``hotline serve`` does; ``bench.pyvoip_proc`` is a pyVoIP phone that answers every call with
a prompt) and the callers in another (``bench.loadgen``), so the service's CPU % and resident
memory, read from /proc, are its own. Each phase starts fresh processes:

1. Hotline holding N calls (default 200) for S seconds, each silent caller (it presses no
   key) hearing the default flow: P1 (2.7 s), the language prompt three times with a 5 s
   wait for a key after each (the service sends silence packets then), the main menu from
   about 25 s, the queue's music on hold from about 75 s (no agent is logged in);
2. Hotline and pyVoIP each holding M calls (default 30: pyVoIP is clean to about 35);
3. Hotline and pyVoIP each taking bursts of short calls at rising rates up to R per second.

Printed per run: calls attempted / answered / failed, the service's CPU % (100 = one core),
memory per call (RSS growth / answered calls), p50/p99 of the RTP interval error measured at
the receiver (kernel arrival times, both services) and, for Hotline, from the media engine's
own send-timing statistics; set-ups per second; and the ratio Hotline / pyVoIP of each figure
at M calls. The targets are printed next to the figures, never asserted. Because the
machine is shared, each window also records, second by second, the intervals more than 2 ms
off, the CPU all other processes used and the service's run-queue wait, and prints the
interval error over just the seconds when other processes were quiet.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench.loadplan import HoldPlan, SetupPlan, plan_to_json
from bench.report import render

HOST = "127.0.0.1"
START_TIMEOUT = 60.0  # a fresh SQLite database is migrated and accounts created at start
STOP_GRACE = 10.0
READY_SERVICE = "BENCH-READY"
READY_LOADGEN = "BENCH-LOADGEN"
RESULT_PREFIX = "{"  # the load generator's result is one JSON object on one line


class BenchError(Exception):
    """A phase could not run (a process did not start or did not answer)."""


@dataclass(frozen=True, slots=True)
class Options:
    calls: int
    seconds: float
    setup_rate: float
    pyvoip_calls: int
    ramp_rate: float
    hotline_only: bool
    caller_audio: bool
    setups: bool
    logs: Path | None
    service_nice: int = 0


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _raise_fd_limit() -> None:
    # Each call holds an RTP socket in the service and one in the load generator; children
    # inherit the limit (a deployment sets LimitNOFILE the same way).
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _read_line(proc: subprocess.Popen[bytes], prefix: str, timeout: float) -> str:
    """The first stdout line starting with ``prefix``, or BenchError after ``timeout``."""
    assert proc.stdout is not None  # every process here is started with stdout=PIPE
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BenchError(f"{proc.args!r} gave no {prefix!r} line within {timeout:.0f} s")
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if not ready:
            continue
        line = proc.stdout.readline().decode("utf-8", "replace")
        if not line:
            raise BenchError(f"{proc.args!r} exited (status {proc.wait()}) before {prefix!r}")
        if line.startswith(prefix):
            return line[len(prefix) :].strip()


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _hotline_config(workdir: Path) -> Path:
    path = workdir / "hotline.yaml"
    path.write_text(
        "\n".join(
            [
                "sip:",
                f"  host: {HOST}",
                "  port: 0",
                "  transports: [udp]",
                "web:",
                f"  host: {HOST}",
                "  port: 0",
                "database:",
                f"  url: sqlite+aiosqlite:///{workdir / 'hotline.db'}",
                "media:",
                "  rtp_port_min: 20000",
                "  rtp_port_max: 29999",
                "recordings:",
                f"  root: {workdir / 'recordings'}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


def _start(
    args: list[str], log: IO[bytes], stdin: bool = False, nice: int = 0
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args],
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,  # a ^C to the benchmark is handled here, not by each child
        # Every thread the service starts inherits the priority (an experiment: how much of
        # the lateness is other processes taking the CPU). Negative values need root.
        preexec_fn=(lambda: os.nice(nice)) if nice else None,
    )


def run_phase(
    service: str, workdir: Path, make_plan: Any, label: str, logs: Path | None, nice: int = 0
) -> dict[str, Any]:
    """Fresh load generator + service, one plan, both stopped whatever happens."""
    phase_dir = workdir / label
    phase_dir.mkdir()
    loadgen: subprocess.Popen[bytes] | None = None
    server: subprocess.Popen[bytes] | None = None
    with (
        open(phase_dir / "loadgen.log", "wb") as loadgen_log,
        open(phase_dir / "service.log", "wb") as service_log,
    ):
        try:
            loadgen = _start(["-m", "bench.loadgen"], loadgen_log, stdin=True)
            loadgen_port = int(_read_line(loadgen, READY_LOADGEN, START_TIMEOUT))
            stats_path = phase_dir / "stats.json"
            if service == "hotline":
                config = _hotline_config(phase_dir)
                server = _start(["-m", "bench.hotline_proc", str(config), str(stats_path)],
                                service_log, nice=nice)
            else:
                sip_port = _free_udp_port()
                server = _start(
                    ["-m", "bench.pyvoip_proc", "--server", f"{HOST}:{loadgen_port}",
                     "--sip-port", str(sip_port)],
                    service_log,
                    nice=nice,
                )
            sip_port = int(_read_line(server, READY_SERVICE, START_TIMEOUT).split()[0])
            plan: HoldPlan | SetupPlan = make_plan((HOST, sip_port), server.pid, stats_path)
            assert loadgen.stdin is not None
            loadgen.stdin.write((json.dumps(plan_to_json(plan)) + "\n").encode("utf-8"))
            loadgen.stdin.flush()
            line = _read_line(loadgen, RESULT_PREFIX, plan.deadline + 30.0)
            result: dict[str, Any] = json.loads(RESULT_PREFIX + line)
            result["service"] = service
            result["phase"] = label
            return result
        finally:
            _stop(server)
            _stop(loadgen)
            if logs is not None:
                shutil.copytree(phase_dir, logs / label, dirs_exist_ok=True)


def run(options: Options) -> dict[str, Any]:
    _raise_fd_limit()
    results: dict[str, Any] = {"options": _options_dict(options)}
    rates = _rates(options.setup_rate)
    with tempfile.TemporaryDirectory(prefix="call-bench-") as tmp:
        workdir = Path(tmp)

        def hold(calls: int, stats: bool) -> Any:
            def make(target: tuple[str, int], pid: int, stats_path: Path) -> HoldPlan:
                return HoldPlan(
                    target=target, service_pid=pid, calls=calls, seconds=options.seconds,
                    ramp_rate=options.ramp_rate, caller_audio=options.caller_audio,
                    stats_signals=stats, stats_path=str(stats_path) if stats else None,
                )
            return make

        def setup(target: tuple[str, int], pid: int, _stats: Path) -> SetupPlan:
            return SetupPlan(target=target, service_pid=pid, rates=rates,
                             caller_audio=options.caller_audio)

        phases: list[tuple[str, str, Any]] = [
            (f"hotline-hold-{options.calls}", "hotline", hold(options.calls, True)),
        ]
        if not options.hotline_only:
            if options.pyvoip_calls != options.calls:
                phases.append((f"hotline-hold-{options.pyvoip_calls}", "hotline",
                               hold(options.pyvoip_calls, True)))
            phases.append((f"pyvoip-hold-{options.pyvoip_calls}", "pyvoip",
                           hold(options.pyvoip_calls, False)))
        if options.setups:
            phases.append(("hotline-setup", "hotline", setup))
            if not options.hotline_only:
                phases.append(("pyvoip-setup", "pyvoip", setup))
        for label, service, make in phases:
            print(f"call_bench: {label} ...", file=sys.stderr, flush=True)
            try:
                results[label] = run_phase(
                    service, workdir, make, label, options.logs, options.service_nice
                )
            except BenchError as exc:
                results[label] = {"service": service, "phase": label, "error": str(exc)}
    return results


def _options_dict(options: Options) -> dict[str, Any]:
    return {
        "calls": options.calls,
        "seconds": options.seconds,
        "setup_rate": options.setup_rate,
        "pyvoip_calls": options.pyvoip_calls,
        "ramp_rate": options.ramp_rate,
        "hotline_only": options.hotline_only,
        "caller_audio": options.caller_audio,
        "setups": options.setups,
        "service_nice": options.service_nice,
        "cpus": os.cpu_count(),
    }


def _rates(target: float) -> tuple[float, ...]:
    """Doubling steps ending at the target: 25, 50, 100, 200 for 200/s."""
    steps = [target]
    while steps[-1] / 2 >= 20:
        steps.append(steps[-1] / 2)
    return tuple(math.floor(r * 10) / 10 for r in reversed(steps))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.call_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200, help="Hotline's concurrent calls")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window per call")
    parser.add_argument("--setup-rate", type=float, default=200.0, help="target set-ups/s")
    parser.add_argument("--pyvoip-calls", type=int, default=30,
                        help="calls for the pyVoIP comparison (pyVoIP is clean to ~35)")
    parser.add_argument("--ramp-rate", type=float, default=50.0,
                        help="calls set up per second before the hold window")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20 calls x 5 s, set-ups up to 50/s, pyVoIP at 10")
    parser.add_argument("--hotline-only", action="store_true", help="skip pyVoIP")
    parser.add_argument("--no-setups", action="store_true", help="skip the set-up rate steps")
    parser.add_argument("--no-caller-audio", action="store_true",
                        help="callers stay silent (by default each sends PCMU silence)")
    parser.add_argument("--service-nice", type=int, default=0,
                        help="run the services at this nice value (negative needs root)")
    parser.add_argument("--logs", type=Path, default=None, help="keep every process's log here")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.seconds, args.setup_rate, args.pyvoip_calls = 20, 5.0, 50.0, 10
    if args.calls < 1 or args.seconds <= 0 or args.setup_rate <= 0 or args.pyvoip_calls < 1:
        parser.error("--calls, --seconds, --setup-rate and --pyvoip-calls must be positive")
    options = Options(
        calls=args.calls, seconds=args.seconds, setup_rate=args.setup_rate,
        pyvoip_calls=args.pyvoip_calls, ramp_rate=args.ramp_rate,
        hotline_only=args.hotline_only, caller_audio=not args.no_caller_audio,
        setups=not args.no_setups,
        logs=args.logs, service_nice=args.service_nice,
    )
    results = run(options)
    print(json.dumps(results, indent=2) if args.json else render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
