"""What simulated callers and agents hear and say: the agents' marker tone, tone and prompt
detectors fed 20 ms frames as they arrive, and the caller's speech.

How a caller knows it was answered (issue 8, "as the callers measured them"): the service plays
SPEC-P10 ("您好!NNNN号很高兴为您服务!") the moment the ACD counts the call answered (the agent's
200 OK; hotline/calls.py `_connect`), before the two sides hear each other. Every agent's P10
starts with the same words, so the caller watches its incoming audio for the first 0.4 s of
that prefix (normalised cross-correlation at 2 kHz) and takes the start of the prompt as the
moment it was answered. The agent's own audio (a steady tone, `AGENT_TONE_HZ`) comes after
P10 (and P4 when late); hearing it confirms the two are connected, and its end tells the
caller that the agent hung up (SPEC-Q7: then the survey follows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from prompts.catalogue import PromptCatalogue
from prompts.texts import Language

SAMPLE_RATE: Final = 8000
FRAME_SAMPLES: Final = 160  # 20 ms, the RTP packet (RFC 3551 §4.5 default ptime)
# Agents speak a steady 1800 Hz: away from the DTMF grid (697–1633 Hz, ITU-T Q.23) and from
# 2100 Hz (the modem answer tone, ITU-T V.25) so no line equipment reacts to it.
AGENT_TONE_HZ: Final = 1800.0
AGENT_TONE_DBFS: Final = -12.0
# A frame counts as "tone" when that one frequency carries over half its power and it is
# louder than this; three frames in a row (60 ms) make a tone, five silent ones its end.
TONE_POWER_SHARE: Final = 0.5
TONE_MIN_DBFS: Final = -40.0
TONE_ON_FRAMES: Final = 3
TONE_OFF_FRAMES: Final = 5
# Prompt matching runs at 2 kHz: telephone speech has most of its energy below 1 kHz, and a
# quarter of the work keeps 20 callers cheap on a shared machine. A windowed-sinc low-pass at
# 800 Hz comes first, so the match does not depend on where the 4:1 grid falls in the prompt.
DECIMATION: Final = 4
LOWPASS_HZ: Final = 800.0
LOWPASS_TAPS: Final = 33
TEMPLATE_SECONDS: Final = 1.4
MATCH_THRESHOLD: Final = 0.85  # normalised correlation; G.711 round trips stay above 0.95
SPEECH_MIN_DBFS: Final = -45.0
_LEAD_LEVEL: Final = 300  # int16 amplitude where a prompt's leading silence ends

Pcm = npt.NDArray[np.int16]


def tone(seconds: float, hz: float = AGENT_TONE_HZ, dbfs: float = AGENT_TONE_DBFS) -> Pcm:
    n = round(seconds * SAMPLE_RATE)
    amplitude = 32767 * 10 ** (dbfs / 20)
    t = np.arange(n) / SAMPLE_RATE
    return (amplitude * np.sin(2 * math.pi * hz * t)).astype(np.int16)


def level_dbfs(pcm: npt.NDArray[np.int16]) -> float:
    power = float(np.mean(np.square(pcm.astype(np.float64)))) if pcm.size else 0.0
    return -math.inf if power <= 0 else 10 * math.log10(power / 32768.0**2)


def tone_share(pcm: npt.NDArray[np.int16], hz: float = AGENT_TONE_HZ) -> float:
    """Share of the frame's power at `hz` (Goertzel); 1.0 for a pure tone at that frequency."""
    x = pcm.astype(np.float64)
    total = float(np.dot(x, x))
    if total <= 0:
        return 0.0
    n = x.size
    w = 2 * math.pi * hz / SAMPLE_RATE
    basis = np.exp(-1j * w * np.arange(n))
    spectral = abs(complex(np.dot(x, basis))) ** 2 * 2 / n
    return min(1.0, spectral / total)


@dataclass(slots=True)
class ToneTracker:
    """Start and end of the agent's tone in a stream of frames with their arrival times."""

    hz: float = AGENT_TONE_HZ
    started_at: float | None = None
    ended_at: float | None = None
    _run: int = 0
    _run_start: float = 0.0
    _quiet: int = 0
    _quiet_start: float = 0.0

    def feed(self, pcm: npt.NDArray[np.int16], at: float) -> None:
        present = level_dbfs(pcm) > TONE_MIN_DBFS and tone_share(pcm, self.hz) > TONE_POWER_SHARE
        if self.started_at is None:
            if present:
                if self._run == 0:
                    self._run_start = at
                self._run += 1
                if self._run >= TONE_ON_FRAMES:
                    self.started_at = self._run_start
            else:
                self._run = 0
            return
        if self.ended_at is not None:
            return
        if present:
            self._quiet = 0
            return
        if self._quiet == 0:
            self._quiet_start = at
        self._quiet += 1
        if self._quiet >= TONE_OFF_FRAMES:
            self.ended_at = self._quiet_start


def _lowpass_taps() -> npt.NDArray[np.float64]:
    n = np.arange(LOWPASS_TAPS) - (LOWPASS_TAPS - 1) / 2
    cutoff = LOWPASS_HZ / SAMPLE_RATE
    taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(LOWPASS_TAPS)
    return np.asarray(taps / taps.sum(), dtype=np.float64)


_TAPS: Final = _lowpass_taps()


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """The opening of a prompt, ready for matching; `lead` is its leading silence (s).

    One column per phase of the 4:1 grid (zero-mean, unit norm): a prompt that starts between
    two kept samples still finds its exact column, so the match stays near 1.0 wherever it
    falls.
    """

    samples: npt.NDArray[np.float64]  # (length, DECIMATION)
    lead: float

    @classmethod
    def of(cls, pcm: npt.NDArray[np.int16], seconds: float = TEMPLATE_SECONDS) -> PromptTemplate:
        loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > _LEAD_LEVEL)
        start = int(loud[0]) if loud.size else 0
        m = round(seconds * SAMPLE_RATE) // DECIMATION
        filtered = np.convolve(pcm.astype(np.float64), _TAPS, mode="same")
        columns = []
        for phase in range(DECIMATION):
            part = filtered[start + phase :: DECIMATION][:m]
            if part.size < m:
                raise ValueError("the prompt is shorter than the part to match")
            part = part - part.mean()
            norm = float(np.linalg.norm(part))
            if norm == 0:
                raise ValueError("the prompt is silent; nothing to match")
            columns.append(part / norm)
        return cls(np.stack(columns, axis=1), start / SAMPLE_RATE)


def agent_greeting_template(
    number: str, catalogue: PromptCatalogue | None = None, language: Language = Language.ZH
) -> PromptTemplate:
    """The opening of agent `number`'s SPEC-P10, long enough to reach into the number: the
    words before it ("您好!") also open P1, P2, P8 and P11, so they alone would match those."""
    catalogue = catalogue or PromptCatalogue()
    return PromptTemplate.of(catalogue.agent_greeting(number, language))


@dataclass(slots=True)
class PromptSpotter:
    """Finds the first place a template's opening arrives in a stream of 20 ms frames.

    `found_at` is the arrival time of the prompt's first sample (its leading silence included),
    taken from the arrival time of the frame that holds the match.
    """

    template: PromptTemplate
    threshold: float = MATCH_THRESHOLD
    found_at: float | None = None
    best: float = 0.0
    _buffer: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    _times: list[float] = field(default_factory=list)  # arrival of each buffered frame
    _history: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(LOWPASS_TAPS - 1))

    def _filtered(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
        # Streaming form of _decimate: the filter's delay of (taps-1)/2 samples is the same
        # for every frame, so it shifts `found_at` by a constant 2 ms that is taken back below.
        joined = np.concatenate([self._history, pcm.astype(np.float64)])
        self._history = joined[-(LOWPASS_TAPS - 1) :]
        out = np.convolve(joined, _TAPS, mode="valid")
        return np.asarray(out[::DECIMATION], dtype=np.float64)

    def feed(self, pcm: npt.NDArray[np.int16], at: float) -> None:
        if self.found_at is not None:
            return
        m = self.template.samples.shape[0]
        per_frame = pcm.size // DECIMATION
        self._buffer = np.concatenate([self._buffer, self._filtered(pcm)])
        self._times.append(at)
        keep_frames = m // per_frame + 2
        if len(self._times) > keep_frames:
            drop = len(self._times) - keep_frames
            self._buffer = self._buffer[drop * per_frame :]
            self._times = self._times[drop:]
        if self._buffer.size < m:
            return
        windows = np.lib.stride_tricks.sliding_window_view(self._buffer, m)
        tail = windows[-per_frame - 1 :]  # the windows that end in the newest frame
        centred = tail - tail.mean(axis=1, keepdims=True)
        norms = np.linalg.norm(centred, axis=1)
        safe = np.where(norms > 0, norms, 1.0)[:, None]
        scores = (centred @ self.template.samples) / safe  # (windows, phases)
        k, phase = np.unravel_index(int(np.argmax(scores)), scores.shape)
        score = float(scores[k, phase])
        self.best = max(self.best, score)
        if score < self.threshold:
            return
        start = windows.shape[0] - tail.shape[0] + int(k)  # decimated index of the match
        frame, offset = divmod(start, per_frame)
        delay = (LOWPASS_TAPS - 1) / 2 + int(phase)  # filter delay and grid phase, samples
        self.found_at = (
            self._times[frame] + (offset * DECIMATION - delay) / SAMPLE_RATE - self.template.lead
        )


@dataclass(slots=True)
class SpeechMeter:
    """Counts frames that carry speech-level audio (the agent checks it hears the caller)."""

    frames: int = 0
    loud_frames: int = 0

    def feed(self, pcm: npt.NDArray[np.int16], at: float) -> None:
        self.frames += 1
        if level_dbfs(pcm) > SPEECH_MIN_DBFS:
            self.loud_frames += 1


def default_speech(catalogue: PromptCatalogue | None = None) -> Pcm:
    """Speech for callers to say: a recorded English menu prompt (espeak-ng voice)."""
    catalogue = catalogue or PromptCatalogue()
    samples: Pcm = catalogue.get("menu_main", Language.EN).samples
    return samples
