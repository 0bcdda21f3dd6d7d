"""The simulator's fast-path figures equal acd.metrics computed from the engine's own events.

The simulator normally runs the engine without recording events and counts outcomes from the
actions it performs. Here the same run also records every event; acd.records rebuilds the call
records and acd.metrics computes SPEC-Q2 per 15-minute interval, exactly as the live service
reports. Both must agree call for call, on a model that exercises ring delays and ring
timeouts (missed calls and the auto-pause), wrap-up submitted early or timing out, impatient
callers (short and long abandons), overflow after a maximum wait, and callbacks.
"""

from __future__ import annotations

import pytest

from acd.config import QueueConfig
from acd.events import AcdEvent
from acd.metrics import QUARTER_HOUR, Metrics, MetricsAccumulator
from acd.records import RecordBuilder
from sim.model import ConstantRate, Exponential, SimModel, fixed_staff
from sim.runner import Simulation
from sim.stats import Figures


def busy_model() -> SimModel:
    queue = QueueConfig(
        name="general",
        ring_timeout=6.0,
        wrapup_seconds=20.0,
        max_wait=60.0,
        overflow_target="voicemail",
        callback_after=40.0,
        max_consecutive_misses=2,
    )
    return SimModel(
        arrivals=ConstantRate(1 / 12, start=8 * 3600.0, end=10 * 3600.0),
        talk_time=Exponential(100.0),
        staff=fixed_staff(8),
        patience=Exponential(120.0),
        ring_delay=Exponential(3.0),
        wrapup_time=Exponential(12.0),
        queue=queue,
        callback_accept=0.4,
        callback_reach=0.8,
        missed_pause=30.0,
    )


def test_simulated_interval_figures_equal_acd_metrics_from_the_event_log() -> None:
    model = busy_model()
    builder = RecordBuilder([model.queue])
    accumulators: dict[float, MetricsAccumulator] = {}
    seen: dict[str, int] = {}

    def sink(event: AcdEvent) -> None:
        name = type(event).__name__
        seen[name] = seen.get(name, 0) + 1
        for record in builder.feed([event]):
            start = (record.queued_at // QUARTER_HOUR) * QUARTER_HOUR
            accumulators.setdefault(start, MetricsAccumulator()).add(record)

    run = Simulation(model, seed=21, event_sink=sink).run()
    # The model really exercised what it claims to.
    for kind in (
        "AgentAutoPaused",
        "CallOverflowed",
        "CallbackPlaced",
        "WrapupSubmitted",
        "CallAbandoned",
    ):
        assert seen.get(kind, 0) > 0, kind
    assert builder.open_calls == 0
    reference = {start: acc.result() for start, acc in accumulators.items()}
    simulated = {f.start: f for f in run.intervals}
    assert sorted(reference) == sorted(simulated)
    for start, metrics in reference.items():
        assert_same(simulated[start], metrics)


def assert_same(sim: Figures, ref: Metrics) -> None:
    counts = (
        "offered",
        "answered",
        "answered_within",
        "abandoned",
        "short_abandoned",
        "overflowed",
        "callbacks_requested",
    )
    for name in counts:
        assert getattr(sim, name) == getattr(ref, name), name
    ratios = {
        "service_level": ref.service_level,
        "service_level_abandons": ref.service_level_abandons,
        "answer_rate": ref.answer_rate,
        "abandon_rate": ref.abandon_rate,
        "asa": ref.asa,
        "longest_wait": ref.longest_wait,
    }
    for name, value in ratios.items():
        assert getattr(sim, name) == pytest.approx(value, rel=1e-12, nan_ok=True), name


def test_the_fast_path_gives_the_same_run_as_the_recorded_one() -> None:
    """Recording events must not change what happens (same seed, same figures)."""
    model = busy_model()
    recorded = Simulation(model, seed=5, event_sink=lambda event: None).run()
    fast = Simulation(model, seed=5).run()
    assert recorded.counters == fast.counters
