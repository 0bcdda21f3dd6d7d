"""One call's IVR on the 20 ms media tick: runner + playback + listener, still sans-IO.

The asyncio call handler owns the sockets and the clock; per call it keeps an ``IvrCall``
and does only this:

* every media tick (20 ms, on the absolute grid): ``frame, control = call.tick(now, rx)``
  with ``rx`` the caller's decoded 20 ms frame (or None if none arrived), sends ``frame``
  (None: nothing to play, send comfort silence or nothing), and carries out ``control``;
* on an RFC 4733 / SIP INFO key: ``control = call.on_digit(key, now)`` — a barge-in stops
  the prompt before the next tick;
* on BYE: ``call.on_hangup(now)``.

``control`` holds what the IVR cannot do itself: TransferToQueue (hand the call to the ACD),
Hangup (send BYE), RecordSurvey (store the SPEC-Q4 answer).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from ivr.events import (
    Action,
    CallerHungUp,
    Digit,
    Event,
    Hangup,
    PlayPrompt,
    PromptFinished,
    RecordSurvey,
    StartListening,
    StopListening,
    StopPlayback,
    Timeout,
    TransferToQueue,
)
from ivr.listener import Listener, ListenerConfig
from ivr.playback import Playback
from ivr.runner import MenuRunner
from prompts.catalogue import PromptCatalogue

ControlAction = TransferToQueue | Hangup | RecordSurvey


class IvrCall:
    """A MenuRunner wired to prompt playback and the caller listener for one call."""

    def __init__(
        self,
        runner: MenuRunner,
        catalogue: PromptCatalogue,
        listener_config: ListenerConfig | None = None,
    ) -> None:
        self.runner = runner
        self.catalogue = catalogue
        self.listener = Listener(listener_config)
        self.playback: Playback | None = None
        self.played: list[PlayPrompt] = []  # every PlayPrompt so far, for logs and tests

    @property
    def finished(self) -> bool:
        """The runner is done and nothing is left to play."""
        return self.runner.finished and self.playback is None

    def start(self, now: float, wall_time: datetime) -> list[ControlAction]:
        return self._apply(self.runner.start(now, wall_time), now)

    def on_digit(self, digit: str, now: float) -> list[ControlAction]:
        return self._feed(Digit(digit, now), now)

    def on_hangup(self, now: float) -> list[ControlAction]:
        return self._feed(CallerHungUp(now), now)

    def next_deadline(self) -> float | None:
        """The earliest timer of the runner or listener (ticks also check them)."""
        candidates = (self.runner.next_deadline(), self.listener.next_deadline())
        deadlines = [d for d in candidates if d is not None]
        return min(deadlines) if deadlines else None

    def tick(
        self,
        now: float,
        received: np.ndarray | None = None,
    ) -> tuple[np.ndarray | None, list[ControlAction]]:
        """One 20 ms step: listen, fire due timers, and return the frame to send."""
        control: list[ControlAction] = []
        if self.listener.active:
            heard = (
                self.listener.feed(received, now)
                if received is not None
                else self.listener.poll(now)
            )
            if heard is not None:
                control += self._feed(heard, now)
        deadline = self.runner.next_deadline()
        if deadline is not None and now >= deadline:
            control += self._feed(Timeout(now), now)
        frame = None
        if self.playback is not None:
            frame = self.playback.next_frame()
            if frame is None:  # the last frame went out on the previous tick
                finished, self.playback = self.playback, None
                if not finished.stopped:
                    control += self._feed(PromptFinished(finished.play_id, now), now)
                if self.playback is not None:  # the runner went straight on to a new prompt
                    frame = self.playback.next_frame()
        return frame, control

    def _feed(self, event: Event, now: float) -> list[ControlAction]:
        return self._apply(self.runner.handle(event), now)

    def _apply(self, actions: list[Action], now: float) -> list[ControlAction]:
        control: list[ControlAction] = []
        for action in actions:
            if isinstance(action, PlayPrompt):
                self.playback = Playback.of(action, self.catalogue)
                self.played.append(action)
            elif isinstance(action, StopPlayback):
                if self.playback is not None and self.playback.play_id == action.play_id:
                    self.playback = None  # barge-in: silence from the next tick
            elif isinstance(action, StartListening):
                self.listener.start(action.now)
            elif isinstance(action, StopListening):
                self.listener.stop()
            else:
                control.append(action)
        return control
