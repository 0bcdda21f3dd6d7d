"""Synthetic speech-like signals, RTP framing and a clock shared by the recording tests."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

RATE = 8000
FRAME = 160  # 20 ms at 8 kHz, the G.711 ptime


def signal(seed: int, seconds: float) -> npt.NDArray[np.int16]:
    """Deterministic noise shaped by a slow envelope: distinct per seed, never all zero."""
    rng = np.random.default_rng(seed)
    count = int(seconds * RATE)
    noise = rng.normal(0.0, 6000.0, count)
    envelope = 0.6 + 0.4 * np.sin(np.arange(count) * 2 * np.pi * 3.0 / RATE + seed)
    return np.clip(noise * envelope, -32000, 32000).astype(np.int16)


def frames(samples: npt.NDArray[np.int16]) -> list[npt.NDArray[np.int16]]:
    return [samples[i : i + FRAME] for i in range(0, len(samples) - FRAME + 1, FRAME)]


class FakeClock:
    """A wall clock the test moves by hand (services take time as an input)."""

    def __init__(self, now: float = 1_780_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
