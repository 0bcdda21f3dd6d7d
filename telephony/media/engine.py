"""The shared media engine: one paced loop that drives every RTP session of the process.

Design, from the measurements in PERFORMANCE.md: one engine ticks on the monotonic clock's
absolute 20 ms grid (never ``sleep(0.02)``); sessions are spread over sub-tick slots; in each
slot tick every session's socket is polled once (cheaper than a callback per packet). Each
session builds its own packet from G.711 codes encoded ahead: measured here, batching the
slot's encoding and headers in numpy cost more in array set-up than it saved.

``step(now)`` does all due work without waiting and is public: tests and the simulator drive
it with their own clock. ``start()`` runs it in an asyncio task that only sleeps until the
scheduler's next due time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import select
import time
from collections.abc import Awaitable, Callable
from typing import Final

import numpy as np

from telephony.media.audio import to_int16
from telephony.media.jitterbuffer import DEFAULT_MAX_WAIT
from telephony.media.pacing import (
    DEFAULT_MAX_CATCH_UP,
    DEFAULT_SLOTS,
    DEFAULT_TIMING_WINDOW,
    TICK_INTERVAL,
    DueTick,
    PacingScheduler,
    SlotPlanner,
    TickGrid,
    TimingSummary,
    summarize,
)
from telephony.media.ports import PortAllocator, bind_rtp_socket
from telephony.media.session import COMFORT_NOISE_DBFS, RtpSession
from telephony.media.timer import MonotonicTimer
from telephony.media.values import IdleMode, MediaError, MediaParams

logger = logging.getLogger(__name__)

# Without timerfd, asyncio's epoll wait rounds its timeout up to whole milliseconds, so waking
# exactly on time is impossible; waking half a millisecond early and sending ticks due within
# that half millisecond centres the send-time error on the grid instead of always being late.
DEFAULT_WAKE_EARLY: Final = 0.0005
_COMFORT_NOISE_SECONDS: Final = 2
# A stream brings one packet per tick, a few after a network hiccup; more than this many per
# socket and tick waits for the next tick (the kernel buffer keeps them).
MAX_READ_ROUNDS: Final = 8

Clock = Callable[[], float]
SleepUntil = Callable[[float], Awaitable[None]]


class MediaEngine:
    """Owns the pacing loop, the RTP port range and every session; one per process."""

    def __init__(
        self,
        *,
        ports: PortAllocator,
        host: str = "127.0.0.1",
        interval: float = TICK_INTERVAL,
        slots: int = DEFAULT_SLOTS,
        max_catch_up: int = DEFAULT_MAX_CATCH_UP,
        idle: IdleMode = IdleMode.SILENCE,
        jitter_max_wait: float = DEFAULT_MAX_WAIT,
        timing_window: int = DEFAULT_TIMING_WINDOW,
        wake_early: float | None = None,
        precise_timer: bool = True,
        clock: Clock | None = None,
        sleep_until: SleepUntil | None = None,
        origin: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if (clock is None) != (sleep_until is None):
            raise ValueError("a custom clock needs its own sleep_until, and vice versa")
        self._clock: Clock = clock or time.monotonic
        self._custom_sleep = sleep_until
        self._use_timerfd = sleep_until is None and precise_timer and MonotonicTimer.available()
        self._timer: MonotonicTimer | None = None
        self._ports = ports
        self._host = host
        self._idle = idle
        self._jitter_max_wait = jitter_max_wait
        self._timing_window = timing_window
        if wake_early is None:
            wake_early = 0.0 if self._use_timerfd else DEFAULT_WAKE_EARLY
        self._wake_early = wake_early
        # RFC 3550 §5.1: SSRC, first sequence number and first timestamp are random.
        self._rng = rng or random.Random()
        grid = TickGrid(self._clock() if origin is None else origin, interval, slots)
        self._scheduler = PacingScheduler(grid, max_catch_up=max_catch_up, initially_active=False)
        self._slot_opened = asyncio.Event()
        self._planner = SlotPlanner(slots)
        self._slots: list[list[RtpSession]] = [[] for _ in range(slots)]
        # PERFORMANCE.md: polling each slot's sockets once per tick beats a callback per
        # packet; one epoll per slot tells which sockets have data without a failing read each.
        self._polls = [select.epoll() for _ in range(slots)]
        self._by_fd: list[dict[int, RtpSession]] = [{} for _ in range(slots)]
        self._ports_of: dict[RtpSession, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        noise = np.random.default_rng(self._rng.getrandbits(32)).normal(
            0.0, 10 ** (COMFORT_NOISE_DBFS / 20.0), _COMFORT_NOISE_SECONDS * 8000
        )
        self._comfort_noise = to_int16(noise)
        self._comfort_noise.setflags(write=False)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            if self._use_timerfd and self._timer is None:
                self._timer = MonotonicTimer(asyncio.get_running_loop())
            self._task = asyncio.create_task(self._run(), name="media-engine")

    async def stop(self) -> None:
        """Stop pacing, close every session and the engine's own descriptors (final)."""
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # we are being cancelled ourselves, not just our pacing task
        for session in self.sessions:
            session.close()
        for poll in self._polls:
            poll.close()
        if self._timer is not None:
            self._timer.close()
            self._timer = None

    async def __aenter__(self) -> MediaEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def grid(self) -> TickGrid:
        return self._scheduler.grid

    @property
    def sessions(self) -> list[RtpSession]:
        return [s for slot in self._slots for s in slot]

    def open_session(self, params: MediaParams, *, idle: IdleMode | None = None) -> RtpSession:
        """Bind a port from the range and start a session; it sends from its slot's next tick.

        Raises PortsExhausted when the range is full (answer the call with 503) and
        MediaError once the engine has been stopped.
        """
        if self._stopped:
            raise MediaError("the media engine is stopped")
        sock = bind_rtp_socket(self._ports, self._host)
        port = sock.getsockname()[1]
        slot = self._planner.assign()
        if not self._slots[slot]:
            self._scheduler.activate(slot, self._clock())
            self._slot_opened.set()
            next_due = self._scheduler.next_due()
            if self._timer is not None and next_due is not None:
                # The loop may be asleep until a later slot's tick; this one comes first.
                self._timer.wake_by(next_due - self._wake_early)
        session = RtpSession(
            sock=sock,
            slot=slot,
            first_tick=self._scheduler.next_tick(slot),
            params=params,
            idle=self._idle if idle is None else idle,
            ssrc=self._rng.getrandbits(32),
            sequence_number=self._rng.getrandbits(16),
            timestamp=self._rng.getrandbits(32),
            loop=asyncio.get_running_loop(),
            comfort_noise=self._comfort_noise,
            jitter_max_wait=self._jitter_max_wait,
            timing_window=self._timing_window,
            on_close=self._forget,
        )
        self._slots[slot].append(session)
        self._ports_of[session] = port
        self._by_fd[slot][session.fileno()] = session
        self._polls[slot].register(session.fileno(), select.EPOLLIN)
        return session

    def _forget(self, session: RtpSession) -> None:
        fd = session.fileno()
        self._polls[session.slot].unregister(fd)
        del self._by_fd[session.slot][fd]
        self._slots[session.slot].remove(session)
        if not self._slots[session.slot]:
            self._scheduler.deactivate(session.slot)
        self._planner.release(session.slot)
        self._ports.release(self._ports_of.pop(session))

    def timing_summary(self, sessions: list[RtpSession] | None = None) -> TimingSummary:
        """p50/p99 of send-time error against the grid and of the send interval, in ms."""
        chosen = self.sessions if sessions is None else sessions
        return summarize([s.timing for s in chosen])

    # --- pacing ----------------------------------------------------------------------------

    async def _sleep_until(self, when: float) -> None:
        if self._custom_sleep is not None:
            await self._custom_sleep(when)
        elif self._timer is not None:
            await self._timer.sleep_until(when)
        else:
            delay = when - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)

    async def _run(self) -> None:
        while True:
            due = self._scheduler.next_due()
            if due is None:  # no session at all: sleep until one opens
                self._slot_opened.clear()
                await self._slot_opened.wait()
                continue
            await self._sleep_until(due - self._wake_early)
            self.step(self._clock() + self._wake_early)

    def step(self, now: float) -> int:
        """Run every slot tick due at ``now``; returns how many ran."""
        due_ticks = self._scheduler.pop_due(now)
        for due in due_ticks:
            self._run_tick(due, now)
        return len(due_ticks)

    def _run_tick(self, due: DueTick, now: float) -> None:
        sessions = list(self._slots[due.slot])
        if not sessions:
            return
        # Sending comes first: it is the part whose timing the far end hears. Reading first
        # would delay the slot's last packet by everyone's receive work (about 0.5 ms at
        # 50 calls per slot); received audio only waits for the next consumer either way.
        clock = self._clock
        for session in sessions:
            try:
                if due.skipped:
                    session.note_skipped(due.skipped)
                session.send_tick(due.tick, due.due, clock)
            except Exception:
                # A bug in one call must not stop the others: log it and end that call's media.
                logger.exception("media session %s failed; closing it", session.local_address)
                session.close()
        self._read_ready(due, now)
        for session in sessions:
            try:
                session.receive_due(now, due.tick)
            except Exception:
                logger.exception("media session %s failed; closing it", session.local_address)
                session.close()

    def _read_ready(self, due: DueTick, now: float) -> None:
        """Read one datagram from each readable socket per round until none is readable.

        Rounds instead of draining each socket until EAGAIN save a failing system call per
        session; the round limit bounds the work a flood on one port can cause per tick.
        """
        poll = self._polls[due.slot]
        by_fd = self._by_fd[due.slot]
        for _ in range(MAX_READ_ROUNDS):
            ready = poll.poll(0)
            if not ready:
                return
            for fd, _ in ready:
                session = by_fd.get(fd)
                if session is None:
                    continue
                try:
                    session.read_one(now, due.tick)
                except Exception:
                    logger.exception("media session %s failed; closing it", session.local_address)
                    session.close()
