"""SPEC-Q2 metrics of a scripted run equal the figures worked out by hand below."""

from __future__ import annotations

import pytest
from acd_harness import Harness, agents_in, make_harness
from hypothesis import given
from hypothesis import strategies as st

from acd.config import QueueConfig
from acd.events import OfferOutcome, Party
from acd.metrics import (
    DAY,
    bucket_start,
    by_agent,
    by_interval,
    by_queue,
    compute,
    occupancy,
    occupancy_by,
)
from acd.records import AgentTimeTracker, CallOutcome, CallRecord, Handling, Offer
from acd.states import AgentState


def scripted_run() -> tuple[Harness, AgentTimeTracker]:
    """Queue "general" (10 s service level, 5 s short abandon, 30 s wrap-up), agents a1, a2.

    c1  0 s in, a1 answers at 6 (wait 6, in time), agent hangs up at 66, survey satisfied,
        call ends 70, wrap-up submitted at 76 resolved              handle 60+0+10 = 70
    c2  1 s in, a2 answers at 13 (wait 12, late), hold 20–30, caller hangs up at 73,
        wrap-up runs out at 103                                     handle 50+10+30 = 90
    c3  2 s in, hangs up at 5 (wait 3: a short abandon)
    c4  3 s in, hangs up at 20 (wait 17: an abandon)
    c5  70 s in, a1 free at 76, answers at 79 (wait 9, in time), hangs up at 139, survey
        not satisfied, wrap-up submitted at 145 not resolved          handle 60+0+6 = 66
    c6  80 s in, a2 free at 103, misses (ring timeout 118), rung again, answers at 120
        (wait 40, late), caller hangs up at 150, wrap-up runs out at 180   handle 30+30 = 60
    """
    h = make_harness([QueueConfig("general")], agents_in("general", 2))
    tracker = AgentTimeTracker(60.0)
    h.login_ready("a1", "a2")
    h.do("call_arrived", "c1", "general", 0.0)
    h.do("call_arrived", "c2", "general", 1.0)
    h.do("call_arrived", "c3", "general", 2.0)
    h.do("call_arrived", "c4", "general", 3.0)
    h.do("caller_abandoned", "c3", 5.0)
    h.do("offer_answered", "c1", "a1", 6.0)
    h.do("offer_answered", "c2", "a2", 13.0)
    h.do("caller_abandoned", "c4", 20.0)
    h.do("hold", "c2", "looking up the contract", 20.0)
    h.do("unhold", "c2", 30.0)
    h.do("agent_hangup", "c1", 66.0)
    h.do("survey_answered", "c1", 69.0, score=1, satisfied=True)
    h.do("call_ended", "c1", 70.0, Party.SYSTEM)
    h.do("call_arrived", "c5", "general", 70.0)
    h.do("call_ended", "c2", 73.0, Party.CALLER)
    h.do("wrapup_submitted", "a1", 76.0, call_type="billing", summary="", resolved=True)
    h.do("offer_answered", "c5", "a1", 79.0)
    h.do("call_arrived", "c6", "general", 80.0)
    h.tick(118.0)  # a2's wrap-up ends at 103, c6 rings a2, times out at 118, rings again
    h.do("offer_answered", "c6", "a2", 120.0)
    h.do("agent_hangup", "c5", 139.0)
    h.do("survey_answered", "c5", 139.5, score=3, satisfied=False)
    h.do("call_ended", "c5", 140.0, Party.CALLER)
    h.do("wrapup_submitted", "a1", 145.0, call_type="fault", summary="", resolved=False)
    h.do("call_ended", "c6", 150.0, Party.CALLER)
    h.tick(200.0)
    tracker.feed(h.events)
    tracker.close(200.0)
    return h, tracker


def test_each_call_record_holds_every_offer_and_the_exact_wait() -> None:
    h, _ = scripted_run()
    assert sorted(r.call_id for r in h.records) == ["c1", "c2", "c3", "c4", "c5", "c6"]
    c6 = h.record("c6")
    assert c6.offers == (Offer("a2", 103.0, 118.0, OfferOutcome.TIMEOUT),
                         Offer("a2", 118.0, 120.0, OfferOutcome.ANSWERED))
    assert (c6.wait, c6.answered_within_service_level) == (40.0, False)
    assert [h.record(c).answered_within_service_level for c in ("c1", "c2", "c5")] == [
        True, False, True]
    assert h.record("c3").short_abandon and not h.record("c4").short_abandon
    assert h.record("c1").agent_hung_up_first and not h.record("c2").agent_hung_up_first
    assert [x.handle_seconds for x in h.record("c2").handlings] == [90.0]


def test_queue_metrics_equal_the_hand_computed_figures() -> None:
    h, _ = scripted_run()
    m = compute(h.records)
    assert (m.offered, m.answered, m.answered_within) == (6, 4, 2)
    assert (m.short_abandoned, m.abandoned) == (1, 1)
    assert m.answer_rate == pytest.approx(4 / 6)
    assert m.service_level == pytest.approx(2 / 4)
    assert m.service_level_abandons == pytest.approx(2 / 5)
    assert m.abandon_rate == pytest.approx(1 / 5)
    assert m.asa == pytest.approx((6 + 12 + 9 + 40) / 4)
    assert m.aht == pytest.approx((70 + 90 + 66 + 60) / 4)
    assert (m.fcr, m.fcr_requests) == (pytest.approx(1 / 2), 2)
    assert (m.satisfaction, m.surveyed) == (pytest.approx(1 / 2), 2)
    assert m.longest_wait == 40.0
    assert m.agent_hung_up_first == 2
    assert by_queue(h.records) == {"general": m}


def test_interval_and_agent_metrics_equal_the_hand_computed_figures() -> None:
    h, tracker = scripted_run()
    per_minute = by_interval(h.records, 60.0)
    assert list(per_minute) == [0.0, 60.0]
    assert per_minute[0.0].offered == 4 and per_minute[60.0].offered == 2
    assert per_minute[60.0].service_level == pytest.approx(1 / 2)
    agents = by_agent(h.records)
    assert (agents["a1"].offers, agents["a1"].missed_offers, agents["a1"].aht) == (2, 0, 68.0)
    assert (agents["a2"].offers, agents["a2"].missed_offers, agents["a2"].aht) == (3, 1, 75.0)
    assert agents["a1"].fcr == pytest.approx(1 / 2) and agents["a2"].fcr is None
    per_agent = occupancy_by(tracker.seconds, lambda agent, bucket: agent)
    assert per_agent == {"a1": pytest.approx(136 / 200), "a2": pytest.approx(150 / 200)}
    first_minute_a1 = tracker.seconds[("a1", 0.0)]
    assert first_minute_a1[AgentState.RINGING] == 6.0
    assert first_minute_a1[AgentState.TALKING] == 54.0
    assert occupancy({}) is None


def test_days_are_cut_at_local_midnight() -> None:
    # 2026-11-28 00:30 in China (UTC+8) is 16:30 UTC the day before
    t = 1764261000.0  # 2026-11-27T16:30:00Z
    start = bucket_start(t, DAY, utc_offset=8 * 3600)
    assert t - start == 1800.0


outcomes = st.sampled_from(list(CallOutcome))


@st.composite
def call_records(draw: st.DrawFn) -> CallRecord:
    outcome = draw(outcomes)
    queued = draw(st.floats(0, 10_000))
    wait = draw(st.floats(0, 600))
    answered = outcome is CallOutcome.ANSWERED
    handlings = tuple(
        Handling("a1", queued + wait, draw(st.floats(0, 900)), draw(st.floats(0, 120)),
                 draw(st.floats(0, 60)), Party.CALLER)
        for _ in range(draw(st.integers(1, 2)) if answered else 0))
    callback = draw(st.booleans()) and outcome is not CallOutcome.OVERFLOWED
    return CallRecord(
        f"c{draw(st.integers())}", "q", "q", "", queued, (), queued + wait if answered else None,
        "a1" if answered else None, None, None, 0, handlings, queued + wait + 60, None,
        draw(st.booleans()), "139" if callback else None, None, None,
        draw(st.none() | st.booleans()) if answered else None,
        None, draw(st.none() | st.booleans()) if answered else None, outcome, 10.0, 5.0)


@given(st.lists(call_records(), max_size=40))
def test_metrics_stay_in_bounds_and_add_up(records: list[CallRecord]) -> None:
    m = compute(records)
    assert m.offered == len(records)
    assert m.answered_within <= m.answered <= m.offered
    assert m.short_abandoned + m.abandoned + m.overflowed + m.answered <= m.offered
    for rate in (m.answer_rate, m.service_level, m.service_level_abandons, m.abandon_rate,
                 m.fcr, m.satisfaction):
        assert rate is None or 0.0 <= rate <= 1.0
    if m.service_level is not None and m.service_level_abandons is not None:
        assert m.service_level_abandons <= m.service_level  # abandons only ever lower it
    per_hour = by_interval(records, 3600.0)
    assert sum(x.offered for x in per_hour.values()) == m.offered
    assert sum(x.answered_within for x in per_hour.values()) == m.answered_within
