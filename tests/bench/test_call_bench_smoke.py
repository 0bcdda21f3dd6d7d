"""Smoke test of the whole-service call benchmark (issue 3, bench/): --quick against Hotline.

Runs the real thing (a Hotline process, a load generator process, loopback UDP) for 20 calls
of 5 s and checks that calls succeed and every figure is produced. No timing is asserted:
speed is what the benchmark prints, never what a test decides.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.call_bench import Options, run
from bench.report import render

ROOT = Path(__file__).resolve().parents[2]


def _figure_ok(value: object) -> bool:
    return isinstance(value, (int, float)) and not math.isnan(value)


@pytest.fixture(scope="module")
def quick_results() -> dict[str, object]:
    options = Options(calls=20, seconds=5.0, setup_rate=50.0, pyvoip_calls=10,
                      ramp_rate=50.0, hotline_only=True, caller_audio=True, setups=True,
                      logs=None)
    return run(options)


def test_every_quick_call_is_answered_and_hears_the_service(quick_results: dict) -> None:
    hold = quick_results["hotline-hold-20"]
    assert "error" not in hold, hold
    assert hold["answered"] == 20
    assert hold["failed"] == 0, hold["failures"]
    heard = hold["heard"]
    assert heard["received"] > 0
    assert heard["intervals"] > 0


def test_hold_figures_are_produced(quick_results: dict) -> None:
    hold = quick_results["hotline-hold-20"]
    for value in (hold["service_cpu_percent"], hold["memory_per_call_bytes"],
                  hold["heard"]["p50_ms"], hold["heard"]["p99_ms"]):
        assert _figure_ok(value)
    service = hold["service_stats"]
    assert service is not None and service["sessions"] == 20
    assert _figure_ok(service["interval_error_p99_ms"])


def test_setup_steps_run_and_report_a_rate(quick_results: dict) -> None:
    setup = quick_results["hotline-setup"]
    assert "error" not in setup, setup
    first = setup["steps"][0]
    assert first["answered"] == first["calls"]
    assert first["failed"] == 0, first["failures"]
    assert setup["best_offered_rate"] > 0


def test_report_prints_targets_next_to_figures(quick_results: dict) -> None:
    text = render(quick_results)
    assert "Hotline@20" in text
    assert ">= 500" in text and "<= 2" in text and ">= 200" in text


def test_command_line_refuses_nonsense_counts() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.call_bench", "--calls", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert "must be positive" in done.stderr
