"""Complaints, callback tasks and handover against a real (SQLite) database, on a clock the
test moves: ownership (SPEC-C1), escalation when overdue (C2), callback then result (C3),
identity masked for all but handlers and the owner (R4), handover signed by the next shift (O2).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

import hotline.db.all_models  # noqa: F401  (registers every table)
from agent_desktop.complaints import (
    ComplaintAction,
    ComplaintClass,
    ComplaintKind,
    ComplaintStateError,
    WorkingCalendar,
)
from agent_desktop.desk_events import ComplaintEscalated
from agent_desktop.desk_services import CallbackTasks, ComplaintService, HandoverService
from hotline.accounts.errors import Conflict, NotFound, PermissionDenied
from hotline.accounts.permissions import MASK, Principal, Role
from hotline.db.base import Base

T0 = 1_796_000_000.0  # a Wednesday, 2026-11-25 in China
HOUR = 3600.0

AGENT_1001 = Principal(1, "1001", Role.AGENT, agent_number="1001", teams=frozenset({"a"}))
AGENT_1002 = Principal(2, "1002", Role.AGENT, agent_number="1002", teams=frozenset({"a"}))
BOSS = Principal(3, "boss", Role.SUPERVISOR, teams=frozenset({"a"}))
NIGHT = Principal(4, "night", Role.SUPERVISOR, teams=frozenset({"a"}))
HANDLER = Principal(5, "handler", Role.QA, complaint_handler=True)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    db = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}")
    async with db.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    sessions = async_sessionmaker(db, expire_on_commit=False)
    clock = Clock()
    published: list[object] = []
    yield {
        "clock": clock,
        "published": published,
        "complaints": ComplaintService(sessions, WorkingCalendar.of(), clock, published.append),
        "callbacks": CallbackTasks(sessions, clock, published.append),
        "handover": HandoverService(sessions, clock, published.append),
    }
    await db.dispose()


async def register(
    complaints: ComplaintService,
    kind: ComplaintKind = ComplaintKind.FAULT,
    klass: ComplaintClass = ComplaintClass.MINOR,
) -> dict[str, Any]:
    return await complaints.register(
        AGENT_1001,
        call_id="c1",
        caller_number="13800000061",
        caller_name="王女士",
        kind=kind,
        klass=klass,
        description="家中宽带无法上网",
    )


async def test_the_agent_who_takes_a_complaint_owns_it(parts: dict[str, Any]) -> None:
    view = await register(parts["complaints"])
    assert (view["owner"], view["status"], view["caller_number"]) == ("1001", "open", "13800000061")
    with pytest.raises(PermissionDenied):
        await parts["complaints"].register(
            BOSS,
            call_id=None,
            caller_number="1",
            caller_name="",
            kind=ComplaintKind.COMPLAINT,
            klass=ComplaintClass.MINOR,
            description="x",
        )


async def test_overdue_complaints_escalate_once(parts: dict[str, Any]) -> None:
    complaints, clock = parts["complaints"], parts["clock"]
    fault = await register(complaints)  # 24 h
    replied = await register(complaints)
    await complaints.act(AGENT_1001, replied["id"], ComplaintAction.CALLBACK_REACHED, "已联系")
    clock.now = T0 + 24 * HOUR - 1
    assert await complaints.escalate_overdue() == []
    clock.now = T0 + 24 * HOUR + 1
    assert await complaints.escalate_overdue() == [fault["id"]]
    assert await complaints.escalate_overdue() == []
    escalations = [e for e in parts["published"] if isinstance(e, ComplaintEscalated)]
    assert [(e.complaint_id, e.owner) for e in escalations] == [(fault["id"], "1001")]
    detail = await complaints.get(BOSS, fault["id"])
    assert detail["urgency"] == "overdue"
    assert [a["action"] for a in detail["actions"]] == ["registered", "escalated"]


async def test_callback_then_result_is_logged_and_close_needs_a_reply(
    parts: dict[str, Any],
) -> None:
    complaints, clock = parts["complaints"], parts["clock"]
    view = await register(complaints, ComplaintKind.COMPLAINT, ComplaintClass.IMPORTANT)
    with pytest.raises(ComplaintStateError, match="in status open"):
        await complaints.act(AGENT_1001, view["id"], ComplaintAction.CLOSE, "done")
    with pytest.raises(PermissionDenied):
        await complaints.act(AGENT_1002, view["id"], ComplaintAction.CALLBACK_REACHED, "")
    clock.now += HOUR
    missed = await complaints.act(AGENT_1001, view["id"], ComplaintAction.CALLBACK_MISSED, "无人接")
    assert missed["status"] == "open" and missed["replied_at"] is None
    clock.now += HOUR
    reached = await complaints.act(HANDLER, view["id"], ComplaintAction.CALLBACK_REACHED, "已解释")
    assert (reached["status"], reached["replied_at"]) == ("replied", T0 + 2 * HOUR)
    with pytest.raises(Conflict):
        await complaints.act(AGENT_1001, view["id"], ComplaintAction.CLOSE, "  ")  # no result
    closed = await complaints.act(AGENT_1001, view["id"], ComplaintAction.CLOSE, "已赔偿一个月月租")
    assert (closed["status"], closed["result"]) == ("closed", "已赔偿一个月月租")
    detail = await complaints.get(AGENT_1001, view["id"])
    assert [(a["action"], a["actor"]) for a in detail["actions"]] == [
        ("registered", "1001"),
        ("callback_missed", "1001"),
        ("callback_reached", "handler"),
        ("close", "1001"),
    ]


async def test_identity_is_masked_except_for_handlers_and_the_owner(parts: dict[str, Any]) -> None:
    complaints = parts["complaints"]
    view = await register(complaints)
    assert await complaints.listing(AGENT_1002) == []  # another agent sees nothing
    with pytest.raises(NotFound):
        await complaints.get(AGENT_1002, view["id"])
    [boss_view] = await complaints.listing(BOSS)
    assert (boss_view["caller_number"], boss_view["caller_name"]) == (MASK, MASK)
    assert boss_view["description"] == "家中宽带无法上网"  # the work, not the person
    [handler_view] = await complaints.listing(HANDLER)
    assert handler_view["caller_number"] == "13800000061"
    [owner_view] = await complaints.listing(AGENT_1001)
    assert owner_view["caller_name"] == "王女士"
    pop = await complaints.open_for_caller("13800000061")
    assert [c["id"] for c in pop] == [view["id"]]


async def test_callback_tasks_are_set_by_supervisors_and_done_by_the_assigned_agent(
    parts: dict[str, Any],
) -> None:
    callbacks = parts["callbacks"]
    with pytest.raises(PermissionDenied):
        await callbacks.create(
            AGENT_1001, call_id="c9", number="13800000071", queue="general", assigned_to=None
        )
    task = await callbacks.create(
        BOSS, call_id="c9", number="13800000071", queue="general", assigned_to="1001"
    )
    with pytest.raises(Conflict):
        await callbacks.create(
            BOSS, call_id="c9", number="13800000071", queue="general", assigned_to=None
        )
    assert await callbacks.listing(AGENT_1002) == []
    assert [t["id"] for t in await callbacks.listing(AGENT_1001)] == [task["id"]]
    with pytest.raises(PermissionDenied):
        await callbacks.complete(AGENT_1002, task["id"], "reached", "")
    with pytest.raises(Conflict):
        await callbacks.complete(AGENT_1001, task["id"], "maybe", "")
    done = await callbacks.complete(AGENT_1001, task["id"], "no_answer", "关机")
    assert (done["status"], done["outcome"], done["done_at"]) == ("done", "no_answer", T0)
    assert await callbacks.listing(AGENT_1001) == []


async def test_handover_is_signed_by_someone_of_the_next_shift(parts: dict[str, Any]) -> None:
    handover = parts["handover"]
    with pytest.raises(PermissionDenied):
        await handover.post(AGENT_1001, shift="白班", body="x", open_items=[])
    note = await handover.post(
        BOSS, shift="白班", body="系统正常", open_items=["回拨两位客户", " "]
    )
    assert [i["text"] for i in note["open_items"]] == ["回拨两位客户"]
    with pytest.raises(Conflict, match="next shift"):
        await handover.acknowledge(BOSS, note["id"])
    signed = await handover.acknowledge(NIGHT, note["id"])
    assert (signed["acknowledged_by"], signed["acknowledged_at"]) == ("night", T0)
    with pytest.raises(Conflict, match="already"):
        await handover.acknowledge(NIGHT, note["id"])
