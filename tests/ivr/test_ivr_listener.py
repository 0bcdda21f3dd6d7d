"""The caller listener on real audio: speech, the same speech 30 dB quieter, silence, line noise.

Speech is synthesised with espeak-ng (as a caller's sentence, not a catalogue prompt) and
levelled like a telephone caller; noise is generated.  Each recording must give its one
reaction and nothing else, also when the listener is restarted after each event.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from ivr_flowtext import BASE, KNOWN_PROMPTS

from ivr.events import (
    PlayPrompt,
    PromptFinished,
    QuietSpeech,
    Silence,
    SpeechStarted,
    StartListening,
)
from ivr.flow_loader import load_flow_text
from ivr.listener import FRAME_SAMPLES, Listener, ListenerConfig, frame_level_dbfs
from ivr.runner import MenuRunner
from prompts import audio
from prompts.build import process
from prompts.texts import Language
from prompts.tts import synthesise

RATE = 8000
CALLER_LEVEL_DBFS = -24.0  # a caller on a good line, a little below our prompts


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    said = synthesise(
        "Hello, I would like to ask about my telephone bill for last month.", Language.EN
    )
    x = process(said).astype(np.float64) / 32768
    return audio.to_int16(x * 10 ** ((CALLER_LEVEL_DBFS - audio.active_level_dbfs(x)) / 20))


def _scaled(x: np.ndarray, db: float) -> np.ndarray:
    return np.clip(np.round(x * 10 ** (db / 20)), -32768, 32767).astype(np.int16)


def _at_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    return (x / np.sqrt(np.mean(x**2)) * 32768 * 10 ** (dbfs / 20)).astype(np.int16)


def white_noise(seconds: float, dbfs: float) -> np.ndarray:
    return _at_level(np.random.default_rng(7).standard_normal(int(seconds * RATE)), dbfs)


def pink_noise(seconds: float, dbfs: float) -> np.ndarray:
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(np.random.default_rng(8).standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1))  # 1/f power
    return _at_level(np.fft.irfft(spectrum, n), dbfs)


def mains_hum(seconds: float, dbfs: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return _at_level(
        sum(a * np.sin(2 * np.pi * f * t) for f, a in ((50, 1), (150, 0.5), (250, 0.3))), dbfs
    )


def events_of(samples: np.ndarray, config: ListenerConfig | None = None) -> list:
    """Every event over the recording, restarting the listener after each (as the runner does)."""
    listener = Listener(config)
    listener.start(0.0)
    events = []
    for i in range(samples.size // FRAME_SAMPLES):
        now = (i + 1) * 0.020
        event = listener.feed(samples[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES], now)
        if event is not None:
            events.append(event)
            listener.start(now)
    return events


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def test_normal_speech_is_speech_and_nothing_else(speech: np.ndarray) -> None:
    events = events_of(np.concatenate([_silence(1.0), speech]))
    assert events and isinstance(events[0], SpeechStarted)
    assert 1.0 < events[0].now < 1.8  # heard within its first syllables
    assert not any(isinstance(e, Silence | QuietSpeech) for e in events)


def test_the_same_speech_30_db_quieter_is_quiet_speech(speech: np.ndarray) -> None:
    quiet = _scaled(speech.astype(np.float64), -30.0)
    events = events_of(np.concatenate([_silence(1.0), quiet]))
    assert events and isinstance(events[0], QuietSpeech)  # → P3
    assert -60.0 < events[0].level_dbfs < ListenerConfig().quiet_dbfs
    assert not any(isinstance(e, SpeechStarted | Silence) for e in events)


def test_silence_gives_silence_every_silence_s() -> None:
    events = events_of(_silence(11.0))
    assert events == [Silence(5.0), Silence(10.0)]  # → P2


@pytest.mark.parametrize(
    "noise",
    [
        pytest.param(lambda: white_noise(11.0, -60.0), id="white-60dBFS"),
        pytest.param(lambda: white_noise(11.0, -45.0), id="white-45dBFS"),
        pytest.param(lambda: pink_noise(11.0, -50.0), id="pink-50dBFS"),
        pytest.param(lambda: mains_hum(11.0, -40.0), id="hum-40dBFS"),
        pytest.param(
            lambda: np.concatenate([_silence(1.0), mains_hum(10.0, -35.0)]), id="hum-switching-on"
        ),
    ],
)
def test_line_noise_is_silence_not_speech(noise) -> None:
    events = events_of(noise())
    assert events and all(isinstance(e, Silence) for e in events)
    assert 5.0 <= events[0].now <= 5.5


def test_speech_over_line_noise_is_still_speech(speech: np.ndarray) -> None:
    noise = white_noise(2.0 + speech.size / RATE, -55.0).astype(np.int32)
    mixed = noise + np.concatenate([_silence(2.0), speech]).astype(np.int32)
    events = events_of(np.clip(mixed, -32768, 32767).astype(np.int16))
    assert isinstance(events[0], SpeechStarted) and 2.0 < events[0].now < 2.8


def test_silence_deadline_without_any_audio() -> None:
    listener = Listener(ListenerConfig(silence_s=3.0))
    listener.start(10.0)
    assert listener.next_deadline() == 13.0
    assert listener.poll(12.9) is None
    assert listener.poll(13.0) == Silence(13.0)
    assert listener.feed(_silence(0.02), 13.02) is None  # done until started again


def test_frames_must_be_20_ms_int16() -> None:
    listener = Listener()
    listener.start(0.0)
    with pytest.raises(ValueError):
        listener.feed(np.zeros(80, dtype=np.int16), 0.02)
    with pytest.raises(ValueError):
        listener.feed(np.zeros(160, dtype=np.float32), 0.02)
    assert frame_level_dbfs(np.full(160, 16384, dtype=np.int16)) == pytest.approx(-6.02, abs=0.01)


def test_runner_and_listener_quiet_caller_hears_p3(speech: np.ndarray) -> None:
    flow = load_flow_text(
        BASE.replace("    next: menu\n", "    next: hear\n")
        + "  hear:\n    type: listen\n    next: menu\n",
        "listen.yaml",
        KNOWN_PROMPTS,
    )
    runner = MenuRunner(flow)
    [greeting] = runner.start(0.0, datetime(2026, 11, 25, 4, tzinfo=UTC))
    [listen] = runner.handle(PromptFinished(greeting.play_id, 2.0))
    assert isinstance(listen, StartListening)
    listener = Listener()
    listener.start(listen.now)
    quiet = _scaled(speech.astype(np.float64), -30.0)
    reply: list = []
    for i in range(quiet.size // FRAME_SAMPLES):
        event = listener.feed(
            quiet[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES], 2.0 + (i + 1) * 0.02
        )
        if event is not None:
            reply = runner.handle(event)
            break
    assert [a.prompt_ids for a in reply if isinstance(a, PlayPrompt)] == [("p3",)]
