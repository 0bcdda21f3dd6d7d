"""Invariants under random command sequences (hypothesis): an agent is never offered two calls
at once nor rung while busy, every call ends in exactly one terminal state, and a refused
command changes nothing."""

from __future__ import annotations

import random

from hypothesis import event, given, settings
from hypothesis import strategies as st

from acd.actions import AcdAction, DialCallback, OfferCallback, RingAgent, StopRinging
from acd.config import AgentConfig, QueueConfig, SkillLevel, Strategy
from acd.engine import AcdEngine
from acd.events import (
    AgentStateChanged,
    CallAbandoned,
    CallbackOutcome,
    CallbackResult,
    CallEnded,
    CallOverflowed,
    CallQueued,
    OfferEnded,
    OfferOutcome,
    OfferStarted,
    Party,
)
from acd.records import RecordBuilder
from acd.states import AcdError, AgentState, CallState, NotReadyReason

AGENTS = 4
# Weighted by repetition: answering and time passing are what keep calls moving.
OPS = ["arrive", "arrive", "ready", "ready", "pause", "logout", "answer", "answer", "answer",
       "fail", "abandon", "hangup", "end", "hold", "unhold", "transfer", "transfer", "wrapup",
       "callback", "dial_result", "survey", "survey", "phone", "wait", "wait"]


def build(strategy: Strategy) -> tuple[AcdEngine, tuple[QueueConfig, ...]]:
    queues = (
        QueueConfig("a", strategy=strategy, skills=("x",), ring_timeout=5.0, wrapup_seconds=3.0,
                    max_wait=40.0, overflow_target="b", announce_every=7.0, callback_after=4.0,
                    max_consecutive_misses=2),
        QueueConfig("b", strategy=strategy, ring_timeout=4.0, wrapup_seconds=0.0,
                    max_wait=30.0, overflow_target="voicemail"),
    )
    agents = [AgentConfig(f"g{i}", str(100 + i), skills={"x": SkillLevel(1 + i % 2)},
                          queues=("a", "b") if i % 2 else ("a",)) for i in range(AGENTS)]
    return AcdEngine(queues, agents, rng=random.Random(5)), queues


@settings(max_examples=400, deadline=None)
@given(strategy=st.sampled_from(list(Strategy)), staffed=st.booleans(),
       script=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 50),
                                 st.floats(0.0, 20.0)), min_size=10, max_size=120))
def test_random_sequences_keep_the_invariants(strategy: Strategy, staffed: bool,
                                              script: list[tuple[str, int, float]]) -> None:
    engine, queues = build(strategy)
    builder = RecordBuilder(queues)
    records = []
    events = []
    now = 0.0
    calls: list[str] = []
    ringing: dict[str, str] = {}  # agent -> call, from RingAgent / StopRinging actions
    dials: list[str] = []

    def take(out: list[AcdAction]) -> None:
        for act in out:
            if isinstance(act, RingAgent):
                ringing[act.agent_id] = act.call_id
            elif isinstance(act, StopRinging):
                ringing.pop(act.agent_id, None)
            elif isinstance(act, DialCallback):
                dials.append(act.call_id)
            assert not isinstance(act, OfferCallback) or act.call_id in calls
        new = engine.drain_events()
        events.extend(new)
        records.extend(builder.feed(new))

    if staffed:  # start with every agent ready, so calls get answered and handled more
        for i in range(AGENTS):
            take(engine.agent_login(f"g{i}", now, ready=True))
    for op, n, dt in script:
        take(engine.advance(now))  # nothing overdue: a refused command must change nothing
        before = snapshot(engine, now)
        agent = f"g{n % AGENTS}"
        live = engine.call_ids()  # mostly act on calls still in the ACD, sometimes on old ones
        call = (live[n % len(live)] if live and n % 5 else
                calls[n % len(calls)] if calls else "none")
        offers = [(c, a) for a, c in ringing.items()]
        talking = [c for c in live if engine.call_state(c) in (CallState.CONNECTED,
                                                                CallState.ON_HOLD)]
        if op in ("hangup", "hold", "unhold", "transfer") and talking and n % 4:
            call = talking[n % len(talking)]
        closing = [c for c in live if engine.call_state(c) is CallState.CLOSING]
        if op == "survey" and closing:
            call = closing[n % len(closing)]
        try:
            if op == "arrive":
                call = f"c{len(calls)}"
                calls.append(call)
                out = engine.call_arrived(call, "a", now, skill="x" if n % 3 == 0 else None,
                                          priority=n % 2)
            elif op == "ready":
                if engine.agent_status(agent).state is AgentState.LOGGED_OUT:
                    out = engine.agent_login(agent, now, ready=True)
                else:
                    out = engine.agent_ready(agent, now)
            elif op == "pause":
                out = engine.agent_not_ready(agent, NotReadyReason.BREAK, now)
            elif op == "logout":
                out = engine.agent_logout(agent, now)
            elif op in ("answer", "fail") and offers:
                c, a = offers[n % len(offers)]
                if op == "answer":
                    out = engine.offer_answered(c, a, now)
                else:
                    out = engine.offer_failed(c, a, now, OfferOutcome.BUSY)
                ringing.pop(a, None)
            elif op == "abandon":
                out = engine.caller_abandoned(call, now)
            elif op == "hangup":
                out = engine.agent_hangup(call, now)
            elif op == "end":
                out = engine.call_ended(call, now, Party.CALLER)
            elif op == "hold":
                out = engine.hold(call, "checking", now)
            elif op == "unhold":
                out = engine.unhold(call, now)
            elif op == "transfer":
                if n % 2:
                    out = engine.transfer(call, now, to_queue="b" if n % 3 else "a",
                                          attended=n % 5 == 0,
                                          min_level=SkillLevel(1 + n % 7 // 6))
                else:
                    out = engine.transfer(call, now, to_agent=agent, attended=n % 4 == 0)
            elif op == "wrapup":
                out = engine.wrapup_submitted(agent, now, call_type="t", summary="",
                                              resolved=n % 2 == 0)
            elif op == "callback":
                out = engine.callback_requested(call, now, "139")
            elif op == "dial_result" and dials:
                out = engine.callback_result(dials[n % len(dials)], now,
                                             list(CallbackOutcome)[n % 4])
            elif op == "phone":
                out = (engine.agent_phone_busy(agent, now) if n % 2
                       else engine.agent_phone_free(agent, now))
            elif op == "survey":
                out = engine.survey_answered(call, now, score=n % 3, satisfied=n % 2 == 0)
            else:
                now += dt
                out = engine.advance(now)
        except AcdError:
            assert engine.drain_events() == []
            assert snapshot(engine, now) == before, f"{op} failed but changed the engine"
            out = []
        take(out)
        check_no_idle_agent_beside_a_waiting_caller(engine)
        now += 0.25

    # Wind down: every call that is still in the ACD must reach one terminal state.
    for _ in range(20):
        for c in engine.call_ids():
            state = engine.call_state(c)
            try:
                if state is CallState.CALLBACK_DIALING:
                    engine.callback_result(c, now, CallbackOutcome.NO_ANSWER)
                else:
                    engine.call_ended(c, now, Party.CALLER)
            except AcdError:
                pass
        now += 100.0
        engine.advance(now)
        new = engine.drain_events()
        events.extend(new)
        records.extend(builder.feed(new))
    assert engine.call_ids() == []
    assert engine.next_deadline() is None or all(
        engine.agent_status(a).state is not AgentState.RINGING for a in engine.agent_ids())

    for kind in sorted({type(e).__name__ for e in events}):
        event(kind)  # shows in --hypothesis-show-statistics which paths the examples took
    check_offers(events)
    queued = [e.call_id for e in events if isinstance(e, CallQueued)]
    terminal = [e.call_id for e in events if isinstance(e, CallAbandoned | CallEnded)
                or (isinstance(e, CallOverflowed) and e.left_acd)
                or (isinstance(e, CallbackResult) and e.outcome is not CallbackOutcome.ANSWERED)]
    assert sorted(terminal) == sorted(queued)  # exactly one terminal event per call
    assert sorted(r.call_id for r in records) == sorted(queued)


def check_no_idle_agent_beside_a_waiting_caller(engine: AcdEngine) -> None:
    """White-box: in every lane, callers wait only while none of its agents is ready; ready
    agents are exactly those in the pools; offers and ringing agents point at each other."""
    for q in engine._queues.values():
        for lane in q.lanes.values():
            live = [e for e in lane.waiting if e[4].wait_token == e[3]]
            assert len(live) == lane.live
            assert not live or len(lane.pool) == 0, f"{q.name}: caller waits, agent idles"
    for agent in engine._agents.values():
        assert (agent.state is AgentState.READY) == agent.in_pools
        if agent.state is AgentState.RINGING:
            assert agent.call is not None and agent in agent.call.ringing
    for call in engine._calls.values():
        assert all(a.state is AgentState.RINGING and a.call is call for a in call.ringing)


def snapshot(engine: AcdEngine, now: float) -> tuple[object, ...]:
    """What anyone outside can see of the engine."""
    return (
        tuple(engine.agent_status(a) for a in engine.agent_ids()),
        tuple((c, engine.call_state(c)) for c in engine.call_ids()),
        tuple(engine.queue_status(q, now) for q in engine.queue_names()),
        engine.next_deadline(),
    )


def check_offers(events: list[object]) -> None:
    """Replay: an offer starts only for an agent just moved from READY to RINGING, and an
    agent never has two offers, nor an offer while talking, on hold or in wrap-up."""
    state: dict[str, AgentState] = {}
    before: dict[str, AgentState] = {}
    active: dict[str, str] = {}
    for e in events:
        if isinstance(e, AgentStateChanged):
            assert state.get(e.agent_id, AgentState.LOGGED_OUT) is e.old
            before[e.agent_id] = e.old
            state[e.agent_id] = e.new
        elif isinstance(e, OfferStarted):
            assert e.agent_id not in active, f"{e.agent_id} offered two calls at once"
            assert state[e.agent_id] is AgentState.RINGING
            assert before[e.agent_id] is AgentState.READY
            active[e.agent_id] = e.call_id
        elif isinstance(e, OfferEnded):
            assert active.pop(e.agent_id) == e.call_id
