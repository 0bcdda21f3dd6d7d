"""Issue 5: "an event that was acknowledged is never lost: kill -9 of the service loses no
finished call's record". A child process appends calls and prints each acknowledgement; it is
killed with SIGKILL mid-stream; every acknowledged call is in the database afterwards."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import select

from hotline.db.engine import Database
from hotline.db.models import CallRow, EventLogRow

CHILD = Path(__file__).with_name("durability_child.py")
ACKS_BEFORE_KILL = 60
# Generous: the child needs a second or two to import and open the database on a busy box.
READ_TIMEOUT = 120.0


async def test_kill_9_loses_no_acknowledged_call(database_url: str) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        database_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    acked: dict[int, str] = {}
    try:
        while len(acked) < ACKS_BEFORE_KILL:
            line = await asyncio.wait_for(child.stdout.readline(), READ_TIMEOUT)
            if not line:
                error = (await child.stderr.read()).decode(errors="replace")
                raise AssertionError(f"child stopped before being killed:\n{error}")
            event_id, call_id = line.decode().split()
            acked[int(event_id)] = call_id
    finally:
        if child.returncode is None:
            os.kill(child.pid, signal.SIGKILL)
        await child.wait()
    # Acknowledgements the child printed between our last read and the kill count too; a
    # line cut off by the kill was never a complete acknowledgement.
    for line in (await child.stdout.read()).splitlines(keepends=True):
        if line.endswith(b"\n"):
            event_id, call_id = line.decode().split()
            acked[int(event_id)] = call_id
    assert child.returncode == -signal.SIGKILL

    database = Database.open(database_url)
    try:
        async with database.sessions() as session:
            rows = await session.execute(
                select(EventLogRow.id, EventLogRow.call_id).where(EventLogRow.id.in_(list(acked)))
            )
            logged = {row_id: call_id for row_id, call_id in rows}
            ended = set(
                (
                    await session.scalars(
                        select(CallRow.call_id).where(
                            CallRow.call_id.in_(list(acked.values())), CallRow.ended_at.is_not(None)
                        )
                    )
                ).all()
            )
    finally:
        await database.close()
    assert logged == acked
    assert ended == set(acked.values())
