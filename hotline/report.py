"""``hotline report``: the SPEC-Q2 figures per queue and interval, from the stored call
records, as a table or CSV.

The report reads the database only, so its figures are the same before and after a restart
of the service: the event log of the calls in range is rebuilt into per-call records by
``acd.records`` and measured by ``acd.metrics``, the same code the live API and the
simulator use. Intervals are aligned to the clock in the report's timezone (a 15-minute
report starts at :00, :15, :30, :45; a daily one at local midnight). A call belongs to the
interval in which it asked for an agent, whatever happened to it later.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError

from acd.config import DEFAULT_SERVICE_LEVEL_SECONDS, DEFAULT_SHORT_ABANDON_SECONDS, QueueConfig
from acd.events import AgentStateChanged
from acd.metrics import Metrics, compute, occupancy
from acd.records import AgentTimeTracker, CallRecord
from acd.states import AgentState
from hotline.db.directory import QueueThresholds, load_queue_thresholds
from hotline.db.engine import Database, DatabaseUrlError
from hotline.db.history import load_agent_states, load_call_records
from hotline.db.store import EventStore

INTERVALS: dict[str, timedelta] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}

ALL_QUEUES = "(all)"

# Agent time is tracked in quarter hours, the smallest report interval; every report
# interval is a whole number of them in any real timezone (offsets are multiples of 15 min).
AGENT_TIME_BUCKET = timedelta(minutes=15)


class ReportError(Exception):
    """A report that cannot be made as asked; the message says why, for the terminal."""


@dataclass(frozen=True, slots=True)
class ReportRow:
    interval_start: datetime
    queue: str
    metrics: Metrics
    occupancy: float | None  # only on rows of all queues: agents serve several queues


def interval_starts(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """Interval starts covering ``[start, end)`` in ``start``'s timezone, on the clock grid
    (the first one at or before ``start``)."""
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


@dataclass(frozen=True, slots=True)
class ReportData:
    """What the report reads from the database: the finished calls that asked for an agent
    in the range, and the agents' state changes from a little before it."""

    records: list[CallRecord]
    agent_events: list[AgentStateChanged]


def build_rows(
    data: ReportData, starts: Sequence[datetime], end: datetime, *, queue: str | None
) -> list[ReportRow]:
    """One row per interval and queue (plus one for all queues unless ``queue`` is given),
    the figures computed by ``acd.metrics`` from the records of calls queued in it."""
    bounds = [start.timestamp() for start in starts] + [end.timestamp()]
    queues = sorted({record.queue for record in data.records}) if queue is None else [queue]
    bucket = AGENT_TIME_BUCKET.total_seconds()
    tracker = AgentTimeTracker(bucket, utc_offset=_utc_offset(starts[0]))
    tracker.feed(data.agent_events)
    tracker.close(bounds[-1])
    rows: list[ReportRow] = []
    for index, start in enumerate(starts):
        low, high = bounds[index], bounds[index + 1]
        in_interval = [r for r in data.records if low <= r.queued_at < high]
        for name in queues:
            group = [record for record in in_interval if record.queue == name]
            rows.append(ReportRow(start, name, compute(group), None))
        if queue is None:
            seconds: dict[AgentState, float] = {}
            for (_agent, cell), per_state in tracker.seconds.items():
                if low <= cell < high:
                    for agent_state, value in per_state.items():
                        seconds[agent_state] = seconds.get(agent_state, 0.0) + value
            rows.append(ReportRow(start, ALL_QUEUES, compute(in_interval), occupancy(seconds)))
    return rows


def _utc_offset(moment: datetime) -> float:
    offset = moment.utcoffset()
    return 0.0 if offset is None else offset.total_seconds()


Getter = Callable[[ReportRow], float | int | None]

# Column title, CSV name, how to get the figure, and how it reads. Definitions: acd/metrics.py.
COLUMNS: tuple[tuple[str, str, Getter, str], ...] = (
    ("Offered", "offered", lambda r: r.metrics.offered, "count"),
    ("Answered", "answered", lambda r: r.metrics.answered, "count"),
    ("In SL", "answered_within", lambda r: r.metrics.answered_within, "count"),
    ("Abandoned", "abandoned", lambda r: r.metrics.abandoned, "count"),
    ("Short ab.", "short_abandoned", lambda r: r.metrics.short_abandoned, "count"),
    ("Overflow", "overflowed", lambda r: r.metrics.overflowed, "count"),
    ("Callbacks", "callbacks_requested", lambda r: r.metrics.callbacks_requested, "count"),
    ("接通率 %", "answer_rate_pct", lambda r: r.metrics.answer_rate, "percent"),
    ("SL %", "service_level_pct", lambda r: r.metrics.service_level, "percent"),
    (
        "SL+ab. %",
        "service_level_abandons_pct",
        lambda r: r.metrics.service_level_abandons,
        "percent",
    ),
    ("Abandon %", "abandon_rate_pct", lambda r: r.metrics.abandon_rate, "percent"),
    ("ASA s", "asa_seconds", lambda r: r.metrics.asa, "seconds"),
    ("AHT s", "aht_seconds", lambda r: r.metrics.aht, "seconds"),
    ("FCR %", "fcr_pct", lambda r: r.metrics.fcr, "percent"),
    ("满意率 %", "satisfaction_pct", lambda r: r.metrics.satisfaction, "percent"),
    ("Max wait s", "longest_wait_seconds", lambda r: r.metrics.longest_wait, "seconds"),
    ("Occupancy %", "occupancy_pct", lambda r: r.occupancy, "percent"),
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
        writer.writerow(
            [
                row.interval_start.isoformat(),
                row.queue,
                *(_format(getter(row), kind, "") for _, _, getter, kind in COLUMNS),
            ]
        )


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
            *(_format(getter(row), kind, "–") for _, _, getter, kind in COLUMNS),
        )
    Console(file=out, width=240, color_system=None).print(table)


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
    parser.add_argument(
        "--from",
        dest="start",
        required=True,
        help="start, ISO date or time (rounded down to the interval grid)",
    )
    parser.add_argument("--to", dest="end", required=True, help="end (exclusive)")
    parser.add_argument("--queue", default=None, help="only this queue (default: each queue)")
    parser.add_argument("--csv", action="store_true", help="CSV instead of a table")
    parser.add_argument(
        "--interval",
        choices=sorted(INTERVALS),
        default=None,
        help="one row per interval (default: one for the whole range)",
    )
    parser.add_argument(
        "--tz", default=None, help="timezone of --from/--to and intervals (default: the machine's)"
    )
    parser.add_argument(
        "--service-level",
        type=float,
        default=None,
        help="answered within this many seconds counts in service level "
        "(default: each queue's configured value, else 10)",
    )
    parser.add_argument(
        "--short-abandon",
        type=float,
        default=None,
        help="abandons within this many seconds are counted apart "
        "(default: each queue's configured value, else 5)",
    )
    return parser


def _queue_configs(
    names: Iterable[str],
    configured: Mapping[str, QueueThresholds],
    service_level: float | None,
    short_abandon: float | None,
) -> list[QueueConfig]:
    """Thresholds per queue: the command line's, else the queue's as configured (kept in
    the directory by ``sync_directory``), else the ACD's defaults."""
    out = []
    for name in names:
        known = configured.get(name)
        level = service_level
        if level is None:
            level = known.service_level_seconds if known else DEFAULT_SERVICE_LEVEL_SECONDS
        short = short_abandon
        if short is None:
            short = DEFAULT_SHORT_ABANDON_SECONDS
            if known is not None and known.short_abandon_seconds is not None:
                short = known.short_abandon_seconds
        out.append(QueueConfig(name, service_level_seconds=level, short_abandon_seconds=short))
    return out


async def _load(
    url: str,
    start: datetime,
    end: datetime,
    queue: str | None,
    service_level: float | None,
    short_abandon: float | None,
) -> ReportData:
    database = Database.open(url)
    try:
        async with EventStore(database) as store:
            names = [queue] if queue is not None else await store.queue_names()
            queues = _queue_configs(
                names, await load_queue_thresholds(database), service_level, short_abandon
            )
            records = await load_call_records(
                store, start.timestamp(), end.timestamp(), queue=queue, queues=queues
            )
            agent_events = await load_agent_states(store, start.timestamp(), end.timestamp())
    except (OperationalError, ProgrammingError) as error:
        raise ReportError(
            f"cannot read call records from the database ({error.orig}); "
            "is it migrated? run `hotline db upgrade`"
        ) from error
    finally:
        await database.close()
    return ReportData(records=records, agent_events=agent_events)


def run_report(
    argv: Sequence[str] | None = None,
    *,
    database_url: str,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run ``hotline report`` with ``argv``; returns the exit status (0 ok, 1 error, 2 usage).

    Calls still in progress at the time of the report (not ended, or wrap-up not finished)
    are not counted yet: ``acd.records`` closes a record only when all of it is known.
    """
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
        # The range starts on the interval grid (a quarter hour without --interval), so that
        # every interval, and the agent time in it, is whole.
        starts = interval_starts(start, end, INTERVALS.get(args.interval, AGENT_TIME_BUCKET))
        start = starts[0]
        if args.service_level is not None and args.service_level <= 0:
            raise ReportError("--service-level must be a positive number of seconds")
        if args.short_abandon is not None and args.short_abandon < 0:
            raise ReportError("--short-abandon must not be negative")
        data = asyncio.run(
            _load(database_url, start, end, args.queue, args.service_level, args.short_abandon)
        )
    except (ReportError, DatabaseUrlError) as error:
        print(f"hotline report: {error}", file=err)
        return 1

    if args.interval is None:
        starts = [start]
    rows = build_rows(data, starts, end, queue=args.queue)
    if args.csv:
        write_csv(rows, out)
    else:
        level = "as configured" if args.service_level is None else f"{args.service_level:g} s"
        title = (
            f"Hotline {start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} {start:%Z}, "
            f"service level {level}"
        )
        write_table(rows, out, title)
    return 0
