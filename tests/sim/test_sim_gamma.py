"""sim.gamma: the incomplete gamma pieces behind Erlang A, checked against exact identities."""

from __future__ import annotations

import math

import pytest

from sim import gamma


def poisson_tail(n: int, z: float) -> float:
    """P(n, z) for integer n equals P(Poisson(z) >= n), summed term by term."""
    below = sum(math.exp(-z + k * math.log(z) - math.lgamma(k + 1)) for k in range(n))
    return 1.0 - below


@pytest.mark.parametrize(("n", "z"), [(1, 0.3), (3, 2.5), (10, 4.0), (10, 15.0), (40, 38.0)])
def test_lower_regularized_equals_the_poisson_tail_for_integer_x(n: int, z: float) -> None:
    assert math.exp(gamma.log_lower_regularized(n, z)) == pytest.approx(
        poisson_tail(n, z), rel=1e-12
    )


@pytest.mark.parametrize("z", [0.01, 0.5, 2.0, 9.0, 30.0])
def test_lower_regularized_at_one_half_is_the_error_function(z: float) -> None:
    assert math.exp(gamma.log_lower_regularized(0.5, z)) == pytest.approx(
        math.erf(math.sqrt(z)), rel=1e-13
    )


@pytest.mark.parametrize(("x", "z"), [(5.0, 6.5), (120.0, 121.5), (0.7, 2.0), (3000.0, 3001.0)])
def test_series_and_continued_fraction_agree_where_both_converge(x: float, z: float) -> None:
    via_series = gamma.log_a_series(x, z)
    via_fraction = (
        math.lgamma(x + 1.0)
        + z
        - x * math.log(z)
        + math.log1p(-math.exp(gamma.log_upper_regularized_cf(x, z)))
    )
    assert via_series == pytest.approx(via_fraction, rel=1e-11, abs=1e-11)


def test_a_minus_one_keeps_precision_when_a_is_nearly_one() -> None:
    x, z = 1e6, 1e-3
    # A - 1 = z/(x+1) + z^2/((x+1)(x+2)) + …, whose first term dominates.
    assert math.exp(gamma.log_a_minus_one(x, z)) == pytest.approx(z / (x + 1), rel=1e-8)


def test_weighted_series_is_the_mean_of_the_truncated_geometric_like_weights() -> None:
    x, z = 50.0, 30.0
    terms = []
    term = 1.0
    for j in range(1, 400):
        term *= z / (x + j)
        terms.append(j * term)
    assert math.exp(gamma.log_weighted_a_series(x, z)) == pytest.approx(sum(terms), rel=1e-12)


def test_sum_over_p_matches_term_by_term_evaluation() -> None:
    x, z = 7.5, 20.0
    direct = sum(math.exp(gamma.log_lower_regularized(x + k, z)) / (x + k) for k in range(1, 200))
    assert math.exp(gamma.log_sum_lower_regularized_over(x, z)) == pytest.approx(direct, rel=1e-12)


@pytest.mark.parametrize(("x", "z"), [(0.0, 1.0), (-1.0, 1.0), (1.0, -0.5), (math.inf, 1.0)])
def test_arguments_outside_the_domain_are_refused_by_name(x: float, z: float) -> None:
    with pytest.raises(gamma.GammaDomainError, match="incomplete gamma needs"):
        gamma.log_a(x, z)
