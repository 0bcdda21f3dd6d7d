"""Both views of a live run's calls: which agree, which crossed, which differ (issue 8)."""

from __future__ import annotations

import pytest

from acd.events import Party
from acd.records import CallOutcome, CallRecord
from sim.live_compare import (
    AGREEMENT_SECONDS,
    CROSSING_WINDOW,
    Verdict,
    compare,
    measured_figures,
    service_figures,
)
from sim.live_parties import CallerOutcome, CallerResult


def service_record(caller: str, wait: float, *, answered: bool) -> CallRecord:
    queued = 1000.0
    return CallRecord(
        call_id=f"call-{caller}", queue="billing", final_queue="billing", caller=caller,
        queued_at=queued, offers=(), answered_at=queued + wait if answered else None,
        agent_id="1001" if answered else None,
        abandoned_at=None if answered else queued + wait, overflowed_to=None, transfers=0,
        handlings=(), ended_at=queued + wait + (5 if answered else 0), ended_by=Party.CALLER,
        agent_hung_up_first=False, callback_number=None, callback_outcome=None,
        call_type=None, resolved=None, survey_score=None, satisfied=None,
        outcome=CallOutcome.ANSWERED if answered else CallOutcome.ABANDONED,
        service_level_seconds=10.0, short_abandon_seconds=5.0,
    )  # fmt: skip


def caller_result(number: str, outcome: CallerOutcome, wait: float) -> CallerResult:
    result = CallerResult(number, started=0.0, outcome=outcome, queue_entry=50.0)
    if outcome is CallerOutcome.ANSWERED:
        result.answered_at = 50.0 + wait
    elif outcome is CallerOutcome.ABANDONED:
        result.abandoned_at = 50.0 + wait
    return result


def test_each_call_gets_a_verdict_from_both_views() -> None:
    callers = [
        caller_result("1", CallerOutcome.ANSWERED, 3.04),  # 40 ms later: transport, pacing
        caller_result("2", CallerOutcome.ANSWERED, 3.5),  # 0.5 s apart: something is wrong
        caller_result("3", CallerOutcome.ABANDONED, 8.0),  # hung up 1 s into P10
        caller_result("4", CallerOutcome.ABANDONED, 8.0),  # hung up 3 s after the answer
        caller_result("5", CallerOutcome.ANSWERED, 2.0),  # the service never saw it
        caller_result("6", CallerOutcome.FAILED, 0.0),
    ]
    records = [
        service_record("1", 3.0, answered=True),
        service_record("2", 3.0, answered=True),
        service_record("3", 7.0, answered=True),
        service_record("4", 5.0, answered=True),
        service_record("6", 1.0, answered=False),
    ]
    calls = compare(callers, records)
    assert [c.verdict for c in calls] == [
        Verdict.AGREE, Verdict.APART, Verdict.CROSSED, Verdict.DIFFERENT, Verdict.NO_RECORD,
        Verdict.FAILED,
    ]  # fmt: skip
    assert calls[0].difference == pytest.approx(0.04)
    assert CROSSING_WINDOW > 1.0 > AGREEMENT_SECONDS


def test_both_sides_count_abandons_short_ones_apart_and_time_answered_calls_only() -> None:
    callers = [
        caller_result("1", CallerOutcome.ANSWERED, 4.0),
        caller_result("2", CallerOutcome.ANSWERED, 12.0),
        caller_result("3", CallerOutcome.ABANDONED, 3.0),
        caller_result("4", CallerOutcome.ABANDONED, 30.0),
        caller_result("5", CallerOutcome.FAILED, 0.0),
    ]
    records = [
        service_record("1", 4.0, answered=True),
        service_record("2", 12.0, answered=True),
        service_record("3", 3.0, answered=False),
        service_record("4", 30.0, answered=False),
    ]
    for side in (measured_figures(callers, 10.0, 5.0), service_figures(records)):
        assert (side.offered, side.answered, side.abandoned, side.short_abandoned) == (4, 2, 2, 1)
        assert side.service_level == 0.5
        assert side.asa == pytest.approx(8.0)
