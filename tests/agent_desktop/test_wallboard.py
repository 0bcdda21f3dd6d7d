"""The wallboard's figures from a scripted day on a fake clock, worked out by hand (SPEC-Q2)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

from acd.config import AgentConfig, QueueConfig
from acd.engine import AcdEngine
from acd.events import Party
from acd.states import NotReadyReason
from agent_desktop.wallboard import Wallboard
from hotline.acd_service import AcdService
from hotline.notifier import Notifier

CST = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=CST).timestamp()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


async def test_a_scripted_morning_on_the_wallboard() -> None:
    clock = Clock()
    queues = [QueueConfig(name="general")]
    engine = AcdEngine(
        queues,
        [AgentConfig(agent_id="1001", number="1001", queues=("general",))],
        rng=random.Random(1),
    )
    notifier = Notifier()
    acd = AcdService(engine, notifier, asyncio.get_running_loop(), clock=clock)
    board = Wallboard(acd, queues, service_level_target=0.8)
    notifier.subscribe(None, board.feed)

    def at(offset: float, op: object) -> None:
        clock.now = T0 + offset
        acd.command(op)  # type: ignore[arg-type]

    at(0, lambda now: engine.agent_login("1001", now, ready=True))
    # c1: waits 3 s, talks, the caller hangs up; wrap-up says resolved.
    at(1, lambda now: engine.call_arrived("c1", "general", now, caller="13800000081"))
    at(4, lambda now: engine.offer_answered("c1", "1001", now))
    at(64, lambda now: engine.call_ended("c1", now, Party.CALLER))
    at(
        70,
        lambda now: engine.wrapup_submitted(
            "1001", now, call_type="enquiry", summary="", resolved=True
        ),
    )
    # c2: nobody ready; the caller gives up after 30 s (not a short abandon).
    at(100, lambda now: engine.agent_not_ready("1001", NotReadyReason.BREAK, now))
    at(110, lambda now: engine.call_arrived("c2", "general", now, caller="13800000082"))
    at(140, lambda now: engine.caller_abandoned("c2", now))
    # c3: still waiting 12 s later.
    at(150, lambda now: engine.call_arrived("c3", "general", now, caller="13800000083"))

    snap = board.snapshot(T0 + 162)
    today = snap["today"]
    # Finished calls c1 and c2: offered 2, answered 1 within 10 s, one abandon.
    assert (today["offered"], today["answered"], today["abandoned"]) == (2, 1, 1)
    assert today["answer_rate"] == 0.5
    assert today["service_level"] == 1.0  # answered within 10 s ÷ answered
    assert today["service_level_abandons"] == 0.5  # ÷ (answered + abandoned)
    assert today["asa"] == 3.0
    assert today["fcr"] == 1.0
    assert snap["last_15_min"]["offered"] == 2
    assert [(c["call_id"], c["caller"], c["wait"]) for c in snap["abandoned"]] == [
        ("c2", "13800000082", 30.0)
    ]
    [agent] = snap["agents"]
    assert (agent["state"], agent["reason"], agent["since"]) == ("not_ready", "break", T0 + 100)
    [queue] = snap["queues"]
    assert (queue["waiting"], queue["longest_wait"]) == (1, 12.0)
    assert {a["kind"] for a in snap["alerts"]} == {"long_wait"}  # SL 100 % is above 80 %
    assert [p["offered"] for p in snap["chart"]] == [2]

    # c3 is finally answered after 20 s: one of two answers within 10 s is 50 %, under 80 %.
    at(165, lambda now: engine.agent_ready("1001", now))
    at(170, lambda now: engine.offer_answered("c3", "1001", now))
    at(200, lambda now: engine.call_ended("c3", now, Party.CALLER))
    at(
        205,
        lambda now: engine.wrapup_submitted(
            "1001", now, call_type="billing", summary="", resolved=False
        ),
    )
    late = board.snapshot(T0 + 206)
    assert late["today"]["service_level"] == 0.5
    assert late["today"]["fcr"] == 0.5
    assert {(a["kind"], a.get("window")) for a in late["alerts"]} == {
        ("service_level", "today"),
        ("service_level", "last_15_min"),
    }

    later = board.snapshot(T0 + 20 * 60)
    assert later["last_15_min"]["offered"] == 0  # both calls entered 20 minutes ago
    assert later["today"]["offered"] == 3
    acd.close()
