"""sim.staffing: Erlang B/C/A figures and the agents a target needs.

Each exact figure is verified two independent ways: Erlang B and C against exact rational
arithmetic (fractions.Fraction, so no rounding at all), Erlang A against the brute-force
birth-death chain of sim.chain and against its limits (Erlang C as patience → ∞, Erlang B as
patience → 0).
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import pytest

from sim.chain import chain_figures
from sim.staffing import (
    QueueFigures,
    StaffingError,
    StaffingTarget,
    Traffic,
    UnstableQueueError,
    agents_needed,
    erlang_b,
    erlang_c,
    figures,
)


def exact_erlang_b(agents: int, load: Fraction) -> Fraction:
    terms = [load**k / math.factorial(k) for k in range(agents + 1)]
    return terms[-1] / sum(terms)


def exact_erlang_c(agents: int, load: Fraction) -> Fraction:
    top = load**agents / math.factorial(agents) * Fraction(agents) / (agents - load)
    return top / (sum(load**k / math.factorial(k) for k in range(agents)) + top)


@pytest.mark.parametrize(
    ("agents", "load"),
    [
        (1, Fraction(1, 2)),
        (2, Fraction(1)),
        (14, Fraction(10)),
        (60, Fraction(523, 10)),
        (500, Fraction(480)),
        (300, Fraction(3, 2)),
    ],
)
def test_erlang_b_and_c_equal_exact_rational_arithmetic(agents: int, load: Fraction) -> None:
    assert erlang_b(agents, float(load)) == pytest.approx(
        float(exact_erlang_b(agents, load)), rel=1e-12
    )
    assert erlang_c(agents, float(load)) == pytest.approx(
        float(exact_erlang_c(agents, load)), rel=1e-12
    )


def test_published_call_centre_example_ten_erlangs_fourteen_agents() -> None:
    """100 calls per 30 minutes, 3-minute handle time, 20-second target.

    The widely reproduced worked example (callcentrehelper.com, "Erlang C formula — made
    simple") gives P(wait) 17.41 %, service level 88.84 % and ASA 7.8 s for 14 agents, the
    least staffing reaching 80 % in 20 s. P(wait) is also checked against exact_erlang_c.
    """
    traffic = Traffic(arrival_rate=100 / 1800, mean_handle_time=180.0)
    result = figures(traffic, 14, threshold=20.0)
    assert round(result.p_wait, 4) == 0.1741
    assert round(result.service_level, 4) == 0.8884
    assert round(result.asa, 1) == 7.8
    assert result.p_wait == pytest.approx(float(exact_erlang_c(14, Fraction(10))), rel=1e-12)
    needed = agents_needed(traffic, StaffingTarget(service_level=0.8), threshold=20.0)
    assert needed.agents == 14


def test_mm1_reduces_to_the_textbook_single_server_queue() -> None:
    lam, mean = 0.5, 1.2  # ρ = 0.6
    result = figures(Traffic(lam, mean), 1, threshold=3.0)
    rho = lam * mean
    assert result.p_wait == pytest.approx(rho, rel=1e-13)
    assert result.asa == pytest.approx(rho * mean / (1 - rho), rel=1e-13)
    assert result.service_level == pytest.approx(1 - rho * math.exp(-(1 / mean - lam) * 3.0))


MODELS_WITH_ABANDONMENT = [
    (Traffic(100 / 1800, 180.0, 120.0), 11),  # light: 10 Erl on 11 agents
    (Traffic(1 / 60, 300.0, 30.0), 3),  # overloaded, impatient
    (Traffic(2.0, 200.0, 60.0), 380),  # 400 Erl, under-staffed
    (Traffic(2.0, 200.0, 6000.0), 405),  # very patient callers, ρ just below 1
    (Traffic(0.5, 200.0, 3.0), 120),  # over-staffed
]


def assert_figures_close(a: QueueFigures, b: QueueFigures, rel: float) -> None:
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        assert x == pytest.approx(y, rel=rel, abs=1e-12), field.name


@pytest.mark.parametrize(("traffic", "agents"), MODELS_WITH_ABANDONMENT)
def test_erlang_a_closed_form_equals_the_brute_force_chain(traffic: Traffic, agents: int) -> None:
    formula = figures(traffic, agents, threshold=10.0, short_abandon=5.0)
    brute = chain_figures(traffic, agents, threshold=10.0, short_abandon=5.0)
    assert_figures_close(formula, brute, rel=1e-8)


@pytest.mark.parametrize(
    ("traffic", "agents"), [(Traffic(100 / 1800, 180.0), 13), (Traffic(3.0, 60.0), 190)]
)
def test_erlang_c_closed_form_equals_the_brute_force_chain(traffic: Traffic, agents: int) -> None:
    assert_figures_close(figures(traffic, agents), chain_figures(traffic, agents), rel=1e-9)


def test_erlang_a_tends_to_erlang_c_for_endless_patience() -> None:
    patient = figures(Traffic(100 / 1800, 180.0, 1e9), 12, threshold=20.0)
    erlang = figures(Traffic(100 / 1800, 180.0), 12, threshold=20.0)
    assert patient.p_wait == pytest.approx(erlang.p_wait, rel=1e-5)
    assert patient.service_level == pytest.approx(erlang.service_level, rel=1e-5)
    assert patient.asa == pytest.approx(erlang.asa, rel=1e-5)
    assert patient.p_abandon < 1e-7


def test_erlang_a_tends_to_erlang_b_when_nobody_waits() -> None:
    """With near-zero patience every caller who finds the agents busy is lost, as in M/M/N/N."""
    result = figures(Traffic(0.1, 100.0, 1e-7), 8)
    assert result.p_abandon == pytest.approx(erlang_b(8, 10.0), rel=1e-5)


@pytest.mark.parametrize(
    "target",
    [
        StaffingTarget(service_level=0.8),
        StaffingTarget(service_level=0.8, count_abandons=True),
        StaffingTarget(asa=5.0),
        StaffingTarget(abandon=0.02),
        StaffingTarget(service_level=0.9, abandon=0.01, asa=3.0),
    ],
)
def test_agents_needed_is_the_least_staffing_meeting_the_target(target: StaffingTarget) -> None:
    traffic = Traffic(arrival_rate=0.4, mean_handle_time=240.0, mean_patience=90.0)
    result = agents_needed(traffic, target)
    assert target.met_by(result)
    assert not target.met_by(figures(traffic, result.agents - 1))


def test_erlang_c_on_an_overloaded_queue_says_it_is_unstable() -> None:
    with pytest.raises(UnstableQueueError, match="needs more than 10 agents"):
        figures(Traffic(arrival_rate=1.0, mean_handle_time=12.0), 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"arrival_rate": -1.0, "mean_handle_time": 1.0}, "arrival rate"),
        ({"arrival_rate": 1.0, "mean_handle_time": 0.0}, "mean handle time"),
        ({"arrival_rate": 1.0, "mean_handle_time": 1.0, "mean_patience": 0.0}, "mean patience"),
    ],
)
def test_impossible_traffic_is_refused_by_name(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(StaffingError, match=message):
        Traffic(**kwargs)  # type: ignore[arg-type]


def test_a_target_without_any_bound_is_refused() -> None:
    with pytest.raises(StaffingError, match="at least one target"):
        StaffingTarget()


@pytest.mark.parametrize("patience", [120.0, None])
def test_the_transient_chain_settles_at_the_steady_state_formulas(patience: float | None) -> None:
    """A constant rate for long enough: the last interval's time-averages are the steady state
    (exact Erlang A / C), which checks the time-dependent solver the simulator is tested by."""
    from sim.chain import transient_intervals

    traffic = Traffic(200 / 3600, 180.0, patience)
    exact = figures(traffic, 12)
    last = transient_intervals([traffic.arrival_rate] * 24, 900.0, 12, 180.0, patience)[-1]
    assert last.mean_queue == pytest.approx(traffic.arrival_rate * exact.mean_wait, rel=1e-6)
    assert last.occupancy == pytest.approx(exact.occupancy, rel=1e-6)
