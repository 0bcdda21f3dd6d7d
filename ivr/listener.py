"""Listening to the caller: voice activity and level on 20 ms frames → Silence, QuietSpeech, speech.

Where a flow waits for the caller to speak, the call handler feeds each received 20 ms frame
(160 int16 samples at 8 kHz) with its arrival time.  After at most one event the listener is
done until ``start()`` is called again (the runner asks for that with StartListening):

* ``SpeechStarted`` — at least ``speech_s`` of voiced frames at or above ``quiet_dbfs``;
* ``QuietSpeech`` (SPEC-P3) — an utterance of at least ``speech_s`` voiced time whose level
  stays below ``quiet_dbfs``, reported when it ends (or after ``max_quiet_s`` of it);
* ``Silence`` (SPEC-P2) — ``silence_s`` without an utterance (the timer pauses during one).

A frame is voiced when WebRTC's VAD says speech *and* it stands ``margin_db`` above the line's
noise floor *and* above ``floor_dbfs``.  WebRTC's VAD alone calls steady low-level white
noise speech (measured: 82 % of the frames of -60 dBFS white noise in mode 2, 51 % in mode 3,
and mode 3 misses most of a caller 30 dB quieter than normal).  The adaptive noise floor
(follows dips at once, rises ``floor_rise_db_per_s``) rejects steady noise, whose frames never
stand far above their own floor while syllables do; a minimum spread of frame levels rejects
a steady sound switching on (hum), which stands above the old floor but does not rise and fall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import webrtcvad

from ivr.events import ListenerEvent, QuietSpeech, Silence, SpeechStarted

SAMPLE_RATE = 8000  # RFC 3551 §4.5.14: G.711 is 8 kHz
FRAME_S = 0.020  # webrtcvad accepts 10, 20 or 30 ms frames; 20 ms is one RTP packet
FRAME_SAMPLES = int(SAMPLE_RATE * FRAME_S)
FULL_SCALE = 32768.0
DIGITAL_SILENCE_DBFS = -120.0


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    """Thresholds, from the service config (``[ivr.listener]``)."""

    silence_s: float = 5.0  # nothing said for this long → P2
    quiet_dbfs: float = -40.0  # utterances below this active level → P3
    floor_dbfs: float = -70.0  # below this nothing is speech, whatever the VAD says
    margin_db: float = 6.0  # a voiced frame stands this far above the noise floor
    speech_s: float = 0.3  # voiced time that makes an utterance (shorter: clicks, breaths)
    hangover_s: float = 0.4  # unvoiced time that ends an utterance
    max_quiet_s: float = 2.0  # a quiet utterance this long is reported without waiting its end
    floor_rise_db_per_s: float = 3.0  # how fast the noise floor estimate may climb
    vad_mode: int = 2  # webrtcvad aggressiveness 0-3; 3 misses quiet callers (see above)
    min_spread_db: float = 2.0  # speech levels rise and fall with syllables; hum stays flat

    def __post_init__(self) -> None:
        if not 0 <= self.vad_mode <= 3:
            raise ValueError("vad_mode must be 0-3")
        if self.silence_s <= 0 or self.speech_s <= 0 or self.hangover_s <= 0:
            raise ValueError("silence_s, speech_s and hangover_s must be positive")


def frame_level_dbfs(frame: np.ndarray) -> float:
    """RMS level of an int16 frame in dBFS (digital silence: -120)."""
    x = frame.astype(np.float64)
    rms = math.sqrt(float(np.dot(x, x)) / max(x.size, 1)) / FULL_SCALE
    return 20.0 * math.log10(rms) if rms > 1e-6 else DIGITAL_SILENCE_DBFS


class Listener:
    """One caller's listener; ``start(now)`` then ``feed(frame, now)`` per received frame."""

    def __init__(self, config: ListenerConfig | None = None) -> None:
        self.config = config or ListenerConfig()
        self._vad = webrtcvad.Vad(self.config.vad_mode)
        self.active = False
        self.last_level_dbfs = DIGITAL_SILENCE_DBFS
        self._start_listening(0.0)
        self.active = False

    def start(self, now: float) -> None:
        """Begin a new wait for speech (after a prompt ended)."""
        self._start_listening(now)

    def stop(self) -> None:
        self.active = False

    def _start_listening(self, now: float) -> None:
        self.active = True
        self._since = now  # the silence timer runs from here, paused during an utterance
        self._floor: float | None = None
        self._last_frame_at: float | None = None
        self._forget_utterance()

    def _forget_utterance(self) -> None:
        self._voiced_s = self._unvoiced_run_s = 0.0
        self._energy = 0.0  # sum of mean-square over the utterance's voiced frames
        self._frames = 0
        self._level_sum = self._level_sq = 0.0  # of voiced frames' dB levels: their spread

    def next_deadline(self) -> float | None:
        """When ``poll`` would report Silence if no audio arrives (RTP can stop entirely)."""
        if not self.active or self._voiced_s > 0:
            return None
        return self._since + self.config.silence_s

    def poll(self, now: float) -> ListenerEvent | None:
        """Check the silence timer without a frame (call at ``next_deadline()``)."""
        deadline = self.next_deadline()
        if deadline is not None and now >= deadline:
            self.active = False
            return Silence(now)
        return None

    def feed(self, frame: np.ndarray, now: float) -> ListenerEvent | None:
        """One 20 ms frame (160 int16 samples) received at ``now``."""
        if frame.shape != (FRAME_SAMPLES,) or frame.dtype != np.int16:
            raise ValueError(
                f"a frame is {FRAME_SAMPLES} int16 samples, got {frame.shape} {frame.dtype}"
            )
        if not self.active:
            return None
        level = frame_level_dbfs(frame)
        self.last_level_dbfs = level
        floor = self._update_floor(level, now)
        voiced = (
            level > self.config.floor_dbfs
            and level > floor + self.config.margin_db
            and self._vad.is_speech(frame.tobytes(), SAMPLE_RATE)
        )
        if voiced:
            self._voiced_s += FRAME_S
            self._unvoiced_run_s = 0.0
            self._energy += 10 ** (level / 10.0)
            self._frames += 1
            self._level_sum += level
            self._level_sq += level * level
            return self._judge_utterance(now, ended=False)
        if self._voiced_s > 0:
            self._unvoiced_run_s += FRAME_S
            if self._unvoiced_run_s >= self.config.hangover_s:
                return self._judge_utterance(now, ended=True)
            return None
        return self.poll(now)

    def _update_floor(self, level: float, now: float) -> float:
        # Minimum tracking: fall to any quieter frame at once, climb slowly, so steady noise
        # sits on its floor while speech rises above it.
        if self._floor is None or self._last_frame_at is None:
            self._floor = level
        else:
            rise = self.config.floor_rise_db_per_s * max(0.0, now - self._last_frame_at)
            self._floor = min(level, self._floor + rise)
        self._last_frame_at = now
        return self._floor

    def _judge_utterance(self, now: float, ended: bool) -> ListenerEvent | None:
        level = 10.0 * math.log10(self._energy / self._frames) if self._frames else -math.inf
        long_enough = self._voiced_s >= self.config.speech_s - 1e-9
        if long_enough and self._spread_db() < self.config.min_spread_db:
            # a steady sound (hum, a tone, noise switching on): not a voice
            self._forget_utterance()
            return self.poll(now)
        if long_enough and level >= self.config.quiet_dbfs:
            self.active = False
            return SpeechStarted(now)
        if long_enough and (ended or self._voiced_s >= self.config.max_quiet_s - 1e-9):
            self.active = False
            return QuietSpeech(now, level_dbfs=round(level, 1))
        if ended:  # a click or a breath: forget it; the silence timer runs on
            self._forget_utterance()
            return self.poll(now)
        return None

    def _spread_db(self) -> float:
        mean = self._level_sum / self._frames
        return math.sqrt(max(0.0, self._level_sq / self._frames - mean * mean))
