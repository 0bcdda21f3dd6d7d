"""SPEC-Q2 metrics as pure functions of call records, shared by the live API, reports and sim.

Definitions (a call is counted in the queue it first entered and in the interval in which it
entered it; ``X`` is the queue's ``service_level_seconds``, 10 s by default per SPEC-Q1, and
``S`` its ``short_abandon_seconds``, 5 s by default):

- offered: calls that asked for an agent (entered an ACD queue).
- answered: calls an agent talked to, inbound or by callback.
- 接通率 answer rate = answered ÷ offered (SPEC-Q2's wording, every offered call counts).
- short abandons: callers who hung up before any answer within ``S`` seconds; counted apart.
- abandoned: callers who hung up before any answer after more than ``S`` seconds.
- abandon rate = abandoned ÷ (offered − short abandons).
- service level, two definitions, both only over inbound calls (callbacks excluded because
  the caller chose to leave the queue):
  - ``service_level`` = answered within X ÷ answered;
  - ``service_level_abandons`` = answered within X ÷ (answered + abandoned), i.e. abandons
    after the short threshold count against it, short abandons do not count at all.
  "Within X" means a wait of at most X seconds from entering the first queue to the answer.
- ASA = mean wait of inbound answered calls (first answer).
- AHT = mean over agent handlings of talk + hold + wrap-up (a transferred call has one
  handling per agent).
- 一次问题处理率 FCR = calls whose last submitted wrap-up says "resolved" ÷ calls with a
  submitted wrap-up.
- 满意率 = satisfied respondents ÷ callers who answered the survey.
- occupancy = (talking + on hold + wrap-up) ÷ (ready + ringing + talking + on hold + wrap-up)
  agent seconds; not-ready time is outside both.
- calls waiting and the longest wait now come from the live engine (``AcdEngine.queue_status``).

Every ratio is ``None`` when its denominator is zero. Intervals are 15 min / hour / day
buckets aligned to midnight of ``utc_offset`` (China Standard Time is +8 h).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

from acd.events import MISSED_OUTCOMES, OfferOutcome, Party
from acd.records import BUSY_FOR_OCCUPANCY, CallOutcome, CallRecord
from acd.states import STAFFED_STATES, AgentState

QUARTER_HOUR = 900.0
HOUR = 3600.0
DAY = 86400.0
CHINA_STANDARD_TIME = 8 * HOUR


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


@dataclass(frozen=True, slots=True)
class Metrics:
    offered: int
    answered: int
    answered_within: int
    abandoned: int
    short_abandoned: int
    overflowed: int
    callbacks_requested: int
    callbacks_answered: int
    answer_rate: float | None  # 接通率
    service_level: float | None  # answered within X ÷ answered
    service_level_abandons: float | None  # answered within X ÷ (answered + abandoned)
    abandon_rate: float | None
    asa: float | None
    aht: float | None
    fcr: float | None  # 一次问题处理率
    fcr_requests: int
    satisfaction: float | None  # 满意率
    surveyed: int
    longest_wait: float  # longest wait of any call in the group (answered or not)
    agent_hung_up_first: int  # SPEC-Q7 breaches to review


class MetricsAccumulator:
    """Streaming sums of records, so a million calls need no list of records."""

    __slots__ = ("abandoned", "agent_first", "answered", "answered_within", "callbacks",
                 "callbacks_answered", "fcr_requests", "fcr_resolved", "handle_sum",
                 "handlings", "inbound_answered", "longest_wait", "offered", "overflowed",
                 "satisfied", "short_abandoned", "surveyed", "wait_sum")

    def __init__(self) -> None:
        self.offered = 0
        self.answered = 0
        self.inbound_answered = 0
        self.answered_within = 0
        self.abandoned = 0
        self.short_abandoned = 0
        self.overflowed = 0
        self.callbacks = 0
        self.callbacks_answered = 0
        self.wait_sum = 0.0
        self.handle_sum = 0.0
        self.handlings = 0
        self.fcr_requests = 0
        self.fcr_resolved = 0
        self.surveyed = 0
        self.satisfied = 0
        self.longest_wait = 0.0
        self.agent_first = 0

    def add(self, r: CallRecord) -> None:
        self.offered += 1
        wait = r.wait
        if wait > self.longest_wait:
            self.longest_wait = wait
        callback = r.callback_number is not None
        if callback:
            self.callbacks += 1
        if r.answered_at is not None:
            self.answered += 1
            if callback:
                self.callbacks_answered += 1
            else:
                self.inbound_answered += 1
                self.wait_sum += wait
                if wait <= r.service_level_seconds:
                    self.answered_within += 1
        elif r.outcome is CallOutcome.ABANDONED and not callback:
            if wait <= r.short_abandon_seconds:
                self.short_abandoned += 1
            else:
                self.abandoned += 1
        elif r.outcome is CallOutcome.OVERFLOWED:
            self.overflowed += 1
        for h in r.handlings:
            self.handlings += 1
            self.handle_sum += h.talk_seconds + h.hold_seconds + h.wrapup_seconds
        if r.resolved is not None:
            self.fcr_requests += 1
            self.fcr_resolved += r.resolved
        if r.satisfied is not None:
            self.surveyed += 1
            self.satisfied += r.satisfied
        self.agent_first += r.agent_hung_up_first

    def result(self) -> Metrics:
        return Metrics(
            offered=self.offered,
            answered=self.answered,
            answered_within=self.answered_within,
            abandoned=self.abandoned,
            short_abandoned=self.short_abandoned,
            overflowed=self.overflowed,
            callbacks_requested=self.callbacks,
            callbacks_answered=self.callbacks_answered,
            answer_rate=_ratio(self.answered, self.offered),
            service_level=_ratio(self.answered_within, self.inbound_answered),
            service_level_abandons=_ratio(self.answered_within,
                                          self.inbound_answered + self.abandoned),
            abandon_rate=_ratio(self.abandoned, self.offered - self.short_abandoned),
            asa=_ratio(self.wait_sum, self.inbound_answered),
            aht=_ratio(self.handle_sum, self.handlings),
            fcr=_ratio(self.fcr_resolved, self.fcr_requests),
            fcr_requests=self.fcr_requests,
            satisfaction=_ratio(self.satisfied, self.surveyed),
            surveyed=self.surveyed,
            longest_wait=self.longest_wait,
            agent_hung_up_first=self.agent_first,
        )


def compute(records: Iterable[CallRecord]) -> Metrics:
    acc = MetricsAccumulator()
    for r in records:
        acc.add(r)
    return acc.result()


def bucket_start(t: float, size: float, *, utc_offset: float = 0.0) -> float:
    """Start of the interval of length ``size`` holding ``t``, aligned to local midnight."""
    return ((t + utc_offset) // size) * size - utc_offset


def grouped(records: Iterable[CallRecord],
            key: Callable[[CallRecord], Hashable]) -> dict[Hashable, Metrics]:
    accs: dict[Hashable, MetricsAccumulator] = {}
    for r in records:
        k = key(r)
        acc = accs.get(k)
        if acc is None:
            acc = accs[k] = MetricsAccumulator()
        acc.add(r)
    return {k: acc.result() for k, acc in accs.items()}


def by_queue(records: Iterable[CallRecord]) -> dict[str, Metrics]:
    return {str(k): m for k, m in grouped(records, lambda r: r.queue).items()}


def by_interval(records: Iterable[CallRecord], size: float, *, utc_offset: float = 0.0,
                queue: str | None = None) -> dict[float, Metrics]:
    """Per 15 min (``QUARTER_HOUR``), ``HOUR`` or ``DAY``, keyed by interval start."""
    accs: dict[float, MetricsAccumulator] = {}
    for r in records:
        if queue is not None and r.queue != queue:
            continue
        k = bucket_start(r.queued_at, size, utc_offset=utc_offset)
        acc = accs.get(k)
        if acc is None:
            acc = accs[k] = MetricsAccumulator()
        acc.add(r)
    return {k: accs[k].result() for k in sorted(accs)}


@dataclass(frozen=True, slots=True)
class AgentMetrics:
    agent_id: str
    offers: int
    missed_offers: int  # ring timeout, declined, busy, unreachable
    answered: int
    handlings: int
    aht: float | None
    fcr: float | None
    satisfaction: float | None
    hung_up_first: int  # SPEC-Q7


def by_agent(records: Iterable[CallRecord]) -> dict[str, AgentMetrics]:
    """Per agent: offers and misses, calls handled, AHT, FCR and 满意率 of their calls (a call
    counts for FCR and satisfaction towards the agent who talked to the caller last)."""
    sums: dict[str, list[float]] = {}

    def row(agent_id: str) -> list[float]:
        # offers, missed, answered, handlings, handle_sum, fcr_req, fcr_ok, surveyed, sat, q7
        return sums.setdefault(agent_id, [0.0] * 10)

    for r in records:
        for o in r.offers:
            s = row(o.agent_id)
            s[0] += 1
            s[1] += o.outcome in MISSED_OUTCOMES
            s[2] += o.outcome is OfferOutcome.ANSWERED
        for h in r.handlings:
            s = row(h.agent_id)
            s[3] += 1
            s[4] += h.handle_seconds
            s[9] += h.ended_by is Party.AGENT
        if r.handlings:
            s = row(r.handlings[-1].agent_id)
            if r.resolved is not None:
                s[5] += 1
                s[6] += r.resolved
            if r.satisfied is not None:
                s[7] += 1
                s[8] += r.satisfied
    return {
        a: AgentMetrics(a, int(s[0]), int(s[1]), int(s[2]), int(s[3]), _ratio(s[4], s[3]),
                        _ratio(s[6], s[5]), _ratio(s[8], s[7]), int(s[9]))
        for a, s in sums.items()
    }


def occupancy(seconds: Mapping[AgentState, float]) -> float | None:
    """(talking + on hold + wrap-up) ÷ staffed time, from ``AgentTimeTracker`` seconds."""
    busy = sum(v for st, v in seconds.items() if st in BUSY_FOR_OCCUPANCY)
    staffed = sum(v for st, v in seconds.items() if st in STAFFED_STATES)
    return _ratio(busy, staffed)


def occupancy_by(tracker_seconds: Mapping[tuple[str, float], Mapping[AgentState, float]],
                 key: Callable[[str, float], Hashable]) -> dict[Hashable, float | None]:
    """Occupancy per group of (agent, interval) cells, e.g. ``key=lambda a, b: a``."""
    merged: dict[Hashable, dict[AgentState, float]] = {}
    for (agent_id, bucket), per in tracker_seconds.items():
        into = merged.setdefault(key(agent_id, bucket), {})
        for st, v in per.items():
            into[st] = into.get(st, 0.0) + v
    return {k: occupancy(v) for k, v in merged.items()}
