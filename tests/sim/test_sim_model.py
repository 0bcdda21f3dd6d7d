"""sim.model: arrival profiles, rosters and distributions, and their file errors."""

from __future__ import annotations

import math
import random
import statistics
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model import (
    ConstantRate,
    Empirical,
    Exponential,
    Fixed,
    Lognormal,
    ModelError,
    Profile,
    SimModel,
    load_profile,
    load_roster,
    load_samples,
    on_duty_seconds,
    parse_distribution,
)
from sim.runner import Simulation


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_profile_lists_calls_per_quarter_hour_and_fills_gaps_with_zero(tmp_path: Path) -> None:
    path = write(tmp_path, "day.csv", "start,calls\n08:00,40\n08:30,100\n08:15,60\n")
    profile = load_profile(path)
    assert profile.start == 8 * 3600
    assert profile.calls == (40.0, 60.0, 100.0)
    assert profile.end == 8 * 3600 + 3 * 900


@pytest.mark.parametrize(
    ("text", "line", "field", "problem"),
    [
        ("begin,calls\n08:00,4\n", 1, "start", "missing column"),
        ("start,calls\n08:00,4\n08:10,5\n", 3, "start", "does not start a 15-minute"),
        ("start,calls\n08:00,four\n", 2, "calls", "'four' is not a number"),
        ("start,calls\n08:00,4\n25:00,1\n", 3, "start", "not a time of day"),
        ("start,calls\n08:00,-1\n", 2, "calls", "negative"),
        ("start,calls\n08:00,1\n08:00,2\n", 3, "start", "listed twice"),
    ],
)
def test_a_bad_profile_names_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, problem: str
) -> None:
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(ModelError) as caught:
        load_profile(path)
    error = caught.value
    assert (error.file, error.line, error.field) == (str(path), line, field)
    assert problem in str(error)
    assert str(path) in str(error) and f"line {line}" in str(error)


def test_profile_arrivals_follow_each_intervals_rate() -> None:
    """Counts per interval are Poisson: their mean over many days is within 4 s.e."""
    profile = Profile(start=0.0, calls=(10.0, 0.0, 80.0))
    rng = random.Random(5)
    days = 400
    counts = [0, 0, 0]
    for _ in range(days):
        t = profile.next_after(0.0, rng)
        while t is not None:
            counts[int(t // 900)] += 1
            t = profile.next_after(t, rng)
    for expected, got in zip(profile.calls, counts, strict=True):
        assert abs(got / days - expected) <= 4 * math.sqrt(expected / days) + 1e-12


def test_roster_csv_expands_counts_and_parses_breaks_and_night_shifts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "roster.csv",
        "agent,count,shift,breaks\n"
        "day,2,08:00-17:00,10:00-10:15;12:00-12:45\n"
        "night,,22:00-06:00,02:00-02:30\n",
    )
    roster = load_roster(path)
    assert roster.agent_ids == ("day-1", "day-2", "night")
    night = roster.shifts[2]
    assert (night.start, night.end) == (22 * 3600, 30 * 3600)
    assert night.breaks == ((26 * 3600, 26.5 * 3600),)
    # 2 × (9 h - 1 h break) + (8 h - 0.5 h)
    assert on_duty_seconds(roster, 0.0, 2 * 86_400) == (2 * 8 + 7.5) * 3600


def test_roster_yaml_reports_the_line_of_a_bad_entry(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "roster.yaml",
        "agents:\n"
        "  - agent: li\n"
        "    shift: 08:00-12:00\n"
        "  - agent: wang\n"
        "    shift: 09:00-13:00\n"
        "    breaks: [10:00-10:15, 14:00-14:30]\n",
    )
    with pytest.raises(ModelError) as caught:
        load_roster(path)
    assert (caught.value.line, caught.value.field) == (4, "breaks")
    assert "outside the shift" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("agent,shift\nli,8-17\n", "shift", "not a time of day"),
        ("agent,shift\nli,08:00\n", "shift", "not a span"),
        ("agent,count,shift\nli,zero,08:00-09:00\n", "count", "positive whole number"),
        ("agent,shift\nli,08:00-12:00\nli,13:00-17:00\n", "agent", "listed twice"),
        ("agent,shift,breaks\nli,08:00-12:00,09:00-10:00;09:30-09:45\n", "breaks", "overlap"),
    ],
)
def test_a_bad_roster_row_names_its_line_and_field(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    path = write(tmp_path, "r.csv", text)
    with pytest.raises(ModelError) as caught:
        load_roster(path)
    assert caught.value.field == field
    assert caught.value.line == text.count("\n")
    assert problem in str(caught.value)


def test_an_agent_on_break_is_not_offered_calls(tmp_path: Path) -> None:
    """Calls arriving 10:10–10:20 while the only agent is on break 10:00–11:00 all wait for
    the break to end: the ACD must not route to a not-ready agent."""
    roster_text = "agent,shift,breaks\nli,08:00-17:00,10:00-11:00\n"
    roster = load_roster(write(tmp_path, "roster.csv", roster_text))
    model = SimModel(
        arrivals=ConstantRate(1 / 120, start=10 * 3600 + 600, end=10 * 3600 + 1200),
        talk_time=Fixed(1.0),
        staff=roster,
    )
    run = Simulation(model, seed=2).run()
    total = run.total
    assert total.offered > 0
    assert total.answered == total.offered
    assert total.answered_within == 0
    assert total.asa >= 40 * 60 - 1


def test_distributions_have_the_mean_they_are_given() -> None:
    rng = random.Random(11)
    for dist in (Exponential(120.0), Lognormal(200.0, 80.0), Empirical((1.0, 2.0, 6.0))):
        draws = [dist.sample(rng) for _ in range(40_000)]
        se = statistics.stdev(draws) / math.sqrt(len(draws))
        assert abs(statistics.fmean(draws) - dist.mean) <= 4.5 * se


def test_distribution_options_parse_and_bad_ones_say_which_option(tmp_path: Path) -> None:
    samples = write(tmp_path, "talk.csv", "talk_seconds,other\n100,x\n200,y\n\n300,z\n")
    assert parse_distribution("180", option="--aht") == Exponential(180.0)
    assert parse_distribution("lognormal:180,60", option="--aht") == Lognormal(180.0, 60.0)
    assert parse_distribution("none", option="--patience") is None
    assert parse_distribution(f"empirical:{samples}", option="--aht") == Empirical(
        (100.0, 200.0, 300.0)
    )
    with pytest.raises(ModelError, match="'--aht'"):
        parse_distribution("gamma:3", option="--aht")
    with pytest.raises(ModelError) as caught:
        load_samples(samples, "other")
    assert (caught.value.line, caught.value.field) == (2, "other")


def test_talk_times_can_be_sampled_from_acd_call_records() -> None:
    from acd.records import CallRecord, RecordBuilder
    from sim.model import fixed_staff, talk_times_from_records

    model = SimModel(
        arrivals=ConstantRate(1 / 30, end=3600.0),
        talk_time=Fixed(42.0),
        staff=fixed_staff(3),
    )
    builder = RecordBuilder([model.queue])
    records: list[CallRecord] = []
    Simulation(model, seed=1, event_sink=lambda e: records.extend(builder.feed([e]))).run()
    talk = talk_times_from_records(records)
    assert len(talk.values) == len(records) > 50
    assert all(v == pytest.approx(42.0) for v in talk.values)  # times are differences
    with pytest.raises(ModelError, match="no answered calls"):
        talk_times_from_records([])


HEADERS = ["start,calls", "agent,count,shift,breaks", "agent,shift", "agents:", ""]
BODY = st.text(alphabet="abc,:;-[]{}'\"\n 0123456789.\x00", max_size=120)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(header=st.sampled_from(HEADERS), body=BODY)
def test_any_profile_or_roster_text_parses_or_is_refused_clearly(
    tmp_path: Path, header: str, body: str
) -> None:
    text = f"{header}\n{body}"
    for name, load in (("p.csv", load_profile), ("r.csv", load_roster), ("r.yaml", load_roster)):
        path = write(tmp_path, name, text)
        try:
            load(path)
        except ModelError as error:
            assert str(path) in str(error)


def test_a_row_with_more_cells_than_the_header_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "start,calls\n08:00,4,extra\n")
    with pytest.raises(ModelError, match="more cells than the header") as caught:
        load_profile(path)
    assert caught.value.line == 2
