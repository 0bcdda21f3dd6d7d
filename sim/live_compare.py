"""Both sides of a live run side by side: SPEC-Q2 figures from the service's records and from
the callers' own measurements, the wallboard's share of a run, and a verdict for every call.

Pure functions of what `sim/live.py` collected; the tolerances below are where the two views
of one wait may part, and why.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Final

from acd import metrics
from acd.records import CallRecord
from sim.live_audio import TEMPLATE_SECONDS
from sim.live_parties import CallerOutcome, CallerResult

# How far the callers' and the service's wait of one call may differ. Each side stamps one
# end of the wait where it happens: the key leaves the caller on its next 20 ms tick and is
# read by the service on one of its ticks (0–40 ms before the service queues the call); P10
# leaves the service on its next tick and is read by the caller on one of its ticks (0–40 ms
# after the service answered), plus the event loop's turn for the ACD's actions on a busy
# two-core machine (measured ≤ 30 ms). 40 + 40 + 30 = 110 ms; 150 ms leaves room to spare.
AGREEMENT_SECONDS: Final = 0.15
# A caller recognises P10 only once its first TEMPLATE_SECONDS have arrived (one more frame
# for the match to land). A caller whose patience ran out within that long after the service
# answered hung up while P10 was arriving: the service rightly counts it answered (then ended
# by the caller), the caller could not know. Such a call is "crossed", not a disagreement.
CROSSING_WINDOW: Final = TEMPLATE_SECONDS + 0.02 + AGREEMENT_SECONDS


@dataclass(frozen=True, slots=True)
class SideFigures:
    offered: int
    answered: int
    abandoned: int  # all abandons, the short ones included
    short_abandoned: int  # gave up within the queue's short-abandon seconds (SPEC-Q2)
    answered_within: int
    service_level: float | None
    asa: float | None


class Verdict(enum.StrEnum):
    AGREE = "agree"  # same outcome, waits within AGREEMENT_SECONDS
    APART = "apart"  # same outcome, waits further apart than AGREEMENT_SECONDS
    CROSSED = "crossed"  # hung up while P10 was arriving (CROSSING_WINDOW)
    DIFFERENT = "different"  # the two sides disagree on the outcome
    NO_RECORD = "no_record"  # the service has no record of a call the caller made
    FAILED = "failed"  # the caller's call went wrong (its `problem` says how)


@dataclass(frozen=True, slots=True)
class CallComparison:
    caller: str
    caller_outcome: CallerOutcome
    service_outcome: str | None
    caller_wait: float | None
    service_wait: float | None
    verdict: Verdict

    @property
    def difference(self) -> float | None:
        if self.caller_wait is None or self.service_wait is None:
            return None
        return self.caller_wait - self.service_wait


def measured_figures(
    callers: list[CallerResult], threshold: float, short_abandon: float
) -> SideFigures:
    answered = [c for c in callers if c.outcome is CallerOutcome.ANSWERED and c.wait is not None]
    abandoned = [c for c in callers if c.outcome is CallerOutcome.ABANDONED]
    waits = [c.wait for c in answered if c.wait is not None]
    within = sum(1 for w in waits if w <= threshold)
    return SideFigures(
        offered=len(answered) + len(abandoned),
        answered=len(answered),
        abandoned=len(abandoned),
        short_abandoned=sum(1 for c in abandoned if c.wait is not None and c.wait <= short_abandon),
        answered_within=within,
        service_level=within / len(waits) if waits else None,
        asa=sum(waits) / len(waits) if waits else None,
    )


def service_figures(records: list[CallRecord]) -> SideFigures:
    m = metrics.compute(records)
    return SideFigures(
        offered=m.offered,
        answered=m.answered,
        abandoned=m.abandoned + m.short_abandoned,
        short_abandoned=m.short_abandoned,
        answered_within=m.answered_within,
        service_level=m.service_level,
        asa=m.asa,
    )


def compare(callers: list[CallerResult], records: list[CallRecord]) -> list[CallComparison]:
    """Each caller's view of its call beside the service's record of it."""
    by_number = {r.caller: r for r in records}
    out = []
    for c in callers:
        record = by_number.get(c.number)
        service_wait = record.wait if record is not None else None
        service_answered = record is not None and record.answered_at is not None
        if c.outcome is CallerOutcome.FAILED:
            verdict = Verdict.FAILED
        elif record is None:
            verdict = Verdict.NO_RECORD
        elif service_answered == (c.outcome is CallerOutcome.ANSWERED):
            apart = c.wait is None or abs(c.wait - record.wait) > AGREEMENT_SECONDS
            verdict = Verdict.APART if apart else Verdict.AGREE
        elif (
            c.outcome is CallerOutcome.ABANDONED
            and c.wait is not None
            and service_answered
            and c.wait - CROSSING_WINDOW <= record.wait <= c.wait + AGREEMENT_SECONDS
        ):
            verdict = Verdict.CROSSED
        else:
            verdict = Verdict.DIFFERENT
        out.append(
            CallComparison(
                caller=c.number,
                caller_outcome=c.outcome,
                service_outcome=record.outcome.value if record is not None else None,
                caller_wait=c.wait,
                service_wait=service_wait,
                verdict=verdict,
            )
        )
    return out


def _wallboard_today(board: dict[str, Any]) -> dict[str, Any]:
    today: dict[str, Any] = board.get("today") or {}
    return today


def wallboard_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """This run's share of the wallboard's "today" figures (counts and wait sums add up)."""
    b, a = _wallboard_today(before), _wallboard_today(after)

    def count(side: dict[str, Any], name: str) -> int:
        return int(side.get(name) or 0)

    answered = count(a, "answered") - count(b, "answered")
    within = count(a, "answered_within") - count(b, "answered_within")
    wait_sum = (a.get("asa") or 0.0) * count(a, "answered") - (b.get("asa") or 0.0) * count(
        b, "answered"
    )
    return {
        "offered": count(a, "offered") - count(b, "offered"),
        "answered": answered,
        "abandoned": count(a, "abandoned")
        + count(a, "short_abandoned")
        - count(b, "abandoned")
        - count(b, "short_abandoned"),
        "short_abandoned": count(a, "short_abandoned") - count(b, "short_abandoned"),
        "answered_within": within,
        "service_level": within / answered if answered else None,
        "asa": wait_sum / answered if answered else None,
    }
