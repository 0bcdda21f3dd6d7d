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
MIN_OVERLAP = 4000  # samples (0.5 s) of a prompt that must be heard to recognise it


@dataclass(frozen=True, slots=True)
class Match:
    prompt_id: str | None  # None: nothing scored MIN_SCORE
    score: float  # peak normalised cross-correlation, 0..1
    offset: int  # sample index in the received audio where the prompt starts


def correlation(received: np.ndarray, reference: np.ndarray) -> tuple[float, int]:
    """Peak normalised cross-correlation of ``reference`` within ``received`` and its offset."""
    return _Received(received, reference.size).correlate(reference)


class _Received:
    """The received audio's spectrum and energies, computed once for all candidates."""

    def __init__(self, received: np.ndarray, longest: int) -> None:
        self.r = received.astype(np.float64)
        self.n = 1 << int(np.ceil(np.log2(self.r.size + longest)))
        self.spectrum = np.fft.rfft(self.r, self.n)
        self.cumulative = np.concatenate([[0.0], np.cumsum(self.r * self.r)])

    def correlate(self, reference: np.ndarray) -> tuple[float, int]:
        # Offsets where the prompt runs past the end of the recording count too, on the
        # part that overlaps: a recording may stop mid-prompt, or barge-in may cut it.
        t = reference.astype(np.float64)
        size = self.r.size
        offsets = np.arange(size)
        overlap = np.minimum(t.size, size - offsets)
        usable = overlap >= min(t.size, MIN_OVERLAP)
        corr = np.fft.irfft(self.spectrum * np.conj(np.fft.rfft(t, self.n)), self.n)[:size]
        t_energy = np.concatenate([[0.0], np.cumsum(t * t)])[overlap]
        r_energy = self.cumulative[offsets + overlap] - self.cumulative[offsets]
        scores = np.where(usable, corr / np.sqrt(np.maximum(r_energy * t_energy, 1e-9)), 0.0)
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
