"""Every routing strategy through the engine, and the fast pools against the pure definitions."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from acd_harness import Harness, agents_in, make_harness
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.actions import StopRinging
from acd.config import AgentConfig, QueueConfig, SkillLevel, Strategy
from acd.core import Agent
from acd.events import Party
from acd.pools import make_pool
from acd.states import AgentState
from acd.strategies import AgentView, CallView, choose_agents, pick_call


def serve(h: Harness, call_id: str, agent_id: str, at: float, *, submit: bool = True) -> None:
    """Answer at ``at``, hang up a second later, end the call and submit the wrap-up."""
    h.do("offer_answered", call_id, agent_id, at)
    h.do("agent_hangup", call_id, at + 1)
    h.do("call_ended", call_id, at + 2, Party.CALLER)
    if submit:
        h.do("wrapup_submitted", agent_id, at + 3, call_type="q", summary="", resolved=True)


def queue_of(strategy: Strategy, n: int = 3, **kw: object) -> Harness:
    return make_harness([QueueConfig("q", strategy=strategy, **kw)],  # type: ignore[arg-type]
                        agents_in("q", n))


def test_longest_idle_rings_whoever_has_waited_longest_since_their_last_call() -> None:
    h = queue_of(Strategy.LONGEST_IDLE)
    h.do("agent_login", "a3", 0.0, ready=True)
    h.do("agent_login", "a1", 1.0, ready=True)
    h.do("agent_login", "a2", 2.0, ready=True)
    h.do("call_arrived", "c1", "q", 10.0)
    serve(h, "c1", "a3", 11.0)  # a3 is ready again at 14 s: now the least idle
    for i, t in enumerate((20.0, 21.0, 22.0), start=2):
        h.do("call_arrived", f"c{i}", "q", t)
    assert [a for _, a in h.rung()] == ["a3", "a1", "a2", "a3"]


def test_round_robin_continues_after_the_agent_rung_last() -> None:
    h = queue_of(Strategy.ROUND_ROBIN, n=4)
    h.login_ready("a1", "a2", "a3", "a4")
    h.do("call_arrived", "c1", "q", 1.0)  # a1
    h.do("call_arrived", "c2", "q", 2.0)  # a2
    serve(h, "c1", "a1", 3.0)
    serve(h, "c2", "a2", 3.5)
    h.do("call_arrived", "c3", "q", 10.0)  # memory: after a2 comes a3, although a1 is idle
    h.do("call_arrived", "c4", "q", 11.0)  # a4
    h.do("call_arrived", "c5", "q", 12.0)  # wraps around to a1
    assert [a for _, a in h.rung()] == ["a1", "a2", "a3", "a4", "a1"]


def test_fewest_calls_rings_the_agent_who_answered_least() -> None:
    h = queue_of(Strategy.FEWEST_CALLS)
    h.do("agent_login", "a1", 0.0, ready=True)
    h.do("agent_login", "a2", 0.5, ready=True)
    h.do("agent_login", "a3", 0.7, ready=True)
    for i in range(3):  # a1 answers three calls while a2 and a3 stay idle
        h.do("call_arrived", f"x{i}", "q", 10.0 * i + 1)
        (_, agent), = h.rung()[-1:]
        serve(h, f"x{i}", agent, 10.0 * i + 2)
    assert Counter(a for _, a in h.rung()) == Counter({"a1": 1, "a2": 1, "a3": 1})
    h.do("call_arrived", "y", "q", 50.0)
    # all answered one: the tie goes to the longest idle, a1 (ready again since 5 s)
    assert h.rung()[-1] == ("y", "a1")


def test_ring_all_rings_every_ready_agent_and_the_first_answer_wins() -> None:
    h = queue_of(Strategy.RING_ALL)
    h.login_ready("a1", "a2", "a3")
    h.do("call_arrived", "c1", "q", 1.0)
    assert sorted(a for _, a in h.rung()) == ["a1", "a2", "a3"]
    out = h.do("offer_answered", "c1", "a2", 4.0)
    assert {a.agent_id for a in out if isinstance(a, StopRinging)} == {"a1", "a3"}
    assert h.engine.agent_status("a1").state is AgentState.READY
    assert h.engine.agent_status("a2").state is AgentState.TALKING
    h.tick(30.0)  # no stale ring timeout fires on the others
    assert h.engine.agent_status("a1").state is AgentState.READY


def test_random_is_uniform_in_practice_and_repeatable_with_the_same_seed() -> None:
    def picks(seed: int) -> list[str]:
        h = make_harness([QueueConfig("q", strategy=Strategy.RANDOM)], agents_in("q", 3),
                         seed=seed)
        h.login_ready("a1", "a2", "a3")
        for i in range(300):
            h.do("call_arrived", f"c{i}", "q", float(i))
            h.do("caller_abandoned", f"c{i}", float(i) + 0.5)  # the agent is free again
        return [a for _, a in h.rung()]

    first = picks(3)
    assert first == picks(3)
    counts = Counter(first)
    assert set(counts) == {"a1", "a2", "a3"}
    assert min(counts.values()) > 60  # 100 expected each; 60 is > 4 standard deviations off


def test_linear_always_rings_the_first_ready_agent_in_member_order() -> None:
    h = queue_of(Strategy.LINEAR)
    h.do("agent_login", "a3", 0.0, ready=True)
    h.do("agent_login", "a2", 1.0, ready=True)
    h.do("call_arrived", "c1", "q", 2.0)
    h.do("agent_login", "a1", 3.0, ready=True)
    h.do("call_arrived", "c2", "q", 4.0)
    serve(h, "c2", "a1", 4.5)
    serve(h, "c1", "a2", 5.0)
    h.do("call_arrived", "c3", "q", 20.0)  # all three ready: the first member, again
    assert [a for _, a in h.rung()] == ["a2", "a1", "a1"]


def skilled_harness() -> Harness:
    q = QueueConfig("tech", strategy=Strategy.SKILLS, skills=("broadband", "mobile"))
    agents = [
        AgentConfig("senior", "5001", skills={"broadband": SkillLevel.SENIOR}, queues=("tech",)),
        AgentConfig("junior", "5002", skills={"broadband": SkillLevel.JUNIOR}, queues=("tech",)),
        AgentConfig("mobile", "5003", skills={"mobile": SkillLevel.JUNIOR}, queues=("tech",)),
    ]
    return make_harness([q], agents)


def test_skills_route_to_the_lowest_sufficient_level_first() -> None:
    h = skilled_harness()
    h.do("agent_login", "junior", 0.0, ready=True)
    h.do("agent_login", "senior", -5.0, ready=True)  # idle longer, but seniors wait
    h.do("agent_login", "mobile", 0.0, ready=True)
    h.do("call_arrived", "b1", "tech", 1.0, skill="broadband")
    h.do("call_arrived", "b2", "tech", 2.0, skill="broadband")
    h.do("call_arrived", "m1", "tech", 3.0, skill="mobile")
    assert h.rung() == [("b1", "junior"), ("b2", "senior"), ("m1", "mobile")]


def test_a_call_needing_a_senior_never_goes_to_a_junior() -> None:
    h = skilled_harness()
    h.do("agent_login", "junior", 0.0, ready=True)
    h.do("call_arrived", "hard", "tech", 1.0, skill="broadband", min_level=SkillLevel.SENIOR)
    h.do("call_arrived", "m1", "tech", 2.0, skill="mobile")
    assert h.rung() == []  # neither the junior (level) nor anyone for mobile is ready
    h.do("agent_login", "mobile", 3.0, ready=True)
    h.do("agent_login", "senior", 4.0, ready=True)
    assert h.rung() == [("m1", "mobile"), ("hard", "senior")]


# --- the fast pools choose what the pure definitions choose --------------------------------

ORDERED = [Strategy.LONGEST_IDLE, Strategy.FEWEST_CALLS, Strategy.SKILLS, Strategy.LINEAR,
           Strategy.ROUND_ROBIN, Strategy.RING_ALL, Strategy.RANDOM]

ops = st.lists(
    st.tuples(st.sampled_from(["add", "remove", "pick"]), st.integers(0, 7),
              st.integers(0, 5), st.integers(0, 3), st.integers(-1, 8)),
    max_size=60,
)


@pytest.mark.parametrize("strategy", ORDERED)
@settings(max_examples=150, deadline=None)
@given(script=ops)
def test_pool_picks_equal_the_pure_strategy(strategy: Strategy,
                                            script: list[tuple[str, int, int, int, int]]) -> None:
    n = 8
    member_index = {f"a{i}": i for i in range(n)}
    levels = {f"a{i}": 1 + i % 2 for i in range(n)}
    pool = make_pool(strategy, member_index, levels)
    agents = {f"a{i}": Agent(AgentConfig(f"a{i}", str(100 + i))) for i in range(n)}
    inside: set[str] = set()
    seq = 0
    for op, who, idle, calls, last in script:
        agent = agents[f"a{who}"]
        if op == "add" and agent.agent_id not in inside:
            seq += 1
            agent.idle_since = float(idle)
            agent.calls_answered = calls
            agent.ready_seq = seq
            agent.in_pools = True
            pool.add(agent)
            inside.add(agent.agent_id)
        elif op == "remove" and agent.agent_id in inside:
            agent.in_pools = False
            pool.remove(agent)
            inside.discard(agent.agent_id)
        elif op == "pick":
            views = [AgentView(a, member_index[a], agents[a].idle_since, agents[a].ready_seq,
                               agents[a].calls_answered, levels[a]) for a in sorted(inside)]
            got = [a.agent_id for a in pool.pick(random.Random(1), last)]
            want = [v.agent_id for v in choose_agents(strategy, views, random.Random(1),
                                                      last_member_index=last)]
            if strategy is Strategy.RANDOM:
                assert len(got) == len(want) and set(got) <= inside
            else:
                assert got == want
        assert len(pool) == len(inside)


def test_pick_call_takes_priority_then_the_longest_wait() -> None:
    calls = [CallView("late", 0, 5.0, 3), CallView("early", 0, 1.0, 1),
             CallView("vip", 1, 9.0, 4), CallView("tie", 0, 1.0, 2)]
    assert pick_call(calls) == calls[2]
    assert pick_call(calls[:2] + calls[3:]) == calls[1]
    assert pick_call([]) is None


def test_a_heap_pool_stays_small_when_its_agents_keep_leaving_for_other_lanes() -> None:
    pool = make_pool(Strategy.LONGEST_IDLE, {"a0": 0, "a1": 1}, {"a0": 1, "a1": 1})
    a0, a1 = (Agent(AgentConfig(f"a{i}", str(100 + i))) for i in range(2))
    a1.idle_since, a1.ready_seq, a1.in_pools = 0.0, 1, True
    pool.add(a1)
    for seq in range(2, 5000):  # a0 is ready and taken again and again, never picked here
        a0.idle_since, a0.ready_seq, a0.in_pools = float(seq), seq, True
        pool.add(a0)
        a0.in_pools = False
        pool.remove(a0)
    assert len(pool) == 1
    assert len(pool._heap) < 200  # type: ignore[attr-defined]
    assert [a.agent_id for a in pool.pick(random.Random(1), -1)] == ["a1"]
