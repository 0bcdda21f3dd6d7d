"""Regularised incomplete gamma functions in log space, for the Erlang A formulas.

Erlang A (Palm's M/M/N+M model) is written in terms of the lower incomplete gamma function
γ(x, z) with a real, often large, first argument x = Nμ/θ. We evaluate it ourselves instead of
depending on scipy: the power series below converges quickly for z < x + 1 and the continued
fraction (modified Lentz) for z ≥ x + 1, which is the classical split (Abramowitz & Stegun
6.5.29 and 6.5.31). Everything is returned as a logarithm because the quantities overflow a
float for a few hundred agents.
"""

from __future__ import annotations

import math

# Relative accuracy at which the series and the continued fraction stop: one unit in the last
# place of a double.
EPSILON = 2.0**-53
# Both expansions converge in O(sqrt(max(x, z))) terms; this bound is only reached for
# arguments far beyond any contact centre (x or z above ~10^9) and then we say so.
MAX_TERMS = 1_000_000
# Smallest positive double, used to keep the Lentz recursion away from division by zero.
TINY = 1e-300


class GammaDomainError(ValueError):
    """The arguments are outside the domain (x > 0, z ≥ 0) or beyond what we can evaluate."""


def _check(x: float, z: float) -> None:
    if not (x > 0.0 and math.isfinite(x)):
        raise GammaDomainError(f"incomplete gamma needs a finite x > 0, got x={x!r}")
    if not (z >= 0.0 and math.isfinite(z)):
        raise GammaDomainError(f"incomplete gamma needs a finite z >= 0, got z={z!r}")


def log_a_series(x: float, z: float) -> float:
    """log Σ_{j≥0} z^j / ((x+1)(x+2)…(x+j)) by direct summation (for z < x + 1).

    This sum is the function A(x, z) of Mandelbaum & Zeltyn; it equals x e^z z^-x γ(x, z).
    Summation is carried out relative to the running maximum term so nothing overflows.
    """
    _check(x, z)
    if z == 0.0:
        return 0.0
    total = 1.0  # relative to the scale exp(log_scale)
    log_scale = 0.0
    log_term = 0.0
    for k in range(1, MAX_TERMS):
        log_term += math.log(z) - math.log(x + k)
        if log_term > log_scale:
            total *= math.exp(log_scale - log_term)
            log_scale = log_term
        term = math.exp(log_term - log_scale)
        total += term
        # Terms shrink once x + k > z and then decrease faster than a geometric series with
        # ratio z / (x + k), so the remainder is below term * r / (1 - r).
        ratio = z / (x + k + 1)
        if ratio < 1.0 and term * ratio / (1.0 - ratio) < EPSILON * total:
            return log_scale + math.log(total)
    raise GammaDomainError(f"series for A({x}, {z}) did not converge in {MAX_TERMS} terms")


def log_upper_regularized_cf(x: float, z: float) -> float:
    """log Q(x, z) = log Γ(x, z)/Γ(x) by the continued fraction (for z ≥ x + 1)."""
    _check(x, z)
    # Modified Lentz evaluation of Γ(x,z) e^z z^-x = 1/(z+1-x- 1·(1-x)/(z+3-x- 2(2-x)/(z+5-x-…)))
    b = z + 1.0 - x
    c = 1.0 / TINY
    d = 1.0 / b if b != 0.0 else 1.0 / TINY
    h = d
    for i in range(1, MAX_TERMS):
        an = -i * (i - x)
        b += 2.0
        d = an * d + b
        if abs(d) < TINY:
            d = TINY
        c = b + an / c
        if abs(c) < TINY:
            c = TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < EPSILON:
            return -z + x * math.log(z) - math.lgamma(x) + math.log(h)
    raise GammaDomainError(f"continued fraction for Q({x}, {z}) did not converge")


def log_lower_regularized(x: float, z: float) -> float:
    """log P(x, z) = log γ(x, z)/Γ(x), the regularised lower incomplete gamma function."""
    _check(x, z)
    if z == 0.0:
        return -math.inf
    if z < x + 1.0:
        # γ(x,z) = z^x e^-z / x · A(x, z)
        return x * math.log(z) - z - math.lgamma(x + 1.0) + log_a_series(x, z)
    return math.log1p(-math.exp(log_upper_regularized_cf(x, z)))


def log_a(x: float, z: float) -> float:
    """log A(x, z), A(x, z) = x e^z z^-x γ(x, z) = Σ_{j≥0} z^j / Π_{k=1..j} (x + k).

    The series is used where it converges fast; otherwise the continued fraction for the upper
    function gives γ = Γ(x)(1 - Q).
    """
    _check(x, z)
    if z == 0.0:
        return 0.0
    if z < x + 1.0:
        return log_a_series(x, z)
    log_q = log_upper_regularized_cf(x, z)
    return math.lgamma(x + 1.0) + z - x * math.log(z) + math.log1p(-math.exp(log_q))


def log_a_minus_one(x: float, z: float) -> float:
    """log (A(x, z) - 1) without cancellation, from A(x, z) - 1 = z/(x+1) · A(x+1, z)."""
    _check(x, z)
    if z == 0.0:
        return -math.inf
    return math.log(z) - math.log(x + 1.0) + log_a(x + 1.0, z)


def log_weighted_a_series(x: float, z: float) -> float:
    """log Σ_{j≥1} j z^j / Π_{k=1..j} (x + k), for z < x (a stable M/M/N+M queue).

    Times π_N this is the mean number waiting; summing it directly avoids the cancellation in
    the closed form 1 - 1/ρ + 1/(ρA) when callers are very patient (ρ → 1⁻, A → 1/(1-ρ)).
    """
    _check(x, z)
    if not z < x:
        raise GammaDomainError(f"weighted series needs z < x, got x={x}, z={z}")
    if z == 0.0:
        return -math.inf
    total = 0.0
    log_scale = -math.inf
    log_term = 0.0  # log of z^j / Π (x+k), without the weight j
    for j in range(1, MAX_TERMS):
        log_term += math.log(z) - math.log(x + j)
        log_weighted = log_term + math.log(j)
        if log_weighted > log_scale:
            total *= math.exp(log_scale - log_weighted) if total else 0.0
            log_scale = log_weighted
        term = math.exp(log_weighted - log_scale)
        total += term
        # (j+1)/j · z/(x+j+1) bounds the ratio of successive weighted terms from here on.
        ratio = (j + 1) / j * z / (x + j + 1)
        if ratio < 1.0 and term * ratio / (1.0 - ratio) < EPSILON * total:
            return log_scale + math.log(total)
    raise GammaDomainError(f"weighted series for ({x}, {z}) did not converge")


def log_sum_lower_regularized_over(x: float, z: float) -> float:
    """log Σ_{k≥1} P(x+k, z) / (x+k): the mean wait of answered Erlang A calls needs it.

    Below a = z, P(a, z) is close to 1 and we step Q(a+1) = Q(a) + z^a e^-z / Γ(a+1), which only
    adds positive terms. From a ≥ z on, P(a, z) = z^a e^-z / Γ(a+1) · A(a, z) with A from the
    backward recursion A(a) = 1 + z/(a+1) A(a+1), which damps errors, started 40 √z + 50 steps
    further where the terms are below e^-800. Both stay O(z - x + √z) steps however large x is.
    """
    _check(x, z)
    if z == 0.0:
        return -math.inf
    if z - x > MAX_TERMS:
        raise GammaDomainError(f"sum of P(x+k, z) for ({x}, {z}) needs too many terms")
    log_z = math.log(z)
    terms: list[float] = []
    a = x + 1.0
    if a < z:
        if z >= a + 1.0:
            log_q = log_upper_regularized_cf(a, z)
        else:
            log_q = math.log1p(-math.exp(log_lower_regularized(a, z)))
        while a < z:
            terms.append(math.log1p(-math.exp(log_q)) - math.log(a))
            step = a * log_z - z - math.lgamma(a + 1.0)
            high, low = (log_q, step) if log_q >= step else (step, log_q)
            log_q = high + math.log1p(math.exp(low - high))
            a += 1.0
    count = math.ceil(40.0 * math.sqrt(z) + 50.0)
    a_values = [0.0] * (count + 1)  # A(a + i, z) for i = 0 … count
    a_values[count] = math.exp(log_a_series(a + count, z))
    for i in range(count - 1, -1, -1):
        a_values[i] = 1.0 + z / (a + i + 1.0) * a_values[i + 1]
    for i, value in enumerate(a_values):
        ai = a + i
        terms.append(ai * log_z - z - math.lgamma(ai + 1.0) + math.log(value) - math.log(ai))
    peak = max(terms)
    return peak + math.log(math.fsum(math.exp(t - peak) for t in terms))
