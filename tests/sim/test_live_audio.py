"""What simulated callers hear: the agent's SPEC-P10 found to the sample, the agent's tone."""

from __future__ import annotations

import numpy as np
import pytest

from prompts.catalogue import PromptCatalogue
from prompts.texts import Language
from sim.live_audio import PromptSpotter, ToneTracker, agent_greeting_template, tone
from telephony.media.g711 import G711Law, codec_for

CATALOGUE = PromptCatalogue()


def frames(pcm: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """20 ms frames and the time each one arrives (its first sample, 8 kHz)."""
    return [(pcm[i : i + 160], i / 8000) for i in range(0, pcm.size - 159, 160)]


def through_g711(pcm: np.ndarray, law: G711Law) -> np.ndarray:
    codec = codec_for(law)
    return np.asarray(codec.decode(codec.encode(pcm)))


@pytest.mark.parametrize("law", [G711Law.PCMU, G711Law.PCMA])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 157])
def test_p10_start_is_found_to_the_sample_after_hold_music(law: G711Law, offset: int) -> None:
    music = CATALOGUE.get("hold_music", Language.ZH).samples
    start = 8000 * 2 + offset
    line = np.concatenate([music[:start], CATALOGUE.agent_greeting("1002", Language.ZH), tone(1)])
    spotter = PromptSpotter(agent_greeting_template("1002", CATALOGUE))
    for pcm, at in frames(through_g711(line, law)):
        spotter.feed(pcm, at)
    assert spotter.found_at == pytest.approx(start / 8000, abs=1 / 8000)
    assert spotter.best > 0.95


@pytest.mark.parametrize(
    "prompt", ["p1", "p2", "p8", "p4", "transfer_agent", "menu_main", "hold_music"]
)
def test_other_prompts_even_those_opening_with_the_same_words_are_not_p10(prompt: str) -> None:
    spotter = PromptSpotter(agent_greeting_template("1001", CATALOGUE))
    for pcm, at in frames(CATALOGUE.get(prompt, Language.ZH).samples):
        spotter.feed(pcm, at)
    assert spotter.found_at is None
    assert spotter.best < 0.7


def test_the_agents_tone_is_tracked_from_start_to_end_but_not_in_speech() -> None:
    speech = CATALOGUE.get("menu_main", Language.ZH).samples[:16000]
    line = np.concatenate([speech, tone(1.0), np.zeros(1600, dtype=np.int16)])
    tracker = ToneTracker()
    for pcm, at in frames(line):
        tracker.feed(pcm, at)
    assert tracker.started_at == pytest.approx(2.0, abs=0.02)
    assert tracker.ended_at == pytest.approx(3.0, abs=0.02)
