"""Call records rebuilt from events: complete only when every wrap-up is over; transfers,
overflows and agent time per interval."""

from __future__ import annotations

from acd_harness import agents_in, make_harness

from acd.config import AgentConfig, QueueConfig
from acd.events import AgentStateChanged, OfferOutcome, Party
from acd.records import AgentTimeTracker, CallOutcome, RecordBuilder
from acd.states import AgentState


def test_a_record_is_handed_over_only_when_the_wrapup_is_over() -> None:
    h = make_harness([QueueConfig("general")], agents_in("general", 1))
    h.login_ready("a1")
    h.do("call_arrived", "c1", "general", 0.0)
    h.do("offer_answered", "c1", "a1", 2.0)
    h.do("call_ended", "c1", 50.0, Party.CALLER)
    assert h.records == [] and h.builder.open_calls == 1
    h.do("wrapup_submitted", "a1", 58.0, call_type="fault", summary="line down", resolved=False)
    (rec,) = h.records
    assert (rec.call_type, rec.resolved, rec.ended_by) == ("fault", False, Party.CALLER)
    assert h.builder.open_calls == 0  # memory stays flat: finished calls are forgotten


def test_a_transferred_call_has_one_handling_per_agent() -> None:
    queues = [QueueConfig("front"), QueueConfig("back")]
    agents = [AgentConfig("f", "1001", queues=("front",)), AgentConfig("b", "1002",
                                                                      queues=("back",))]
    h = make_harness(queues, agents)
    h.login_ready("f", "b")
    h.do("call_arrived", "c1", "front", 0.0)
    h.do("offer_answered", "c1", "f", 3.0)
    h.do("transfer", "c1", 33.0, to_queue="back")
    h.do("offer_answered", "c1", "b", 36.0)
    h.do("agent_hangup", "c1", 96.0)
    h.do("call_ended", "c1", 100.0, Party.SYSTEM)
    h.tick(200.0)
    rec = h.record("c1")
    assert (rec.queue, rec.final_queue, rec.transfers) == ("front", "back", 1)
    assert [(x.agent_id, x.talk_seconds, x.wrapup_seconds, x.ended_by) for x in rec.handlings] == [
        ("f", 30.0, 30.0, Party.TRANSFER), ("b", 60.0, 30.0, Party.AGENT)]
    assert (rec.agent_id, rec.wait) == ("f", 3.0)  # the first answer counts for the wait
    assert [o.outcome for o in rec.offers] == [OfferOutcome.ANSWERED, OfferOutcome.ANSWERED]


def test_a_record_can_be_rebuilt_later_from_the_same_events() -> None:
    h = make_harness([QueueConfig("q", max_wait=20.0, overflow_target="ivr")],
                     agents_in("q", 1))
    h.do("call_arrived", "c1", "q", 0.0)
    h.tick(20.0)
    (rec,) = list(RecordBuilder(h.queues).feed(h.events))
    assert (rec.outcome, rec.overflowed_to, rec.wait) == (CallOutcome.OVERFLOWED, "ivr", 20.0)
    assert list(RecordBuilder().feed(h.events[1:])) == []  # its CallQueued was never seen


def test_agent_time_is_split_at_interval_boundaries() -> None:
    tracker = AgentTimeTracker(900.0)
    tracker.feed([
        AgentStateChanged(850.0, "a1", AgentState.LOGGED_OUT, AgentState.READY, None),
        AgentStateChanged(1000.0, "a1", AgentState.READY, AgentState.TALKING, None),
    ])
    tracker.close(2000.0)
    assert tracker.seconds == {
        ("a1", 0.0): {AgentState.READY: 50.0},
        ("a1", 900.0): {AgentState.READY: 100.0, AgentState.TALKING: 800.0},
        ("a1", 1800.0): {AgentState.TALKING: 200.0},
    }
