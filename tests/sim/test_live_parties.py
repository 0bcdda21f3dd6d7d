"""The menu path a simulated caller keys: when to press, which queue, when it is queued."""

from __future__ import annotations

import pytest

from hotline.app import DEFAULT_FLOW
from ivr.flow_loader import load_flow
from prompts.catalogue import PromptCatalogue
from prompts.texts import Language
from sim.live_parties import menu_timing
from sim.model import ModelError

CATALOGUE = PromptCatalogue()
FLOW = load_flow(DEFAULT_FLOW, CATALOGUE.ids())


def seconds(prompt: str, language: Language = Language.ZH) -> float:
    return CATALOGUE.get(prompt, language).samples.size / 8000


def test_keys_wait_for_p1_and_billing_queues_at_once() -> None:
    timing = menu_timing(FLOW, CATALOGUE, ("1", "1"))
    assert timing.queue == "billing"
    assert timing.first_key_after == pytest.approx(seconds("p1"))  # not interruptible
    assert timing.queue_entry_delay == 0.0


def test_zero_reaches_the_general_queue_after_the_transfer_prompt_in_the_chosen_language() -> None:
    assert menu_timing(FLOW, CATALOGUE, ("1", "0")).queue_entry_delay == pytest.approx(
        seconds("transfer_agent")
    )
    english = menu_timing(FLOW, CATALOGUE, ("2", "0"))
    assert english.queue == "general"
    assert english.queue_entry_delay == pytest.approx(seconds("transfer_agent", Language.EN))


@pytest.mark.parametrize(
    ("digits", "message"),
    [
        (("1",), "end at menu"),
        (("1", "9"), "no option '9'"),
        (("3", "1"), "language key"),
        (("1", "1", "1"), "left over"),
    ],
)
def test_a_path_that_does_not_reach_a_queue_is_refused(
    digits: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        menu_timing(FLOW, CATALOGUE, digits)
