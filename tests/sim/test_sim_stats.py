"""sim.stats and sim.experiment: confidence intervals and batch means."""

from __future__ import annotations

import math

import pytest

from sim.experiment import batch_means
from sim.model import ConstantRate, Exponential, SimModel, fixed_staff
from sim.runner import Simulation
from sim.stats import estimate, t_quantile


@pytest.mark.parametrize(
    ("p", "dof", "table"),
    # Student t quantiles as printed in standard tables (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2)
    [
        (0.975, 5, 2.571),
        (0.975, 9, 2.262),
        (0.975, 30, 2.042),
        (0.995, 10, 3.169),
        (0.9995, 9, 4.781),
        (0.9995, 20, 3.850),
    ],
)
def test_t_quantile_matches_printed_tables(p: float, dof: int, table: float) -> None:
    assert t_quantile(p, dof) == pytest.approx(table, abs=2.5e-3)


def test_estimate_is_mean_plus_minus_t_times_standard_error() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    e = estimate(values, confidence=0.95)
    sd = math.sqrt(3.5)
    assert e.mean == 3.5
    assert e.sd == pytest.approx(sd)
    assert e.half_width == pytest.approx(t_quantile(0.975, 5) * sd / math.sqrt(6))
    assert estimate([math.nan, 2.0, 4.0]).n == 2


def test_batch_means_split_one_run_into_consecutive_batches() -> None:
    model = SimModel(
        arrivals=ConstantRate(0.05, end=10 * 3600.0),
        talk_time=Exponential(150.0),
        patience=Exponential(60.0),
        staff=fixed_staff(8),
        interval=900.0,
    )
    run = Simulation(model, seed=4).run()
    experiment = batch_means(run, 8)
    level = experiment.estimates["service_level"]
    assert level.n == 8
    assert level.low <= run.total.service_level <= level.high
    with pytest.raises(ValueError, match="cannot make 100 batches"):
        batch_means(run, 100)
