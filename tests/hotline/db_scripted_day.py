"""A scripted day of calls as the ACD would emit them, shared by the store and report tests.

Times are offsets from 2026-11-27 00:00 UTC. The figures each test expects are worked out by
hand in that test from the comments here, not computed from these events.
"""

from __future__ import annotations

from datetime import UTC, datetime

from acd.config import SkillLevel
from acd.events import (
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallbackOutcome,
    CallbackPlaced,
    CallbackRequested,
    CallbackResult,
    CallEnded,
    CallQueued,
    HoldEnded,
    HoldStarted,
    OfferEnded,
    OfferOutcome,
    OfferStarted,
    Party,
    SurveyAnswered,
    TalkEnded,
    WrapupEnded,
    WrapupSubmitted,
)
from acd.states import AgentState

DAY = datetime(2026, 11, 27, tzinfo=UTC).timestamp()


def t(hours: int, minutes: int, seconds: float = 0.0) -> float:
    return DAY + hours * 3600 + minutes * 60 + seconds


def queued(at: float, call_id: str, queue: str = "general") -> CallQueued:
    return CallQueued(
        at=at,
        call_id=call_id,
        queue=queue,
        caller=f"138{call_id[-1] * 8}",
        skill=None,
        min_level=SkillLevel.JUNIOR,
        priority=0,
        menu_path=("1",),
    )


def answered(
    at: float, call_id: str, agent: str, wait: float, queue: str = "general"
) -> CallAnswered:
    return CallAnswered(
        at=at,
        call_id=call_id,
        agent_id=agent,
        queue=queue,
        wait=wait,
        late=wait > 10,
        first=True,
    )


# c1 general 09:00:00: a1 rings 1 s, answers at +4 (wait 4: in service level); talk to +124,
#    caller hangs up; wrap-up submitted at +134 (resolved), lasted 10 s; survey: satisfied.
# c2 general 09:05:00: a1 rings +1..+16 (timeout), a2 rings +16, answers +20 (wait 20: late);
#    on hold +30..+60 (30 s); agent ends talk at +200; wrap-up 15 s, not resolved; survey:
#    not satisfied.
# c3 general 09:20:00: abandons after 3 s (a short abandon).
# c4 general 09:40:00: abandons after 30 s.
# c5 billing 10:10:00: a2 answers at +8; talk to +68; wrap-up times out after 60 s.
# c6 general 10:30:00: asks for a callback at +40 and hangs up keeping their place; a1 is
#    offered the callback at 10:44:50, dials at 10:45, the caller answers at 10:45:20 (wait
#    920 s); talk 120 s; wrap-up 10 s, resolved; no survey.
# Agent a1's states (a2 sends none): ready 08:55; c1 rings 09:00:01, talk 09:00:04-09:02:04,
#    wrap-up to 09:02:14; rung for c2 09:05:01-09:05:16; lunch 09:30; logged out 10:00.
#    (a1's later calls are not mirrored in states: only the morning is used for occupancy.)
# c7 general 14:00:00: a1 rings, answers at +10 exactly (in service level: "within 10 s");
#    talk to +70; wrap-up 20 s, resolved; survey: satisfied.
def state(
    at: float, agent: str, old: AgentState, new: AgentState, reason: str | None = None
) -> AgentStateChanged:
    return AgentStateChanged(at=at, agent_id=agent, old=old, new=new, reason=reason)


SCRIPTED_DAY: tuple[object, ...] = (
    state(t(8, 55), "a1", AgentState.NOT_READY, AgentState.READY),
    queued(t(9, 0), "c1"),
    OfferStarted(at=t(9, 0, 1), call_id="c1", agent_id="a1", queue="general", callback=False),
    state(t(9, 0, 1), "a1", AgentState.READY, AgentState.RINGING),
    state(t(9, 0, 4), "a1", AgentState.RINGING, AgentState.TALKING),
    state(t(9, 0, 124), "a1", AgentState.TALKING, AgentState.WRAPUP),
    state(t(9, 0, 134), "a1", AgentState.WRAPUP, AgentState.READY),
    OfferEnded(at=t(9, 0, 4), call_id="c1", agent_id="a1", outcome=OfferOutcome.ANSWERED),
    answered(t(9, 0, 4), "c1", "a1", 4.0),
    TalkEnded(at=t(9, 0, 124), call_id="c1", agent_id="a1", ended_by=Party.CALLER),
    WrapupSubmitted(
        at=t(9, 0, 134),
        agent_id="a1",
        call_id="c1",
        call_type="billing",
        summary="账单查询",
        resolved=True,
    ),
    WrapupEnded(at=t(9, 0, 134), agent_id="a1", call_id="c1", duration=10.0, submitted=True),
    SurveyAnswered(at=t(9, 0, 140), call_id="c1", agent_id="a1", score=5, satisfied=True),
    CallEnded(at=t(9, 0, 150), call_id="c1", ended_by=Party.CALLER),
    queued(t(9, 5), "c2"),
    OfferStarted(at=t(9, 5, 1), call_id="c2", agent_id="a1", queue="general", callback=False),
    state(t(9, 5, 1), "a1", AgentState.READY, AgentState.RINGING),
    state(t(9, 5, 16), "a1", AgentState.RINGING, AgentState.READY),
    OfferEnded(at=t(9, 5, 16), call_id="c2", agent_id="a1", outcome=OfferOutcome.TIMEOUT),
    OfferStarted(at=t(9, 5, 16), call_id="c2", agent_id="a2", queue="general", callback=False),
    OfferEnded(at=t(9, 5, 20), call_id="c2", agent_id="a2", outcome=OfferOutcome.ANSWERED),
    answered(t(9, 5, 20), "c2", "a2", 20.0),
    HoldStarted(at=t(9, 5, 30), call_id="c2", agent_id="a2", reason="查询账户"),
    HoldEnded(at=t(9, 5, 60), call_id="c2", agent_id="a2", duration=30.0),
    TalkEnded(at=t(9, 5, 200), call_id="c2", agent_id="a2", ended_by=Party.AGENT),
    SurveyAnswered(at=t(9, 5, 210), call_id="c2", agent_id="a2", score=2, satisfied=False),
    WrapupSubmitted(
        at=t(9, 5, 215),
        agent_id="a2",
        call_id="c2",
        call_type="complaint",
        summary="网络故障",
        resolved=False,
    ),
    WrapupEnded(at=t(9, 5, 215), agent_id="a2", call_id="c2", duration=15.0, submitted=True),
    CallEnded(at=t(9, 5, 230), call_id="c2", ended_by=Party.CALLER),
    queued(t(9, 20), "c3"),
    CallAbandoned(at=t(9, 20, 3), call_id="c3", queue="general", wait=3.0),
    CallEnded(at=t(9, 20, 3), call_id="c3", ended_by=Party.CALLER),
    state(t(9, 30), "a1", AgentState.READY, AgentState.NOT_READY, "lunch"),
    queued(t(9, 40), "c4"),
    CallAbandoned(at=t(9, 40, 30), call_id="c4", queue="general", wait=30.0),
    CallEnded(at=t(9, 40, 30), call_id="c4", ended_by=Party.CALLER),
    state(t(10, 0), "a1", AgentState.NOT_READY, AgentState.LOGGED_OUT),
    queued(t(10, 10), "c5", queue="billing"),
    OfferStarted(at=t(10, 10, 2), call_id="c5", agent_id="a2", queue="billing", callback=False),
    OfferEnded(at=t(10, 10, 8), call_id="c5", agent_id="a2", outcome=OfferOutcome.ANSWERED),
    answered(t(10, 10, 8), "c5", "a2", 8.0, queue="billing"),
    TalkEnded(at=t(10, 10, 68), call_id="c5", agent_id="a2", ended_by=Party.CALLER),
    CallEnded(at=t(10, 10, 68), call_id="c5", ended_by=Party.CALLER),
    WrapupEnded(at=t(10, 11, 8), agent_id="a2", call_id="c5", duration=60.0, submitted=False),
    queued(t(10, 30), "c6"),
    CallbackRequested(at=t(10, 30, 40), call_id="c6", number="13966666666"),
    OfferStarted(at=t(10, 44, 50), call_id="c6", agent_id="a1", queue="general", callback=True),
    OfferEnded(at=t(10, 45), call_id="c6", agent_id="a1", outcome=OfferOutcome.ANSWERED),
    CallbackPlaced(at=t(10, 45), call_id="c6", agent_id="a1", number="13966666666"),
    CallbackResult(at=t(10, 45, 20), call_id="c6", agent_id="a1", outcome=CallbackOutcome.ANSWERED),
    CallAnswered(
        at=t(10, 45, 20),
        call_id="c6",
        agent_id="a1",
        queue="general",
        wait=920.0,
        late=False,
        first=True,
    ),
    TalkEnded(at=t(10, 47, 20), call_id="c6", agent_id="a1", ended_by=Party.CALLER),
    CallEnded(at=t(10, 47, 20), call_id="c6", ended_by=Party.CALLER),
    WrapupSubmitted(
        at=t(10, 47, 30),
        agent_id="a1",
        call_id="c6",
        call_type="billing",
        summary="回拨: 账单",
        resolved=True,
    ),
    WrapupEnded(at=t(10, 47, 30), agent_id="a1", call_id="c6", duration=10.0, submitted=True),
    queued(t(14, 0), "c7"),
    OfferStarted(at=t(14, 0, 1), call_id="c7", agent_id="a1", queue="general", callback=False),
    OfferEnded(at=t(14, 0, 10), call_id="c7", agent_id="a1", outcome=OfferOutcome.ANSWERED),
    answered(t(14, 0, 10), "c7", "a1", 10.0),
    TalkEnded(at=t(14, 1, 10), call_id="c7", agent_id="a1", ended_by=Party.CALLER),
    WrapupSubmitted(
        at=t(14, 1, 30),
        agent_id="a1",
        call_id="c7",
        call_type="billing",
        summary="套餐变更",
        resolved=True,
    ),
    WrapupEnded(at=t(14, 1, 30), agent_id="a1", call_id="c7", duration=20.0, submitted=True),
    SurveyAnswered(at=t(14, 1, 40), call_id="c7", agent_id="a1", score=4, satisfied=True),
    CallEnded(at=t(14, 1, 45), call_id="c7", ended_by=Party.CALLER),
)
