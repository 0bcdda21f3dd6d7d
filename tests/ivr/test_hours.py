"""Opening hours: 7×24 by default (SPEC-Q3), weekly intervals in the centre's zone, holidays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ivr.hours import HoursError, OpeningHours, build_hours, parse_days, parse_interval


def test_default_is_open_every_minute_of_the_week() -> None:
    hours = OpeningHours()
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert all(hours.is_open(start + timedelta(minutes=37 * k)) for k in range(7 * 24 * 60 // 37))


def test_weekly_hours_use_the_centres_timezone() -> None:
    hours = build_hours("Asia/Shanghai", {"mon-fri": ["08:00-12:00", "13:00-20:00"]}, [])
    wed = datetime(2026, 11, 25, tzinfo=UTC)
    assert hours.is_open(wed.replace(hour=0, minute=0))  # 08:00 Beijing
    assert not hours.is_open(wed.replace(hour=4, minute=30))  # 12:30 lunch
    assert not hours.is_open(wed.replace(hour=12, minute=0))  # 20:00 closed
    assert not hours.is_open(datetime(2026, 11, 28, 3, 0, tzinfo=UTC))  # Saturday


def test_holidays_close_the_whole_day() -> None:
    hours = build_hours(None, None, ["2026-10-01"])
    assert not hours.is_open(datetime(2026, 10, 1, 15, 0, tzinfo=UTC))  # 23:00 on 1 Oct
    assert hours.is_open(datetime(2026, 10, 1, 16, 0, tzinfo=UTC))  # 00:00 on 2 Oct


def test_parsing_days_and_intervals() -> None:
    assert parse_days("sat-mon") == [5, 6, 0]
    assert parse_days("daily") == list(range(7))
    assert parse_interval("00:00-24:00") == (0, 1440)
    for bad in ("8-20", "20:00-08:00", "10:00-24:30"):
        with pytest.raises(HoursError):
            parse_interval(bad)
    with pytest.raises(HoursError):
        parse_days("someday")
    with pytest.raises(HoursError):
        build_hours("Mars/Olympus", None, [])
    with pytest.raises(ValueError):
        OpeningHours().is_open(datetime(2026, 1, 1))  # naive times are refused
