"""Throughput and memory of `hotline sim` against Ciw on the same M/M/N+M model (issue 8).

Each simulator runs in its own forked process, so each peak RSS (ru_maxrss) is its own.
Ours runs the production ACD engine; Ciw is a general discrete-event queueing library that
keeps every customer's record in memory. Both are checked against the exact Erlang A figures
so that a fast but wrong run cannot look good. Our memory is measured at a tenth of the calls
and at all of them: flat memory means the two peaks are about equal.

    .venv/bin/python -m bench.sim_bench --calls 1000000 --ciw-calls 200000
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from sim.staffing import Traffic, figures


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    calls: int
    seconds: float  # wall clock
    cpu_seconds: float  # this process's CPU time: fairer on a shared machine
    peak_rss_mb: float
    service_level: float
    abandon_all: float  # every abandon ÷ offered, as Erlang A's P(abandon)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def run_ours(traffic: Traffic, agents: int, calls: int, seed: int) -> Outcome:
    from sim.model import ConstantRate, Exponential, SimModel, fixed_staff
    from sim.runner import Simulation

    assert traffic.mean_patience is not None
    horizon = calls / traffic.arrival_rate
    model = SimModel(
        arrivals=ConstantRate(traffic.arrival_rate, end=horizon),
        talk_time=Exponential(traffic.mean_handle_time),
        patience=Exponential(traffic.mean_patience),
        staff=fixed_staff(agents),
        interval=3600.0,
    )
    began, cpu = time.perf_counter(), time.process_time()
    result = Simulation(model, seed=seed).run()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    total = result.total
    everyone_abandoned = total.abandoned + total.short_abandoned
    return Outcome(
        "hotline sim (acd engine)",
        result.calls,
        seconds,
        cpu,
        _peak_rss_mb(),
        total.service_level,
        everyone_abandoned / total.offered,
    )


def run_ciw(traffic: Traffic, agents: int, calls: int, seed: int) -> Outcome:
    import ciw

    assert traffic.mean_patience is not None
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(traffic.arrival_rate)],
        service_distributions=[ciw.dists.Exponential(1.0 / traffic.mean_handle_time)],
        number_of_servers=[agents],
        reneging_time_distributions=[ciw.dists.Exponential(1.0 / traffic.mean_patience)],
    )
    ciw.seed(seed)  # Ciw's generator is global; this process is Ciw's alone
    began, cpu = time.perf_counter(), time.process_time()
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(calls / traffic.arrival_rate)
    records = simulation.get_all_records()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    served = [r for r in records if r.record_type == "service"]
    reneged = sum(1 for r in records if r.record_type == "renege")
    within = sum(1 for r in served if r.waiting_time <= 10.0)
    return Outcome(
        "ciw",
        len(records),
        seconds,
        cpu,
        _peak_rss_mb(),
        within / len(served),
        reneged / len(records),
    )


def _child(
    target: Callable[..., Outcome],
    args: tuple[object, ...],
    pipe: multiprocessing.connection.Connection,
) -> None:
    pipe.send(target(*args))
    pipe.close()


def in_child(target: Callable[..., Outcome], *args: object) -> Outcome:
    """Run ``target(*args)`` in a fresh forked process and return its Outcome."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(target, args, send))
    process.start()
    outcome: Outcome = receive.recv()
    process.join()
    return outcome


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=1_000_000, help="calls for our simulator")
    p.add_argument("--ciw-calls", type=int, default=200_000, help="calls for Ciw")
    p.add_argument("--rate", type=float, default=200.0, help="calls per hour")
    p.add_argument("--aht", type=float, default=180.0)
    p.add_argument("--patience", type=float, default=120.0)
    p.add_argument("--agents", type=int, default=11)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    traffic = Traffic(args.rate / 3600.0, args.aht, args.patience)
    exact = figures(traffic, args.agents)
    print(
        f"M/M/{args.agents}+M: {args.rate:g} calls/h, AHT {args.aht:g} s, patience "
        f"{args.patience:g} s ({traffic.offered_load:.2f} Erl); exact Erlang A: SL(10 s) "
        f"{exact.service_level:.4f}, P(abandon) {exact.p_abandon:.4f}"
    )
    outcomes = [
        in_child(run_ours, traffic, args.agents, max(1, args.calls // 10), args.seed),
        in_child(run_ours, traffic, args.agents, args.calls, args.seed),
        in_child(run_ciw, traffic, args.agents, args.ciw_calls, args.seed),
    ]
    print(
        f"{'simulator':26} {'calls':>9} {'wall s':>7} {'CPU s':>7} {'calls/CPU s':>11} "
        f"{'peak RSS':>9} {'SL':>7} {'abandon':>8}"
    )
    for o in outcomes:
        print(
            f"{o.name:26} {o.calls:9d} {o.seconds:7.1f} {o.cpu_seconds:7.1f} "
            f"{o.calls / o.cpu_seconds:11.0f} {o.peak_rss_mb:7.0f}MB {o.service_level:7.4f} "
            f"{o.abandon_all:8.4f}"
        )
    ours, ciw_run = outcomes[1], outcomes[2]
    ratio = (ours.calls / ours.cpu_seconds) / (ciw_run.calls / ciw_run.cpu_seconds)
    print(
        f"throughput ours ÷ ciw (calls per CPU second): {ratio:.2f}; our peak RSS at "
        f"{outcomes[0].calls} and {ours.calls} calls: {outcomes[0].peak_rss_mb:.0f} / "
        f"{ours.peak_rss_mb:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
