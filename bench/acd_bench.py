"""Micro-benchmark of the ACD engine: microseconds per call for a whole call life.

Not a test (issue 8's budget is >= 1 million calls in <= 60 s on one core, about 40 µs per call
including the simulator). Drives an M/M/N+M model on a virtual clock: Poisson arrivals, a ring
delay before answering, exponential talk, callers who abandon after exponential patience, the
agent hangs up (SPEC-Q7 closing flow) and wrap-up either submitted or timed out.

    .venv/bin/python -m bench.acd_bench --calls 200000 [--no-events] [--records] [--replay]

``--replay`` records the command stream of a run, then times replaying it on fresh engines
(best of three, with and without events): the engine's own cost, without this loop's.
"""

from __future__ import annotations

import argparse
import heapq
import random
import time
from typing import Any

from acd.actions import AcdAction, RingAgent
from acd.config import AgentConfig, QueueConfig
from acd.engine import AcdEngine
from acd.events import Party
from acd.metrics import MetricsAccumulator
from acd.records import RecordBuilder
from acd.states import AcdError

ARRIVE, ANSWER, HANGUP, ABANDON = 0, 1, 2, 3


Command = tuple[str, tuple[Any, ...], dict[str, Any]]


def make_engine(agents: int, seed: int, record_events: bool) -> AcdEngine:
    queue = QueueConfig("general", wrapup_seconds=5.0)
    return AcdEngine([queue], [AgentConfig(f"a{i}", str(1000 + i), queues=("general",))
                               for i in range(agents)], rng=random.Random(seed),
                     record_events=record_events)


class _Recorder:
    """Wraps an engine and logs every command given to it."""

    def __init__(self, engine: AcdEngine, log: list[Command]) -> None:
        self._engine = engine
        self._log = log

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._engine, name)
        if name in ("next_deadline", "drain_events"):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._log.append((name, args, kwargs))
            return target(*args, **kwargs)

        return call


def replay(log: list[Command], agents: int, calls: int, *, record_events: bool) -> float:
    """Best-of-three microseconds per call for replaying ``log`` on a fresh engine."""
    best = float("inf")
    for _ in range(3):
        engine = make_engine(agents, 1, record_events)
        started = time.perf_counter()
        for name, args, kwargs in log:
            try:
                getattr(engine, name)(*args, **kwargs)
            except AcdError:
                pass
            if record_events:
                engine.drain_events()
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6


def run(calls: int, agents: int, *, record_events: bool, build_records: bool,
        seed: int = 1, log: list[Command] | None = None) -> dict[str, float]:
    rng = random.Random(seed)
    engine: Any = make_engine(agents, seed, record_events)
    if log is not None:
        engine = _Recorder(engine, log)
    builder = RecordBuilder() if build_records else None
    acc = MetricsAccumulator()
    for i in range(agents):
        engine.agent_login(f"a{i}", 0.0, ready=True)
    aht = 180.0
    rate = agents / aht * 0.95  # load 95 %
    patience = 120.0
    pending: list[tuple[float, int, int, str, str]] = []
    seq = 0
    arrived = 0
    answered: set[str] = set()

    def handle(actions: list[AcdAction], now: float) -> None:
        nonlocal seq
        for act in actions:
            if type(act) is RingAgent:
                seq += 1
                heapq.heappush(pending, (now + 3.0, seq, ANSWER, act.call_id, act.agent_id))

    seq += 1
    heapq.heappush(pending, (rng.expovariate(rate), seq, ARRIVE, "", ""))
    started = time.perf_counter()
    while pending or engine.next_deadline() is not None:
        nd = engine.next_deadline()
        if pending and (nd is None or pending[0][0] <= nd):
            now, _, kind, call_id, agent_id = heapq.heappop(pending)
            if kind == ARRIVE:
                arrived += 1
                cid = f"c{arrived}"
                handle(engine.call_arrived(cid, "general", now), now)
                seq += 1
                heapq.heappush(pending, (now + rng.expovariate(1 / patience), seq, ABANDON,
                                         cid, ""))
                if arrived < calls:
                    seq += 1
                    heapq.heappush(pending, (now + rng.expovariate(rate), seq, ARRIVE, "", ""))
            elif kind == ANSWER:
                if call_id in answered:
                    continue
                try:
                    handle(engine.offer_answered(call_id, agent_id, now), now)
                except AcdError:
                    continue  # the offer ended first (caller gone)
                answered.add(call_id)
                seq += 1
                heapq.heappush(pending, (now + rng.expovariate(1 / aht), seq, HANGUP,
                                         call_id, agent_id))
            elif kind == HANGUP:
                answered.discard(call_id)
                handle(engine.agent_hangup(call_id, now), now)
                handle(engine.call_ended(call_id, now + 0.5, Party.CALLER), now)
                if rng.random() < 0.5:
                    handle(engine.wrapup_submitted(agent_id, now + 1.0, call_type="q",
                                                   summary="", resolved=True), now)
            elif kind == ABANDON:
                if call_id in answered:
                    continue
                try:
                    handle(engine.caller_abandoned(call_id, now), now)
                except AcdError:
                    continue  # already gone
        else:
            assert nd is not None
            handle(engine.advance(nd), nd)
        if builder is not None:
            for rec in builder.feed(engine.drain_events()):
                acc.add(rec)
        elif record_events:
            engine.drain_events()
    elapsed = time.perf_counter() - started
    result = {"calls": arrived, "seconds": elapsed, "us_per_call": elapsed / arrived * 1e6}
    if builder is not None:
        m = acc.result()
        result.update(offered=m.offered, service_level=m.service_level or 0.0,
                      asa=m.asa or 0.0, open_records=builder.open_calls)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--no-events", action="store_true")
    ap.add_argument("--records", action="store_true", help="also build records and metrics")
    ap.add_argument("--replay", action="store_true", help="time the engine alone")
    args = ap.parse_args()
    if args.replay:
        log: list[Command] = []
        run(args.calls, args.agents, record_events=False, build_records=False, log=log)
        for events in (False, True):
            us = replay(log, args.agents, args.calls, record_events=events)
            print(f"engine alone, events {'on' if events else 'off'}: {us:.1f} µs per call")
        return
    result = run(args.calls, args.agents, record_events=not args.no_events,
                 build_records=args.records)
    print(f"{result['calls']:.0f} calls in {result['seconds']:.2f} s: "
          f"{result['us_per_call']:.1f} µs per call (bench loop included)")
    if args.records:
        print({k: round(v, 3) for k, v in result.items()})


if __name__ == "__main__":
    main()
