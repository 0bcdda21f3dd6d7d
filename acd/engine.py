"""The ACD engine: a sans-IO state machine for queues, agents, offers, timers and call control.

Time is always an input. Every command takes ``now`` and returns the actions (``acd.actions``)
the driver must perform, in order; typed events (``acd.events``) go to an outbox read with
``drain_events``. Timers leave as ``next_deadline()`` and come back as ``advance(now)``; any
command first fires the timers due strictly before its ``now``, so a driver that is late to
call ``advance`` still sees events in time order. ``now`` never goes backwards: an earlier value
is taken as the latest time seen. Domain errors (``acd.states.AcdError`` and subclasses) leave
the engine unchanged.

Call control (hold, transfer, agent hang-up, callbacks, survey) lives in ``acd.control``, which
this class inherits; both share the private helpers defined here.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable
from dataclasses import dataclass

from acd.actions import (
    AcdAction,
    Announce,
    DialCallback,
    OfferCallback,
    OverflowCall,
    ReleaseAgent,
    StopRinging,
)
from acd.config import AgentConfig, ConfigError, QueueConfig, SkillLevel, check_acd_config
from acd.control import CallControl
from acd.core import (
    TIMER_ANNOUNCE,
    TIMER_CALLBACK_OFFER,
    TIMER_MAX_WAIT,
    TIMER_RING,
    TIMER_WRAPUP,
    Agent,
    Call,
    command,
)
from acd.events import (
    AgentAutoPaused,
    CallAbandoned,
    CallbackOffered,
    CallbackOutcome,
    CallbackPlaced,
    CallOverflowed,
    CallQueued,
    OfferEnded,
    OfferOutcome,
    Party,
    TransferFailed,
)
from acd.states import (
    AcdError,
    AgentEvent,
    AgentState,
    CallState,
    CallStateError,
    NotReadyReason,
)

__all__ = ["AcdEngine", "AgentStatus", "QueueStatus"]

_OFFER_FAILURES = frozenset({OfferOutcome.DECLINED, OfferOutcome.BUSY, OfferOutcome.UNREACHABLE})


@dataclass(frozen=True, slots=True)
class AgentStatus:
    agent_id: str
    state: AgentState
    reason: str | None
    call_id: str | None
    pending: AgentEvent | None  # a pause or logout waiting for the end of the call
    since: float = 0.0  # engine time of the last state change (the supervisor's "for 5 min")
    calls_answered: int = 0
    misses: int = 0  # consecutive missed offers so far (auto-pause at the queue's limit)


@dataclass(frozen=True, slots=True)
class QueueStatus:
    queue: str
    waiting: int  # calls waiting (callback requests included: they keep their place)
    longest_wait: float  # seconds the longest-waiting caller has waited, 0 when none
    ready_agents: int
    staffed_agents: int


class AcdEngine(CallControl):
    """Queues and agents from config; commands in, actions out (see the module docstring)."""

    def __init__(
        self,
        queues: Iterable[QueueConfig],
        agents: Iterable[AgentConfig],
        *,
        rng: random.Random,
        record_events: bool = True,
    ) -> None:
        queue_cfgs = tuple(queues)
        agent_cfgs = tuple(agents)
        check_acd_config(queue_cfgs, agent_cfgs)
        super().__init__(queue_cfgs, agent_cfgs, rng=rng, record_events=record_events)

    # --- agents -------------------------------------------------------------------------

    def add_agent(self, cfg: AgentConfig) -> None:
        """A new agent (created by an administrator) joins its queues, logged out."""
        try:
            check_acd_config(tuple(q.cfg for q in self._queues.values()),
                             (*(a.cfg for a in self._agents.values()), cfg))
        except ConfigError as err:  # a domain error here: the request, not the file, is bad
            raise AcdError(str(err)) from err
        self._join(cfg)

    def remove_agent(self, agent_id: str) -> None:
        """An agent leaves the configuration; only a logged-out agent can be removed."""
        agent = self._agent(agent_id)
        if agent.state is not AgentState.LOGGED_OUT or agent.wrap_call is not None:
            raise AcdError(f"agent {agent_id!r} must log out before being removed "
                           f"(state {agent.state.value})")
        del self._agents[agent_id]
        for lane in agent.lanes:
            lane.level_of.pop(agent_id, None)
        # Their member index stays taken, so round robin's memory of others is unchanged.

    @command
    def agent_login(self, agent_id: str, now: float, *, ready: bool = False) -> list[AcdAction]:
        """Logged out → not ready ("login"), or straight to ready with ``ready=True``."""
        now, out = self._begin(now)
        agent = self._agent(agent_id)
        self._move_agent(agent, AgentEvent.LOGIN, now, NotReadyReason.LOGIN.value)
        if ready:
            self._make_ready(agent, now, out)
        return out

    @command
    def agent_ready(self, agent_id: str, now: float) -> list[AcdAction]:
        """Not ready → ready; in wrap-up it ends the wrap-up early (not submitted); during a
        call it cancels a pause or logout asked for earlier."""
        now, out = self._begin(now)
        agent = self._agent(agent_id)
        if agent.state is AgentState.WRAPUP:
            agent.pending = None
            self._end_wrapup(agent, now, out, submitted=False)
        elif agent.pending is not None and agent.state in (AgentState.TALKING,
                                                           AgentState.ON_HOLD):
            agent.pending = None  # changed their mind: no pause after this call
            agent.pending_reason = None
        elif agent.state is not AgentState.READY:
            self._make_ready(agent, now, out)
        return out

    @command
    def agent_not_ready(
        self, agent_id: str, reason: NotReadyReason | str, now: float
    ) -> list[AcdAction]:
        """Pause now; during a call or wrap-up the pause waits for the end of the wrap-up."""
        now, out = self._begin(now)
        agent = self._agent(agent_id)
        why = reason.value if isinstance(reason, NotReadyReason) else str(reason)
        if not why.strip():
            raise AcdError("a not-ready state needs a reason (break, lunch, training, …)")
        self._leave(agent, AgentEvent.NOT_READY, why, now, out)
        return out

    @command
    def agent_logout(self, agent_id: str, now: float) -> list[AcdAction]:
        """Log out now; during a call or wrap-up the logout waits for the end of the wrap-up."""
        now, out = self._begin(now)
        self._leave(self._agent(agent_id), AgentEvent.LOGOUT, None, now, out)
        return out

    @command
    def agent_phone_busy(self, agent_id: str, now: float) -> list[AcdAction]:
        """The agent's phone is on a call the ACD did not make (a direct or internal call):
        a ready agent is set not ready ("phone_busy") so the ACD never rings them meanwhile.
        In any other state nothing changes (a ringing phone will report busy itself)."""
        now, out = self._begin(now)
        agent = self._agent(agent_id)
        if agent.state is AgentState.READY:
            self._take_out(agent)
            self._move_agent(agent, AgentEvent.NOT_READY, now,
                             NotReadyReason.PHONE_BUSY.value)
        return out

    @command
    def agent_phone_free(self, agent_id: str, now: float) -> list[AcdAction]:
        """That outside call ended: an agent paused only for it is ready again."""
        now, out = self._begin(now)
        agent = self._agent(agent_id)
        if (agent.state is AgentState.NOT_READY
                and agent.reason == NotReadyReason.PHONE_BUSY.value):
            self._make_ready(agent, now, out)
        return out

    def _leave(
        self, agent: Agent, event: AgentEvent, reason: str | None, now: float,
        out: list[AcdAction],
    ) -> None:
        state = agent.state
        if state in (AgentState.TALKING, AgentState.ON_HOLD, AgentState.WRAPUP):
            agent.pending = event
            agent.pending_reason = reason
            return
        if state is AgentState.RINGING:
            call = agent.call
            assert call is not None
            self._drop_offer(call, agent, now, out, OfferOutcome.CANCELLED)
            self._move_agent(agent, event, now, reason)
            self._after_offers_gone(call, now, out)
            return
        self._take_out(agent)
        self._move_agent(agent, event, now, reason)

    # --- offers ---------------------------------------------------------------------------

    @command
    def offer_answered(self, call_id: str, agent_id: str, now: float) -> list[AcdAction]:
        """The agent picked up. Raises ``OfferNotActiveError`` if the offer had already ended
        (ring timeout, caller gone): the driver then hangs up that agent's leg."""
        now, out = self._begin(now)
        call = self._call(call_id)
        agent = self._agent(agent_id)
        self._check_offer(call, agent, "offer_answered")
        rec = self._rec
        ev = self._events
        call.offer_gen += 1  # the ring timer is now stale
        others = [a for a in call.ringing if a is not agent]
        call.ringing = []
        for other in others:
            out.append(StopRinging(call.call_id, other.agent_id))
            if rec:
                ev.append(OfferEnded(now, call.call_id, other.agent_id, OfferOutcome.CANCELLED))
            other.call = None
            self._move_agent(other, AgentEvent.CANCEL, now, None)
        if rec:
            ev.append(OfferEnded(now, call.call_id, agent.agent_id, OfferOutcome.ANSWERED))
        self._move_agent(agent, AgentEvent.ANSWER, now, None)
        agent.misses = 0
        agent.calls_answered += 1
        agent.talk_started = now
        state = call.state
        if state is CallState.CALLBACK_RINGING:
            call.state = CallState.CALLBACK_DIALING
            call.agent = agent
            number = call.callback_number or ""
            out.append(DialCallback(call.call_id, agent.agent_id, number))
            if rec:
                ev.append(CallbackPlaced(now, call.call_id, agent.agent_id, number))
        elif state is CallState.TRANSFERRING:
            self._complete_attended_transfer(call, agent, now, out)
        else:
            self._connect(call, agent, now, out)
        for other in others:
            self._agent_available(other, now, out)
        return out

    @command
    def offer_failed(
        self, call_id: str, agent_id: str, now: float, reason: OfferOutcome
    ) -> list[AcdAction]:
        """The agent's phone declined, was busy or unreachable: counts as a miss."""
        if reason not in _OFFER_FAILURES:
            raise AcdError(f"offer_failed takes declined, busy or unreachable, not {reason}")
        now, out = self._begin(now)
        call = self._call(call_id)
        agent = self._agent(agent_id)
        self._check_offer(call, agent, "offer_failed")
        self._drop_offer(call, agent, now, out, reason, stop_ringing=False)
        self._missed(agent, call, now)
        self._after_offers_gone(call, now, out)
        if agent.state is AgentState.READY:
            self._agent_available(agent, now, out)
        return out

    # --- callers --------------------------------------------------------------------------

    @command
    def call_arrived(
        self,
        call_id: str,
        queue: str,
        now: float,
        *,
        caller: str = "",
        skill: str | None = None,
        priority: int = 0,
        menu_path: tuple[str, ...] = (),
        min_level: SkillLevel = SkillLevel.JUNIOR,
    ) -> list[AcdAction]:
        """A caller asked for an agent: ring one now, or wait in the queue."""
        now, out = self._begin(now)
        if call_id in self._calls:
            raise AcdError(f"call {call_id!r} is already in the ACD")
        q = self._queue(queue)
        lane = self._lane(q, skill, min_level)
        self._seq += 1
        call = Call(call_id, q, lane, caller, skill, min_level, priority, self._seq, now)
        self._calls[call_id] = call
        if self._rec:
            self._events.append(CallQueued(now, call_id, q.name, caller, skill, min_level,
                                           priority, menu_path))
        self._arm_wait_timers(call, now)
        self._route(call, now, out)
        return out

    @command
    def caller_abandoned(self, call_id: str, now: float) -> list[AcdAction]:
        """The caller hung up. Before any answer this is an abandon; after, ``call_ended``."""
        now, out = self._begin(now)
        call = self._call(call_id)
        self._caller_gone(call, now, out, Party.CALLER)
        return out

    @command
    def call_ended(
        self, call_id: str, now: float, ended_by: Party = Party.CALLER
    ) -> list[AcdAction]:
        """The caller's leg is gone (hung up, or the closing/survey flow finished)."""
        now, out = self._begin(now)
        call = self._call(call_id)
        self._caller_gone(call, now, out, ended_by)
        return out

    def _caller_gone(self, call: Call, now: float, out: list[AcdAction], by: Party) -> None:
        state = call.state
        if state in (CallState.WAITING, CallState.RINGING, CallState.CALLBACK_WAITING,
                     CallState.CALLBACK_RINGING):
            freed = self._stop_all_offers(call, now, out, OfferOutcome.CALLER_ABANDONED)
            self._unqueue(call)
            if self._rec:
                self._events.append(CallAbandoned(now, call.call_id, call.queue.name,
                                                  now - call.first_queued_at))
            self._finish(call, CallState.ABANDONED)
            for agent in freed:
                self._agent_available(agent, now, out)
        elif state in (CallState.CONNECTED, CallState.ON_HOLD, CallState.TRANSFERRING):
            self._end_talk(call, now, out, by, release_agent=True)
            self._end_call(call, now, by)
        elif state is CallState.CLOSING:
            self._end_call(call, now, by)
        elif state is CallState.CALLBACK_DIALING and call.agent is not None:
            # The outbound leg to the caller ended before it was answered.
            out.append(ReleaseAgent(call.call_id, call.agent.agent_id))
            self._callback_failed(call, call.agent, now, out, CallbackOutcome.NO_ANSWER)
        else:
            raise CallStateError(call.call_id, state, "call_ended")

    # --- timers ---------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest pending timer, or None (stale timers are dropped here)."""
        timers = self._timers
        while timers:
            when, _, kind, obj, gen = timers[0]
            if self._timer_live(kind, obj, gen):
                return when
            heapq.heappop(timers)
        return None

    def advance(self, now: float) -> list[AcdAction]:
        """Fire every timer due at or before ``now``."""
        now, out = self._begin(now)
        self._fire_due(now, out, inclusive=True)
        return out

    def _fire_timer(
        self, when: float, kind: int, obj: Call | Agent, gen: int, out: list[AcdAction]
    ) -> None:
        if kind == TIMER_RING:
            assert isinstance(obj, Call)
            self._ring_timeout(obj, when, out)
        elif kind == TIMER_WRAPUP:
            assert isinstance(obj, Agent)
            self._end_wrapup(obj, when, out, submitted=False)
        elif kind == TIMER_ANNOUNCE:
            assert isinstance(obj, Call)
            self._announce(obj, when, out)
        elif kind == TIMER_MAX_WAIT:
            assert isinstance(obj, Call)
            if obj.state is CallState.WAITING:
                self._overflow(obj, when, out)
            else:
                obj.overflow_due = True  # ringing now; overflow if this offer fails
        elif kind == TIMER_CALLBACK_OFFER:
            assert isinstance(obj, Call)
            if obj.state in (CallState.WAITING, CallState.RINGING):
                out.append(OfferCallback(obj.call_id))
                if self._rec:
                    self._events.append(CallbackOffered(when, obj.call_id))

    def _ring_timeout(self, call: Call, now: float, out: list[AcdAction]) -> None:
        missed = list(call.ringing)
        for agent in missed:
            self._drop_offer(call, agent, now, out, OfferOutcome.TIMEOUT)
            self._missed(agent, call, now)
        self._after_offers_gone(call, now, out)
        for agent in missed:
            if agent.state is AgentState.READY:
                self._agent_available(agent, now, out)

    def _missed(self, agent: Agent, call: Call, now: float) -> None:
        """Count a miss; after the queue's limit the agent is paused ("missed calls")."""
        agent.misses += 1
        limit = call.queue.cfg.max_consecutive_misses
        if agent.misses >= limit:
            self._move_agent(agent, AgentEvent.MISS_LIMIT, now,
                             NotReadyReason.MISSED_CALLS.value)
            if self._rec:
                self._events.append(AgentAutoPaused(now, agent.agent_id, agent.misses))
        else:
            agent.idle_since = now  # to the back of longest-idle: others get the next call
            self._move_agent(agent, AgentEvent.MISS, now, None)

    def _after_offers_gone(self, call: Call, now: float, out: list[AcdAction]) -> None:
        """Every agent rung for ``call`` has dropped out: what becomes of the call."""
        if call.ringing:
            return
        call.offer_gen += 1
        state = call.state
        if state is CallState.TRANSFERRING:
            self._attended_transfer_failed(call, now, out)
        elif state is CallState.CALLBACK_RINGING:
            call.state = CallState.CALLBACK_WAITING
            self._route(call, now, out)  # another ready agent takes it, or it keeps its place
        elif state is CallState.RINGING:
            if call.transfer_from is not None:
                # A blind transfer to one agent failed: back to the call's queue.
                if self._rec:
                    self._events.append(TransferFailed(now, call.call_id, call.transfer_from,
                                                       call.transfer_to))
                call.transfer_from = None
                call.transfer_to = None
            if call.overflow_due:
                self._overflow(call, now, out)
            else:
                call.state = CallState.WAITING
                self._route(call, now, out)

    def _announce(self, call: Call, now: float, out: list[AcdAction]) -> None:
        every = call.queue.cfg.announce_every
        if every is None:
            return
        if call.state is CallState.WAITING:
            position = self._position(call)
            out.append(Announce(call.call_id, position, self._expected_wait(call.queue,
                                                                             position)))
        if call.state in (CallState.WAITING, CallState.RINGING):
            self._push_timer(now + every, TIMER_ANNOUNCE, call, call.queue_gen)

    def _overflow(self, call: Call, now: float, out: list[AcdAction]) -> None:
        source = call.queue
        target = source.cfg.overflow_target
        assert target is not None
        call.overflow_due = False
        self._unqueue(call)
        inside = target in self._queues
        if self._rec:
            self._events.append(CallOverflowed(now, call.call_id, source.name, target,
                                               not inside))
        out.append(OverflowCall(call.call_id, target, not inside))
        if not inside:
            self._finish(call, CallState.OVERFLOWED)
            return
        self._move_to_queue(call, self._queues[target], call.skill, call.min_level, now)
        self._route(call, now, out)

    # --- queries --------------------------------------------------------------------------

    def agent_status(self, agent_id: str) -> AgentStatus:
        a = self._agent(agent_id)
        call = a.call if a.call is not None else a.wrap_call  # offered, talking or wrapping up
        return AgentStatus(a.agent_id, a.state, a.reason,
                           call.call_id if call is not None else None, a.pending,
                           a.since, a.calls_answered, a.misses)

    def call_state(self, call_id: str) -> CallState:
        return self._call(call_id).state

    def call_ids(self) -> list[str]:
        """Calls still in the ACD (terminal calls are forgotten)."""
        return list(self._calls)

    def queue_status(self, queue: str, now: float) -> QueueStatus:
        q = self._queue(queue)
        oldest = min((c.first_queued_at for lane in q.lanes.values()
                      for *_, tok, c in lane.waiting if c.wait_token == tok), default=None)
        base = self._lane(q, None, SkillLevel.JUNIOR)
        return QueueStatus(q.name, q.waiting_count,
                           0.0 if oldest is None else max(0.0, now - oldest),
                           len(base.pool), q.staffed)

    def queue_names(self) -> list[str]:
        return list(self._queues)

    def agent_ids(self) -> list[str]:
        return list(self._agents)
