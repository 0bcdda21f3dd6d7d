"""Running aggregates of a simulation (per interval and in total) and confidence intervals.

Nothing here keeps one record per call: each finished call adds to its arrival interval's
counters and to a fixed-width wait-time histogram, so memory stays flat however long the run.
The definitions are exactly ``acd.metrics``'s (SPEC-Q2), so a simulated figure means what the
live service reports; a test runs the simulator with events recorded and holds the two
together. With X the service-level threshold and S the short-abandon threshold:

- answered counts inbound answers and callbacks that reached the caller;
- 接通率 answer rate = answered ÷ offered;
- short abandons (gave up within S) are counted apart; "abandoned" means after S;
- abandon rate = abandoned ÷ (offered − short abandons);
- service level = inbound answered within X ÷ inbound answered, and
  service_level_abandons = inbound answered within X ÷ (inbound answered + abandoned);
- ASA = mean wait of inbound answered calls; longest wait = of any call, to its answer or end;
- occupancy = agent busy time (talk + wrap-up) ÷ agent time on duty per the roster (breaks
  excluded). acd.metrics divides by staffed time from agent states instead, which also leaves
  out time paused after missed calls; without missed calls the two agree.

Calls are attributed to the interval in which they joined the queue, as acd.metrics does.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

# Histogram of waits: one-second bins up to ten minutes, then one overflow bin.
HISTOGRAM_BIN = 1.0
HISTOGRAM_BINS = 600


@dataclass(slots=True)
class IntervalCounters:
    """Mutable running sums for one interval (or for the whole run)."""

    start: float
    end: float
    offered: int = 0
    answered: int = 0  # inbound; callbacks_answered apart
    answered_within: int = 0
    abandoned: int = 0  # after the short-abandon threshold
    short_abandoned: int = 0
    overflowed: int = 0
    callbacks_requested: int = 0
    callbacks_answered: int = 0
    answered_wait_sum: float = 0.0
    longest_wait: float = 0.0
    busy_seconds: float = 0.0
    on_duty_seconds: float = 0.0
    queue_area: float = 0.0  # ∫ callers waiting dt
    max_queue: int = 0
    runs: int = 1  # > 1 when the same interval of several replications is pooled

    def add(self, other: IntervalCounters) -> None:
        for name in (
            "offered",
            "answered",
            "answered_within",
            "abandoned",
            "short_abandoned",
            "overflowed",
            "callbacks_requested",
            "callbacks_answered",
            "answered_wait_sum",
            "busy_seconds",
            "on_duty_seconds",
            "queue_area",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.longest_wait = max(self.longest_wait, other.longest_wait)
        self.max_queue = max(self.max_queue, other.max_queue)
        self.start = min(self.start, other.start)
        self.end = max(self.end, other.end)

    def figures(self) -> Figures:
        answered = self.answered  # inbound only
        offered = self.offered
        counted = answered + self.abandoned
        asked = offered - self.short_abandoned
        span = (self.end - self.start) * self.runs  # time-averages are per run
        return Figures(
            start=self.start,
            end=self.end,
            offered=offered,
            answered=answered + self.callbacks_answered,
            abandoned=self.abandoned,
            short_abandoned=self.short_abandoned,
            overflowed=self.overflowed,
            callbacks_requested=self.callbacks_requested,
            answered_within=self.answered_within,
            service_level=self.answered_within / answered if answered else math.nan,
            service_level_abandons=self.answered_within / counted if counted else math.nan,
            answer_rate=(answered + self.callbacks_answered) / offered if offered else math.nan,
            abandon_rate=self.abandoned / asked if asked else math.nan,
            asa=self.answered_wait_sum / answered if answered else math.nan,
            longest_wait=self.longest_wait,
            occupancy=(
                self.busy_seconds / self.on_duty_seconds if self.on_duty_seconds > 0 else math.nan
            ),
            mean_queue=self.queue_area / span if span > 0 else math.nan,
            max_queue=self.max_queue,
            agents_on_duty=self.on_duty_seconds / span if span > 0 else math.nan,
        )


def merge(counters: Sequence[IntervalCounters]) -> IntervalCounters:
    """New counters covering consecutive intervals of one run."""
    first = counters[0]
    total = IntervalCounters(start=first.start, end=first.end)
    for c in counters:
        total.add(c)
    return total


def pool(counters: Sequence[IntervalCounters]) -> IntervalCounters:
    """New counters for the same span in several independent runs: counts add up, and
    time-averages (queue, agents on duty) are taken per run."""
    total = merge(counters)
    total.runs = sum(c.runs for c in counters)
    return total


@dataclass(frozen=True, slots=True)
class Figures:
    """SPEC-Q2 figures of one interval or of the whole run (NaN where nothing to divide)."""

    start: float
    end: float
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    overflowed: int
    callbacks_requested: int
    answered_within: int
    service_level: float
    service_level_abandons: float
    answer_rate: float  # 接通率
    abandon_rate: float
    asa: float
    longest_wait: float
    occupancy: float
    mean_queue: float
    max_queue: int
    agents_on_duty: float  # mean number of agents on duty (roster, breaks excluded)


@dataclass(slots=True)
class WaitHistogram:
    """Counts of waits by one-second bin, separately for answered and abandoned calls."""

    answered: list[int] = field(default_factory=lambda: [0] * (HISTOGRAM_BINS + 1))
    abandoned: list[int] = field(default_factory=lambda: [0] * (HISTOGRAM_BINS + 1))

    @staticmethod
    def bin_of(wait: float) -> int:
        return min(HISTOGRAM_BINS, int(wait / HISTOGRAM_BIN))

    def add(self, other: WaitHistogram) -> None:
        for i in range(HISTOGRAM_BINS + 1):
            self.answered[i] += other.answered[i]
            self.abandoned[i] += other.abandoned[i]


# --- confidence intervals -----------------------------------------------------------------


def t_quantile(p: float, dof: int) -> float:
    """Student t quantile by the Cornish-Fisher expansion around the normal quantile.

    Accurate to about 1e-3 for dof ≥ 5 (better as dof grows; exact in the limit), which is
    ample for a confidence interval's width; for dof < 5 it errs on the narrow side by up to a
    few per cent at the 99.9 % level, which is why the tests use at least 10 replications.
    """
    if dof < 1:
        raise ValueError("a t quantile needs at least one degree of freedom")
    z = statistics.NormalDist().inv_cdf(p)
    v = float(dof)
    z2 = z * z
    return (
        z
        + (z2 + 1) * z / (4 * v)
        + ((5 * z2 + 16) * z2 + 3) * z / (96 * v**2)
        + (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / (384 * v**3)
        + ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / (92160 * v**4)
    )


@dataclass(frozen=True, slots=True)
class Estimate:
    """Mean of independent observations (replications or batches) and its CI half-width."""

    mean: float
    half_width: float
    sd: float
    n: int
    confidence: float

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def estimate(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Student-t interval: mean ± t(1-α/2, n-1) · s / √n, ignoring NaN observations."""
    data = [v for v in values if not math.isnan(v)]
    n = len(data)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, confidence)
    mean = math.fsum(data) / n
    if n == 1:
        return Estimate(mean, math.inf, math.nan, 1, confidence)
    sd = statistics.stdev(data)
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * sd / math.sqrt(n)
    return Estimate(mean, half, sd, n, confidence)


ESTIMATED_FIGURES = (
    "service_level",
    "service_level_abandons",
    "answer_rate",
    "abandon_rate",
    "asa",
    "occupancy",
    "mean_queue",
    "longest_wait",
)


def estimates(totals: Sequence[Figures], confidence: float = 0.95) -> dict[str, Estimate]:
    """One Estimate per figure over independent totals (replications or batch means)."""
    return {
        name: estimate([getattr(t, name) for t in totals], confidence) for name in ESTIMATED_FIGURES
    }
