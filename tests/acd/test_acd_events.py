"""Events survive the trip to JSON and back, so records can be rebuilt from a stored log."""

from __future__ import annotations

import json

import pytest
from acd_harness import agents_in, make_harness

from acd.config import QueueConfig
from acd.events import event_from_dict, event_to_dict
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
