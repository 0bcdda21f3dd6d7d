"""Confidence intervals for simulated figures: independent replications, or batch means.

Replication i runs the model with seed ``seed + i``; each run's totals are one independent
observation, and ``sim.stats.estimate`` turns them into mean ± t·s/√n. Batch means instead cut
one long run (after its warm-up) into consecutive batches of whole intervals and treats each
batch's figures as an observation, which is valid when batches are much longer than the
queue's memory (a few mean handle times; we refuse batches shorter than one interval).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim.model import SimModel
from sim.runner import RunResult, Simulation
from sim.stats import Estimate, WaitHistogram, estimates, merge

DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Experiment:
    """Every run of an experiment, the pooled histogram, and a CI per figure."""

    runs: tuple[RunResult, ...]
    estimates: dict[str, Estimate]
    method: str  # "replications", "batch means" or "single run"
    histogram: WaitHistogram
    confidence: float

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.runs)

    @property
    def wall_seconds(self) -> float:
        return sum(r.wall_seconds for r in self.runs)


def replicate(
    model: SimModel,
    *,
    seed: int,
    replications: int,
    confidence: float = DEFAULT_CONFIDENCE,
    progress: Callable[[float], None] | None = None,
) -> Experiment:
    """``replications`` independent runs with seeds seed, seed+1, …"""
    if replications < 1:
        raise ValueError(f"replications must be >= 1, got {replications}")
    runs = []
    for i in range(replications):

        def part(fraction: float, i: int = i) -> None:
            if progress is not None:
                progress((i + fraction) / replications)

        runs.append(Simulation(model, seed=seed + i).run(progress=part))
    histogram = WaitHistogram()
    for run in runs:
        histogram.add(run.histogram)
    return Experiment(
        runs=tuple(runs),
        estimates=estimates([r.total for r in runs], confidence),
        method="replications" if replications > 1 else "single run",
        histogram=histogram,
        confidence=confidence,
    )


def batch_means(run: RunResult, batches: int, confidence: float = DEFAULT_CONFIDENCE) -> Experiment:
    """Cut one run's intervals into ``batches`` consecutive groups; CI over the groups."""
    if batches < 2:
        raise ValueError(f"batch means need at least 2 batches, got {batches}")
    intervals = run.counters
    if len(intervals) < batches:
        raise ValueError(f"{len(intervals)} intervals cannot make {batches} batches; run longer")
    size = len(intervals) // batches
    groups = [intervals[i * size : (i + 1) * size] for i in range(batches)]
    return Experiment(
        runs=(run,),
        estimates=estimates([merge(g).figures() for g in groups], confidence),
        method="batch means",
        histogram=run.histogram,
        confidence=confidence,
    )
