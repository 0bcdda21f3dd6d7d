"""``hotline report``: the SPEC-Q2 figures per queue and interval, from the stored call
records, as a table or CSV.

The report reads the database only, so its figures are the same before and after a restart
of the service. Intervals are aligned to the clock in the report's timezone (a 15-minute
report starts at :00, :15, :30, :45; a daily one at local midnight). A call belongs to the
interval in which it asked for an agent, whatever happened to it later.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError

from hotline.db.engine import Database, DatabaseUrlError
from hotline.db.records import StoredCall
from hotline.db.store import EventStore

# SPEC-Q1: answered within 10 s; issue 5: abandons this short are counted apart (they
# hung up before an agent could reasonably have answered). Both follow acd/config.py.
DEFAULT_SERVICE_LEVEL_SECONDS = 10.0
DEFAULT_SHORT_ABANDON_SECONDS = 5.0

INTERVALS: dict[str, timedelta] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}

ALL_QUEUES = "(all)"


class ReportError(Exception):
    """A report that cannot be made as asked; the message says why, for the terminal."""


@dataclass(frozen=True, slots=True)
class Figures:
    """The SPEC-Q2 figures of one group of calls. Ratios are fractions (0..1), None when
    nothing was there to divide by; durations are seconds."""

    offered: int
    answered: int
    answered_in_time: int
    abandoned: int
    short_abandoned: int
    answer_rate: float | None  # 接通率: answered ÷ asked for an agent
    service_level: float | None  # answered within X ÷ answered
    service_level_offered: float | None  # within X ÷ (answered + abandoned − short)
    abandon_rate: float | None  # abandoned (short ones included) ÷ asked for an agent
    asa: float | None  # mean wait of answered calls
    aht: float | None  # mean talk + hold + wrap-up of answered calls
    first_contact_resolution: float | None  # resolved ÷ wrap-ups that said either way
    satisfaction: float | None  # 满意率: satisfied ÷ surveyed


@dataclass(frozen=True, slots=True)
class ReportRow:
    interval_start: datetime
    queue: str
    figures: Figures


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def compute_figures(
    calls: Sequence[StoredCall], *, service_level_seconds: float, short_abandon_seconds: float
) -> Figures:
    """SPEC-Q2 figures of ``calls`` (all of which asked for an agent)."""
    answered = [call for call in calls if call.answered_at is not None]
    abandoned = [call for call in calls if call.answered_at is None and call.abandoned_at]
    waits = [call.wait_seconds for call in answered if call.wait_seconds is not None]
    in_time = sum(1 for wait in waits if wait <= service_level_seconds)
    short = sum(
        1 for call in abandoned
        if call.wait_seconds is not None and call.wait_seconds < short_abandon_seconds
    )
    resolved = [c.resolved_first_contact for c in answered if c.resolved_first_contact is not None]
    surveyed = [call.satisfied for call in calls if call.satisfied is not None]
    return Figures(
        offered=len(calls),
        answered=len(answered),
        answered_in_time=in_time,
        abandoned=len(abandoned),
        short_abandoned=short,
        answer_rate=_ratio(len(answered), len(calls)),
        service_level=_ratio(in_time, len(answered)),
        service_level_offered=_ratio(in_time, len(answered) + len(abandoned) - short),
        abandon_rate=_ratio(len(abandoned), len(calls)),
        asa=_mean(waits),
        aht=_mean([c.talk_seconds + c.hold_seconds + c.wrapup_seconds for c in answered]),
        first_contact_resolution=_ratio(sum(resolved), len(resolved)),
        satisfaction=_ratio(sum(surveyed), len(surveyed)),
    )


def interval_starts(start: datetime, end: datetime, step: timedelta | None) -> list[datetime]:
    """Interval starts covering ``[start, end)`` in ``start``'s timezone, on the clock grid."""
    if step is None:
        return [start]
    if step >= timedelta(days=1):
        first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        minutes = int(step.total_seconds() // 60)
        minute_of_day = start.hour * 60 + start.minute
        floored = minute_of_day - minute_of_day % minutes
        first = start.replace(hour=floored // 60, minute=floored % 60, second=0, microsecond=0)
    starts = []
    current = first
    while current < end:
        starts.append(current)
        # Wall-clock arithmetic in the zone, so a day is a calendar day even across DST.
        current = current + step
    return starts


def build_rows(
    calls: Sequence[StoredCall],
    starts: Sequence[datetime],
    end: datetime,
    *,
    queue: str | None,
    figures: Callable[[Sequence[StoredCall]], Figures],
) -> list[ReportRow]:
    bounds = [start.timestamp() for start in starts] + [end.timestamp()]
    rows: list[ReportRow] = []
    queues = sorted({call.queue or "" for call in calls}) if queue is None else [queue]
    for index, start in enumerate(starts):
        low, high = bounds[index], bounds[index + 1]
        in_interval = [
            call for call in calls
            if call.entered_queue_at is not None and low <= call.entered_queue_at < high
        ]
        for name in queues:
            group = [call for call in in_interval if (call.queue or "") == name]
            rows.append(ReportRow(start, name, figures(group)))
        if queue is None and len(queues) > 1:
            rows.append(ReportRow(start, ALL_QUEUES, figures(in_interval)))
    return rows


# Column title, CSV name, and how a figure reads in the table and in the CSV.
COLUMNS: tuple[tuple[str, str, Callable[[Figures], float | int | None], str], ...] = (
    ("Offered", "offered", lambda f: f.offered, "count"),
    ("Answered", "answered", lambda f: f.answered, "count"),
    ("Abandoned", "abandoned", lambda f: f.abandoned, "count"),
    ("Short ab.", "short_abandoned", lambda f: f.short_abandoned, "count"),
    ("接通率 %", "answer_rate_pct", lambda f: f.answer_rate, "percent"),
    ("SL %", "service_level_pct", lambda f: f.service_level, "percent"),
    ("SL(offered) %", "service_level_offered_pct", lambda f: f.service_level_offered, "percent"),
    ("Abandon %", "abandon_rate_pct", lambda f: f.abandon_rate, "percent"),
    ("ASA s", "asa_seconds", lambda f: f.asa, "seconds"),
    ("AHT s", "aht_seconds", lambda f: f.aht, "seconds"),
    ("FCR %", "first_contact_resolution_pct", lambda f: f.first_contact_resolution, "percent"),
    ("满意率 %", "satisfaction_pct", lambda f: f.satisfaction, "percent"),
)


def _format(value: float | int | None, kind: str, empty: str) -> str:
    if value is None:
        return empty
    if kind == "count":
        return str(value)
    if kind == "percent":
        return f"{value * 100:.1f}"
    return f"{value:.1f}"


def write_csv(rows: Sequence[ReportRow], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["interval_start", "queue", *(column[1] for column in COLUMNS)])
    for row in rows:
        writer.writerow([
            row.interval_start.isoformat(),
            row.queue,
            *(_format(getter(row.figures), kind, "") for _, _, getter, kind in COLUMNS),
        ])


def write_table(rows: Sequence[ReportRow], out: TextIO, title: str) -> None:
    table = Table(title=title)
    table.add_column("Interval")
    table.add_column("Queue")
    for heading, *_ in COLUMNS:
        table.add_column(heading, justify="right")
    for row in rows:
        table.add_row(
            row.interval_start.strftime("%Y-%m-%d %H:%M"),
            row.queue,
            *(_format(getter(row.figures), kind, "–") for _, _, getter, kind in COLUMNS),
        )
    Console(file=out, width=200, color_system=None).print(table)


def _zone(name: str | None) -> tzinfo:
    if name is None:
        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ReportError(f"--tz: unknown timezone {name!r}") from error


def _moment(option: str, text: str, zone: tzinfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise ReportError(
            f"{option}: {text!r} is not a date or time (use 2026-11-27 or 2026-11-27T09:00)"
        ) from error
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline report", description="SPEC-Q2 call-centre figures from the database."
    )
    parser.add_argument("--from", dest="start", required=True, help="start, ISO date or time")
    parser.add_argument("--to", dest="end", required=True, help="end (exclusive)")
    parser.add_argument("--queue", default=None, help="only this queue (default: each queue)")
    parser.add_argument("--csv", action="store_true", help="CSV instead of a table")
    parser.add_argument("--interval", choices=sorted(INTERVALS), default=None,
                        help="one row per interval (default: one for the whole range)")
    parser.add_argument("--tz", default=None,
                        help="timezone of --from/--to and intervals (default: the machine's)")
    parser.add_argument("--service-level", type=float, default=DEFAULT_SERVICE_LEVEL_SECONDS,
                        help="answered within this many seconds counts in service level")
    parser.add_argument("--short-abandon", type=float, default=DEFAULT_SHORT_ABANDON_SECONDS,
                        help="abandons before this many seconds are counted apart")
    return parser


async def _load(url: str, start: float, end: float, queue: str | None) -> list[StoredCall]:
    database = Database.open(url)
    try:
        async with EventStore(database) as store:
            return await store.load_calls(start, end, queue=queue)
    except (OperationalError, ProgrammingError) as error:
        raise ReportError(
            f"cannot read call records from the database ({error.orig}); "
            "is it migrated? run `hotline db upgrade`"
        ) from error
    finally:
        await database.close()


def run_report(
    argv: Sequence[str] | None = None,
    *,
    database_url: str,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run ``hotline report`` with ``argv``; returns the exit status (0 ok, 1 error, 2 usage)."""
    import sys

    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        zone = _zone(args.tz)
        start = _moment("--from", args.start, zone)
        end = _moment("--to", args.end, zone)
        if end <= start:
            raise ReportError("--to must be after --from")
        calls = asyncio.run(_load(database_url, start.timestamp(), end.timestamp(), args.queue))
    except (ReportError, DatabaseUrlError) as error:
        print(f"hotline report: {error}", file=err)
        return 1

    def figures(group: Sequence[StoredCall]) -> Figures:
        return compute_figures(
            group,
            service_level_seconds=args.service_level,
            short_abandon_seconds=args.short_abandon,
        )

    rows = build_rows(
        calls, interval_starts(start, end, INTERVALS.get(args.interval or "")), end,
        queue=args.queue, figures=figures,
    )
    if args.csv:
        write_csv(rows, out)
    else:
        title = (f"Hotline {start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} {start:%Z}, "
                 f"service level {args.service_level:g} s")
        write_table(rows, out, title)
    return 0
