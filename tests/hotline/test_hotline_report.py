"""``hotline report`` on the scripted day (tests/hotline/db_scripted_day.py): the table and
the CSV show the SPEC-Q2 figures worked out by hand below, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from db_scripted_day import SCRIPTED_DAY

from hotline.db.engine import Database
from hotline.db.store import EventStore
from hotline.report import run_report

HEADER = [
    "interval_start", "queue", "offered", "answered", "abandoned", "short_abandoned",
    "answer_rate_pct", "service_level_pct", "service_level_offered_pct", "abandon_rate_pct",
    "asa_seconds", "aht_seconds", "first_contact_resolution_pct", "satisfaction_pct",
]

# general: c1 (wait 4), c2 (wait 20, late), c7 (wait exactly 10: in time) answered; c3 (3 s,
# short) and c4 (30 s) abandoned; c6 left for a callback. Offered 6.
#   接通率 3/6 = 50.0 %; SL 2/3 = 66.7 %; SL(offered) 2/(3 + 2 - 1) = 50.0 %;
#   abandon 2/6 = 33.3 %; ASA (4 + 20 + 10)/3 = 11.3 s;
#   AHT: c1 120 talk + 10 wrap = 130; c2 150 talk + 30 hold + 15 wrap = 195; c7 60 + 20 = 80
#   → 405/3 = 135.0 s; FCR 2/3 (c2 unresolved) = 66.7 %; 满意率 2/3 (c2 not) = 66.7 %.
GENERAL_DAY = ["6", "3", "2", "1", "50.0", "66.7", "50.0", "33.3", "11.3", "135.0", "66.7",
               "66.7"]
# billing: c5 answered after 8 s, 60 s talk, wrap-up ran out after 60 s; no survey, no FCR.
BILLING_DAY = ["1", "1", "0", "0", "100.0", "100.0", "100.0", "0.0", "8.0", "120.0", "", ""]
# all: 4 of 7 answered, 3 in time; SL(offered) 3/(4 + 2 - 1) = 60.0 %; ASA 42/4 = 10.5 s;
# AHT 525/4 = 131.25 s, printed to one decimal as 131.2 (round half to even).
ALL_DAY = ["7", "4", "2", "1", "57.1", "75.0", "60.0", "28.6", "10.5", "131.2", "66.7", "66.7"]


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
    status = await asyncio.to_thread(
        run_report, list(args), database_url=url, out=out, err=err
    )
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
        scripted_url, "--from", "2026-11-27T09:00", "--to", "2026-11-27T15:00", "--tz", "UTC",
        "--queue", "general", "--interval", "1h", "--csv",
    )
    assert status == 0
    rows = csv_rows(out)[1:]
    assert [row[0][11:16] for row in rows] == ["09:00", "10:00", "11:00", "12:00", "13:00",
                                               "14:00"]
    assert {row[1] for row in rows} == {"general"}
    # 09:00: c1, c2 answered (c1 in time), c3 short and c4 abandoned.
    #   SL 1/2; SL(offered) 1/(2 + 2 - 1) = 33.3 %; ASA 12.0; AHT (130 + 195)/2 = 162.5.
    assert rows[0][2:] == ["4", "2", "2", "1", "50.0", "50.0", "33.3", "50.0", "12.0", "162.5",
                           "50.0", "50.0"]
    # 10:00: c6 only, which left for a callback: nothing answered, nothing abandoned.
    assert rows[1][2:] == ["1", "0", "0", "0", "0.0", "", "", "0.0", "", "", "", ""]
    # No calls from 11:00 to 14:00: counts of zero, no ratios.
    assert rows[2][2:] == ["0", "0", "0", "0", "", "", "", "", "", "", "", ""]
    # 14:00: c7, answered after exactly 10 s (inside "within 10 s"), resolved and satisfied.
    assert rows[5][2:] == ["1", "1", "0", "0", "100.0", "100.0", "100.0", "0.0", "10.0",
                           "80.0", "100.0", "100.0"]


async def test_times_and_intervals_are_read_in_the_given_timezone(scripted_url: str) -> None:
    # 17:00–18:00 in Shanghai is 09:00–10:00 UTC: c1 to c4.
    status, out, _ = await report(
        scripted_url, "--from", "2026-11-27T17:00", "--to", "2026-11-27T18:00",
        "--tz", "Asia/Shanghai", "--queue", "general", "--csv",
    )
    assert status == 0
    [row] = csv_rows(out)[1:]
    assert row[0] == "2026-11-27T17:00:00+08:00"
    assert row[2:6] == ["4", "2", "2", "1"]


async def test_table_shows_the_same_figures(scripted_url: str) -> None:
    status, out, _ = await report(
        scripted_url, "--from", "2026-11-27", "--to", "2026-11-28", "--tz", "UTC"
    )
    assert status == 0
    assert "接通率 %" in out and "满意率 %" in out
    cells = {
        row[1]: row[2:]
        for line in out.splitlines()
        if (row := [cell.strip() for cell in line.strip("│┃ ").split("│")]) and len(row) == 14
    }
    assert cells["general"] == GENERAL_DAY
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
