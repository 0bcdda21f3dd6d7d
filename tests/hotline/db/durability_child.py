"""Child process of the kill -9 durability test: appends whole calls to the event store from
several concurrent producers and prints ``<first event id> <call id>`` for each call as soon
as ``append`` has returned, i.e. once the store has acknowledged it. Runs until killed."""

from __future__ import annotations

import asyncio
import sys
import time

from acd.config import SkillLevel
from acd.events import CallAnswered, CallEnded, CallQueued, Party
from hotline.db.engine import Database
from hotline.db.store import EventStore

PRODUCERS = 4


def call_events(call_id: str, at: float) -> list[object]:
    return [
        CallQueued(
            at=at,
            call_id=call_id,
            queue="general",
            caller="13800000000",
            skill=None,
            min_level=SkillLevel.JUNIOR,
            priority=0,
            menu_path=(),
        ),
        CallAnswered(
            at=at + 2,
            call_id=call_id,
            agent_id="a1",
            queue="general",
            wait=2.0,
            late=False,
            first=True,
        ),
        CallEnded(at=at + 60, call_id=call_id, ended_by=Party.CALLER),
    ]


async def produce(store: EventStore, producer: int) -> None:
    n = 0
    while True:
        call_id = f"p{producer}-{n}"
        ids = await store.append(call_events(call_id, time.time()))
        sys.stdout.write(f"{ids[0]} {call_id}\n")
        sys.stdout.flush()
        n += 1


async def main(url: str) -> None:
    database = Database.open(url)
    async with EventStore(database) as store:
        await asyncio.gather(*(produce(store, p) for p in range(PRODUCERS)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
