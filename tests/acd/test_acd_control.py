"""Call control after the answer: hold (SPEC-Q5), transfers (P9), agent hang-up (SPEC-Q7),
wrap-up (SPEC-Q6), survey and callbacks."""

from __future__ import annotations

import pytest
from acd_harness import Harness, agents_in, make_harness

from acd.actions import (
    ConnectCall,
    DialCallback,
    OfferCallback,
    PlayToCaller,
    ReleaseAgent,
    RingAgent,
    StartClosingFlow,
    StartMusicOnHold,
    StopMusicOnHold,
    StopRinging,
)
from acd.config import AgentConfig, QueueConfig, SkillLevel
from acd.events import (
    CallbackOutcome,
    CallEnded,
    CallTransferred,
    HoldEnded,
    HoldStarted,
    Party,
    TalkEnded,
    TransferFailed,
    WrapupSubmitted,
)
from acd.records import CallOutcome
from acd.states import (
    AcdError,
    AgentState,
    AgentUnavailableError,
    CallState,
    CallStateError,
    HoldReasonRequiredError,
)


def connected(h: Harness, call_id: str = "c1", agent_id: str = "a1", at: float = 0.0) -> None:
    h.do("call_arrived", call_id, h.queues[0].name, at)
    h.do("offer_answered", call_id, agent_id, at + 2.0)


def test_hold_needs_a_reason_and_its_time_is_recorded(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    connected(h)
    for empty in ("", "   "):
        with pytest.raises(HoldReasonRequiredError):
            h.do("hold", "c1", empty, 5.0)
    assert h.engine.call_state("c1") is CallState.CONNECTED
    assert h.do("hold", "c1", "checking the bill", 5.0) == [StartMusicOnHold("c1", "default")]
    assert h.engine.agent_status("a1").state is AgentState.ON_HOLD
    assert h.of(HoldStarted)[0].reason == "checking the bill"
    assert h.do("unhold", "c1", 35.0) == [StopMusicOnHold("c1")]
    assert h.of(HoldEnded)[0].duration == 30.0
    h.do("hold", "c1", "asking a colleague", 40.0)
    h.do("unhold", "c1", 50.0)
    h.do("agent_hangup", "c1", 62.0)
    h.do("call_ended", "c1", 70.0)
    h.do("wrapup_submitted", "a1", 72.0, call_type="bill", summary="", resolved=True)
    (handling,) = h.record("c1").handlings
    assert (handling.hold_seconds, handling.talk_seconds) == (40.0, 20.0)


def test_unhold_of_a_call_not_on_hold_is_refused(general: Harness) -> None:
    general.login_ready("a1")
    connected(general)
    with pytest.raises(CallStateError, match="can't handle unhold"):
        general.do("unhold", "c1", 3.0)


def test_agent_hangup_does_not_end_the_caller_who_goes_to_the_survey(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    connected(h)
    out = h.do("agent_hangup", "c1", 30.0)
    assert out == [StartClosingFlow("c1", "a1")]
    assert not any(isinstance(a, ReleaseAgent) for a in out)
    assert h.engine.call_state("c1") is CallState.CLOSING  # the caller is still there
    assert h.of(CallEnded) == []
    assert h.of(TalkEnded)[0].ended_by is Party.AGENT
    assert h.engine.agent_status("a1").state is AgentState.WRAPUP
    h.do("survey_answered", "c1", 40.0, score=1, satisfied=True)
    h.do("call_ended", "c1", 45.0, Party.SYSTEM)
    h.tick(60.0)  # wrap-up runs out
    rec = h.record("c1")
    assert rec.agent_hung_up_first and rec.ended_by is Party.SYSTEM and rec.satisfied


def test_caller_hanging_up_first_releases_the_agent(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    connected(h)
    out = h.do("call_ended", "c1", 30.0, Party.CALLER)
    assert out == [ReleaseAgent("c1", "a1")]
    assert h.of(TalkEnded)[0].ended_by is Party.CALLER
    h.tick(60.0)
    assert not h.record("c1").agent_hung_up_first


def test_wrapup_needs_a_call_type_and_an_agent_in_wrapup(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    with pytest.raises(AcdError, match="no call to wrap up"):
        h.do("wrapup_submitted", "a1", 1.0, call_type="q", summary="", resolved=True)
    connected(h)
    h.do("agent_hangup", "c1", 5.0)
    with pytest.raises(AcdError, match="call type"):
        h.do("wrapup_submitted", "a1", 6.0, call_type=" ", summary="", resolved=True)


def test_agent_ready_during_wrapup_ends_it_early(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    connected(h)
    h.do("agent_hangup", "c1", 5.0)
    h.do("agent_ready", "a1", 9.0)
    assert h.engine.agent_status("a1").state is AgentState.READY
    h.do("call_ended", "c1", 10.0)
    assert h.record("c1").handlings[0].wrapup_seconds == 4.0


def tiered() -> Harness:
    q = QueueConfig("help", skills=("billing",))
    agents = [AgentConfig("jr", "1001", skills={"billing": SkillLevel.JUNIOR}, queues=("help",)),
              AgentConfig("sr", "1002", skills={"billing": SkillLevel.SENIOR}, queues=("help",)),
              AgentConfig("sr2", "1003", skills={"billing": SkillLevel.SENIOR},
                          queues=("help",))]
    return make_harness([q], agents)


def test_blind_transfer_junior_to_senior_plays_p9_first() -> None:
    h = tiered()
    h.do("agent_login", "jr", 0.0, ready=True)
    h.do("call_arrived", "c1", "help", 1.0, skill="billing")
    h.do("offer_answered", "c1", "jr", 3.0)
    h.do("agent_login", "sr", 4.0, ready=True)
    out = h.do("transfer", "c1", 20.0, to_agent="sr")
    assert out[0] == PlayToCaller("c1", "P9")
    assert ReleaseAgent("c1", "jr") in out
    assert h.rung(out) == [("c1", "sr")]
    assert h.engine.agent_status("jr").state is AgentState.WRAPUP
    (tr,) = h.of(CallTransferred)
    assert (tr.to_agent, tr.attended, tr.to_senior) == ("sr", False, True)
    out = h.do("offer_answered", "c1", "sr", 24.0)
    # the new agent states their number; the 10-second clock was the first answer's
    assert out == [ConnectCall("c1", "sr", "1002", True, False, False)]


def test_transfer_between_equals_or_down_plays_no_p9() -> None:
    h = tiered()
    h.login_ready("sr", "sr2")
    h.do("call_arrived", "c1", "help", 1.0, skill="billing")
    h.do("offer_answered", "c1", "sr", 3.0)
    out = h.do("transfer", "c1", 9.0, to_agent="sr2")
    assert not any(isinstance(a, PlayToCaller) for a in out)


def test_blind_transfer_to_a_queue_for_seniors() -> None:
    h = tiered()
    h.login_ready("jr")
    h.do("call_arrived", "c1", "help", 1.0, skill="billing")
    h.do("offer_answered", "c1", "jr", 3.0)
    out = h.do("transfer", "c1", 10.0, to_queue="help", min_level=SkillLevel.SENIOR)
    assert out[0] == PlayToCaller("c1", "P9")
    assert h.engine.call_state("c1") is CallState.WAITING  # no senior is ready
    h.do("wrapup_submitted", "jr", 12.0, call_type="q", summary="", resolved=False)
    assert h.rung() == [("c1", "jr")]  # the junior, ready again, is not rung for it
    out = h.do("agent_login", "sr", 15.0, ready=True)
    assert h.rung(out) == [("c1", "sr")]


def test_attended_transfer_keeps_the_caller_with_the_first_agent_until_the_target_answers(
) -> None:
    h = tiered()
    h.login_ready("jr")
    h.do("call_arrived", "c1", "help", 1.0, skill="billing")
    h.do("offer_answered", "c1", "jr", 3.0)
    h.do("agent_login", "sr", 4.0, ready=True)
    out = h.do("transfer", "c1", 10.0, to_agent="sr", attended=True)
    assert out[0] == PlayToCaller("c1", "P9")
    assert StartMusicOnHold("c1", "default") in out
    assert h.engine.agent_status("jr").state is AgentState.TALKING
    out = h.do("offer_answered", "c1", "sr", 14.0)
    assert out == [ReleaseAgent("c1", "jr"), ConnectCall("c1", "sr", "1002", True, False, False)]
    assert h.engine.agent_status("jr").state is AgentState.WRAPUP
    assert h.of(CallTransferred)[0].attended


def test_failed_attended_transfer_returns_the_caller_to_the_first_agent() -> None:
    h = tiered()
    h.login_ready("jr")
    h.do("call_arrived", "c1", "help", 1.0, skill="billing")
    h.do("offer_answered", "c1", "jr", 3.0)
    h.do("agent_login", "sr", 4.0, ready=True)
    h.do("transfer", "c1", 10.0, to_agent="sr", attended=True)
    fired = h.tick(25.0)
    assert fired == [StopRinging("c1", "sr"), StopMusicOnHold("c1")]
    assert h.engine.call_state("c1") is CallState.CONNECTED
    assert h.engine.agent_status("jr").state is AgentState.TALKING
    assert h.of(TransferFailed)[0].to_agent == "sr"


def test_transfer_to_an_agent_who_is_not_ready_is_refused() -> None:
    h = tiered()
    h.login_ready("jr")
    h.do("call_arrived", "c1", "help", 1.0, skill="billing")
    h.do("offer_answered", "c1", "jr", 3.0)
    with pytest.raises(AgentUnavailableError):
        h.do("transfer", "c1", 5.0, to_agent="sr")
    with pytest.raises(AcdError, match="exactly one"):
        h.do("transfer", "c1", 5.0)
    assert h.engine.call_state("c1") is CallState.CONNECTED


def callback_queue() -> Harness:
    return make_harness([QueueConfig("cb", callback_after=60.0)], agents_in("cb", 2))


def test_callback_keeps_the_place_and_an_agent_is_connected_to_an_outbound_call() -> None:
    h = callback_queue()
    h.do("call_arrived", "first", "cb", 0.0)
    h.do("call_arrived", "second", "cb", 10.0)
    fired = h.tick(60.0)
    assert fired == [OfferCallback("first")]
    h.do("callback_requested", "first", 65.0, "13912345678")
    assert h.engine.call_state("first") is CallState.CALLBACK_WAITING
    assert h.tick(70.0) == [OfferCallback("second")]
    out = h.do("agent_login", "a1", 80.0, ready=True)
    # "first" kept its place ahead of "second", although it hung up
    assert out == [RingAgent("first", "a1", 15.0, "cb", "", "13912345678")]
    out = h.do("offer_answered", "first", "a1", 82.0)
    assert out == [DialCallback("first", "a1", "13912345678")]
    assert h.engine.agent_status("a1").state is AgentState.TALKING
    h.do("callback_result", "first", 90.0, CallbackOutcome.ANSWERED)
    assert h.engine.call_state("first") is CallState.CONNECTED
    h.do("agent_hangup", "first", 200.0)
    h.do("call_ended", "first", 210.0)
    h.do("wrapup_submitted", "a1", 215.0, call_type="q", summary="", resolved=True)
    rec = h.record("first")
    assert (rec.callback_number, rec.callback_outcome) == ("13912345678",
                                                           CallbackOutcome.ANSWERED)
    assert rec.outcome is CallOutcome.ANSWERED and not rec.answered_within_service_level


def test_a_callback_that_does_not_reach_the_caller_is_recorded_as_failed() -> None:
    h = callback_queue()
    h.do("call_arrived", "c1", "cb", 0.0)
    h.do("callback_requested", "c1", 61.0, "13912345678")
    h.do("agent_login", "a1", 70.0, ready=True)
    h.do("offer_answered", "c1", "a1", 71.0)
    out = h.do("callback_result", "c1", 101.0, CallbackOutcome.NO_ANSWER)
    assert out == [ReleaseAgent("c1", "a1")]
    assert h.engine.agent_status("a1").state is AgentState.WRAPUP
    h.do("wrapup_submitted", "a1", 105.0, call_type="callback", summary="no answer",
         resolved=False)
    rec = h.record("c1")
    assert (rec.outcome, rec.callback_outcome) == (CallOutcome.CALLBACK_FAILED,
                                                   CallbackOutcome.NO_ANSWER)


def test_callback_agent_who_misses_the_ring_keeps_the_callback_queued() -> None:
    h = callback_queue()
    h.do("call_arrived", "c1", "cb", 0.0)
    h.do("callback_requested", "c1", 61.0, "139")
    h.do("agent_login", "a1", 70.0, ready=True)
    h.tick(85.0)  # a1 misses; the callback waits again (a1 is rung again: only agent)
    assert h.engine.call_state("c1") is CallState.CALLBACK_RINGING
    h.tick(100.0)  # second miss: a1 is paused, the callback is still queued
    assert h.engine.call_state("c1") is CallState.CALLBACK_WAITING


def test_callback_needs_a_queue_that_offers_it_and_a_number(general: Harness) -> None:
    general.do("call_arrived", "c1", "general", 0.0)
    with pytest.raises(AcdError, match="does not offer callbacks"):
        general.do("callback_requested", "c1", 1.0, "139")
    h = callback_queue()
    h.do("call_arrived", "c1", "cb", 0.0)
    with pytest.raises(AcdError, match="not a phone number"):
        h.do("callback_requested", "c1", 1.0, "abc")


def test_attended_transfer_to_a_queue_hands_the_call_to_that_queue() -> None:
    queues = [QueueConfig("front", wrapup_seconds=60.0), QueueConfig("back", wrapup_seconds=5.0)]
    agents = [AgentConfig("f", "1001", queues=("front",)),
              AgentConfig("b", "1002", queues=("back",))]
    h = make_harness(queues, agents)
    h.login_ready("f", "b")
    connected(h, "c1", "f")
    h.do("transfer", "c1", 10.0, to_queue="back", attended=True)
    h.do("offer_answered", "c1", "b", 12.0)
    h.do("agent_hangup", "c1", 40.0)
    h.tick(45.0)  # the back queue's 5 s wrap-up for b, not the front's 60 s
    assert h.engine.agent_status("b").state is AgentState.READY
    assert h.engine.agent_status("f").state is AgentState.WRAPUP  # front's 60 s from 12 s
    h.do("call_ended", "c1", 46.0)
    h.tick(80.0)
    rec = h.record("c1")
    assert (rec.final_queue, rec.transfers) == ("back", 1)
    assert [x.hold_seconds for x in rec.handlings] == [2.0, 0.0]  # f held the caller 10–12 s


def test_a_blind_transfer_that_was_answered_is_not_reported_failed_later() -> None:
    h = tiered()
    h.login_ready("jr", "sr")
    h.do("call_arrived", "c1", "help", 1.0, skill="billing")
    h.do("offer_answered", "c1", "jr", 3.0)
    h.do("transfer", "c1", 10.0, to_agent="sr")
    h.do("offer_answered", "c1", "sr", 12.0)
    h.do("transfer", "c1", 20.0, to_queue="help")  # nobody ready: waits, then rings jr
    h.tick(56.0)  # jr (ready at 40) does not answer: no stale "transfer failed" follows
    assert ("c1", "jr") in h.rung()[2:]
    assert h.of(TransferFailed) == []


def test_a_wrapup_sent_after_its_time_ran_out_is_still_logged_once(general: Harness) -> None:
    h = general
    h.login_ready("a1")
    connected(h)
    h.do("agent_hangup", "c1", 10.0)
    h.tick(40.0)  # wrap-up ran out: a1 is ready, maybe already on the next call
    h.do("call_arrived", "c2", "general", 41.0)
    out = h.do("wrapup_submitted", "a1", 45.0, call_type="billing", summary="late",
               resolved=True)
    assert out == []
    assert h.engine.agent_status("a1").state is AgentState.RINGING
    (late,) = h.of(WrapupSubmitted)
    assert (late.call_id, late.at, late.call_type) == ("c1", 45.0, "billing")
    with pytest.raises(AcdError, match="no call to wrap up"):
        h.do("wrapup_submitted", "a1", 46.0, call_type="billing", summary="", resolved=True)


def test_agent_hanging_up_during_an_attended_transfer_completes_it_blind() -> None:
    h = tiered()
    h.login_ready("jr")
    h.do("call_arrived", "c1", "help", 1.0, skill="billing")
    h.do("offer_answered", "c1", "jr", 3.0)
    h.do("agent_login", "sr", 4.0, ready=True)
    h.do("transfer", "c1", 10.0, to_agent="sr", attended=True)
    out = h.do("agent_hangup", "c1", 12.0)  # the junior's phone sends BYE during the consult
    assert not any(isinstance(a, StartClosingFlow) for a in out)
    assert h.engine.agent_status("jr").state is AgentState.WRAPUP
    assert h.engine.call_state("c1") is CallState.RINGING  # sr still rings for the caller
    out = h.do("offer_answered", "c1", "sr", 15.0)
    assert out == [ConnectCall("c1", "sr", "1002", True, False, False)]
    (tr,) = h.of(CallTransferred)
    assert (tr.attended, tr.to_agent) == (False, "sr")


def test_agent_hanging_up_a_callback_still_dialling_fails_it() -> None:
    h = callback_queue()
    h.do("call_arrived", "c1", "cb", 0.0)
    h.do("callback_requested", "c1", 61.0, "139")
    h.do("agent_login", "a1", 70.0, ready=True)
    h.do("offer_answered", "c1", "a1", 71.0)
    h.do("agent_hangup", "c1", 80.0)
    h.tick(120.0)
    assert h.record("c1").callback_outcome is CallbackOutcome.FAILED
    assert h.engine.agent_status("a1").state is AgentState.READY


def test_blind_transfer_to_an_agent_who_does_not_answer_returns_to_the_queue() -> None:
    h = tiered()
    h.login_ready("jr")
    h.do("call_arrived", "c1", "help", 1.0, skill="billing")
    h.do("offer_answered", "c1", "jr", 3.0)
    h.do("agent_login", "sr", 4.0, ready=True)
    h.do("transfer", "c1", 10.0, to_agent="sr")
    h.tick(25.0)  # sr's ring times out; jr is still in wrap-up, nobody else is ready
    (failed,) = h.of(TransferFailed)
    assert (failed.from_agent, failed.to_agent) == ("jr", "sr")
    assert h.engine.call_state("c1") in (CallState.WAITING, CallState.RINGING)
    # sr missed once and is ready again behind nobody: it is rung again for the caller
    assert h.rung()[-1] == ("c1", "sr")


def test_caller_hanging_up_during_an_attended_transfer_frees_both_agents() -> None:
    h = tiered()
    h.login_ready("jr")
    h.do("call_arrived", "c1", "help", 1.0, skill="billing")
    h.do("offer_answered", "c1", "jr", 3.0)
    h.do("agent_login", "sr", 4.0, ready=True)
    h.do("transfer", "c1", 10.0, to_agent="sr", attended=True)
    out = h.do("call_ended", "c1", 12.0, Party.CALLER)
    assert StopRinging("c1", "sr") in out and ReleaseAgent("c1", "jr") in out
    assert h.engine.agent_status("sr").state is AgentState.READY
    assert h.engine.agent_status("jr").state is AgentState.WRAPUP


def test_transfer_from_hold_takes_the_caller_off_hold_first() -> None:
    h = tiered()
    h.login_ready("sr", "sr2")
    h.do("call_arrived", "c1", "help", 1.0, skill="billing")
    h.do("offer_answered", "c1", "sr", 3.0)
    h.do("hold", "c1", "asking a colleague", 5.0)
    out = h.do("transfer", "c1", 9.0, to_agent="sr2")
    assert out[0] == StopMusicOnHold("c1")
    assert h.of(HoldEnded)[0].duration == 4.0


def test_a_missed_callback_goes_to_another_ready_agent_at_once() -> None:
    h = callback_queue()
    h.do("call_arrived", "c1", "cb", 0.0)
    h.do("callback_requested", "c1", 61.0, "139")
    h.do("agent_login", "a1", 70.0, ready=True)  # rung for the callback
    h.do("agent_login", "a2", 72.0, ready=True)  # nothing waits: a2 is idle
    fired = h.tick(85.0)  # a1 misses
    assert h.rung(fired) == [("c1", "a2")]
