"""`hotline sim --live`: options, the progress bar, the final table and --json.

Example, against a service started with `hotline serve` (its output shows the initial passwords;
the run changes a password the service marks "must change" and prints the new one)::

    hotline sim --live --target 127.0.0.1:5060 --web http://127.0.0.1:8080 \\
        --agents 1001:PASSWORD,1002:PASSWORD --supervisor admin:PASSWORD \\
        --calls 20 --rate 120 --duration 300 --aht exp:180 --patience exp:300 \\
        --time-scale 0.05

Exit status: 0 every call completed and both sides agree, 1 the run finished but a call failed
or the sides disagree (the table says which), 2 bad options or the service refused the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from sim.live import AgentLogin, LiveConfig, LiveReport, report_json, run_live
from sim.live_compare import AGREEMENT_SECONDS, CROSSING_WINDOW, Verdict
from sim.live_parties import CallerOutcome
from sim.live_sip import RegistrationFailed
from sim.live_web import LiveError
from sim.model import ModelError, parse_distribution

EXIT_OK = 0
EXIT_DISAGREE = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hotline sim --live",
        description="Drive real SIP calls at a running Hotline over 127.0.0.1 and compare the "
        "service's service level and ASA with what the callers measured.",
        epilog="Distributions: 180 or exp:180, lognormal:mean,sd, fixed:30, empirical:file.csv, "
        "none. Talk, patience, ring delay, wrap-up time and the gaps between calls are "
        "multiplied by --time-scale; the service's own timers (prompts, the 10 s service-level "
        "threshold, ring timeout) are not.",
    )
    p.add_argument("--target", default="127.0.0.1:5060", help="the service's SIP UDP host:port")
    p.add_argument("--web", default="http://127.0.0.1:8080", help="the service's web API")
    p.add_argument("--agents", help="agents to play: number:password[,number:password...]")
    p.add_argument("--supervisor", help="user:password to read the wallboard before and after")
    p.add_argument("--calls", type=int, default=20, help="calls to place at most (default 20)")
    p.add_argument("--rate", type=float, default=30.0, help="calls per hour, before scaling")
    p.add_argument(
        "--duration", type=float, default=300.0, help="wall seconds in which calls start"
    )
    p.add_argument("--aht", default="exp:180", help="agents' talk time (default exp:180)")
    p.add_argument("--patience", default="exp:300", help="callers' patience in the queue")
    p.add_argument("--ring-delay", default="fixed:4", help="time agents let it ring")
    p.add_argument("--wrapup-time", default="fixed:10", help="time agents take for wrap-up")
    p.add_argument("--time-scale", type=float, default=0.05, help="multiplies the times above")
    p.add_argument("--digits", default="1,1", help="menu keys (default 1,1: 中文, billing)")
    p.add_argument(
        "--survey-hangup", type=float, default=0.0, help="chance a caller skips the survey"
    )
    p.add_argument("--config", type=Path, help="the service's config file (queue thresholds)")
    p.add_argument(
        "--database", help="the service's database URL: also report what `hotline report` reads"
    )
    p.add_argument("--flow", type=Path, help="the service's flow file (default: the bundled)")
    p.add_argument("--speech", type=Path, help="8 kHz mono WAV the callers say")
    p.add_argument("--rtp-ports", default="40000-40998", help="local RTP port range")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", nargs="?", const="-", help="write JSON here ('-' or no value: stdout)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _logins(text: str, option: str) -> tuple[AgentLogin, ...]:
    out = []
    for item in text.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise ModelError(f"expected user:password, got {item.strip()!r}", field=option)
        out.append(AgentLogin(user, password))
    return tuple(out)


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ModelError(f"expected host:port, got {text!r}", field="--target")
    return host.strip("[]"), int(port)


def build_config(args: argparse.Namespace) -> LiveConfig:
    from dataclasses import replace

    from hotline.acd_service import engine_config
    from hotline.config import AcdSettings, load_config
    from hotline.config import ConfigError as HotlineConfigError
    from prompts import audio

    if not args.agents:
        raise ModelError("give the agents to play as number:password,...", field="--agents")
    host, port = _host_port(args.target)
    talk = parse_distribution(args.aht, option="--aht")
    if talk is None:
        raise ModelError("a talk time distribution is required", field="--aht")
    if args.config is not None:
        try:
            acd = load_config(args.config, environ={}).acd
        except HotlineConfigError as exc:
            raise ModelError(str(exc)) from None
    else:
        acd = AcdSettings()
    queues, _ = engine_config(acd)
    low, sep, high = args.rtp_ports.partition("-")
    if not sep or not low.isdigit() or not high.isdigit() or int(low) >= int(high):
        raise ModelError(f"expected low-high, got {args.rtp_ports!r}", field="--rtp-ports")
    for name, value in (
        ("--calls", args.calls),
        ("--rate", args.rate),
        ("--duration", args.duration),
        ("--time-scale", args.time_scale),
    ):
        if not value > 0:
            raise ModelError(f"must be > 0, got {value!r}", field=name)
    if not 0.0 <= args.survey_hangup <= 1.0:
        raise ModelError("must be between 0 and 1", field="--survey-hangup")
    speech = None
    if args.speech is not None:
        try:
            speech = audio.read_wav(args.speech)
        except (OSError, audio.AudioFormatError) as exc:
            raise ModelError(str(exc), field="--speech") from None
    config = LiveConfig(
        sip_host=host,
        sip_port=port,
        web_url=args.web,
        agents=_logins(args.agents, "--agents"),
        supervisor=_logins(args.supervisor, "--supervisor")[0] if args.supervisor else None,
        calls=args.calls,
        rate_per_hour=args.rate,
        duration=args.duration,
        talk=talk,
        patience=parse_distribution(args.patience, option="--patience"),
        ring_delay=parse_distribution(args.ring_delay, option="--ring-delay"),
        wrapup_time=parse_distribution(args.wrapup_time, option="--wrapup-time"),
        time_scale=args.time_scale,
        digits=tuple(d.strip() for d in args.digits.split(",") if d.strip()),
        survey_hangup=args.survey_hangup,
        queues=tuple(queues),
        seed=args.seed,
        rtp_ports=(int(low), int(high)),
        speech=speech,
        database_url=args.database,
    )
    return replace(config, flow=args.flow) if args.flow is not None else config


def live_main(argv: Sequence[str], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(list(argv))
    try:
        config = build_config(args)
    except ModelError as exc:
        print(f"hotline sim --live: error: {exc}", file=err)
        return EXIT_USAGE
    try:
        report = asyncio.run(_run(config, err, quiet=args.quiet))
    except (LiveError, RegistrationFailed, ModelError, OSError) as exc:
        print(f"hotline sim --live: error: {exc}", file=err)
        return EXIT_USAGE
    doc = report_json(report)
    if args.json == "-":
        print(json.dumps(doc, ensure_ascii=False, indent=2), file=out)
    else:
        if args.json:
            Path(args.json).write_text(json.dumps(doc, ensure_ascii=False, indent=2))
        print_report(report, out)
    failed = any(c.outcome is CallerOutcome.FAILED for c in report.callers)
    return EXIT_OK if report.agree and not failed else EXIT_DISAGREE


async def _run(config: LiveConfig, err: TextIO, *, quiet: bool) -> LiveReport:
    if quiet:
        return await run_live(config)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(file=err), transient=True) as bar:
        task = bar.add_task("calls", total=config.calls)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return await run_live(config, progress=advance)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _count(value: float | None) -> str:
    return "—" if value is None else f"{value:d}" if isinstance(value, int) else f"{value:g}"


# (row label, SideFigures field and wallboard-delta key, format)
TABLE_ROWS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("offered", "offered", _count),
    ("answered", "answered", _count),
    ("abandoned", "abandoned", _count),
    ("  of them short", "short_abandoned", _count),
    ("answered within threshold", "answered_within", _count),
    ("service level", "service_level", _pct),
    ("ASA s", "asa", _secs),
)


def print_report(report: LiveReport, out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    doc: dict[str, Any] = report_json(report)
    console = Console(file=out, width=110)
    failed = sum(1 for c in report.callers if c.outcome is CallerOutcome.FAILED)
    console.print(
        f"{len(report.callers)} calls in {report.wall_seconds:.0f} s ({failed} failed); "
        f"service level = answered within {report.threshold:g} s ÷ answered"
    )
    table = Table()
    table.add_column("figure")
    table.add_column("service (its records)", justify="right")
    if report.wallboard is not None:
        table.add_column("wallboard Δ", justify="right")
    if report.database is not None:
        table.add_column("database (report)", justify="right")
    table.add_column("callers measured", justify="right")
    table.add_column("callers − service", justify="right")
    s, m, w, d = report.service, report.measured, report.wallboard, report.database
    for label, name, fmt in TABLE_ROWS:
        service, measured = getattr(s, name), getattr(m, name)
        diff = None if service is None or measured is None else measured - service
        cells = [label, fmt(service)]
        if w is not None:
            cells.append(fmt(w.get(name)))
        if d is not None:
            cells.append(fmt(getattr(d, name)))
        table.add_row(*cells, fmt(measured), fmt(diff))
    console.print(table)
    mean = doc["difference"]["per_call_mean"]
    console.print(
        f"per call, caller wait − service wait: mean {_secs(mean)} s, largest "
        f"{_secs(report.max_difference)} s (tolerance {AGREEMENT_SECONDS:g} s): "
        + ("agree" if report.agree else "DISAGREE")
    )
    crossed = report.count(Verdict.CROSSED)
    if crossed:
        console.print(
            f"{crossed} call(s) crossed: the caller hung up while P10 was arriving (within "
            f"{CROSSING_WINDOW:.2f} s of the answer); the service counts them answered"
        )
    for call in report.calls:
        if call.verdict in (Verdict.APART, Verdict.DIFFERENT, Verdict.NO_RECORD):
            console.print(
                f"  {call.verdict.value}: {call.caller} caller {call.caller_outcome.value} "
                f"after {_secs(call.caller_wait)} s, service {call.service_outcome} after "
                f"{_secs(call.service_wait)} s"
            )
    for agent in report.agents:
        console.print(
            f"agent {agent['number']}: answered {agent['answered']}, missed {agent['missed']}, "
            f"wrap-ups {agent['wrapups']}"
        )
    for user, password in report.password_changes.items():
        console.print(f"the service required a new password for {user}: now {password}")
    for problem in report.problems[:10]:
        console.print(f"  problem: {problem}")
