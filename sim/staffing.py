"""Exact Erlang C (M/M/N) and Erlang A (M/M/N+M) figures, and the agents a target needs.

Rates are per second and times in seconds throughout. The service-level threshold defaults to
SPEC-Q1's 10 seconds; the two service-level definitions are SPEC-Q2's (answered within X over
answered, and over answered plus abandoned after the short-abandon threshold).

Erlang A is Palm's model as written by Mandelbaum & Zeltyn ("Service engineering in action: the
Palm/Erlang-A queue", 2007), with A(x, z) = x e^z z^-x γ(x, z), x = Nμ/θ, z = λ/θ. The waiting
time distribution follows from the pure-death process of the callers ahead of an arrival:
with K(t) = π_N exp(-Nμt + z(1 - e^-θt)) and z_t = z e^-θt,

    P(V > t)                  = K(t) A(x, z_t)          (V: the wait with infinite patience)
    P(W > t)                  = e^-θt P(V > t)          (W: the wait actually spent in queue)
    P(answered and W > t)     = K(t) (A(x, z_t) - 1) / ρ,  ρ = λ / (Nμ)

(derived by solving the forward equations with the ansatz c(t) y(t)^k / Π(Nμ + iθ); at t = 0
they reduce to the published P(wait) and P(abandon | wait) = 1 - 1/ρ + 1/(ρA)). `sim.chain`
computes the same figures by brute force; the tests hold the two to each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim import gamma

# SPEC-Q1: three rings, 10 seconds.
DEFAULT_THRESHOLD = 10.0
# Calls abandoned within this many seconds are counted apart (SPEC-Q2); the ACD queue setting
# short_abandon_seconds has the same default.
DEFAULT_SHORT_ABANDON = 5.0
# agents_needed gives up beyond this many agents: a target that needs more is a typo.
MAX_AGENTS = 100_000


class StaffingError(ValueError):
    """Parameters that describe no queue (negative rates) or a target no staffing can meet."""


class UnstableQueueError(StaffingError):
    """Erlang C with offered load ≥ agents: the queue grows without bound."""


@dataclass(frozen=True, slots=True)
class Traffic:
    """What the formulas need to know about the calls: Poisson arrivals, exponential times."""

    arrival_rate: float  # calls per second
    mean_handle_time: float  # seconds an agent is busy per call (talk + hold + wrap-up)
    mean_patience: float | None = None  # seconds; None: nobody hangs up (Erlang C)

    def __post_init__(self) -> None:
        if not (self.arrival_rate >= 0.0 and math.isfinite(self.arrival_rate)):
            raise StaffingError(f"arrival rate must be >= 0, got {self.arrival_rate!r}")
        if not (self.mean_handle_time > 0.0 and math.isfinite(self.mean_handle_time)):
            raise StaffingError(f"mean handle time must be > 0, got {self.mean_handle_time!r}")
        if self.mean_patience is not None and not self.mean_patience > 0.0:
            raise StaffingError(f"mean patience must be > 0, got {self.mean_patience!r}")

    @property
    def offered_load(self) -> float:
        """Erlangs: arrival rate × mean handle time."""
        return self.arrival_rate * self.mean_handle_time


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """Steady-state figures of one queue; probabilities are per arriving call."""

    agents: int
    offered_load: float  # Erlangs
    threshold: float  # X of the service level, seconds
    short_abandon: float  # seconds
    p_wait: float  # the call finds every agent busy
    p_abandon: float  # the caller hangs up before an agent answers
    p_short_abandon: float  # ... within the short-abandon threshold
    p_answered_within: float  # answered within X, over all calls
    service_level: float  # answered within X ÷ answered (SPEC-Q2, first definition)
    service_level_abandons: float  # ÷ (answered + abandoned after the short threshold)
    asa: float  # mean wait of answered calls, seconds
    mean_wait: float  # mean time in queue of all calls, abandoned ones included
    occupancy: float  # carried load ÷ agents

    @property
    def answer_rate(self) -> float:
        """接通率 (SPEC-Q2): answered ÷ calls that asked for an agent."""
        return 1.0 - self.p_abandon

    @property
    def abandon_rate(self) -> float:
        """As acd.metrics reports it: abandoned after the short threshold ÷ (offered − short
        abandons)."""
        asked = 1.0 - self.p_short_abandon
        return (self.p_abandon - self.p_short_abandon) / asked if asked > 0.0 else 0.0


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    high, low = (a, b) if a >= b else (b, a)
    return high + math.log1p(math.exp(low - high))


def log_inverse_erlang_b(agents: int, load: float) -> float:
    """log(1/B(N, a)) by the recursion 1/B(k) = 1 + (k/a)·1/B(k-1), carried out in log space.

    The recursion never subtracts, so it is stable for any N; log space keeps 1/B finite when
    B underflows (a few hundred agents on a small load).
    """
    if agents < 0:
        raise StaffingError(f"agents must be >= 0, got {agents}")
    if load <= 0.0:
        return 0.0 if agents == 0 else math.inf
    log_r = 0.0
    log_load = math.log(load)
    for k in range(1, agents + 1):
        log_r = _logaddexp(0.0, math.log(k) - log_load + log_r)
    return log_r


def erlang_b(agents: int, load: float) -> float:
    """Erlang B: the probability that all N servers are busy in M/M/N/N (lost calls)."""
    return math.exp(-log_inverse_erlang_b(agents, load))


def erlang_c(agents: int, load: float) -> float:
    """Erlang C: the probability that a call waits in M/M/N, C = B / (1 - ρ(1 - B))."""
    if load <= 0.0:
        return 0.0
    if load >= agents:
        raise UnstableQueueError(f"offered load {load:.4g} Erl needs more than {agents} agents")
    rho = load / agents
    log_r = log_inverse_erlang_b(agents, load)
    # 1/C = 1 + (1 - ρ)(1/B - 1)
    log_rm1 = log_r + math.log1p(-math.exp(-log_r)) if log_r > 0.0 else -math.inf
    return math.exp(-_logaddexp(0.0, math.log1p(-rho) + log_rm1))


def _check_times(threshold: float, short_abandon: float) -> None:
    if not threshold >= 0.0:
        raise StaffingError(f"service-level threshold must be >= 0, got {threshold!r}")
    if not short_abandon >= 0.0:
        raise StaffingError(f"short-abandon threshold must be >= 0, got {short_abandon!r}")


def erlang_c_figures(
    traffic: Traffic,
    agents: int,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    short_abandon: float = DEFAULT_SHORT_ABANDON,
) -> QueueFigures:
    """M/M/N: P(W > t) = C e^-(Nμ-λ)t; nobody abandons, so both service levels agree."""
    _check_times(threshold, short_abandon)
    load = traffic.offered_load
    if agents < 1:
        raise StaffingError(f"agents must be >= 1, got {agents}")
    p_wait = erlang_c(agents, load)
    drain = agents / traffic.mean_handle_time - traffic.arrival_rate
    within = 1.0 - p_wait * math.exp(-drain * threshold)
    asa = p_wait / drain
    return QueueFigures(
        agents=agents,
        offered_load=load,
        threshold=threshold,
        short_abandon=short_abandon,
        p_wait=p_wait,
        p_abandon=0.0,
        p_short_abandon=0.0,
        p_answered_within=within,
        service_level=within,
        service_level_abandons=within,
        asa=asa,
        mean_wait=asa,
        occupancy=load / agents,
    )


def erlang_a_figures(
    traffic: Traffic,
    agents: int,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    short_abandon: float = DEFAULT_SHORT_ABANDON,
) -> QueueFigures:
    """M/M/N+M by the closed forms in the module docstring (incomplete gamma in log space)."""
    _check_times(threshold, short_abandon)
    if traffic.mean_patience is None:
        raise StaffingError("Erlang A needs a mean patience; use erlang_c_figures without one")
    if agents < 1:
        raise StaffingError(f"agents must be >= 1, got {agents}")
    lam = traffic.arrival_rate
    load = traffic.offered_load
    if lam == 0.0:
        return _idle_figures(agents, threshold, short_abandon)
    mu = 1.0 / traffic.mean_handle_time
    theta = 1.0 / traffic.mean_patience
    x = agents * mu / theta
    z = lam / theta
    rho = lam / (agents * mu)

    log_a = gamma.log_a(x, z)
    # π_N = 1 / (1/B + A - 1)
    log_pi_n = -_logaddexp(log_inverse_erlang_b(agents, load), gamma.log_a_minus_one(x, z))
    p_wait = math.exp(log_pi_n + log_a)
    if rho < 1.0:
        # P(abandon) = θ E[queue] / λ, with E[queue] = π_N Σ j z^j / Π (x+k): no cancellation.
        log_queue = log_pi_n + gamma.log_weighted_a_series(x, z)
        p_abandon = math.exp(math.log(theta / lam) + log_queue)
    else:
        p_abandon = p_wait * (1.0 - 1.0 / rho + math.exp(-log_a) / rho)
    p_answered = 1.0 - p_abandon

    def log_k(t: float) -> float:
        return log_pi_n - agents * mu * t - z * math.expm1(-theta * t)

    def answered_after(t: float) -> float:
        return math.exp(log_k(t) + gamma.log_a_minus_one(x, z * math.exp(-theta * t))) / rho

    def waiting_after(t: float) -> float:
        return math.exp(log_k(t) - theta * t + gamma.log_a(x, z * math.exp(-theta * t)))

    within = max(0.0, p_answered - answered_after(threshold))
    abandoned_late = max(0.0, waiting_after(short_abandon) - answered_after(short_abandon))
    # E[W; answered] = (π_N / (ρθ)) e^z z^-x Γ(x+1) Σ_{k≥1} P(x+k, z)/(x+k)
    log_answered_wait = (
        log_pi_n
        - math.log(rho * theta)
        + z
        - x * math.log(z)
        + math.lgamma(x + 1.0)
        + gamma.log_sum_lower_regularized_over(x, z)
    )
    asa = math.exp(log_answered_wait) / p_answered if p_answered > 0.0 else math.inf
    return QueueFigures(
        agents=agents,
        offered_load=load,
        threshold=threshold,
        short_abandon=short_abandon,
        p_wait=p_wait,
        p_abandon=p_abandon,
        p_short_abandon=max(0.0, p_abandon - abandoned_late),
        p_answered_within=within,
        service_level=within / p_answered if p_answered > 0.0 else 0.0,
        service_level_abandons=within / (p_answered + abandoned_late),
        asa=asa,
        mean_wait=p_abandon / theta,
        occupancy=lam * p_answered * traffic.mean_handle_time / agents,
    )


def _idle_figures(agents: int, threshold: float, short_abandon: float) -> QueueFigures:
    return QueueFigures(
        agents=agents,
        offered_load=0.0,
        threshold=threshold,
        short_abandon=short_abandon,
        p_wait=0.0,
        p_abandon=0.0,
        p_short_abandon=0.0,
        p_answered_within=1.0,
        service_level=1.0,
        service_level_abandons=1.0,
        asa=0.0,
        mean_wait=0.0,
        occupancy=0.0,
    )


def figures(
    traffic: Traffic,
    agents: int,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    short_abandon: float = DEFAULT_SHORT_ABANDON,
) -> QueueFigures:
    """Erlang A when the traffic has a mean patience, Erlang C otherwise."""
    if traffic.mean_patience is None:
        if traffic.arrival_rate == 0.0:
            return _idle_figures(agents, threshold, short_abandon)
        return erlang_c_figures(traffic, agents, threshold=threshold, short_abandon=short_abandon)
    return erlang_a_figures(traffic, agents, threshold=threshold, short_abandon=short_abandon)


@dataclass(frozen=True, slots=True)
class StaffingTarget:
    """Every given bound must hold; the smallest number of agents that meets them all wins."""

    service_level: float | None = None  # e.g. 0.8: 80 % answered within the threshold
    count_abandons: bool = False  # use service_level_abandons instead of service_level
    asa: float | None = None  # seconds
    abandon: float | None = None  # e.g. 0.05
    max_occupancy: float | None = None  # e.g. 0.85

    def __post_init__(self) -> None:
        for name in ("service_level", "abandon", "max_occupancy"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise StaffingError(f"target {name} is a fraction in [0, 1], got {value!r}")
        if self.asa is not None and not self.asa >= 0.0:
            raise StaffingError(f"target asa must be >= 0 seconds, got {self.asa!r}")
        if (
            self.service_level is None
            and self.asa is None
            and self.abandon is None
            and self.max_occupancy is None
        ):
            raise StaffingError("give at least one target: service level, ASA, abandon rate")

    def met_by(self, result: QueueFigures) -> bool:
        level = result.service_level_abandons if self.count_abandons else result.service_level
        return (
            (self.service_level is None or level >= self.service_level)
            and (self.asa is None or result.asa <= self.asa)
            and (self.abandon is None or result.p_abandon <= self.abandon)
            and (self.max_occupancy is None or result.occupancy <= self.max_occupancy)
        )


def agents_needed(
    traffic: Traffic,
    target: StaffingTarget,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    short_abandon: float = DEFAULT_SHORT_ABANDON,
    max_agents: int = MAX_AGENTS,
) -> QueueFigures:
    """The figures at the fewest agents meeting `target`.

    Every figure improves as agents are added, so a doubling search followed by bisection finds
    the smallest sufficient number in O(log N) evaluations.
    """
    low = 0  # known to fail (or to be no staffing at all)
    if traffic.mean_patience is None:
        low = math.floor(traffic.offered_load)

    def meets(agents: int) -> bool:
        result = figures(traffic, agents, threshold=threshold, short_abandon=short_abandon)
        return target.met_by(result)

    high = max(1, low + 1)
    while not meets(high):
        low = high
        if high >= max_agents:
            raise StaffingError(f"no staffing up to {max_agents} agents meets {target}")
        high = min(max_agents, high * 2)
    while high - low > 1:
        middle = (low + high) // 2
        if meets(middle):
            high = middle
        else:
            low = middle
    return figures(traffic, high, threshold=threshold, short_abandon=short_abandon)
