"""Routing strategies as pure functions of (waiting callers, ready agents, now, rng).

These functions are the definition of each strategy. The engine does not call them on every
event (that would scan all agents); it keeps incremental indexes in ``acd.pools`` whose choices
are tested to equal these functions' choices. The simulator and tests may call them directly.

Definitions (ties always fall to whoever became ready first, ``ready_seq``):

- longest_idle (default): the agent idle for the longest time (smallest ``idle_since``).
- round_robin (with memory): the first agent in member order after the agent rung last in this
  queue, wrapping around.
- fewest_calls: the agent who answered the fewest calls, then longest idle.
- ring_all: every ready agent at once; the first to answer takes the call.
- random: uniformly among ready agents, drawn from the run's own ``random.Random``.
- linear: always the first ready agent in member order.
- skills: the lowest skill level that is good enough (juniors first, which keeps seniors free
  for escalations), then longest idle.

Which caller: the highest priority, then the one who has waited longest (since first entering
the ACD), then arrival order. An agent in several queues applies this across all of them
(cross-queue fairness, issue 5).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from acd.config import Strategy


@dataclass(frozen=True, slots=True)
class AgentView:
    """What routing knows of one ready agent, relative to one queue and one skill."""

    agent_id: str
    member_index: int  # the agent's place in the queue's member order
    idle_since: float
    ready_seq: int  # increases each time any agent becomes ready
    calls_answered: int
    level: int  # the agent's level for the asked skill (their top level if none asked)


@dataclass(frozen=True, slots=True)
class CallView:
    call_id: str
    priority: int
    first_queued_at: float
    seq: int  # arrival order


def call_order_key(call: CallView) -> tuple[int, float, int]:
    return (-call.priority, call.first_queued_at, call.seq)


def pick_call(waiting: Iterable[CallView]) -> CallView | None:
    """The caller an agent takes next, across every queue the agent serves."""
    return min(waiting, key=call_order_key, default=None)


def agent_order_key(strategy: Strategy, agent: AgentView) -> tuple[float, ...]:
    """Sort key of the strategies that are a plain ordering (all but round robin / random)."""
    if strategy is Strategy.FEWEST_CALLS:
        return (agent.calls_answered, agent.idle_since, agent.ready_seq)
    if strategy is Strategy.SKILLS:
        return (agent.level, agent.idle_since, agent.ready_seq)
    if strategy in (Strategy.LINEAR, Strategy.RING_ALL):
        return (agent.member_index,)
    return (agent.idle_since, agent.ready_seq)


def choose_agents(
    strategy: Strategy,
    ready: Sequence[AgentView],
    rng: random.Random,
    *,
    last_member_index: int = -1,
) -> list[AgentView]:
    """The agent(s) to ring now: all of them for ring_all, else at most one."""
    if not ready:
        return []
    if strategy is Strategy.RING_ALL:
        return sorted(ready, key=lambda a: a.member_index)
    if strategy is Strategy.RANDOM:
        return [ready[rng.randrange(len(ready))]]
    if strategy is Strategy.ROUND_ROBIN:
        after = [a for a in ready if a.member_index > last_member_index]
        pool = after or list(ready)
        return [min(pool, key=lambda a: a.member_index)]
    return [min(ready, key=lambda a: agent_order_key(strategy, a))]
