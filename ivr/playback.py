"""Turning the runner's PlayPrompt into 20 ms frames, and stopping them at once for barge-in.

The call handler keeps one ``Playback`` per call: ``Playback.of(action, catalogue)`` when the
runner says PlayPrompt, ``next_frame()`` on every 20 ms media tick (it returns None when the
prompt is over: report PromptFinished then), ``stop()`` on StopPlayback.  Pure and
clock-free, so the same code paces live RTP and the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ivr.events import PlayPrompt, PromptRef
from prompts.catalogue import PromptCatalogue

FRAME_SAMPLES = 160  # 20 ms at 8 kHz: one RTP packet (RFC 3551 §4.2 default packetisation)


def render(play: PlayPrompt, catalogue: PromptCatalogue) -> np.ndarray:
    """The items of ``play`` one after another as int16 samples at 8 kHz."""
    parts = [
        catalogue.get(item.prompt_id, item.language).samples
        if isinstance(item, PromptRef)
        else np.asarray(item, dtype=np.int16)
        for item in play.items
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


@dataclass(slots=True)
class Playback:
    """One PlayPrompt being sent, frame by frame."""

    play_id: int
    samples: np.ndarray
    barge_in: bool
    position: int = 0
    stopped: bool = False

    @classmethod
    def of(cls, play: PlayPrompt, catalogue: PromptCatalogue) -> Playback:
        return cls(play_id=play.play_id, samples=render(play, catalogue), barge_in=play.barge_in)

    @property
    def finished(self) -> bool:
        return self.stopped or self.position >= self.samples.size

    def next_frame(self) -> np.ndarray | None:
        """The next 20 ms (the last one padded with silence), or None when done or stopped."""
        if self.finished:
            return None
        frame = self.samples[self.position : self.position + FRAME_SAMPLES]
        self.position += FRAME_SAMPLES
        if frame.size < FRAME_SAMPLES:
            frame = np.concatenate([frame, np.zeros(FRAME_SAMPLES - frame.size, dtype=np.int16)])
        return frame

    def stop(self) -> None:
        """Barge-in: no further frame is sent, from the very next tick."""
        self.stopped = True

    @property
    def remaining_s(self) -> float:
        return max(0, self.samples.size - self.position) / 8000.0
