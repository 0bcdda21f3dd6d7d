"""The call pop and the wallboard after a restart, on a migrated database fed by the event
store: earlier contacts with their wrap-up, open complaints, today's figures kept."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from acd.config import AgentConfig, QueueConfig, SkillLevel
from acd.engine import AcdEngine
from acd.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallQueued,
    OfferEnded,
    OfferOutcome,
    OfferStarted,
    Party,
    TalkEnded,
    WrapupEnded,
    WrapupSubmitted,
)
from acd.states import AgentState
from agent_desktop.callpop import CallDirectory
from agent_desktop.complaints import ComplaintClass, ComplaintKind, WorkingCalendar
from agent_desktop.desk_services import ComplaintService
from agent_desktop.wallboard import Wallboard
from hotline.accounts.errors import NotFound
from hotline.accounts.permissions import Principal, Role
from hotline.acd_service import AcdService
from hotline.db.engine import Database
from hotline.db.migrate import upgrade_async
from hotline.db.store import EventStore
from hotline.notifier import Notifier

CALLER = "13800000101"
AGENT = Principal(1, "1001", Role.AGENT, agent_number="1001")


def one_call(call_id: str, t: float, caller: str) -> list[object]:
    """A call answered after 4 s, talked 60 s, wrapped up as resolved billing."""
    return [
        CallQueued(t, call_id, "general", caller, None, SkillLevel.JUNIOR, 0, ("1",)),
        OfferStarted(t + 1, call_id, "1001", "general", False),
        OfferEnded(t + 4, call_id, "1001", OfferOutcome.ANSWERED),
        CallAnswered(t + 4, call_id, "1001", "general", 4.0, False, True),
        TalkEnded(t + 64, call_id, "1001", Party.CALLER),
        CallEnded(t + 64, call_id, Party.CALLER),
        WrapupSubmitted(t + 80, "1001", call_id, "billing", "话费疑问已解释", True),
        WrapupEnded(t + 80, "1001", call_id, 16.0, True),
    ]


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'pop.db'}")
    await upgrade_async(database.engine)
    yield database
    await database.close()


async def test_the_pop_shows_earlier_contacts_and_open_complaints(database: Database) -> None:
    now = time.time()
    async with EventStore(database) as store:
        await store.append(one_call("old-1", now - 3600, CALLER))
        await store.append(one_call("other", now - 1800, "13900000000"))
    notifier = Notifier()
    complaints = ComplaintService(database.sessions, WorkingCalendar.of(), time.time, notifier.emit)
    await complaints.register(
        AGENT,
        call_id="old-1",
        caller_number=CALLER,
        caller_name="",
        kind=ComplaintKind.COMPLAINT,
        klass=ComplaintClass.MINOR,
        description="账单有误",
    )
    directory = CallDirectory(notifier, database.sessions, complaints, time.time)
    with pytest.raises(NotFound):
        directory.live("new-1")
    notifier.emit(
        CallQueued(now - 5, "new-1", "billing", CALLER, None, SkillLevel.JUNIOR, 0, ("1", "2"))
    )
    notifier.emit(OfferStarted(now, "new-1", "1001", "billing", False))
    pop = await directory.pop("new-1")
    assert (pop["caller"], pop["queue"], pop["menu_path"]) == (CALLER, "billing", ["1", "2"])
    assert pop["waited"] >= 5.0 and not pop["answered"]
    assert [
        (c["call_id"], c["call_type"], c["summary"], c["resolved"]) for c in pop["earlier_contacts"]
    ] == [("old-1", "billing", "话费疑问已解释", True)]
    assert [c["description"] for c in pop["open_complaints"]] == ["账单有误"]
    notifier.emit(CallAnswered(now + 6, "new-1", "1001", "billing", 11.0, True, True))
    answered = await directory.pop("new-1")
    assert (answered["answered"], answered["waited"], answered["late"]) == (True, 11.0, True)


async def test_the_wallboard_keeps_todays_figures_across_a_restart(database: Database) -> None:
    now = time.time()
    midnight = (
        dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
        .replace(hour=0, minute=0, second=0, microsecond=0)
        .timestamp()
    )
    if now - midnight < 120:
        pytest.skip("the call must have happened today, China time, and be over")
    start = max(midnight + 1, now - 3600)
    async with EventStore(database) as store:
        await store.append(one_call("d1", start, CALLER))
        await store.append(
            [AgentStateChanged(start + 80, "1001", AgentState.WRAPUP, AgentState.READY, None)]
        )
        queues = [QueueConfig(name="general")]
        engine = AcdEngine(
            queues,
            [AgentConfig(agent_id="1001", number="1001", queues=("general",))],
            rng=random.Random(1),
        )
        acd = AcdService(engine, Notifier(), asyncio.get_running_loop())
        board = Wallboard(acd, queues, service_level_target=0.8)
        await board.load(store)
        snap = board.snapshot(time.time())
        acd.close()
    assert (snap["today"]["offered"], snap["today"]["answered"]) == (1, 1)
    assert snap["today"]["asa"] == 4.0 and snap["today"]["fcr"] == 1.0
