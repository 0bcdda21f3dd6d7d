"""``hotline report`` on the scripted day (tests/hotline/db_scripted_day.py): the table and
the CSV show the SPEC-Q2 figures worked out by hand below, on SQLite and PostgreSQL, read
back from the database (the event log rebuilt into records by acd.records)."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from db_scripted_day import SCRIPTED_DAY

from acd.config import QueueConfig
from hotline.db.directory import sync_directory
from hotline.db.engine import Database
from hotline.db.store import EventStore
from hotline.report import run_report

HEADER = [
    "interval_start",
    "queue",
    "offered",
    "answered",
    "answered_within",
    "abandoned",
    "short_abandoned",
    "overflowed",
    "callbacks_requested",
    "answer_rate_pct",
    "service_level_pct",
    "service_level_abandons_pct",
    "abandon_rate_pct",
    "asa_seconds",
    "aht_seconds",
    "fcr_pct",
    "satisfaction_pct",
    "longest_wait_seconds",
    "occupancy_pct",
]

# Definitions: acd/metrics.py. By hand, from the comments of db_scripted_day.py:
# general: offered 6 (c1 c2 c3 c4 c6 c7). Answered 4: c1 (wait 4), c2 (20), c7 (exactly 10:
#   "within 10 s") inbound, c6 by callback. In SL 2 (c1, c7). c3 is a short abandon (3 s ≤ 5),
#   c4 abandoned (30 s). One callback requested.
#   接通率 4/6 = 66.7 %; SL 2/3 inbound = 66.7 %; SL+abandons 2/(3 + 1) = 50.0 %;
#   abandon 1/(6 − 1) = 20.0 %; ASA (4 + 20 + 10)/3 = 11.3 s;
#   AHT per handling: c1 120 talk + 10 wrap = 130; c2 150 talk + 30 hold + 15 wrap = 195;
#   c6 120 + 10 = 130; c7 60 + 20 = 80 → 535/4 = 133.75, shown 133.8;
#   FCR 3/4 (c2 unresolved) = 75.0 %; 满意率 2/3 (c2 not; c6 not surveyed) = 66.7 %;
#   longest wait: c6, 920 s to the callback's answer.
GENERAL_DAY = [
    "6",
    "4",
    "2",
    "1",
    "1",
    "0",
    "1",
    "66.7",
    "66.7",
    "50.0",
    "20.0",
    "11.3",
    "133.8",
    "75.0",
    "66.7",
    "920.0",
    "",
]
# billing: c5 answered after 8 s, 60 s talk, wrap-up ran out after 60 s: AHT 120; no
#   submitted wrap-up (no FCR), no survey.
BILLING_DAY = [
    "1",
    "1",
    "1",
    "0",
    "0",
    "0",
    "0",
    "100.0",
    "100.0",
    "100.0",
    "0.0",
    "8.0",
    "120.0",
    "",
    "",
    "8.0",
    "",
]
# all: answered 5 of 7, 3 in SL out of 4 inbound; SL+abandons 3/(4 + 1) = 60.0 %; abandon
#   1/(7 − 1) = 16.7 %; ASA (4 + 20 + 10 + 8)/4 = 10.5; AHT (535 + 120)/5 = 131.0.
#   Occupancy: a1 staffed 08:55–09:30 = 2100 s, of which talking 120 + wrap-up 10 = 130 s
#   → 6.2 %; a2 reported no states.
ALL_DAY = [
    "7",
    "5",
    "3",
    "1",
    "1",
    "0",
    "1",
    "71.4",
    "75.0",
    "60.0",
    "16.7",
    "10.5",
    "131.0",
    "75.0",
    "66.7",
    "920.0",
    "6.2",
]
NOTHING = ["0", "0", "0", "0", "0", "0", "0", "", "", "", "", "", "", "", "", "0.0", ""]


@pytest.fixture
async def scripted_url(database_url: str) -> str:
    database = Database.open(database_url)
    try:
        async with EventStore(database) as store:
            await store.append(SCRIPTED_DAY)
    finally:
        await database.close()
    return database_url


async def report(url: str, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    # run_report is the synchronous CLI entry point: it runs its own event loop.
    status = await asyncio.to_thread(run_report, list(args), database_url=url, out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_csv_for_the_day_per_queue_and_in_total(scripted_url: str) -> None:
    status, out, err = await report(
        scripted_url, "--from", "2026-11-27", "--to", "2026-11-28", "--tz", "UTC", "--csv"
    )
    assert (status, err) == (0, "")
    start = "2026-11-27T00:00:00+00:00"
    assert csv_rows(out) == [
        HEADER,
        [start, "billing", *BILLING_DAY],
        [start, "general", *GENERAL_DAY],
        [start, "(all)", *ALL_DAY],
    ]


async def test_hourly_csv_for_one_queue(scripted_url: str) -> None:
    status, out, _ = await report(
        scripted_url,
        "--from",
        "2026-11-27T09:00",
        "--to",
        "2026-11-27T15:00",
        "--tz",
        "UTC",
        "--queue",
        "general",
        "--interval",
        "1h",
        "--csv",
    )
    assert status == 0
    rows = csv_rows(out)[1:]
    assert [row[0][11:16] for row in rows] == ["09:00", "10:00", "11:00", "12:00", "13:00", "14:00"]
    assert {row[1] for row in rows} == {"general"}
    # 09:00: c1 (in SL) and c2 answered, c3 short abandon, c4 abandoned.
    #   SL 1/2; SL+abandons 1/(2 + 1) = 33.3 %; abandon 1/(4 − 1) = 33.3 %; ASA 12.0;
    #   AHT (130 + 195)/2 = 162.5; FCR 1/2; 满意率 1/2; longest wait c4's 30 s.
    assert rows[0][2:] == [
        "4",
        "2",
        "1",
        "1",
        "1",
        "0",
        "0",
        "50.0",
        "50.0",
        "33.3",
        "33.3",
        "12.0",
        "162.5",
        "50.0",
        "50.0",
        "30.0",
        "",
    ]
    # 10:00: c6 only, answered by callback: in 接通率, not in service level or ASA.
    assert rows[1][2:] == [
        "1",
        "1",
        "0",
        "0",
        "0",
        "0",
        "1",
        "100.0",
        "",
        "",
        "0.0",
        "",
        "130.0",
        "100.0",
        "",
        "920.0",
        "",
    ]
    # No calls from 11:00 to 14:00: counts of zero, no ratios.
    assert rows[2][2:] == rows[3][2:] == rows[4][2:] == NOTHING
    # 14:00: c7, answered after exactly 10 s, resolved and satisfied.
    assert rows[5][2:] == [
        "1",
        "1",
        "1",
        "0",
        "0",
        "0",
        "0",
        "100.0",
        "100.0",
        "100.0",
        "0.0",
        "10.0",
        "80.0",
        "100.0",
        "100.0",
        "10.0",
        "",
    ]


async def test_occupancy_per_hour_for_all_queues(scripted_url: str) -> None:
    status, out, _ = await report(
        scripted_url,
        "--from",
        "2026-11-27T08:00",
        "--to",
        "2026-11-27T10:00",
        "--tz",
        "UTC",
        "--interval",
        "1h",
        "--csv",
    )
    assert status == 0
    rows = [row for row in csv_rows(out)[1:] if row[1] == "(all)"]
    # 08:00: a1 ready 08:55–09:00, no call: 0 %. 09:00: staffed 09:00–09:30 (1800 s), busy
    # 130 s (c1's talk and wrap-up; ringing is not busy) → 7.2 %. Lunch is not staffed.
    assert [row[-1] for row in rows] == ["0.0", "7.2"]


async def test_times_and_intervals_are_read_in_the_given_timezone(scripted_url: str) -> None:
    # 17:00–18:00 in Shanghai is 09:00–10:00 UTC: c1 to c4.
    status, out, _ = await report(
        scripted_url,
        "--from",
        "2026-11-27T17:00",
        "--to",
        "2026-11-27T18:00",
        "--tz",
        "Asia/Shanghai",
        "--queue",
        "general",
        "--csv",
    )
    assert status == 0
    [row] = csv_rows(out)[1:]
    assert row[0] == "2026-11-27T17:00:00+08:00"
    assert row[2:6] == ["4", "2", "1", "1"]


async def test_table_shows_the_same_figures(scripted_url: str) -> None:
    status, out, _ = await report(
        scripted_url, "--from", "2026-11-27", "--to", "2026-11-28", "--tz", "UTC"
    )
    assert status == 0
    assert "接通率 %" in out and "满意率 %" in out
    cells = {
        row[1]: row[2:]
        for line in out.splitlines()
        if (row := [cell.strip() for cell in line.strip("│┃ ").split("│")]) and len(row) == 19
    }
    assert cells["general"] == [cell or "–" for cell in GENERAL_DAY]
    assert cells["billing"] == [cell or "–" for cell in BILLING_DAY]
    assert cells["(all)"] == ALL_DAY


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--from", "yesterday", "--to", "2026-11-28"], "--from: 'yesterday' is not a date"),
        (["--from", "2026-11-28", "--to", "2026-11-27"], "--to must be after --from"),
        (["--from", "2026-11-27", "--to", "2026-11-28", "--tz", "Mars/Base"], "unknown timezone"),
    ],
)
async def test_bad_arguments_are_explained(
    scripted_url: str, args: list[str], complaint: str
) -> None:
    status, out, err = await report(scripted_url, *args)
    assert (status, out) == (1, "")
    assert complaint in err


async def test_a_database_without_the_schema_is_explained(tmp_path: Path) -> None:
    status, _, err = await report(
        f"sqlite:///{tmp_path / 'empty.db'}", "--from", "2026-11-27", "--to", "2026-11-28"
    )
    assert status == 1
    assert "hotline db upgrade" in err


async def test_each_queue_is_measured_against_its_configured_threshold(scripted_url: str) -> None:
    database = Database.open(scripted_url)
    try:
        await sync_directory(database, [QueueConfig("general", service_level_seconds=5.0)], [])
    finally:
        await database.close()
    args = ("--from", "2026-11-27", "--to", "2026-11-28", "--tz", "UTC", "--csv")
    _, configured, _ = await report(scripted_url, *args, "--queue", "general")
    _, overridden, _ = await report(
        scripted_url, *args, "--queue", "general", "--service-level", "10"
    )
    # Within 5 s only c1 (4 s) of the 3 inbound answers; within 10 s also c7.
    assert csv_rows(configured)[1][4] == "1"
    assert csv_rows(overridden)[1][4] == "2"
