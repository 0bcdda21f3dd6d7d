"""The simulation driver: feeds the production ACD engine callers and agents on virtual time.

The routing is not modelled here: every decision is ``acd.engine.AcdEngine``'s, exactly as in
production. This module plays the outside world the engine talks to. Callers arrive (Poisson),
spend time in the menu and join the queue (``call_arrived``); a rung agent answers after a
ring delay (``offer_answered``); the conversation ends after the handle time (``call_ended``);
the agent may submit the wrap-up early (``wrapup_submitted``); a caller whose patience runs out
hangs up (``caller_abandoned``); rostered agents log in, take breaks and log out. The engine's
own timers (ring timeout, wrap-up, callback offers) run through ``next_deadline``/``advance``.
Outcomes are read from the actions the engine returns, so the engine can run without recording
events (the fast path); with ``record_events=True`` every event is handed to a sink as well.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from acd.actions import (
    AcdAction,
    ConnectCall,
    DialCallback,
    OfferCallback,
    OverflowCall,
    RingAgent,
    StopRinging,
)
from acd.config import AgentConfig
from acd.engine import AcdEngine
from acd.events import AcdEvent, CallbackOutcome, Party
from acd.states import AcdError, AgentState, NotReadyReason, OfferNotActiveError
from sim.clock import Priority, Timer, VirtualClock
from sim.model import ModelError, SimModel, on_duty_seconds
from sim.stats import Figures, IntervalCounters, WaitHistogram, merge

# How often (in calls) the progress callback hears about the run.
PROGRESS_EVERY = 5_000
# The engine needs a callback number; simulated callers all share this one.
SIM_CALLER_NUMBER = "10000"
MISSED_CALLS = NotReadyReason.MISSED_CALLS.value
# Wrap-up submitted by simulated agents: any non-empty call type will do (SPEC-Q6).
SIM_CALL_TYPE = "simulated"


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run: running sums per interval and in total (after the warm-up), wait histogram.

    The counters are final once the run is over; treat them as read-only.
    """

    seed: int
    counters: tuple[IntervalCounters, ...]
    total_counters: IntervalCounters
    histogram: WaitHistogram
    calls: int  # callers generated, warm-up included
    unfinished: int  # callers still waiting when nothing more could happen
    wall_seconds: float

    @property
    def intervals(self) -> tuple[Figures, ...]:
        return tuple(c.figures() for c in self.counters)

    @property
    def total(self) -> Figures:
        return self.total_counters.figures()


class _Caller:
    __slots__ = ("callback", "counters", "patience", "queued_at")

    def __init__(self, queued_at: float, counters: IntervalCounters | None) -> None:
        self.queued_at = queued_at
        self.counters = counters  # None: joined during the warm-up, not counted
        self.patience: Timer | None = None
        self.callback = False


class Simulation:
    """One run of ``model`` with its own ``random.Random(seed)``; call ``run()`` once."""

    def __init__(
        self,
        model: SimModel,
        *,
        seed: int,
        event_sink: Callable[[AcdEvent], None] | None = None,
    ) -> None:
        self.model = model
        self.seed = seed
        self._rng = random.Random(seed)
        self._clock = VirtualClock(start=0.0)
        queue = model.queue
        agent_ids = model.staff.agent_ids
        agents = [
            AgentConfig(agent_id=a, number=str(1001 + i), queues=(queue.name,))
            for i, a in enumerate(agent_ids)
        ]
        self._sink = event_sink
        # The engine draws (random strategy) from its own stream, derived from the seed, so
        # that changing the strategy does not shift the callers' draws.
        self._engine = AcdEngine(
            [queue], agents, rng=random.Random(f"acd-{seed}"), record_events=event_sink is not None
        )
        self._queue_name = queue.name
        self._threshold = queue.service_level_seconds
        self._short = queue.short_abandon_seconds
        self._callers: dict[str, _Caller] = {}
        self._ringing: dict[str, Timer] = {}  # agent_id -> pending answer
        self._answer_now: deque[tuple[str, str]] = deque()  # rings answered without delay
        self._callback_now: deque[str] = deque()  # callers taking the callback offer
        self._wrap_of: dict[str, str] = {}  # agent_id -> call in wrap-up
        self._armed = math.inf  # earliest engine deadline we have a clock timer for
        self._intervals: dict[int, IntervalCounters] = {}
        self._current: IntervalCounters | None = None  # the interval used last
        self._report_end = model.arrivals.end
        # The reported window: from the end of the warm-up (or the first arrival) to the end
        # of arrivals; calls that join in it are counted, busy time and queue are clipped to it.
        self._report_start = max(model.warmup, model.arrivals.start)
        if not math.isfinite(self._report_end) or self._report_end <= self._report_start:
            raise ModelError("the arrivals must end after the warm-up", field="warmup")
        self._last_index = math.ceil(self._report_end / model.interval) - 1
        self._histogram = WaitHistogram()
        self._waiting = 0
        self._last_change = 0.0
        self._count = 0
        self._progress: Callable[[float], None] | None = None
        self._ran = False
        self._handlers: dict[type, Callable[[AcdAction], None]] = {
            RingAgent: self._on_ring,  # type: ignore[dict-item]
            StopRinging: self._on_stop_ringing,  # type: ignore[dict-item]
            ConnectCall: self._on_connect,  # type: ignore[dict-item]
            OverflowCall: self._on_overflow,  # type: ignore[dict-item]
            OfferCallback: self._on_offer_callback,  # type: ignore[dict-item]
            DialCallback: self._on_dial_callback,  # type: ignore[dict-item]
        }

    # --- the run --------------------------------------------------------------------------

    def run(self, progress: Callable[[float], None] | None = None) -> RunResult:
        """Simulate until arrivals stop and every caller is through; ``progress(fraction)``."""
        if self._ran:
            raise RuntimeError("a Simulation runs once; make a new one (same seed, same run)")
        self._ran = True
        began = time.perf_counter()
        self._progress = progress
        model = self.model
        clock = self._clock
        for shift in model.staff.shifts:
            self._schedule_shift(shift.agent_id, shift.start, shift.end, shift.breaks)
        first = model.arrivals.next_after(0.0, self._rng)
        if first is not None:
            clock.schedule(first, self._arrival)
        clock.run()
        self._queue_change(0)
        if progress is not None:
            progress(1.0)
        return self._result(time.perf_counter() - began)

    def _result(self, wall: float) -> RunResult:
        model = self.model
        warm = self._report_start
        for index in range(int(warm // model.interval), self._last_index + 1):
            self._counters(max(index * model.interval, warm))  # quiet intervals too
        kept = [c for _, c in sorted(self._intervals.items()) if c.end > warm]
        for counters in kept:
            counters.on_duty_seconds = on_duty_seconds(
                model.staff, max(counters.start, warm), counters.end
            )
        total = merge(kept) if kept else IntervalCounters(start=warm, end=warm)
        total.start = max(total.start, warm)
        return RunResult(
            seed=self.seed,
            counters=tuple(kept),
            total_counters=total,
            histogram=self._histogram,
            calls=self._count,
            unfinished=len(self._callers),
            wall_seconds=wall,
        )

    def _counters(self, t: float) -> IntervalCounters:
        """The interval holding time t; times after the arrivals end go to the last one."""
        current = self._current
        if current is not None and current.start <= t < current.end:
            return current  # the common case: time moves forward within one interval
        width = self.model.interval
        index = min(int(t // width), self._last_index)
        counters = self._intervals.get(index)
        if counters is None:
            counters = IntervalCounters(
                start=max(index * width, self._report_start),
                end=min((index + 1) * width, self._report_end),
            )
            self._intervals[index] = counters
        self._current = counters
        return counters

    # --- engine plumbing ------------------------------------------------------------------

    def _perform(self, actions: list[AcdAction]) -> None:
        """Carry out the engine's actions, answer instant rings, fire timers already due."""
        engine = self._engine
        handlers = self._handlers
        answer_now = self._answer_now
        now = self._clock.now
        while True:
            for action in actions:
                handler = handlers.get(type(action))
                if handler is not None:
                    handler(action)
            if self._sink is not None:
                for event in engine.drain_events():
                    self._sink(event)
            if self._callback_now:
                call_id = self._callback_now.popleft()
                # The same instant may have answered or overflowed the call (two engine timers
                # due together): then there is nothing left to ask a callback for.
                caller = self._callers.get(call_id)
                actions = []
                if caller is not None and caller.callback:
                    actions = engine.callback_requested(call_id, now, SIM_CALLER_NUMBER)
                    if caller.counters is not None:
                        caller.counters.callbacks_requested += 1
                continue
            if answer_now:
                call_id, agent_id = answer_now.popleft()
                try:
                    actions = engine.offer_answered(call_id, agent_id, now)
                except OfferNotActiveError:
                    actions = []  # another agent of a ring-all offer was quicker
                continue
            deadline = engine.next_deadline()
            if deadline is None or deadline > now:
                break
            actions = engine.advance(now)
        if deadline is not None and deadline < self._armed:
            self._armed = deadline
            self._clock.schedule(deadline, self._engine_timer, Priority.ENGINE)

    def _engine_timer(self) -> None:
        now = self._clock.now
        if now >= self._armed:
            self._armed = math.inf
        self._perform(self._engine.advance(now))

    # --- callers --------------------------------------------------------------------------

    def _arrival(self) -> None:
        clock = self._clock
        model = self.model
        rng = self._rng
        now = clock.now
        nxt = model.arrivals.next_after(now, rng)
        if nxt is not None:
            clock.schedule(nxt, self._arrival)
        self._count += 1
        if self._progress is not None and self._count % PROGRESS_EVERY == 0:
            self._progress(min(1.0, now / model.arrivals.end))
        call_id = f"c{self._count}"
        if model.menu_time is not None:
            clock.schedule(now + model.menu_time.sample(rng), lambda: self._join(call_id))
        else:
            self._join(call_id)

    def _join(self, call_id: str) -> None:
        now = self._clock.now
        model = self.model
        counters = self._counters(now) if now >= self._report_start else None
        caller = _Caller(now, counters)
        if counters is not None:
            counters.offered += 1
        self._callers[call_id] = caller
        # Drawn for every caller, so the random stream does not depend on routing (common
        # random numbers when comparing queue setups); armed only if the caller has to wait.
        patience = None if model.patience is None else model.patience.sample(self._rng)
        self._queue_change(+1)
        self._perform(self._engine.call_arrived(call_id, self._queue_name, now))
        if patience is not None and call_id in self._callers and not caller.callback:
            caller.patience = self._clock.schedule(now + patience, lambda: self._give_up(call_id))

    def _give_up(self, call_id: str) -> None:
        caller = self._callers.pop(call_id)
        now = self._clock.now
        wait = now - caller.queued_at
        counters = caller.counters
        if counters is not None:
            if wait <= self._short:
                counters.short_abandoned += 1
            else:
                counters.abandoned += 1
            if wait > counters.longest_wait:
                counters.longest_wait = wait
            self._histogram.abandoned[self._histogram.bin_of(wait)] += 1
        self._queue_change(-1)
        self._perform(self._engine.caller_abandoned(call_id, now))

    def _queue_change(self, delta: int) -> None:
        """Integrate the number of callers waiting over the reported window (after the
        warm-up, before the arrivals end), split at interval boundaries."""
        now = self._clock.now
        waiting = self._waiting
        if waiting:
            t = self._last_change if self._last_change > self._report_start else self._report_start
            end = now if now < self._report_end else self._report_end
            while t < end:
                counters = self._counters(t)
                upto = end if end < counters.end else counters.end
                counters.queue_area += waiting * (upto - t)
                t = upto
        self._last_change = now
        self._waiting = waiting = waiting + delta
        if delta > 0 and now >= self._report_start:
            counters = self._counters(now)
            if waiting > counters.max_queue:
                counters.max_queue = waiting

    def _add_busy(self, start: float, end: float) -> None:
        """Agent busy time [start, end) ∩ the reported window, split at interval boundaries."""
        t = start if start > self._report_start else self._report_start
        end = end if end < self._report_end else self._report_end
        while t < end:
            counters = self._counters(t)
            upto = end if end < counters.end else counters.end
            counters.busy_seconds += upto - t
            t = upto

    # --- actions --------------------------------------------------------------------------

    def _on_ring(self, action: RingAgent) -> None:
        delay = self.model.ring_delay
        call_id, agent_id = action.call_id, action.agent_id
        if delay is None:
            self._answer_now.append((call_id, agent_id))
            return
        self._ringing[agent_id] = self._clock.call_later(
            delay.sample(self._rng), lambda: self._answer(call_id, agent_id)
        )

    def _answer(self, call_id: str, agent_id: str) -> None:
        self._ringing.pop(agent_id, None)
        try:
            actions = self._engine.offer_answered(call_id, agent_id, self._clock.now)
        except OfferNotActiveError:
            return  # the caller left in the same instant: the agent's leg is simply dropped
        self._perform(actions)

    def _on_stop_ringing(self, action: StopRinging) -> None:
        agent_id = action.agent_id
        pending = self._ringing.pop(agent_id, None)
        if pending is not None:
            pending.cancel()
        # A ring timeout may have been the agent's Nth miss in a row: the engine then pauses
        # them ("missed calls"); a real agent notices and makes themselves ready again.
        status = self._engine.agent_status(agent_id)
        if status.state is AgentState.NOT_READY and status.reason == MISSED_CALLS:
            self._clock.call_later(self.model.missed_pause, lambda: self._back(agent_id))

    def _back(self, agent_id: str) -> None:
        status = self._engine.agent_status(agent_id)
        if status.state is AgentState.NOT_READY and status.reason == MISSED_CALLS:
            self._perform(self._engine.agent_ready(agent_id, self._clock.now))

    def _on_connect(self, action: ConnectCall) -> None:
        now = self._clock.now
        caller = self._callers.pop(action.call_id)
        if caller.patience is not None:
            caller.patience.cancel()
        wait = now - caller.queued_at
        counters = caller.counters
        if counters is not None:
            counters.answered += 1
            counters.answered_wait_sum += wait
            if wait <= self._threshold:
                counters.answered_within += 1
            if wait > counters.longest_wait:
                counters.longest_wait = wait
            self._histogram.answered[self._histogram.bin_of(wait)] += 1
        self._queue_change(-1)
        self._talk(action.call_id, action.agent_id, counters)

    def _talk(self, call_id: str, agent_id: str, counters: IntervalCounters | None) -> None:
        now = self._clock.now
        model = self.model
        talk = model.talk_time.sample(self._rng)
        wrap_limit = model.queue.wrapup_seconds
        wrap = wrap_limit
        if model.wrapup_time is not None:
            wrap = min(wrap_limit, model.wrapup_time.sample(self._rng))
        if counters is not None:
            self._add_busy(now, now + talk + wrap)

        def hang_up() -> None:
            self._wrap_of[agent_id] = call_id
            self._perform(self._engine.call_ended(call_id, self._clock.now, Party.CALLER))
            if wrap < wrap_limit:
                self._clock.call_later(wrap, submit)

        def submit() -> None:
            if self._wrap_of.get(agent_id) != call_id:
                return  # the wrap-up was already ended another way (e.g. a break ended)
            try:
                actions = self._engine.wrapup_submitted(
                    agent_id, self._clock.now, call_type=SIM_CALL_TYPE, summary="", resolved=True
                )
            except AcdError:
                return
            self._perform(actions)

        self._clock.schedule(now + talk, hang_up)

    def _on_overflow(self, action: OverflowCall) -> None:
        if not action.left_acd:
            return
        caller = self._callers.pop(action.call_id)
        if caller.patience is not None:
            caller.patience.cancel()
        counters = caller.counters
        if counters is not None:
            counters.overflowed += 1
            self._note_wait(counters, self._clock.now - caller.queued_at)
        self._queue_change(-1)

    @staticmethod
    def _note_wait(counters: IntervalCounters, wait: float) -> None:
        if wait > counters.longest_wait:
            counters.longest_wait = wait

    def _on_offer_callback(self, action: OfferCallback) -> None:
        model = self.model
        caller = self._callers.get(action.call_id)
        if caller is None or caller.callback or self._rng.random() >= model.callback_accept:
            return
        caller.callback = True
        if caller.patience is not None:
            caller.patience.cancel()  # the caller hung up and keeps their place
            caller.patience = None
        # Pressed at once, before anything else can happen to the call (see _perform).
        self._callback_now.append(action.call_id)

    def _on_dial_callback(self, action: DialCallback) -> None:
        call_id, agent_id = action.call_id, action.agent_id
        reached = self._rng.random() < self.model.callback_reach

        self._queue_change(-1)  # an agent took the request: it no longer waits in the queue

        def picked_up() -> None:
            outcome = CallbackOutcome.ANSWERED if reached else CallbackOutcome.NO_ANSWER
            caller = self._callers.pop(call_id)
            counters = caller.counters
            if counters is not None:
                self._note_wait(counters, self._clock.now - caller.queued_at)
            self._perform(self._engine.callback_result(call_id, self._clock.now, outcome))
            if reached:
                if counters is not None:
                    counters.callbacks_answered += 1
                self._talk(call_id, agent_id, counters)

        self._clock.call_later(self.model.callback_dial_time, picked_up)

    # --- agents ---------------------------------------------------------------------------

    def _schedule_shift(
        self, agent_id: str, start: float, end: float, breaks: tuple[tuple[float, float], ...]
    ) -> None:
        clock = self._clock
        engine = self._engine

        def login() -> None:
            self._perform(engine.agent_login(agent_id, clock.now, ready=True))

        def pause() -> None:
            self._perform(engine.agent_not_ready(agent_id, NotReadyReason.BREAK, clock.now))

        def resume() -> None:
            self._perform(engine.agent_ready(agent_id, clock.now))

        def logout() -> None:
            self._perform(engine.agent_logout(agent_id, clock.now))

        clock.schedule(start, login)
        for b_start, b_end in breaks:
            clock.schedule(b_start, pause)
            clock.schedule(b_end, resume)
        if math.isfinite(end):
            clock.schedule(end, logout)
