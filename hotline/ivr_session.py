"""Carries out one caller's voice menu: the pure MenuRunner's actions on the caller's RTP session.

The runner decides (``ivr.runner``); this file only plays prompts, stops them on barge-in,
feeds key presses, caller audio and timeouts back in, and returns how the menu ended. Time
given to the runner is the loop's monotonic clock.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ivr.events import (
    Action,
    CallerHungUp,
    Digit,
    Event,
    Hangup,
    ListenerEvent,
    PlayPrompt,
    PromptFinished,
    PromptRef,
    RecordSurvey,
    StartListening,
    StopListening,
    StopPlayback,
    Timeout,
    TransferToQueue,
)
from ivr.runner import MenuRunner
from prompts.catalogue import PromptCatalogue
from telephony.media.dtmf import DtmfDigit
from telephony.media.session import AudioFrame, PlaybackHandle, PlaybackOutcome, RtpSession

log = logging.getLogger(__name__)


class Listener(Protocol):
    """Voice activity and level on the caller's audio (``ivr.listener``)."""

    def feed(self, frame: np.ndarray, now: float) -> ListenerEvent | None: ...


ListenerFactory = Callable[[float], Listener]


@dataclass(frozen=True, slots=True)
class MenuPromptStarted:
    """A caller started hearing these menu prompts: live supervision and the call pop."""

    at: float
    call_id: str
    prompt_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MenuOutcome:
    """How the menu ended: a transfer, a hang-up by the service, or the caller left (both None)."""

    transfer: TransferToQueue | None
    hangup: Hangup | None
    survey: RecordSurvey | None


class IvrSession:
    def __init__(
        self,
        runner: MenuRunner,
        media: RtpSession,
        prompts: PromptCatalogue,
        *,
        listener_factory: ListenerFactory | None = None,
        wall_clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
        on_prompt: Callable[[tuple[str, ...]], None] | None = None,
    ) -> None:
        self._on_prompt = on_prompt
        self._runner = runner
        self._media = media
        self._prompts = prompts
        self._listener_factory = listener_factory
        self._wall_clock = wall_clock
        self._loop = asyncio.get_running_loop()
        self._inbox: asyncio.Queue[Event] = asyncio.Queue()
        self._listener: Listener | None = None
        self._unsubscribe_audio: Callable[[], None] | None = None
        self._playback_tasks: set[asyncio.Task[None]] = set()
        self._last_playback: PlaybackHandle | None = None
        self.keys: list[str] = []  # every key the caller pressed, for the agent's call pop

    def hang_up(self) -> None:
        """The caller's leg ended; the runner hears it and the menu ends."""
        self._inbox.put_nowait(CallerHungUp(self._loop.time()))

    async def run(self) -> MenuOutcome:
        unsubscribe_dtmf = self._media.subscribe_dtmf(self._on_dtmf)
        try:
            survey: RecordSurvey | None = None
            actions = self._runner.start(self._loop.time(), self._wall_clock())
            while True:
                for action in actions:
                    if isinstance(action, TransferToQueue):
                        return MenuOutcome(action, None, survey)
                    if isinstance(action, Hangup):
                        await self._drain_playback()
                        return MenuOutcome(None, action, survey)
                    if isinstance(action, RecordSurvey):
                        survey = action
                    self._perform(action)
                if self._runner.finished:
                    return MenuOutcome(None, None, survey)
                event = await self._next_event()
                actions = self._runner.handle(event)
        finally:
            unsubscribe_dtmf()
            self._stop_listening()
            for task in self._playback_tasks:
                task.cancel()

    async def _next_event(self) -> Event:
        deadline = self._runner.next_deadline()
        if deadline is None:
            return await self._inbox.get()
        try:
            return await asyncio.wait_for(
                self._inbox.get(), timeout=max(0.0, deadline - self._loop.time())
            )
        except TimeoutError:
            return Timeout(self._loop.time())

    def _perform(self, action: Action) -> None:
        log.debug("menu action %r", action)
        if isinstance(action, PlayPrompt):
            self._play(action)
        elif isinstance(action, StopPlayback):
            self._media.stop_playback()
        elif isinstance(action, StartListening):
            self._start_listening(action.now)
        elif isinstance(action, StopListening):
            self._stop_listening()

    def _play(self, action: PlayPrompt) -> None:
        pieces = [
            self._prompts.get(item.prompt_id, item.language).samples
            if isinstance(item, PromptRef)
            else item.astype(np.int16, copy=False)
            for item in action.items
        ]
        # One piece plays from the catalogue's own (read-only) array: no copy per call.
        if len(pieces) == 1:
            pcm = pieces[0]
        else:
            pcm = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
        handle = self._media.play(pcm)
        self._last_playback = handle
        if self._on_prompt is not None:
            self._on_prompt(action.prompt_ids)

        async def report() -> None:
            if await handle is PlaybackOutcome.FINISHED:
                self._inbox.put_nowait(PromptFinished(action.play_id, self._loop.time()))

        task = asyncio.ensure_future(report())
        self._playback_tasks.add(task)
        task.add_done_callback(self._playback_tasks.discard)

    async def _drain_playback(self) -> None:
        """Let the last phrase (goodbye, closed message) finish before the service hangs up."""
        if self._last_playback is not None:
            await self._last_playback

    def _on_dtmf(self, digit: DtmfDigit) -> None:
        key = digit.key.value
        log.debug("menu key %s (%s)", key, digit.source.value)
        self.keys.append(key)
        self._inbox.put_nowait(Digit(key, self._loop.time()))

    def _start_listening(self, now: float) -> None:
        self._stop_listening()
        if self._listener_factory is None:
            return
        self._listener = self._listener_factory(now)
        self._unsubscribe_audio = self._media.subscribe_audio(self._on_audio)

    def _stop_listening(self) -> None:
        if self._unsubscribe_audio is not None:
            self._unsubscribe_audio()
        self._unsubscribe_audio = None
        self._listener = None

    def _on_audio(self, frame: AudioFrame) -> None:
        if self._listener is None:
            return
        event = self._listener.feed(frame.pcm, self._loop.time())
        if event is not None:
            self._inbox.put_nowait(event)
