"""AcdEngine on a fake clock: routing, the agent states, ring timeouts, abandons, overflow."""

from __future__ import annotations

import pytest
from acd_harness import Harness, agents_in, make_harness

from acd.actions import Announce, ConnectCall, OverflowCall, RingAgent, StopRinging
from acd.config import AgentConfig, QueueConfig
from acd.events import (
    AgentAutoPaused,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    OfferEnded,
    OfferOutcome,
    Party,
)
from acd.states import (
    AcdError,
    AgentState,
    AgentStateError,
    CallState,
    NotReadyReason,
    OfferNotActiveError,
    UnknownCallError,
)


def talk(h: Harness, call_id: str, agent_id: str, answer_at: float, hangup_at: float) -> None:
    h.do("offer_answered", call_id, agent_id, answer_at)
    h.do("agent_hangup", call_id, hangup_at)
    h.do("call_ended", call_id, hangup_at + 1, Party.CALLER)


def test_call_with_a_ready_agent_rings_the_longest_idle_one(general: Harness) -> None:
    h = general
    h.do("agent_login", "a2", 1.0, ready=True)
    h.do("agent_login", "a1", 2.0, ready=True)
    out = h.do("call_arrived", "c1", "general", 5.0, caller="13800000000")
    assert out == [RingAgent("c1", "a2", 15.0, "general", "13800000000")]
    assert h.engine.agent_status("a2").state is AgentState.RINGING
    assert h.engine.call_state("c1") is CallState.RINGING


def test_waiting_call_goes_to_the_first_agent_who_becomes_ready(general: Harness) -> None:
    h = general
    assert h.do("call_arrived", "c1", "general", 0.0) == []
    assert h.engine.queue_status("general", 4.0).waiting == 1
    assert h.engine.queue_status("general", 4.0).longest_wait == 4.0
    h.do("agent_login", "a3", 5.0)
    out = h.do("agent_ready", "a3", 6.0)
    assert h.rung(out) == [("c1", "a3")]
    assert h.engine.queue_status("general", 6.0).waiting == 0


def test_agent_on_a_call_is_never_rung(general: Harness) -> None:
    h = general
    h.login_ready("a1", "a2")
    h.do("call_arrived", "c1", "general", 1.0)
    h.do("offer_answered", "c1", "a1", 3.0)
    out = h.do("call_arrived", "c2", "general", 4.0)
    assert h.rung(out) == [("c2", "a2")]
    h.do("offer_answered", "c2", "a2", 5.0)
    out = h.do("call_arrived", "c3", "general", 6.0)
    assert out == []  # both agents talk: c3 waits rather than ringing a busy agent
    h.do("hold", "c1", "checking the account", 7.0)
    assert h.do("call_arrived", "c4", "general", 8.0) == []  # on hold is busy too
    assert all(agent != "a1" for call, agent in h.rung() if call in ("c3", "c4"))


def test_agent_ringing_for_one_call_is_not_rung_for_another(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    h.do("call_arrived", "c1", "general", 1.0)
    assert h.do("call_arrived", "c2", "general", 2.0) == []
    assert h.rung() == [("c1", "a1")]


def test_agent_in_wrapup_is_not_rung_until_the_wrapup_time_runs_out(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    h.do("call_arrived", "c1", "general", 0.0)
    talk(h, "c1", "a1", 2.0, 60.0)
    assert h.engine.agent_status("a1").state is AgentState.WRAPUP
    assert h.do("call_arrived", "c2", "general", 70.0) == []
    fired = h.tick(89.9)
    assert fired == []
    fired = h.tick(90.0)  # 30 s wrap-up from the agent's hang-up at 60 s
    assert h.rung(fired) == [("c2", "a1")]


def test_wrapup_ends_when_the_agent_submits_it(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    h.do("call_arrived", "c1", "general", 0.0)
    talk(h, "c1", "a1", 2.0, 60.0)
    h.do("call_arrived", "c2", "general", 62.0)
    out = h.do("wrapup_submitted", "a1", 65.0, call_type="billing", summary="bill explained",
               resolved=True)
    assert h.rung(out) == [("c2", "a1")]
    assert h.record("c1").call_type == "billing"
    assert h.record("c1").handlings[0].wrapup_seconds == 5.0


def test_ring_timeout_offers_the_call_to_the_next_agent(general: Harness) -> None:
    h = general
    h.login_ready("a1", "a2")
    h.do("call_arrived", "c1", "general", 10.0)
    assert h.engine.next_deadline() == 25.0
    fired = h.tick(25.0)
    assert fired == [StopRinging("c1", "a1"), RingAgent("c1", "a2", 15.0, "general", "")]
    (ended,) = h.of(OfferEnded)
    assert (ended.agent_id, ended.outcome, ended.at) == ("a1", OfferOutcome.TIMEOUT, 25.0)
    # the agent who missed is ready again, behind the others: a2's miss brings c1 back to a1
    assert h.engine.agent_status("a1").state is AgentState.READY
    h.tick(40.0)
    assert h.rung()[-1] == ("c1", "a1")


def test_agent_is_paused_for_missed_calls_after_two_misses_in_a_row(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    h.do("call_arrived", "c1", "general", 0.0)
    h.tick(15.0)  # first miss: a1 is ready again and gets the call again
    assert h.rung() == [("c1", "a1"), ("c1", "a1")]
    h.tick(30.0)  # second miss in a row
    status = h.engine.agent_status("a1")
    assert status.state is AgentState.NOT_READY
    assert status.reason == NotReadyReason.MISSED_CALLS.value
    (paused,) = h.of(AgentAutoPaused)
    assert (paused.agent_id, paused.misses, paused.at) == ("a1", 2, 30.0)
    assert h.engine.call_state("c1") is CallState.WAITING
    assert h.engine.next_deadline() is None  # nobody is rung any more


def test_an_answer_resets_the_miss_count() -> None:
    h = make_harness([QueueConfig("general", max_consecutive_misses=2)], agents_in("general", 1))
    h.login_ready("a1")
    h.do("call_arrived", "c1", "general", 0.0)
    h.tick(15.0)  # miss 1
    h.do("offer_answered", "c1", "a1", 16.0)
    h.do("agent_hangup", "c1", 20.0)
    h.do("wrapup_submitted", "a1", 21.0, call_type="q", summary="", resolved=True)
    h.do("call_arrived", "c2", "general", 22.0)
    h.tick(37.0)  # one miss after the answer: still ready
    assert h.engine.agent_status("a1").state is AgentState.RINGING


def test_declined_offer_counts_as_a_miss_and_rings_the_next_agent(general: Harness) -> None:
    h = general
    h.login_ready("a1", "a2")
    h.do("call_arrived", "c1", "general", 0.0)
    out = h.do("offer_failed", "c1", "a1", 2.0, OfferOutcome.DECLINED)
    assert h.rung(out) == [("c1", "a2")]
    assert h.of(OfferEnded)[0].outcome is OfferOutcome.DECLINED
    with pytest.raises(AcdError):
        h.do("offer_failed", "c1", "a2", 3.0, OfferOutcome.ANSWERED)


@pytest.mark.parametrize("reason", [NotReadyReason.BREAK, NotReadyReason.LUNCH,
                                    NotReadyReason.TRAINING, NotReadyReason.MEETING])
def test_not_ready_agent_with_a_reason_is_not_rung(general: Harness,
                                                   reason: NotReadyReason) -> None:
    h = general
    h.login_ready("a1")
    h.do("agent_not_ready", "a1", reason, 1.0)
    status = h.engine.agent_status("a1")
    assert (status.state, status.reason) == (AgentState.NOT_READY, reason.value)
    assert h.do("call_arrived", "c1", "general", 2.0) == []
    changed = h.of(AgentStateChanged)[-1]
    assert (changed.old, changed.new, changed.reason) == (AgentState.READY,
                                                          AgentState.NOT_READY, reason.value)


def test_not_ready_needs_a_reason(general: Harness) -> None:
    general.login_ready("a1")
    with pytest.raises(AcdError, match="reason"):
        general.do("agent_not_ready", "a1", " ", 1.0)


def test_pause_asked_during_a_call_applies_when_wrapup_ends(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    h.do("call_arrived", "c1", "general", 0.0)
    h.do("offer_answered", "c1", "a1", 1.0)
    h.do("agent_not_ready", "a1", NotReadyReason.LUNCH, 5.0)
    assert h.engine.agent_status("a1").state is AgentState.TALKING
    assert h.engine.agent_status("a1").pending is not None
    h.do("agent_hangup", "c1", 10.0)
    h.do("call_arrived", "c2", "general", 11.0)
    h.do("wrapup_submitted", "a1", 12.0, call_type="q", summary="", resolved=False)
    status = h.engine.agent_status("a1")
    assert (status.state, status.reason) == (AgentState.NOT_READY, "lunch")
    assert h.rung() == [("c1", "a1")]


def test_logout_while_ringing_passes_the_call_on_without_a_miss(general: Harness) -> None:
    h = general
    h.login_ready("a1", "a2")
    h.do("call_arrived", "c1", "general", 0.0)
    out = h.do("agent_logout", "a1", 3.0)
    assert out == [StopRinging("c1", "a1"), RingAgent("c1", "a2", 15.0, "general", "")]
    assert h.engine.agent_status("a1").state is AgentState.LOGGED_OUT
    assert h.of(OfferEnded)[0].outcome is OfferOutcome.CANCELLED


def test_a_missing_transition_is_a_clear_error(general: Harness) -> None:
    with pytest.raises(AgentStateError, match="can't handle ready for agent 'a1' in state "
                                              "logged_out"):
        general.do("agent_ready", "a1", 0.0)
    general.do("agent_login", "a1", 0.0)
    with pytest.raises(AgentStateError, match=r"login .* not_ready"):
        general.do("agent_login", "a1", 1.0)


def test_caller_abandoning_while_waiting_is_recorded(general: Harness) -> None:
    h = general
    h.do("call_arrived", "c1", "general", 0.0)
    h.do("caller_abandoned", "c1", 7.5)
    (ab,) = h.of(CallAbandoned)
    assert (ab.call_id, ab.wait) == ("c1", 7.5)
    assert h.engine.queue_status("general", 8.0).waiting == 0
    with pytest.raises(UnknownCallError):
        h.engine.call_state("c1")
    h.login_ready("a1")
    assert h.rung() == []  # the abandoned call is not offered any more


def test_caller_abandoning_while_ringing_stops_the_ring_without_a_miss(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    h.do("call_arrived", "c1", "general", 0.0)
    out = h.do("caller_abandoned", "c1", 4.0)
    assert out == [StopRinging("c1", "a1")]
    assert h.of(OfferEnded)[0].outcome is OfferOutcome.CALLER_ABANDONED
    assert h.engine.agent_status("a1").state is AgentState.READY
    assert h.engine.next_deadline() is None
    h.do("call_arrived", "c2", "general", 5.0)
    h.tick(20.0)  # one real miss: with the abandon not counted, a1 is not paused yet
    assert h.engine.agent_status("a1").state is AgentState.RINGING


def test_answer_after_the_offer_ended_is_refused(general: Harness) -> None:
    h = general
    h.login_ready("a1", "a2")
    h.do("call_arrived", "c1", "general", 0.0)
    h.tick(15.0)  # a1 timed out, a2 rings
    with pytest.raises(OfferNotActiveError):
        h.do("offer_answered", "c1", "a1", 15.5)
    assert h.engine.agent_status("a2").state is AgentState.RINGING


def test_agent_in_two_queues_takes_the_caller_who_waited_longest() -> None:
    both = AgentConfig("x", "2001", queues=("sales", "support"))
    h = make_harness([QueueConfig("sales"), QueueConfig("support")], [both])
    h.do("call_arrived", "support-1", "support", 0.0)
    h.do("call_arrived", "sales-1", "sales", 5.0)
    h.do("call_arrived", "support-2", "support", 8.0)
    h.do("agent_login", "x", 10.0, ready=True)
    talk(h, "support-1", "x", 11.0, 20.0)
    h.do("wrapup_submitted", "x", 22.0, call_type="q", summary="", resolved=True)
    talk(h, "sales-1", "x", 23.0, 30.0)
    h.do("wrapup_submitted", "x", 32.0, call_type="q", summary="", resolved=True)
    assert [c for c, _ in h.rung()] == ["support-1", "sales-1", "support-2"]


def test_higher_priority_caller_goes_first(general: Harness) -> None:
    h = general
    h.do("call_arrived", "old", "general", 0.0)
    h.do("call_arrived", "vip", "general", 50.0, priority=5)
    h.login_ready("a1")
    assert h.rung() == [("vip", "a1")]


@pytest.mark.parametrize(("answer_at", "late"), [(6.0, False), (10.0, False), (12.0, True)])
def test_a_call_answered_after_ten_seconds_is_late_and_hears_p4(answer_at: float,
                                                                late: bool) -> None:
    h = make_harness([QueueConfig("general")], agents_in("general", 1))
    h.login_ready("a1")
    h.do("call_arrived", "c1", "general", 100.0)
    out = h.do("offer_answered", "c1", "a1", 100.0 + answer_at)
    assert out == [ConnectCall("c1", "a1", "1001", True, late, late)]
    (answered,) = h.of(CallAnswered)
    assert (answered.wait, answered.late) == (answer_at, late)


def test_p4_and_p10_can_be_switched_off_per_queue() -> None:
    q = QueueConfig("quiet", play_agent_number=False, play_late_apology=False)
    h = make_harness([q], agents_in("quiet", 1, first_number=1024))
    h.login_ready("a1")
    h.do("call_arrived", "c1", "quiet", 0.0)
    out = h.do("offer_answered", "c1", "a1", 12.0)
    assert out == [ConnectCall("c1", "a1", "1024", False, True, False)]


def test_max_wait_overflows_to_another_queue_keeping_the_first_entry_time() -> None:
    main = QueueConfig("main", max_wait=60.0, overflow_target="backup")
    h = make_harness([main, QueueConfig("backup")],
                     [AgentConfig("b1", "3001", queues=("backup",))])
    h.do("call_arrived", "c1", "main", 0.0)
    h.do("agent_login", "b1", 30.0)  # logged in, not ready yet
    fired = h.tick(60.0)
    assert fired == [OverflowCall("c1", "backup", False)]
    out = h.do("agent_ready", "b1", 61.0)
    assert h.rung(out) == [("c1", "b1")]
    h.do("offer_answered", "c1", "b1", 63.0)
    assert h.of(CallAnswered)[0].wait == 63.0


def test_max_wait_to_an_outside_target_ends_the_call_as_overflowed() -> None:
    main = QueueConfig("main", max_wait=30.0, overflow_target="voicemail")
    h = make_harness([main], agents_in("main", 1))
    h.do("call_arrived", "c1", "main", 0.0)
    assert h.tick(30.0) == [OverflowCall("c1", "voicemail", True)]
    assert h.record("c1").outcome.value == "overflowed"
    assert h.engine.call_ids() == []


def test_waiting_callers_hear_their_position_and_expected_wait() -> None:
    q = QueueConfig("general", announce_every=30.0)
    h = make_harness([q], agents_in("general", 2))
    h.login_ready("a1", "a2")
    for i, t in enumerate((0.0, 1.0, 2.0, 3.0)):
        h.do("call_arrived", f"c{i}", "general", t)
    h.do("offer_answered", "c0", "a1", 4.0)
    h.do("offer_answered", "c1", "a2", 5.0)
    fired = h.tick(33.0)
    announced = [(a.call_id, a.position) for a in fired if isinstance(a, Announce)]
    assert announced == [("c2", 1), ("c3", 2)]
    first = next(a for a in fired if isinstance(a, Announce))
    # no call finished yet: 180 s estimated handle time, two agents staffed
    assert first.expected_wait_s == pytest.approx(1 * 180.0 / 2)


def test_commands_fire_overdue_timers_first(general: Harness) -> None:
    h = general
    h.login_ready("a1", "a2")
    h.do("call_arrived", "c1", "general", 0.0)
    # the driver never called advance(15): the next command at 20 s still times a1 out first
    out = h.do("call_arrived", "c2", "general", 20.0)
    assert out[:2] == [StopRinging("c1", "a1"), RingAgent("c1", "a2", 15.0, "general", "")]


def test_timer_actions_survive_a_command_that_fails_after_firing_them(general: Harness) -> None:
    h = general
    h.login_ready("a1", "a2")
    h.do("call_arrived", "c1", "general", 0.0)
    with pytest.raises(AcdError):  # overdue ring timeout fires, then the hold is refused
        h.do("hold", "c1", "why", 20.0)
    out = h.do("agent_not_ready", "a2", NotReadyReason.BREAK, 21.0)
    assert out[:2] == [StopRinging("c1", "a1"), RingAgent("c1", "a2", 15.0, "general", "")]
    # a2 declines by pausing: c1 goes back to a1
    assert out[2:] == [StopRinging("c1", "a2"), RingAgent("c1", "a1", 15.0, "general", "")]


def test_time_going_backwards_is_taken_as_the_latest_time(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    h.do("call_arrived", "c1", "general", 10.0)
    h.do("offer_answered", "c1", "a1", 9.0)
    assert h.of(CallAnswered)[0].wait == 0.0


def test_unknown_names_are_domain_errors(general: Harness) -> None:
    with pytest.raises(AcdError, match="no queue 'nope'"):
        general.do("call_arrived", "c1", "nope", 0.0)
    with pytest.raises(AcdError, match="no agent 'zz'"):
        general.do("agent_login", "zz", 0.0)
    with pytest.raises(AcdError, match="skill"):
        general.do("call_arrived", "c1", "general", 0.0, skill="billing")
    general.do("call_arrived", "c1", "general", 0.0)
    with pytest.raises(AcdError, match="already"):
        general.do("call_arrived", "c1", "general", 1.0)


def test_ready_during_a_call_cancels_the_pause_asked_for_earlier(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    h.do("call_arrived", "c1", "general", 0.0)
    h.do("offer_answered", "c1", "a1", 1.0)
    h.do("agent_not_ready", "a1", NotReadyReason.BREAK, 5.0)
    h.do("agent_ready", "a1", 6.0)
    h.do("agent_hangup", "c1", 10.0)
    h.tick(40.0)
    assert h.engine.agent_status("a1").state is AgentState.READY
    h.do("call_arrived", "c2", "general", 41.0)
    h.do("offer_answered", "c2", "a1", 42.0)
    with pytest.raises(AgentStateError, match=r"can't handle ready .* talking"):
        h.do("agent_ready", "a1", 43.0)  # nothing pending to cancel


def test_callers_who_give_up_in_a_queue_nobody_serves_do_not_pile_up() -> None:
    h = make_harness([QueueConfig("night")], [])
    for i in range(5000):
        h.engine.call_arrived(f"c{i}", "night", float(i))
        h.engine.caller_abandoned(f"c{i}", i + 0.5)
    h.engine.call_arrived("last", "night", 6000.0)
    assert h.engine.queue_status("night", 6001.0).waiting == 1
    # a white-box look: the lane's heap holds the live caller plus bounded stale entries
    lanes = h.engine._queues["night"].lanes.values()
    assert sum(len(lane.waiting) for lane in lanes) < 200


def test_agent_status_tells_the_supervisor_state_since_call_and_misses(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    h.do("call_arrived", "c1", "general", 3.0)
    h.tick(18.0)  # one miss, rung again at once
    h.do("offer_answered", "c1", "a1", 20.0)
    s = h.engine.agent_status("a1")
    assert (s.state, s.since, s.call_id, s.calls_answered, s.misses) == (
        AgentState.TALKING, 20.0, "c1", 1, 0)
    h.do("agent_hangup", "c1", 30.0)
    s = h.engine.agent_status("a1")
    assert (s.state, s.since, s.call_id) == (AgentState.WRAPUP, 30.0, "c1")


def test_agent_on_a_call_outside_the_acd_is_not_rung_until_it_ends(general: Harness) -> None:
    h = general
    h.login_ready("a1", "a2")
    h.do("agent_phone_busy", "a1", 1.0)  # a direct call to a1's extension
    out = h.do("call_arrived", "c1", "general", 2.0)
    assert h.rung(out) == [("c1", "a2")]
    assert h.do("call_arrived", "c2", "general", 3.0) == []
    out = h.do("agent_phone_free", "a1", 9.0)
    assert h.rung(out) == [("c2", "a1")]


def test_phone_free_does_not_end_a_pause_the_agent_chose(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    h.do("agent_not_ready", "a1", NotReadyReason.LUNCH, 1.0)
    h.do("agent_phone_busy", "a1", 2.0)
    h.do("agent_phone_free", "a1", 3.0)
    assert h.engine.agent_status("a1").reason == "lunch"


def test_max_wait_reached_while_ringing_overflows_when_that_offer_fails() -> None:
    q = QueueConfig("main", max_wait=20.0, overflow_target="voicemail")
    h = make_harness([q], agents_in("main", 1))
    h.do("call_arrived", "c1", "main", 0.0)
    h.do("agent_login", "a1", 10.0, ready=True)  # rung at 10 s, ring timeout at 25 s
    assert h.tick(20.0) == []  # max wait is reached while a1 rings: no overflow yet
    fired = h.tick(25.0)
    assert fired == [StopRinging("c1", "a1"), OverflowCall("c1", "voicemail", True)]
    assert h.record("c1").outcome.value == "overflowed"


def test_agents_can_be_added_and_removed_while_running(general: Harness) -> None:
    h = general
    h.do("call_arrived", "c1", "general", 0.0)
    h.engine.add_agent(AgentConfig("new", "2024", queues=("general",)))
    out = h.do("agent_login", "new", 1.0, ready=True)
    assert h.rung(out) == [("c1", "new")]
    with pytest.raises(AcdError, match="already another agent's number"):
        h.engine.add_agent(AgentConfig("dup", "2024", queues=("general",)))
    with pytest.raises(AcdError, match="must log out"):
        h.engine.remove_agent("new")
    h.do("agent_logout", "new", 2.0)  # declines the ring and leaves
    h.engine.remove_agent("new")
    with pytest.raises(AcdError, match="no agent 'new'"):
        h.engine.agent_status("new")
    h.login_ready("a1")
    assert h.rung()[-1] == ("c1", "a1")
