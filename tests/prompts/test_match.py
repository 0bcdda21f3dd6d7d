"""Recognising catalogue prompts in received audio (for end-to-end tests over RTP)."""

from __future__ import annotations

import numpy as np

from prompts.catalogue import PromptCatalogue
from prompts.match import best_match
from prompts.texts import Language

CATALOGUE = PromptCatalogue()
IDS = ["p1", "p2", "p3", "p8", "p12", "menu_main", "no_input", "invalid_input", "survey_thanks"]


def _mu_law_round_trip(x: np.ndarray) -> np.ndarray:
    # continuous mu-law (mu = 255) companding quantised to 8 bits, as G.711 does on the line
    y = x.astype(np.float64) / 32768
    c = np.sign(y) * np.log1p(255 * np.abs(y)) / np.log1p(255)
    c = np.round(c * 127) / 127
    return (np.sign(c) * np.expm1(np.abs(c) * np.log1p(255)) / 255 * 32767).astype(np.int16)


def _line(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    delayed = np.concatenate([np.zeros(1234, np.int16), x, np.zeros(800, np.int16)])
    coded = _mu_law_round_trip(delayed)
    for k in rng.choice(coded.size // 160, size=3, replace=False):  # three lost packets
        coded[k * 160 : (k + 1) * 160] = 0
    noise = rng.normal(0, 30, coded.size)
    return np.clip(coded + noise, -32768, 32767).astype(np.int16)


def test_each_prompt_is_recognised_after_g711_delay_loss_and_noise() -> None:
    rng = np.random.default_rng(3)
    for language in Language:
        candidates = {i: CATALOGUE.get(i, language).samples for i in IDS}
        for prompt_id in IDS:
            match = best_match(_line(candidates[prompt_id], rng), candidates)
            assert match.prompt_id == prompt_id, (language, prompt_id, match)
            assert abs(match.offset - 1234) <= 1


def test_a_prompt_cut_by_barge_in_is_still_recognised() -> None:
    candidates = {i: CATALOGUE.get(i, Language.ZH).samples for i in IDS}
    heard = candidates["menu_main"][:8000]  # one second, then the caller pressed a key
    assert best_match(heard, candidates).prompt_id == "menu_main"


def test_silence_or_noise_matches_nothing() -> None:
    candidates = {i: CATALOGUE.get(i, Language.EN).samples for i in IDS}
    noise = np.random.default_rng(1).normal(0, 300, 40000).astype(np.int16)
    assert best_match(noise, candidates).prompt_id is None
