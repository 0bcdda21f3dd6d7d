"""Playback of the runner's PlayPrompt in 20 ms frames, and barge-in stopping it at once."""

from __future__ import annotations

import numpy as np

from ivr.events import PlayPrompt, PromptRef
from ivr.playback import Playback, render
from prompts.catalogue import PromptCatalogue
from prompts.texts import Language

CATALOGUE = PromptCatalogue()


def test_render_concatenates_prompts_and_samples() -> None:
    extra = np.ones(80, dtype=np.int16)
    play = PlayPrompt(
        1, (PromptRef("no_input", Language.EN), PromptRef("menu_main", Language.EN), extra)
    )
    samples = render(play, CATALOGUE)
    first = CATALOGUE.get("no_input", Language.EN).samples
    second = CATALOGUE.get("menu_main", Language.EN).samples
    assert samples.size == first.size + second.size + 80
    assert np.array_equal(samples[: first.size], first)


def test_frames_cover_the_prompt_then_stop_and_stop_cuts_at_once() -> None:
    play = PlayPrompt(7, (PromptRef("p3", Language.ZH),))
    playback = Playback.of(play, CATALOGUE)
    total = CATALOGUE.get("p3", Language.ZH).samples.size
    frames = []
    while (frame := playback.next_frame()) is not None:
        assert frame.shape == (160,) and frame.dtype == np.int16
        frames.append(frame)
    assert len(frames) == -(-total // 160) and playback.finished

    playback = Playback.of(play, CATALOGUE)
    playback.next_frame()
    playback.stop()  # barge-in
    assert playback.next_frame() is None and playback.finished
