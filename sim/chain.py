"""Brute-force M/M/N(+M) figures from the truncated birth-death chain, to check the formulas.

Nothing here uses a closed form: the stationary distribution is the product of the chain's
rate ratios (summed until the tail is below 1e-18), the waiting-time distribution comes from
following one tagged arrival through its own small absorbing chain (callers ahead leaving,
the tagged caller abandoning, an agent answering) by uniformisation, and the mean wait of
answered calls from a first-step recursion. It is slower than `sim.staffing` but shares no
code path with it, which is what makes it a check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.staffing import (
    DEFAULT_SHORT_ABANDON,
    DEFAULT_THRESHOLD,
    QueueFigures,
    StaffingError,
    Traffic,
    UnstableQueueError,
)

# The chain is cut where a state's probability falls below this fraction of the largest.
TAIL = 1e-18
# Largest number of waiting callers the truncated chain may hold.
MAX_QUEUE = 2_000_000


def _stationary(traffic: Traffic, agents: int) -> NDArray[np.float64]:
    """π_k for k = 0 … N + J callers in the system, normalised over the truncated chain."""
    lam = traffic.arrival_rate
    mu = 1.0 / traffic.mean_handle_time
    theta = 0.0 if traffic.mean_patience is None else 1.0 / traffic.mean_patience
    if theta == 0.0 and lam >= agents * mu:
        raise UnstableQueueError("offered load must be below the number of agents")
    log_weights = [0.0]
    for k in range(1, agents + 1):
        log_weights.append(log_weights[-1] + math.log(lam / (k * mu)))
    peak = max(log_weights)
    for j in range(1, MAX_QUEUE):
        log_weights.append(log_weights[-1] + math.log(lam / (agents * mu + j * theta)))
        peak = max(peak, log_weights[-1])
        falling = lam < agents * mu + (j + 1) * theta
        if falling and log_weights[-1] < peak + math.log(TAIL):
            break
    else:
        raise StaffingError(f"chain did not reach its tail within {MAX_QUEUE} waiting callers")
    weights = np.exp(np.array(log_weights) - peak)
    result: NDArray[np.float64] = weights / weights.sum()
    return result


def _poisson_weights(mean: float) -> NDArray[np.float64]:
    """P(Poisson(mean) = i) for i = 0 … until the remaining mass is negligible."""
    count = int(mean + 12.0 * math.sqrt(mean) + 40.0)
    i = np.arange(count, dtype=np.float64)
    log_pmf = (
        -mean
        + i * (math.log(mean) if mean > 0.0 else 0.0)
        - np.array([math.lgamma(k + 1.0) for k in range(count)])
    )
    if mean == 0.0:
        log_pmf = np.where(i == 0, 0.0, -np.inf)
    weights: NDArray[np.float64] = np.exp(log_pmf)
    if abs(1.0 - weights.sum()) > 1e-12:  # rounding of the sum itself is ~1e-16
        raise StaffingError(f"uniformisation horizon too short for mean {mean}")
    return weights


def _tagged_outcomes_by(
    waiting: NDArray[np.float64], agents: int, mu: float, theta: float, t: float
) -> tuple[float, float]:
    """(P(answered with W ≤ t), P(abandoned with W ≤ t)) for an arrival seeing `waiting`.

    `waiting[m]` is the probability that the arrival finds all agents busy and m callers
    ahead of it. Its state is the number still ahead; each leaves at Nμ + mθ (served or
    abandoned), the tagged caller abandons at θ, and with nobody ahead an agent frees at Nμ.
    """
    ahead = np.arange(len(waiting), dtype=np.float64)
    advance = agents * mu + ahead * theta  # rate at which the caller moves up (or is answered)
    total_rate = advance + theta
    uniform = float(total_rate.max())
    weights = _poisson_weights(uniform * t)
    vector = waiting.copy()
    answered = abandoned = 0.0
    answered_by = abandoned_by = 0.0
    stay = 1.0 - total_rate / uniform
    move = advance / uniform
    for weight in weights:
        answered_by += weight * answered
        abandoned_by += weight * abandoned
        answered += float(vector[0] * move[0])
        abandoned += float(vector.sum() * theta / uniform)
        moved = vector * move
        vector = vector * stay
        vector[:-1] += moved[1:]
    return answered_by, abandoned_by


def chain_figures(
    traffic: Traffic,
    agents: int,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    short_abandon: float = DEFAULT_SHORT_ABANDON,
) -> QueueFigures:
    """The same figures as `sim.staffing.figures`, computed by brute force."""
    if agents < 1:
        raise StaffingError(f"agents must be >= 1, got {agents}")
    lam = traffic.arrival_rate
    mu = 1.0 / traffic.mean_handle_time
    theta = 0.0 if traffic.mean_patience is None else 1.0 / traffic.mean_patience
    pi = _stationary(traffic, agents)
    waiting = pi[agents:]  # an arrival (PASTA) finds m = 0, 1, … callers ahead
    p_wait = float(waiting.sum())
    mean_queue = float((np.arange(len(waiting)) * waiting).sum())
    mean_wait = mean_queue / lam  # Little's law over all calls
    p_abandon = theta * mean_wait

    # First-step recursion for the tagged caller: s_m = P(answered | m ahead),
    # e_m = E[W · 1{answered} | m ahead].
    answered_given = np.empty(len(waiting))
    answered_wait_given = np.empty(len(waiting))
    s_prev = e_prev = 0.0
    for m in range(len(waiting)):
        advance = agents * mu + m * theta
        total = advance + theta
        s_m = advance / total * (1.0 if m == 0 else s_prev)
        e_m = s_m / total + (0.0 if m == 0 else advance / total * e_prev)
        answered_given[m], answered_wait_given[m] = s_m, e_m
        s_prev, e_prev = s_m, e_m
    p_answered_check = float((pi[:agents]).sum() + (waiting * answered_given).sum())
    p_answered = 1.0 - p_abandon
    if abs(p_answered_check - p_answered) > 1e-9:
        raise StaffingError("chain is inconsistent: Little's law and first-step disagree")
    answered_wait = float((waiting * answered_wait_given).sum())

    no_wait = float(pi[:agents].sum())
    answered_late, _ = _tagged_outcomes_by(waiting, agents, mu, theta, threshold)
    within = no_wait + answered_late
    _, abandoned_early = _tagged_outcomes_by(waiting, agents, mu, theta, short_abandon)
    abandoned_late = p_abandon - abandoned_early
    return QueueFigures(
        agents=agents,
        offered_load=traffic.offered_load,
        threshold=threshold,
        short_abandon=short_abandon,
        p_wait=p_wait,
        p_abandon=p_abandon,
        p_short_abandon=abandoned_early,
        p_answered_within=within,
        service_level=within / p_answered,
        service_level_abandons=within / (p_answered + abandoned_late),
        asa=answered_wait / p_answered,
        mean_wait=mean_wait,
        occupancy=lam * p_answered * traffic.mean_handle_time / agents,
    )


@dataclass(frozen=True, slots=True)
class TransientInterval:
    """Exact time-averages over one interval of a time-varying M(t)/M/N(+M) queue."""

    mean_queue: float  # (1/T) ∫ E[callers waiting] dt
    occupancy: float  # (1/T) ∫ E[busy agents] dt ÷ N
    arrivals: float  # expected calls arriving in the interval


def transient_intervals(
    rates: Sequence[float],
    interval: float,
    agents: int,
    mean_handle_time: float,
    mean_patience: float | None,
    *,
    max_waiting: int | None = None,
) -> list[TransientInterval]:
    """The birth-death chain started empty, its arrival rate ``rates[i]`` during interval i.

    Solved by uniformisation: with rate Λ, p(t) = Σ_k Pois(k; Λt) p0 P^k, and its integral over
    an interval of length T is (1/Λ) Σ_k P(Pois(ΛT) > k) p0 P^k, so time-averages are exact
    up to the truncation of the queue at ``max_waiting`` (by default far beyond any state the
    chain reaches with probability above 1e-18 at the highest rate).
    """
    mu = 1.0 / mean_handle_time
    theta = 0.0 if mean_patience is None else 1.0 / mean_patience
    top = max(rates) if rates else 0.0
    if max_waiting is None:
        # Generous: the waiting line of the worst interval's steady state plus a wide margin.
        worst = Traffic(top, mean_handle_time, mean_patience) if top > 0 else None
        base = 0
        if worst is not None and (theta > 0.0 or top < agents * mu):
            base = len(_stationary(worst, agents)) - agents
        else:
            base = int(top * interval * len(rates))  # an unstable queue grows at most this much
        max_waiting = base + 50
    size = agents + max_waiting + 1
    k = np.arange(size, dtype=np.float64)
    service = np.minimum(k, agents) * mu
    leaving = service + np.maximum(k - agents, 0.0) * theta
    p = np.zeros(size)
    p[0] = 1.0
    out = []
    for rate in rates:
        births = np.full(size, rate)
        births[-1] = 0.0  # truncation: the last state takes no arrivals
        uniform = float((births + leaving).max()) or 1.0
        stay = 1.0 - (births + leaving) / uniform
        up = births / uniform
        down = leaving / uniform
        mean = uniform * interval
        weights = _poisson_weights(mean)
        survival = 1.0 - np.cumsum(weights)  # P(Pois > k)
        integral = np.zeros(size)
        current = p.copy()
        end = np.zeros(size)
        for weight, tail in zip(weights, survival, strict=True):
            end += weight * current
            integral += max(tail, 0.0) * current
            moved = current * stay
            moved[1:] += current[:-1] * up[:-1]
            moved[:-1] += current[1:] * down[1:]
            current = moved
        integral /= uniform  # ∫ p(t) dt over the interval
        waiting = np.maximum(k - agents, 0.0)
        busy = np.minimum(k, agents)
        out.append(
            TransientInterval(
                mean_queue=float(waiting @ integral) / interval,
                occupancy=float(busy @ integral) / interval / agents,
                arrivals=rate * interval,
            )
        )
        p = end / end.sum()
    return out
