"""The `hotline staff` and `hotline sim` commands: argument parsing, output, exit codes.

Both take their own argv (the lead's `hotline` console script hands over what follows the
subcommand) and return an exit status: 0 done, 2 bad input (named precisely, never a trace).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TextIO

from acd.config import ConfigError, QueueConfig, Strategy
from sim.model import (
    ConstantRate,
    Distribution,
    Exponential,
    ModelError,
    Profile,
    Roster,
    SimModel,
    default_queue,
    fixed_staff,
    load_profile,
    load_roster,
    parse_clock_time,
    parse_distribution,
)
from sim.staffing import (
    DEFAULT_SHORT_ABANDON,
    DEFAULT_THRESHOLD,
    QueueFigures,
    StaffingError,
    StaffingTarget,
    Traffic,
    agents_needed,
    figures,
)

EXIT_OK = 0
EXIT_USAGE = 2


def _fail(prog: str, message: str, err: TextIO) -> int:
    print(f"{prog}: error: {message}", file=err)
    return EXIT_USAGE


# --- hotline staff -------------------------------------------------------------------------


def _staff_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hotline staff",
        description="Exact Erlang C (no abandonment) or Erlang A (--patience) figures, and the "
        "agents needed for a target.",
    )
    load = p.add_mutually_exclusive_group(required=True)
    load.add_argument("--rate", type=float, help="calls per hour")
    load.add_argument("--profile", type=Path, help="CSV start,calls per 15 minutes")
    p.add_argument(
        "--aht", type=float, required=True, help="mean handle time, seconds (talk + hold + wrap-up)"
    )
    p.add_argument("--patience", type=float, help="mean patience in seconds (Erlang A)")
    p.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="service-level X in seconds (default 10, SPEC-Q1)",
    )
    p.add_argument("--short-abandon", type=float, default=DEFAULT_SHORT_ABANDON)
    p.add_argument("--service-level", type=float, help="target fraction, e.g. 0.8")
    p.add_argument(
        "--count-abandons",
        action="store_true",
        help="target the service level over answered + abandoned (SPEC-Q2)",
    )
    p.add_argument("--asa", type=float, help="target mean wait of answered calls, seconds")
    p.add_argument("--abandon", type=float, help="target abandon rate, e.g. 0.05")
    p.add_argument("--max-occupancy", type=float, help="e.g. 0.85")
    p.add_argument("--agents", type=int, help="evaluate this many agents")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def _figures_json(result: QueueFigures) -> dict[str, Any]:
    out = asdict(result)
    out["answer_rate"] = result.answer_rate
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()
    }


STAFF_COLUMNS = (
    ("agents", "agents", "{:d}"),
    ("p_wait", "P(wait)", "{:.2%}"),
    ("service_level", "SL", "{:.2%}"),
    ("service_level_abandons", "SL incl. abandons", "{:.2%}"),
    ("asa", "ASA s", "{:.1f}"),
    ("p_abandon", "abandon", "{:.2%}"),
    ("occupancy", "occupancy", "{:.1%}"),
)


def _staff_table(rows: Sequence[QueueFigures], out: TextIO, mark: int | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for _, title, _ in STAFF_COLUMNS:
        table.add_column(title, justify="right")
    for r in rows:
        cells = [fmt.format(getattr(r, name)) for name, _, fmt in STAFF_COLUMNS]
        table.add_row(*cells, style="bold" if r.agents == mark else None)
    Console(file=out, width=100).print(table)


def _target(args: argparse.Namespace) -> StaffingTarget | None:
    if all(v is None for v in (args.service_level, args.asa, args.abandon, args.max_occupancy)):
        return None
    return StaffingTarget(
        service_level=args.service_level,
        count_abandons=args.count_abandons,
        asa=args.asa,
        abandon=args.abandon,
        max_occupancy=args.max_occupancy,
    )


def staff_main(argv: Sequence[str], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """`hotline staff`: figures for --agents, or the least staffing meeting the targets."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = _staff_parser().parse_args(list(argv))
    try:
        target = _target(args)
        if args.profile is not None:
            return _staff_profile(args, target, out)
        traffic = Traffic(args.rate / 3600.0, args.aht, args.patience)
        opts = {"threshold": args.threshold, "short_abandon": args.short_abandon}
        chosen: int | None = args.agents
        if target is not None and chosen is None:
            chosen = agents_needed(traffic, target, **opts).agents
        low = math.floor(traffic.offered_load) + 1 if args.patience is None else 1
        if chosen is None:
            chosen = max(low, math.ceil(traffic.offered_load))
        rows = [figures(traffic, n, **opts) for n in range(max(low, chosen - 2), chosen + 3)]
    except (StaffingError, ModelError) as exc:
        return _fail("hotline staff", str(exc), err)
    if args.json:
        doc = {
            "offered_load": traffic.offered_load,
            "model": "erlang_a" if args.patience else "erlang_c",
            "agents": chosen,
            "figures": _figures_json(next(r for r in rows if r.agents == chosen)),
            "nearby": [_figures_json(r) for r in rows],
        }
        print(json.dumps(doc, indent=2), file=out)
        return EXIT_OK
    model = "Erlang A (M/M/N+M)" if args.patience else "Erlang C (M/M/N)"
    print(
        f"{model}: offered load {traffic.offered_load:.2f} Erl, service level within "
        f"{args.threshold:g} s",
        file=out,
    )
    if target is not None:
        print(f"agents needed: {chosen}", file=out)
    _staff_table(rows, out, chosen)
    return EXIT_OK


def _staff_profile(args: argparse.Namespace, target: StaffingTarget | None, out: TextIO) -> int:
    """Agents needed in each 15-minute interval of a profile (steady state per interval)."""
    if target is None:
        raise StaffingError("a profile needs a target (--service-level, --asa or --abandon)")
    profile = load_profile(args.profile)
    rows = []
    for i, calls in enumerate(profile.calls):
        start = profile.start + i * profile.interval
        traffic = Traffic(calls / profile.interval, args.aht, args.patience)
        if calls == 0:
            rows.append({"start": start, "calls": calls, "agents": 0})
            continue
        result = agents_needed(
            traffic, target, threshold=args.threshold, short_abandon=args.short_abandon
        )
        rows.append(
            {
                "start": start,
                "calls": calls,
                "agents": result.agents,
                "service_level": result.service_level,
                "asa": result.asa,
                "abandon": result.p_abandon,
            }
        )
    if args.json:
        print(json.dumps({"intervals": rows}, indent=2), file=out)
        return EXIT_OK
    from sim.report import clock_label

    for row in rows:
        print(
            f"{clock_label(float(row['start']))}  calls {row['calls']:>7g}  agents "
            f"{row['agents']:>4}",
            file=out,
        )
    return EXIT_OK


# --- hotline sim ---------------------------------------------------------------------------


def _sim_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hotline sim",
        description="Run the production ACD on virtual time and report SPEC-Q2 figures.",
        epilog="Distributions: 180 or exp:180 (exponential mean), lognormal:mean,sd, fixed:30, "
        "empirical:file.csv[:column], none.",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="drive real SIP calls at a running service instead (hotline sim --live --help)",
    )
    load = p.add_mutually_exclusive_group()
    load.add_argument("--rate", type=float, help="calls per hour (Poisson)")
    load.add_argument("--profile", type=Path, help="CSV start,calls per 15 minutes")
    staff = p.add_mutually_exclusive_group()
    staff.add_argument("--agents", type=int, help="agents on duty all the time")
    staff.add_argument("--roster", type=Path, help="roster of shifts and breaks (CSV or YAML)")
    p.add_argument("--aht", default="exp:180", help="talk time distribution (default exp:180)")
    p.add_argument("--patience", default="none", help="patience distribution (default none)")
    p.add_argument("--menu-time", default="none", help="time in the voice menu first")
    p.add_argument("--ring-delay", default="none", help="time an agent takes to answer")
    p.add_argument(
        "--config",
        type=Path,
        help="take the queue's settings from this hotline config file (as in production); "
        "the queue options below override single settings",
    )
    p.add_argument("--queue", help="with --config: which queue (default: the first)")
    p.add_argument("--wrapup", type=float, help="queue wrap-up seconds (default 0)")
    p.add_argument("--wrapup-time", default="none", help="time agents take to submit wrap-up")
    p.add_argument(
        "--ring-timeout",
        type=float,
        help="seconds before the ACD tries the next agent (default: never)",
    )
    p.add_argument(
        "--strategy",
        choices=[s.value for s in Strategy],
        help="routing strategy of the simulated queue (default longest_idle)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        help="service-level X in seconds (default 10, SPEC-Q1)",
    )
    p.add_argument(
        "--short-abandon",
        type=float,
        help="abandons within this many seconds are counted apart (default 5)",
    )
    p.add_argument("--callback-after", type=float, help="offer a callback after N seconds")
    p.add_argument(
        "--callback-accept",
        type=float,
        default=0.0,
        help="chance a caller offered a callback takes it (0-1)",
    )
    p.add_argument("--start", default="00:00", help="with --rate: time of day arrivals begin")
    p.add_argument("--hours", type=float, help="hours of arrivals (default 8, or the profile)")
    p.add_argument("--warmup", type=float, default=0.0, help="minutes left out at the start")
    p.add_argument("--seed", type=int, default=1, help="replication i uses seed + i")
    p.add_argument("--replications", type=int, default=1, help="independent runs")
    p.add_argument("--batches", type=int, help="batch means over one run instead")
    p.add_argument("--confidence", type=float, default=0.95, help="of the intervals")
    p.add_argument("--json", help="write JSON here ('-' for stdout)")
    p.add_argument("--csv", type=Path, help="write per-interval CSV here")
    p.add_argument("--plot", type=Path, help="write a PNG here")
    p.add_argument("--target", type=float, help="service-level target line on the plot")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _dist(text: str, option: str) -> Distribution | None:
    return parse_distribution(text, option=option)


def build_model(args: argparse.Namespace) -> SimModel:
    """The SimModel described by `hotline sim` options (raises ModelError / ConfigError)."""
    arrivals: ConstantRate | Profile
    if args.profile is not None:
        arrivals = load_profile(args.profile)
        if args.hours is not None:
            keep = max(1, math.ceil(args.hours * 3600 / arrivals.interval))
            arrivals = Profile(arrivals.start, arrivals.calls[:keep], arrivals.interval)
    elif args.rate is not None:
        start = parse_clock_time(args.start, file="command line", line=0, field="--start")
        hours = 8.0 if args.hours is None else args.hours
        if not hours > 0:
            raise ModelError(f"{hours!r} must be > 0", field="--hours")
        arrivals = ConstantRate(args.rate / 3600.0, end=start + hours * 3600.0, start=start)
    else:
        raise ModelError("give --rate (calls per hour) or --profile", field="--rate")
    staff: Roster
    if args.roster is not None:
        staff = load_roster(args.roster)
    elif args.agents is not None:
        staff = fixed_staff(args.agents)
    else:
        raise ModelError("give --agents or --roster", field="--agents")
    talk = _dist(args.aht, "--aht")
    if talk is None:
        raise ModelError("a talk time distribution is required", field="--aht")
    queue = _queue(args)
    return SimModel(
        arrivals=arrivals,
        talk_time=talk,
        staff=staff,
        patience=_dist(args.patience, "--patience"),
        menu_time=_dist(args.menu_time, "--menu-time"),
        ring_delay=_dist(args.ring_delay, "--ring-delay"),
        wrapup_time=_dist(args.wrapup_time, "--wrapup-time"),
        queue=queue,
        callback_accept=args.callback_accept,
        warmup=arrivals.start + args.warmup * 60.0 if args.warmup else 0.0,
    )


# Queue options of `hotline sim` and the QueueConfig fields they set.
QUEUE_OPTIONS = (
    ("strategy", "strategy"),
    ("ring_timeout", "ring_timeout"),
    ("wrapup", "wrapup_seconds"),
    ("threshold", "service_level_seconds"),
    ("short_abandon", "short_abandon_seconds"),
    ("callback_after", "callback_after"),
)


def _queue(args: argparse.Namespace) -> QueueConfig:
    """The production queue from --config (translated as the service does), or an Erlang-shaped
    one; explicit queue options override single fields either way."""
    if args.config is not None:
        queue = _queue_from_config(args.config, args.queue)
    else:
        queue = default_queue()
    changes = {
        field: getattr(args, option)
        for option, field in QUEUE_OPTIONS
        if getattr(args, option) is not None
    }
    return replace(queue, **changes) if changes else queue


def _queue_from_config(path: Path, name: str | None) -> QueueConfig:
    from hotline.acd_service import engine_config
    from hotline.config import ConfigError as HotlineConfigError
    from hotline.config import load_config

    try:
        config = load_config(path, environ={})
    except HotlineConfigError as exc:
        raise ModelError(str(exc)) from None  # it already names file, line and field
    queues, _ = engine_config(config.acd)
    chosen = queues[0] if name is None else next((q for q in queues if q.name == name), None)
    if chosen is None:
        raise ModelError(
            f"no queue {name!r}; the config has {[q.name for q in queues]}",
            file=str(path),
            field="--queue",
        )
    return chosen


def _describe(args: argparse.Namespace) -> dict[str, Any]:
    keep = (
        "config",
        "queue",
        "rate",
        "profile",
        "agents",
        "roster",
        "aht",
        "patience",
        "menu_time",
        "ring_delay",
        "wrapup",
        "wrapup_time",
        "ring_timeout",
        "strategy",
        "threshold",
        "short_abandon",
        "callback_after",
        "callback_accept",
        "start",
        "hours",
        "warmup",
        "seed",
        "replications",
        "batches",
    )
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k in keep}


def sim_main(argv: Sequence[str], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """`hotline sim`: run, print a summary table, write --json/--csv/--plot."""
    from sim.experiment import batch_means, replicate
    from sim.report import write_csv, write_json, write_plot

    out = out or sys.stdout
    err = err or sys.stderr
    if "--live" in argv:  # its own options (sim/live_cli.py)
        from sim.live_cli import live_main

        return live_main([a for a in argv if a != "--live"], out=out, err=err)
    args = _sim_parser().parse_args(list(argv))
    try:
        model = build_model(args)
        if args.replications < 1:
            raise ModelError("must be at least 1", field="--replications")
        if args.batches is not None and args.replications != 1:
            raise ModelError("use either --batches or --replications", field="--batches")
    except (ModelError, ConfigError) as exc:
        return _fail("hotline sim", str(exc), err)

    with _progress(err, enabled=not args.quiet) as advance:
        if args.batches is not None:
            from sim.runner import Simulation

            run = Simulation(model, seed=args.seed).run(progress=advance)
            try:
                experiment = batch_means(run, args.batches, args.confidence)
            except ValueError as exc:
                return _fail("hotline sim", str(exc), err)
        else:
            experiment = replicate(
                model,
                seed=args.seed,
                replications=args.replications,
                confidence=args.confidence,
                progress=advance,
            )

    description = _describe(args)
    if args.json == "-":
        from sim.report import to_json

        print(json.dumps(to_json(experiment, description), ensure_ascii=False, indent=2), file=out)
    else:
        if args.json:
            write_json(Path(args.json), experiment, description)
        _summary_table(experiment, out, erlang_counterpart(model))
    if args.csv:
        write_csv(args.csv, experiment)
    if args.plot:
        write_plot(
            args.plot, experiment, target=args.target, threshold=model.queue.service_level_seconds
        )
    return EXIT_OK


def erlang_counterpart(model: SimModel) -> tuple[str, dict[str, float]] | None:
    """The exact steady-state figures when the run is an Erlang C or A model, else None.

    That is: Poisson arrivals at a constant rate, exponential talk time, no wrap-up, agents
    answer at once, patience exponential or none, a fixed number of agents all the time, no
    callbacks or overflow. (Time in the menu keeps the arrivals Poisson.)
    """
    queue = model.queue
    shifts = model.staff.shifts
    arrivals = model.arrivals
    if not (
        isinstance(arrivals, ConstantRate)
        and isinstance(model.talk_time, Exponential)
        and (model.patience is None or isinstance(model.patience, Exponential))
        and model.ring_delay is None
        and queue.wrapup_seconds == 0.0
        and queue.callback_after is None
        and queue.max_wait is None
        and all(
            s.start <= arrivals.start and s.end >= arrivals.end and not s.breaks for s in shifts
        )
    ):
        return None
    patience = None if model.patience is None else model.patience.mean
    traffic = Traffic(arrivals.rate, model.talk_time.mean, patience)
    try:
        exact = figures(
            traffic,
            len(shifts),
            threshold=queue.service_level_seconds,
            short_abandon=queue.short_abandon_seconds,
        )
    except StaffingError:
        return None  # Erlang C with too few agents has no steady state
    name = "Erlang C" if patience is None else "Erlang A"
    return f"{name}, steady state", {
        "service_level": exact.service_level,
        "service_level_abandons": exact.service_level_abandons,
        "answer_rate": exact.answer_rate,
        "abandon_rate": exact.abandon_rate,
        "asa": exact.asa,
        "occupancy": exact.occupancy,
        "mean_queue": traffic.arrival_rate * exact.mean_wait,
    }


def _summary_table(
    experiment: Any, out: TextIO, exact: tuple[str, dict[str, float]] | None
) -> None:
    from rich.console import Console
    from rich.table import Table

    from sim.report import PERCENT_FIGURES, summary_rows

    print(
        f"{experiment.calls} calls, {experiment.method} "
        f"({len(experiment.runs)} run(s)), {experiment.confidence:.0%} CI, "
        f"{experiment.wall_seconds:.1f} s; ± is the CI half-width",
        file=out,
    )
    table = Table()
    table.add_column("figure")
    table.add_column("simulated", justify="right")
    if exact is not None:
        table.add_column(exact[0], justify="right")
    for name, text in summary_rows(experiment):
        cells = [name, text]
        if exact is not None:
            value = exact[1].get(name)
            if value is None:
                cells.append("")
            else:
                cells.append(f"{value:.2%}" if name in PERCENT_FIGURES else f"{value:.2f}")
        table.add_row(*cells)
    Console(file=out, width=100).print(table)


class _progress:
    """A rich progress bar on stderr fed with fractions; a no-op when disabled."""

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self._enabled = enabled
        self._stream = stream
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Any:
        if not self._enabled:
            return lambda fraction: None
        from rich.console import Console
        from rich.progress import Progress

        self._bar = Progress(console=Console(file=self._stream), transient=True)
        self._bar.__enter__()
        self._task = self._bar.add_task("simulating", total=1.0)
        return lambda fraction: self._bar.update(self._task, completed=fraction)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
