"""Recognising which catalogue prompt a stretch of received audio is, by cross-correlation.

For tests and monitoring: a SIP test client records what it hears; ``best_match`` says which
prompt it was (issue 4: "hears the right prompt at each step, recognised by cross-correlation
with the catalogue audio").  Survives G.711 coding, a delay, and a few lost packets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

MIN_SCORE = 0.5  # normalised correlation below this is "none of them"


@dataclass(frozen=True, slots=True)
class Match:
    prompt_id: str | None  # None: nothing scored MIN_SCORE
    score: float  # peak normalised cross-correlation, 0..1
    offset: int  # sample index in the received audio where the prompt starts


def correlation(received: np.ndarray, reference: np.ndarray) -> tuple[float, int]:
    """Peak normalised cross-correlation of ``reference`` within ``received`` and its offset."""
    return _Received(received, reference.size).correlate(reference)


class _Received:
    """The received audio's spectrum and window energies, computed once for all candidates."""

    def __init__(self, received: np.ndarray, longest: int) -> None:
        self.r = received.astype(np.float64)
        self.n = 1 << int(np.ceil(np.log2(self.r.size + min(longest, self.r.size))))
        self.spectrum = np.fft.rfft(self.r, self.n)
        self.cumulative = np.concatenate([[0.0], np.cumsum(self.r * self.r)])

    def correlate(self, reference: np.ndarray) -> tuple[float, int]:
        # a prompt cut short by barge-in is matched on the part that was played
        t = reference[: self.r.size].astype(np.float64)
        t = t - t.mean()
        valid = self.r.size - t.size + 1
        corr = np.fft.irfft(self.spectrum * np.conj(np.fft.rfft(t, self.n)), self.n)[:valid]
        window = self.cumulative[t.size :] - self.cumulative[:valid]
        scores = corr / np.sqrt(np.maximum(window, 1e-9) * float(np.dot(t, t)))
        best = int(np.argmax(scores))
        return float(scores[best]), best


def best_match(received: np.ndarray, candidates: Mapping[str, np.ndarray]) -> Match:
    """Which candidate (id → samples) ``received`` contains best."""
    longest = max((c.size for c in candidates.values()), default=1)
    prepared = _Received(received, longest)
    best = Match(None, 0.0, 0)
    for prompt_id, samples in candidates.items():
        score, offset = prepared.correlate(samples)
        if score > best.score:
            best = Match(prompt_id, score, offset)
    return best if best.score >= MIN_SCORE else Match(None, best.score, best.offset)
