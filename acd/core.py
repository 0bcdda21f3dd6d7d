"""The engine's private state (queues, lanes, agents, calls, timers) and the moves they share.

Nothing here is public API: ``acd.engine.AcdEngine`` and ``acd.control.CallControl`` build the
commands from these helpers. Records are mutable slotted classes because the engine changes
them on every event and must stay cheap (issue 8 asks for a million calls a minute).
"""

from __future__ import annotations

import functools
import heapq
import random
from collections.abc import Callable, Sequence
from typing import Concatenate, ParamSpec, TypeVar

from acd.actions import AcdAction, ConnectCall, ReleaseAgent, RingAgent, StopRinging
from acd.config import AgentConfig, QueueConfig, SkillLevel
from acd.events import (
    AcdEvent,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    HoldEnded,
    OfferEnded,
    OfferOutcome,
    OfferStarted,
    Party,
    TalkEnded,
    WrapupEnded,
)
from acd.pools import AgentPool, make_pool
from acd.states import (
    AGENT_TRANSITIONS,
    STAFFED_STATES,
    AcdError,
    AgentEvent,
    AgentState,
    AgentStateError,
    CallState,
    OfferNotActiveError,
    UnknownAgentError,
    UnknownCallError,
    UnknownQueueError,
)

# Shared empty list for "no timer fired" (never appended to: a copy is made when needed).
_NOTHING: list[AcdAction] = []

# Rebuild a lane's waiting heap once stale entries outnumber live ones by this much.
_COMPACT_SLACK = 64

TIMER_RING = 0
TIMER_WRAPUP = 1
TIMER_ANNOUNCE = 2
TIMER_MAX_WAIT = 3
TIMER_CALLBACK_OFFER = 4

# Expected-wait announcements need a handle time before any call of the queue has finished;
# three minutes is a typical inbound service-desk AHT. Replaced by a moving average as calls end.
INITIAL_HANDLE_ESTIMATE = 180.0
# Weight of the newest call in that moving average (about the last 20 calls).
HANDLE_AVERAGE_WEIGHT = 0.05


P = ParamSpec("P")
CoreT = TypeVar("CoreT", bound="AcdCore")


def command(
    fn: Callable[Concatenate[CoreT, P], list[AcdAction]],
) -> Callable[Concatenate[CoreT, P], list[AcdAction]]:
    """Marks a public command. A command first fires the timers that were due before its
    ``now``; if it then raises a domain error, the actions of those timers are not lost but
    come first in the next command's (or ``advance``'s) result."""

    @functools.wraps(fn)
    def run(self: CoreT, /, *args: P.args, **kwargs: P.kwargs) -> list[AcdAction]:
        self._fired = _NOTHING
        try:
            return fn(self, *args, **kwargs)
        except AcdError:
            self._carry = self._fired
            raise

    return run


class Queue:
    __slots__ = ("cfg", "handle_avg", "lanes", "member_index", "name", "rr_last", "staffed",
                 "waiting_count")

    def __init__(self, cfg: QueueConfig) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.member_index: dict[str, int] = {}
        self.rr_last = -1  # member index of the agent rung last (round robin memory)
        self.lanes: dict[tuple[str | None, SkillLevel], Lane] = {}
        self.staffed = 0
        self.waiting_count = 0
        self.handle_avg = INITIAL_HANDLE_ESTIMATE


class Lane:
    """(queue, skill or None, minimum level): its waiting calls and its ready agents."""

    __slots__ = ("level_of", "live", "min_level", "pool", "queue", "skill", "waiting")

    def __init__(self, queue: Queue, skill: str | None, min_level: SkillLevel,
                 pool: AgentPool, level_of: dict[str, int]) -> None:
        self.queue = queue
        self.skill = skill
        self.min_level = min_level
        # Heap of (-priority, first_queued_at, call seq, wait token, call); an entry is live
        # while the call's wait_token equals its token.
        self.waiting: list[tuple[int, float, int, int, Call]] = []
        self.live = 0  # live entries of ``waiting``
        self.pool = pool
        self.level_of = level_of  # member agent id -> level for this lane's skill


class Agent:
    __slots__ = ("agent_id", "call", "calls_answered", "cfg", "idle_since", "in_pools", "lanes",
                 "misses", "number", "pending", "pending_reason", "queues", "ready_seq",
                 "reason", "since", "state", "talk_started", "unsubmitted", "wrap_call", "wrap_gen",
                 "wrap_started")

    def __init__(self, cfg: AgentConfig) -> None:
        self.cfg = cfg
        self.agent_id = cfg.agent_id
        self.number = cfg.number
        self.state = AgentState.LOGGED_OUT
        self.reason: str | None = None
        self.idle_since = 0.0
        self.ready_seq = 0
        self.in_pools = False
        self.calls_answered = 0
        self.misses = 0
        self.call: Call | None = None
        self.pending: AgentEvent | None = None
        self.pending_reason: str | None = None
        self.lanes: list[Lane] = []
        self.queues: list[Queue] = []
        self.wrap_gen = 0
        self.wrap_started = 0.0
        self.wrap_call: Call | None = None
        self.unsubmitted: str | None = None  # call whose wrap-up ended without a submission
        self.talk_started = 0.0
        self.since = 0.0


class Call:
    __slots__ = ("agent", "answered", "call_id", "callback_number", "caller", "first_queued_at",
                 "hold_started", "lane", "last_agent", "min_level", "offer_gen", "overflow_due",
                 "priority",
                 "queue", "queue_entered_at", "queue_gen", "ringing", "seq", "skill", "state",
                 "transfer_from", "transfer_queue", "transfer_senior", "transfer_to",
                 "wait_token")

    def __init__(self, call_id: str, queue: Queue, lane: Lane, caller: str, skill: str | None,
                 min_level: SkillLevel, priority: int, seq: int, now: float) -> None:
        self.call_id = call_id
        self.queue = queue
        self.lane = lane
        self.caller = caller
        self.skill = skill
        self.min_level = min_level
        self.priority = priority
        self.seq = seq
        self.state = CallState.WAITING
        self.first_queued_at = now
        self.queue_entered_at = now
        self.queue_gen = 0
        self.offer_gen = 0
        self.wait_token = -1
        self.ringing: list[Agent] = []
        self.agent: Agent | None = None
        self.answered = False
        self.hold_started: float | None = None
        self.callback_number: str | None = None
        self.overflow_due = False
        self.transfer_from: str | None = None  # agent id of a transfer in progress
        self.transfer_to: str | None = None
        self.transfer_queue: str | None = None
        self.transfer_senior = False
        self.last_agent: str | None = None  # who talked last: the survey is about them


class AcdCore:
    """Shared state and helpers of the engine (see the module docstring)."""

    def __init__(self, queues: Sequence[QueueConfig], agents: Sequence[AgentConfig], *,
                 rng: random.Random, record_events: bool) -> None:
        self._rng = rng
        self._rec = record_events
        self._events: list[AcdEvent] = []
        self._now = float("-inf")
        self._fired: list[AcdAction] = []  # actions of timers fired by the running command
        self._carry: list[AcdAction] = []  # ... kept when that command failed
        self._seq = 0
        self._token = 0
        self._timer_seq = 0
        self._timers: list[tuple[float, int, int, Call | Agent, int]] = []
        self._calls: dict[str, Call] = {}
        self._queues = {cfg.name: Queue(cfg) for cfg in queues}
        for q in self._queues.values():
            for skill in (None, *q.cfg.skills):
                for level in SkillLevel:
                    level_of: dict[str, int] = {}
                    pool = make_pool(q.cfg.strategy, q.member_index, level_of)
                    q.lanes[(skill, level)] = Lane(q, skill, level, pool, level_of)
        self._agents: dict[str, Agent] = {}
        for cfg in agents:
            self._join(cfg)

    def _join(self, cfg: AgentConfig) -> Agent:
        """Make ``cfg`` a member of its queues and of every lane its skills qualify for."""
        agent = Agent(cfg)
        self._agents[cfg.agent_id] = agent
        for qname in cfg.queues:
            q = self._queues[qname]
            q.member_index[agent.agent_id] = len(q.member_index)
            agent.queues.append(q)
            for (skill, level), lane in q.lanes.items():
                have = cfg.top_level if skill is None else cfg.level(skill)
                if have is not None and have >= level:
                    lane.level_of[agent.agent_id] = int(have)
                    agent.lanes.append(lane)
        return agent

    # --- plumbing -------------------------------------------------------------------------

    def drain_events(self) -> list[AcdEvent]:
        """Hand over the events appended since the last call, oldest first."""
        events = self._events
        self._events = []
        return events

    def _begin(self, now: float) -> tuple[float, list[AcdAction]]:
        if now < self._now:
            now = self._now
        elif now != now:
            raise AcdError("now is not a number")
        self._now = now
        if self._carry:
            out = self._carry
            self._carry = []
        else:
            out = []
        timers = self._timers
        if timers and timers[0][0] < now:
            self._fire_due(now, out, inclusive=False)
        self._fired = out[:] if out else _NOTHING
        return now, out

    def _fire_due(self, now: float, out: list[AcdAction], inclusive: bool) -> None:
        timers = self._timers
        while timers:
            when = timers[0][0]
            if when > now or (when == now and not inclusive):
                break
            _, _, kind, obj, gen = heapq.heappop(timers)
            if self._timer_live(kind, obj, gen):
                self._fire_timer(when, kind, obj, gen, out)

    def _fire_timer(self, when: float, kind: int, obj: Call | Agent, gen: int,
                    out: list[AcdAction]) -> None:
        raise NotImplementedError

    @staticmethod
    def _timer_live(kind: int, obj: Call | Agent, gen: int) -> bool:
        if kind == TIMER_RING:
            return obj.offer_gen == gen  # type: ignore[union-attr]
        if kind == TIMER_WRAPUP:
            return obj.wrap_gen == gen  # type: ignore[union-attr]
        return obj.queue_gen == gen  # type: ignore[union-attr]

    def _push_timer(self, when: float, kind: int, obj: Call | Agent, gen: int) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (when, self._timer_seq, kind, obj, gen))

    def _agent(self, agent_id: str) -> Agent:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise UnknownAgentError(agent_id) from None

    def _call(self, call_id: str) -> Call:
        try:
            return self._calls[call_id]
        except KeyError:
            raise UnknownCallError(call_id) from None

    def _queue(self, name: str) -> Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise UnknownQueueError(name) from None

    def _lane(self, q: Queue, skill: str | None, min_level: SkillLevel) -> Lane:
        lane = q.lanes.get((skill, min_level))
        if lane is None:
            raise AcdError(f"queue {q.name!r} does not handle skill {skill!r} "
                           f"(it lists {list(q.cfg.skills)})")
        return lane

    # --- agents ---------------------------------------------------------------------------

    def _move_agent(self, agent: Agent, event: AgentEvent, now: float,
                    reason: str | None) -> None:
        old = agent.state
        new = AGENT_TRANSITIONS.get((old, event))
        if new is None:
            raise AgentStateError(agent.agent_id, old, event)
        if new is old and reason == agent.reason:
            return
        agent.state = new
        agent.since = now
        agent.reason = reason if new is AgentState.NOT_READY else None
        if (old in STAFFED_STATES) is not (new in STAFFED_STATES):
            step = 1 if new in STAFFED_STATES else -1
            for q in agent.queues:
                q.staffed += step
        if self._rec:
            self._events.append(AgentStateChanged(now, agent.agent_id, old, new, agent.reason))

    def _take_out(self, agent: Agent) -> None:
        if agent.in_pools:
            agent.in_pools = False
            for lane in agent.lanes:
                lane.pool.remove(agent)

    def _make_ready(self, agent: Agent, now: float, out: list[AcdAction]) -> None:
        self._move_agent(agent, AgentEvent.READY, now, None)
        agent.misses = 0
        agent.idle_since = now
        self._agent_available(agent, now, out)

    def _agent_available(self, agent: Agent, now: float, out: list[AcdAction]) -> None:
        """A READY agent takes the longest-waiting eligible caller, or joins the pools."""
        if agent.state is not AgentState.READY or agent.in_pools:
            return
        best: tuple[int, float, int, int, Call] | None = None
        best_lane: Lane | None = None
        for lane in agent.lanes:
            w = lane.waiting
            while w:
                head = w[0]
                if head[4].wait_token == head[3]:
                    if best is None or head < best:
                        best = head
                        best_lane = lane
                    break
                heapq.heappop(w)
        if best is not None and best_lane is not None:
            heapq.heappop(best_lane.waiting)
            best_lane.live -= 1
            call = best[4]
            call.wait_token = -1
            call.queue.waiting_count -= 1
            self._offer(call, [agent], now, out)
            return
        self._seq += 1
        agent.ready_seq = self._seq
        agent.in_pools = True
        for lane in agent.lanes:
            lane.pool.add(agent)

    # --- calls ----------------------------------------------------------------------------

    def _route(self, call: Call, now: float, out: list[AcdAction]) -> None:
        """Ring the strategy's choice of ready agent(s), or wait in the lane."""
        lane = call.lane
        agents = lane.pool.pick(self._rng, lane.queue.rr_last)
        if agents:
            self._offer(call, agents, now, out)
        else:
            self._enqueue(call)

    def _enqueue(self, call: Call) -> None:
        if call.state is not CallState.CALLBACK_WAITING:
            call.state = CallState.WAITING
        self._token += 1
        call.wait_token = self._token
        lane = call.lane
        heapq.heappush(lane.waiting, (-call.priority, call.first_queued_at, call.seq,
                                      self._token, call))
        lane.live += 1
        call.queue.waiting_count += 1

    def _unqueue(self, call: Call) -> None:
        """Take a waiting call out of its lane (lazily: its heap entry goes stale)."""
        if call.wait_token != -1:
            call.wait_token = -1
            call.queue.waiting_count -= 1
            lane = call.lane
            lane.live -= 1
            if len(lane.waiting) > 2 * lane.live + _COMPACT_SLACK:
                # Callers who hung up in a lane nobody serves must not pile up for ever.
                lane.waiting = [e for e in lane.waiting if e[4].wait_token == e[3]]
                heapq.heapify(lane.waiting)

    def _offer(self, call: Call, agents: list[Agent], now: float, out: list[AcdAction]) -> None:
        q = call.queue
        rec = self._rec
        timeout = q.cfg.ring_timeout
        if call.state is CallState.CALLBACK_WAITING:
            call.state = CallState.CALLBACK_RINGING
        elif call.state is not CallState.TRANSFERRING:
            call.state = CallState.RINGING
        callback = call.state is CallState.CALLBACK_RINGING
        number = call.callback_number if callback else None
        for agent in agents:
            self._take_out(agent)
            self._move_agent(agent, AgentEvent.OFFER, now, None)
            agent.call = call
            idx = q.member_index.get(agent.agent_id)
            if idx is not None:
                q.rr_last = idx
            out.append(RingAgent(call.call_id, agent.agent_id, timeout, q.name, call.caller,
                                 number))
            if rec:
                self._events.append(OfferStarted(now, call.call_id, agent.agent_id, q.name,
                                                 callback))
        call.ringing = agents
        call.offer_gen += 1
        self._push_timer(now + timeout, TIMER_RING, call, call.offer_gen)

    def _check_offer(self, call: Call, agent: Agent, command: str) -> None:
        if agent not in call.ringing:
            raise OfferNotActiveError(f"{command}: call {call.call_id!r} is not ringing agent "
                                      f"{agent.agent_id!r} (offer ended, or never made)")

    def _drop_offer(self, call: Call, agent: Agent, now: float, out: list[AcdAction],
                    outcome: OfferOutcome, *, stop_ringing: bool = True) -> None:
        """End one agent's offer; the caller decides the agent's next state."""
        call.ringing = [a for a in call.ringing if a is not agent]
        agent.call = None
        if stop_ringing:
            out.append(StopRinging(call.call_id, agent.agent_id))
        if self._rec:
            self._events.append(OfferEnded(now, call.call_id, agent.agent_id, outcome))

    def _stop_all_offers(self, call: Call, now: float, out: list[AcdAction],
                         outcome: OfferOutcome) -> list[Agent]:
        """Cancel every offer of the call (not a miss); returns the agents to make available."""
        freed = list(call.ringing)
        for agent in freed:
            self._drop_offer(call, agent, now, out, outcome)
            self._move_agent(agent, AgentEvent.CANCEL, now, None)
        call.offer_gen += 1
        return freed

    def _arm_wait_timers(self, call: Call, now: float) -> None:
        cfg = call.queue.cfg
        gen = call.queue_gen
        if cfg.max_wait is not None:
            self._push_timer(now + cfg.max_wait, TIMER_MAX_WAIT, call, gen)
        if cfg.announce_every is not None:
            self._push_timer(now + cfg.announce_every, TIMER_ANNOUNCE, call, gen)
        if cfg.callback_after is not None and call.callback_number is None:
            self._push_timer(now + cfg.callback_after, TIMER_CALLBACK_OFFER, call, gen)

    def _move_to_queue(self, call: Call, q: Queue, skill: str | None, min_level: SkillLevel,
                       now: float) -> None:
        """Transfer or overflow: the call enters ``q``, keeping its first-queued time."""
        if skill is not None and skill not in q.cfg.skills:
            skill = None  # the new queue does not split by this skill
        call.lane = self._lane(q, skill, min_level)
        call.queue = q
        call.skill = skill
        call.min_level = min_level
        call.queue_entered_at = now
        call.queue_gen += 1
        call.overflow_due = False
        call.state = CallState.WAITING
        self._arm_wait_timers(call, now)

    def _position(self, call: Call) -> int:
        """1 = next for its lane; counts live calls ahead of it in the whole queue."""
        me = (-call.priority, call.first_queued_at, call.seq)
        ahead = 0
        for lane in call.queue.lanes.values():
            for p, t, s, tok, c in lane.waiting:
                if c.wait_token == tok and (p, t, s) < me:
                    ahead += 1
        return ahead + 1

    @staticmethod
    def _expected_wait(q: Queue, position: int) -> float:
        return position * q.handle_avg / max(1, q.staffed)

    def _finish(self, call: Call, state: CallState) -> None:
        call.state = state
        call.queue_gen += 1
        call.offer_gen += 1
        self._calls.pop(call.call_id, None)

    def _connect(self, call: Call, agent: Agent, now: float, out: list[AcdAction]) -> None:
        cfg = call.queue.cfg
        wait = now - call.first_queued_at
        first = not call.answered
        late = first and wait > cfg.service_level_seconds
        call.state = CallState.CONNECTED
        call.agent = agent
        call.answered = True
        # The queue's wait timers (max wait, announcements, callback offer) are over, and so
        # is any blind transfer that led here.
        call.queue_gen += 1
        call.overflow_due = False
        call.transfer_from = None
        call.transfer_to = None
        call.last_agent = agent.agent_id
        out.append(ConnectCall(call.call_id, agent.agent_id, agent.number, cfg.play_agent_number,
                               late, late and cfg.play_late_apology))
        if self._rec:
            self._events.append(CallAnswered(now, call.call_id, agent.agent_id, call.queue.name,
                                             wait, late, first))

    # --- talk, wrap-up ----------------------------------------------------------------------

    def _end_talk(self, call: Call, now: float, out: list[AcdAction], by: Party, *,
                  release_agent: bool) -> None:
        """The conversation with ``call.agent`` is over; that agent goes to wrap-up."""
        agent = call.agent
        assert agent is not None
        rec = self._rec
        if call.state is CallState.TRANSFERRING:
            freed = self._stop_all_offers(call, now, out, OfferOutcome.CALLER_ABANDONED)
        else:
            freed = []
        if call.hold_started is not None:
            if rec:
                self._events.append(HoldEnded(now, call.call_id, agent.agent_id,
                                              now - call.hold_started))
            call.hold_started = None
        if rec:
            self._events.append(TalkEnded(now, call.call_id, agent.agent_id, by))
        if release_agent:
            out.append(ReleaseAgent(call.call_id, agent.agent_id))
        call.agent = None
        call.transfer_from = None
        call.transfer_to = None
        self._start_wrapup(agent, call, now, out)
        for other in freed:
            self._agent_available(other, now, out)

    def _end_call(self, call: Call, now: float, by: Party) -> None:
        if self._rec:
            self._events.append(CallEnded(now, call.call_id, by))
        self._finish(call, CallState.ENDED)

    def _start_wrapup(self, agent: Agent, call: Call, now: float, out: list[AcdAction]) -> None:
        self._move_agent(agent, AgentEvent.END, now, None)
        agent.call = None
        agent.wrap_call = call
        agent.wrap_started = now
        agent.wrap_gen += 1
        q = call.queue
        q.handle_avg += HANDLE_AVERAGE_WEIGHT * (now - agent.talk_started + q.cfg.wrapup_seconds
                                                 - q.handle_avg)
        self._push_timer(now + q.cfg.wrapup_seconds, TIMER_WRAPUP, agent, agent.wrap_gen)

    def _end_wrapup(self, agent: Agent, now: float, out: list[AcdAction], *,
                    submitted: bool) -> None:
        call = agent.wrap_call
        agent.wrap_gen += 1
        agent.wrap_call = None
        agent.unsubmitted = None if submitted or call is None else call.call_id
        if self._rec:
            self._events.append(WrapupEnded(now, agent.agent_id,
                                            call.call_id if call is not None else "",
                                            now - agent.wrap_started, submitted))
        pending = agent.pending
        if pending is not None:
            agent.pending = None
            self._move_agent(agent, pending, now, agent.pending_reason)
            agent.pending_reason = None
            return
        self._move_agent(agent, AgentEvent.WRAPUP_DONE, now, None)
        agent.misses = 0
        agent.idle_since = now
        self._agent_available(agent, now, out)
