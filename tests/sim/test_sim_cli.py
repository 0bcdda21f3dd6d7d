"""sim.cli: `hotline staff` and `hotline sim` as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from sim.cli import sim_main, staff_main
from sim.staffing import StaffingTarget, Traffic, agents_needed, figures


def run(main: object, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)  # type: ignore[operator]
    return code, out.getvalue(), err.getvalue()


def test_staff_prints_the_least_agents_for_a_service_level_as_json() -> None:
    code, out, _ = run(
        staff_main,
        ["--rate", "200", "--aht", "180", "--patience", "120", "--service-level", "0.9", "--json"],
    )
    assert code == 0
    doc = json.loads(out)
    traffic = Traffic(200 / 3600, 180.0, 120.0)
    expected = agents_needed(traffic, StaffingTarget(service_level=0.9))
    assert doc["model"] == "erlang_a"
    assert doc["agents"] == expected.agents
    assert doc["figures"]["service_level"] == pytest.approx(expected.service_level)
    assert doc["figures"]["answer_rate"] == pytest.approx(1 - expected.p_abandon)


def test_staff_table_shows_the_published_example() -> None:
    code, out, _ = run(
        staff_main, ["--rate", "200", "--aht", "180", "--threshold", "20", "--agents", "14"]
    )
    assert code == 0
    assert "88.84%" in out and "17.41%" in out
    assert f"{figures(Traffic(200 / 3600, 180.0), 14, threshold=20).asa:.1f}" in out


def test_staff_refuses_an_impossible_load_by_name() -> None:
    code, _, err = run(staff_main, ["--rate", "200", "--aht", "-3", "--agents", "5"])
    assert code == 2
    assert "mean handle time must be > 0" in err


def test_sim_writes_json_csv_and_png_for_a_profile(tmp_path: Path) -> None:
    profile = tmp_path / "day.csv"
    profile.write_text("start,calls\n09:00,30\n09:15,45\n09:30,20\n", encoding="utf-8")
    paths = {k: tmp_path / f"out.{k}" for k in ("json", "csv", "png")}
    code, out, err = run(
        sim_main,
        [
            "--profile",
            str(profile),
            "--agents",
            "6",
            "--aht",
            "exp:120",
            "--patience",
            "exp:60",
            "--replications",
            "3",
            "--seed",
            "9",
            "--quiet",
            "--json",
            str(paths["json"]),
            "--csv",
            str(paths["csv"]),
            "--plot",
            str(paths["png"]),
        ],
    )
    assert (code, err) == (0, "")
    assert "service_level" in out
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert doc["runs"] == 3 and doc["seeds"] == [9, 10, 11]
    assert [i["start_label"] for i in doc["intervals"]] == ["09:00", "09:15", "09:30"]
    for interval in doc["intervals"]:  # pooled over runs, time-averages stay per run
        assert interval["agents_on_duty"] == pytest.approx(6.0)
        assert interval["mean_queue"] <= interval["max_queue"]
    total = doc["total"]
    assert total["agents_on_duty"] == pytest.approx(6.0)
    assert total["offered"] == sum(i["offered"] for i in doc["intervals"])
    assert total["answered"] + total["abandoned"] + total["short_abandoned"] == total["offered"]
    assert sum(doc["wait_histogram"]["answered"]) == total["answered"]
    assert sum(doc["wait_histogram"]["abandoned"]) == total["abandoned"] + total["short_abandoned"]
    rows = list(csv.DictReader(paths["csv"].open(encoding="utf-8")))
    assert [r["interval"] for r in rows] == ["09:00", "09:15", "09:30", "total"]
    assert int(rows[-1]["offered"]) == total["offered"]
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sim_json_to_stdout_is_the_same_document_for_the_same_seed() -> None:
    argv = [
        "--rate",
        "300",
        "--hours",
        "1",
        "--agents",
        "6",
        "--aht",
        "60",
        "--quiet",
        "--json",
        "-",
        "--seed",
        "5",
    ]
    first = json.loads(run(sim_main, argv)[1])
    second = json.loads(run(sim_main, argv)[1])
    first.pop("wall_seconds")
    second.pop("wall_seconds")
    assert first == second


def test_sim_live_mode_without_agents_names_the_missing_option() -> None:
    code, _, err = run(sim_main, ["--live"])  # sim/live_cli.py; the run itself: test_live.py
    assert code == 2
    assert "--live" in err and "--agents" in err


def test_sim_bad_roster_is_reported_with_file_line_and_field(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("agent,shift\nli,08:00-17:00\nwang,nine-to-five\n", encoding="utf-8")
    code, _, err = run(sim_main, ["--rate", "60", "--roster", str(roster), "--quiet"])
    assert code == 2
    assert f"{roster}, line 3, field 'shift'" in err


def test_sim_batch_means_give_an_interval_from_one_long_run() -> None:
    code, out, _ = run(
        sim_main,
        [
            "--rate",
            "120",
            "--hours",
            "10",
            "--agents",
            "4",
            "--aht",
            "90",
            "--patience",
            "60",
            "--batches",
            "10",
            "--json",
            "-",
            "--quiet",
        ],
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["method"] == "batch means" and doc["runs"] == 1
    level = doc["estimates"]["service_level"]
    assert level["n"] == 10 and level["low"] < level["mean"] < level["high"]


def test_sim_shows_the_exact_erlang_figures_beside_an_erlang_shaped_run() -> None:
    base = [
        "--rate",
        "200",
        "--hours",
        "2",
        "--agents",
        "11",
        "--aht",
        "180",
        "--patience",
        "120",
        "--quiet",
        "--seed",
        "3",
    ]
    code, out, _ = run(sim_main, base)
    assert code == 0
    exact = figures(Traffic(200 / 3600, 180.0, 120.0), 11)
    assert "Erlang A, steady state" in out
    assert f"{exact.service_level:.2%}" in out
    # Agents who take 4 s to pick up make it a different model: no exact column.
    code, out, _ = run(sim_main, [*base, "--ring-delay", "fixed:4"])
    assert code == 0 and "steady state" not in out


def test_sim_takes_the_queue_settings_of_a_production_config(tmp_path: Path) -> None:
    config = tmp_path / "hotline.yaml"
    config.write_text(
        "acd:\n"
        "  queues:\n"
        "    - name: general\n"
        "    - name: billing\n"
        "      callback_after: 20\n"
        "      service_level_seconds: 2\n"
        "  agents: []\n",
        encoding="utf-8",
    )
    base = [
        "--rate",
        "300",
        "--hours",
        "2",
        "--agents",
        "4",
        "--aht",
        "60",
        "--patience",
        "90",
        "--callback-accept",
        "1",
        "--quiet",
        "--json",
        "-",
        "--seed",
        "2",
    ]
    code, out, _ = run(sim_main, [*base, "--config", str(config), "--queue", "billing"])
    assert code == 0
    billing = json.loads(out)["total"]
    assert billing["callbacks_requested"] > 0  # the queue offers callbacks after 20 s
    code, out, _ = run(sim_main, base)
    plain = json.loads(out)["total"]
    assert plain["callbacks_requested"] == 0
    # A stricter threshold from the config (2 s) counts fewer calls as answered in time.
    code, out, _ = run(
        sim_main, [*base, "--config", str(config), "--queue", "billing", "--callback-after", "1000"]
    )
    strict = json.loads(out)["total"]
    assert strict["service_level"] < plain["service_level"]
    code, _, err = run(sim_main, [*base, "--config", str(config), "--queue", "sales"])
    assert code == 2 and "no queue 'sales'" in err and "['general', 'billing']" in err
