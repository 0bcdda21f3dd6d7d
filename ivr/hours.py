"""Opening hours and holidays for an ``hours`` node; the default is 7×24 (SPEC-Q3).

Wall-clock time is an input (an aware ``datetime``), never read here.  Weekly hours are
intervals of minutes per weekday; a holiday closes the whole day.  China keeps one UTC offset
all year, but a zone name is used so centres elsewhere need no code change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60
DEFAULT_TIMEZONE = "Asia/Shanghai"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
# "08:00-20:00"; 24:00 is allowed as an end so a whole day is "00:00-24:00".
_INTERVAL = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")

Interval = tuple[int, int]  # [start, end) in minutes after midnight
ALL_DAY: tuple[Interval, ...] = ((0, MINUTES_PER_DAY),)


class HoursError(ValueError):
    """A schedule field is malformed; the loader adds file, line and node."""


@dataclass(frozen=True, slots=True)
class OpeningHours:
    timezone: str = DEFAULT_TIMEZONE
    weekly: tuple[tuple[Interval, ...], ...] = field(default=(ALL_DAY,) * 7)
    holidays: frozenset[date] = frozenset()

    def is_open(self, wall_time: datetime) -> bool:
        if wall_time.tzinfo is None:
            raise ValueError("wall_time must be timezone-aware")
        local = wall_time.astimezone(ZoneInfo(self.timezone))
        if local.date() in self.holidays:
            return False
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.weekly[local.weekday()])


def parse_interval(text: str) -> Interval:
    match = _INTERVAL.match(text.strip())
    if not match:
        raise HoursError(f"interval {text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end > MINUTES_PER_DAY or end <= start:
        raise HoursError(f"interval {text!r} must end after it starts, by 24:00")
    return (start, end)


def parse_days(text: str) -> list[int]:
    """'mon-fri' → [0..4], 'sat' → [5], 'daily' → all seven."""
    text = text.strip().lower()
    if text == "daily":
        return list(range(7))
    if "-" in text:
        first, last = text.split("-", 1)
        if first not in WEEKDAYS or last not in WEEKDAYS:
            raise HoursError(f"day range {text!r}: use mon..sun")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last)
        return list(range(a, b + 1)) if a <= b else [*range(a, 7), *range(0, b + 1)]
    if text not in WEEKDAYS:
        raise HoursError(f"day {text!r}: use mon..sun, a range like mon-fri, or daily")
    return [WEEKDAYS.index(text)]


def build_hours(
    timezone: str | None,
    weekly: Mapping[str, Sequence[str]] | None,
    holidays: Sequence[str],
) -> OpeningHours:
    """OpeningHours from YAML values; days not named in ``weekly`` are closed."""
    zone = timezone or DEFAULT_TIMEZONE
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HoursError(f"unknown timezone {zone!r}") from exc
    days: list[list[Interval]] = [[] for _ in range(7)]
    if weekly is None:
        days = [list(ALL_DAY) for _ in range(7)]
    else:
        for key, intervals in weekly.items():
            for day in parse_days(key):
                days[day].extend(parse_interval(i) for i in intervals)
    try:
        holiday_dates = frozenset(date.fromisoformat(str(h)) for h in holidays)
    except ValueError as exc:
        raise HoursError(f"holiday: {exc} (use YYYY-MM-DD)") from exc
    return OpeningHours(
        timezone=zone,
        weekly=tuple(tuple(sorted(d)) for d in days),
        holidays=holiday_dates,
    )
