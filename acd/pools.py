"""Incremental indexes of ready agents per lane, so routing costs O(log n), not O(agents).

A *lane* is (queue, skill or None, minimum level): the calls waiting for it and the ready
agents who may take them. Each pool answers "whom would ``acd.strategies`` pick?" without
scanning: heaps keyed like ``agent_order_key`` (entries made stale by ``ready_seq`` are dropped
lazily), a sorted list of member indexes for linear / round robin / ring all, and an indexable
set for random.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_right, insort
from typing import TYPE_CHECKING, Protocol

from acd.config import Strategy

if TYPE_CHECKING:
    from acd.core import Agent as _Agent

# Rebuild a heap once stale entries outnumber live ones by this much, so an unused lane's
# heap cannot grow without bound while its agents keep being taken by other lanes.
_COMPACT_SLACK = 64


class AgentPool(Protocol):
    def add(self, agent: _Agent) -> None: ...

    def remove(self, agent: _Agent) -> None: ...

    def pick(self, rng: random.Random, last_member_index: int) -> list[_Agent]: ...

    def __len__(self) -> int: ...


class HeapPool:
    """longest_idle, fewest_calls and skills: a heap of (key…, ready_seq, agent)."""

    __slots__ = ("_heap", "_level_of", "_live", "_strategy")

    def __init__(self, strategy: Strategy, level_of: dict[str, int]) -> None:
        self._heap: list[tuple[float, float, int, _Agent]] = []
        self._live = 0
        self._strategy = strategy
        self._level_of = level_of  # agent_id -> level in this lane (skills strategy)

    def __len__(self) -> int:
        return self._live

    def add(self, agent: _Agent) -> None:
        s = self._strategy
        if s is Strategy.FEWEST_CALLS:
            first: float = agent.calls_answered
        elif s is Strategy.SKILLS:
            first = self._level_of[agent.agent_id]
        else:
            first = agent.idle_since
        heapq.heappush(self._heap, (first, agent.idle_since, agent.ready_seq, agent))
        self._live += 1

    def remove(self, agent: _Agent) -> None:
        # Lazy: the entry goes stale because the agent's ready_seq changes when it is
        # next ready, or because it is no longer ready at all.
        self._live -= 1
        if len(self._heap) > 2 * self._live + _COMPACT_SLACK:
            self._heap = [e for e in self._heap if e[3].ready_seq == e[2] and e[3].in_pools]
            heapq.heapify(self._heap)

    def pick(self, rng: random.Random, last_member_index: int) -> list[_Agent]:
        heap = self._heap
        while heap:
            entry = heap[0]
            agent = entry[3]
            if agent.ready_seq == entry[2] and agent.in_pools:
                return [agent]
            heapq.heappop(heap)
        return []


class OrderedPool:
    """linear, round_robin (with memory) and ring_all: member indexes kept sorted."""

    __slots__ = ("_by_index", "_indexes", "_member_index", "_strategy")

    def __init__(self, strategy: Strategy, member_index: dict[str, int]) -> None:
        self._indexes: list[int] = []
        self._by_index: dict[int, _Agent] = {}
        self._strategy = strategy
        self._member_index = member_index

    def __len__(self) -> int:
        return len(self._indexes)

    def add(self, agent: _Agent) -> None:
        i = self._member_index[agent.agent_id]
        insort(self._indexes, i)
        self._by_index[i] = agent

    def remove(self, agent: _Agent) -> None:
        i = self._member_index[agent.agent_id]
        pos = bisect_right(self._indexes, i) - 1
        del self._indexes[pos]
        del self._by_index[i]

    def pick(self, rng: random.Random, last_member_index: int) -> list[_Agent]:
        idx = self._indexes
        if not idx:
            return []
        if self._strategy is Strategy.RING_ALL:
            return [self._by_index[i] for i in idx]
        if self._strategy is Strategy.ROUND_ROBIN:
            pos = bisect_right(idx, last_member_index)
            return [self._by_index[idx[pos if pos < len(idx) else 0]]]
        return [self._by_index[idx[0]]]


class RandomPool:
    """random: a list with O(1) swap-removal."""

    __slots__ = ("_agents", "_pos")

    def __init__(self) -> None:
        self._agents: list[_Agent] = []
        self._pos: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._agents)

    def add(self, agent: _Agent) -> None:
        self._pos[agent.agent_id] = len(self._agents)
        self._agents.append(agent)

    def remove(self, agent: _Agent) -> None:
        pos = self._pos.pop(agent.agent_id)
        last = self._agents.pop()
        if last is not agent:
            self._agents[pos] = last
            self._pos[last.agent_id] = pos

    def pick(self, rng: random.Random, last_member_index: int) -> list[_Agent]:
        if not self._agents:
            return []
        return [self._agents[rng.randrange(len(self._agents))]]


def make_pool(
    strategy: Strategy, member_index: dict[str, int], level_of: dict[str, int]
) -> AgentPool:
    if strategy in (Strategy.LINEAR, Strategy.ROUND_ROBIN, Strategy.RING_ALL):
        return OrderedPool(strategy, member_index)
    if strategy is Strategy.RANDOM:
        return RandomPool()
    return HeapPool(strategy, level_of)
