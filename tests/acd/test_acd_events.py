"""Events survive the trip to JSON and back, so records can be rebuilt from a stored log."""

from __future__ import annotations

import json

import pytest
from acd_harness import agents_in, make_harness

from acd.config import AgentConfig, QueueConfig, SkillLevel
from acd.events import EVENT_TYPES, CallbackOutcome, OfferOutcome, event_from_dict, event_to_dict
from acd.records import RecordBuilder


def test_a_whole_call_round_trips_through_json_and_rebuilds_the_same_record() -> None:
    h = make_harness([QueueConfig("general", callback_after=30.0)], agents_in("general", 1))
    h.login_ready("a1")
    h.do("call_arrived", "c1", "general", 0.0, caller="138", menu_path=("1", "2"))
    h.do("offer_answered", "c1", "a1", 3.0)
    h.do("hold", "c1", "checking", 5.0)
    h.do("agent_hangup", "c1", 9.0)
    h.do("survey_answered", "c1", 10.0, score=1, satisfied=True)
    h.do("call_ended", "c1", 11.0)
    h.do("wrapup_submitted", "a1", 12.0, call_type="q", summary="s", resolved=True)
    stored = [json.loads(json.dumps(event_to_dict(e))) for e in h.events]
    revived = [event_from_dict(d) for d in stored]
    assert revived == h.events
    assert list(RecordBuilder(h.queues).feed(revived)) == h.records


def test_unknown_or_incomplete_events_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown ACD event type"):
        event_from_dict({"type": "Nope"})
    with pytest.raises(ValueError, match="lacks field 'call_id'"):
        event_from_dict({"type": "CallEnded", "at": 1.0})


def test_every_event_type_round_trips() -> None:
    q = QueueConfig("q", skills=("x",), callback_after=5.0, max_wait=100.0,
                    overflow_target="ivr", max_consecutive_misses=1)
    agents = [AgentConfig("j", "1", skills={"x": SkillLevel.JUNIOR}, queues=("q",)),
              AgentConfig("s", "2", skills={"x": SkillLevel.SENIOR}, queues=("q",))]
    h = make_harness([q], agents)
    h.login_ready("j")
    h.do("call_arrived", "c1", "q", 0.0, skill="x")
    h.do("offer_failed", "c1", "j", 1.0, OfferOutcome.DECLINED)  # auto-pause after one miss
    h.do("agent_ready", "j", 2.0)
    h.do("offer_answered", "c1", "j", 3.0)
    h.do("hold", "c1", "checking", 4.0)
    h.do("agent_login", "s", 5.0, ready=True)
    h.do("transfer", "c1", 6.0, to_agent="s", attended=True)
    h.tick(21.0)  # s misses: TransferFailed
    h.do("agent_ready", "s", 22.0)
    h.do("transfer", "c1", 23.0, to_agent="s")
    h.do("offer_answered", "c1", "s", 24.0)
    h.do("agent_hangup", "c1", 30.0)
    h.do("survey_answered", "c1", 31.0, score=1, satisfied=True)
    h.do("call_ended", "c1", 32.0)
    h.do("wrapup_submitted", "s", 33.0, call_type="q", summary="", resolved=True)
    h.do("call_arrived", "c2", "q", 40.0)
    h.do("call_arrived", "c3", "q", 40.5)
    h.tick(46.0)  # callback offers
    h.do("callback_requested", "c2", 47.0, "139")
    h.do("caller_abandoned", "c3", 48.0)
    h.tick(200.0)  # j's wrap-up ends: rung for the callback c2; misses; paused
    h.do("agent_ready", "j", 201.0)
    h.do("offer_answered", "c2", "j", 202.0)
    h.do("callback_result", "c2", 210.0, CallbackOutcome.BUSY)
    h.do("call_arrived", "c4", "q", 300.0)
    h.tick(400.0)  # max wait: overflows out of the ACD
    seen = {type(e).__name__ for e in h.events}
    assert seen == set(EVENT_TYPES)
    assert [event_from_dict(json.loads(json.dumps(event_to_dict(e)))) for e in h.events] == (
        h.events)
