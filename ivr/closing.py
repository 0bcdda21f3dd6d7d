"""Closing actions an agent takes (SPEC-P5 … P8) and the post-call survey (SPEC-Q4), as flows.

An agent ends a call by choosing a closing kind; the call leaves the agent and runs a tiny
flow: the phrase is played to the caller and then the service hangs up (SPEC-Q7: the agent
never hangs up before the caller), or, if the centre configures it, the caller goes on to
the satisfaction survey.  The flows are ordinary validated Flows run by MenuRunner.
"""

from __future__ import annotations

import enum
from collections.abc import Collection

from ivr.flow import Flow
from ivr.flow_loader import load_flow_text
from prompts.texts import PROMPTS_BY_ID


class ClosingKind(enum.StrEnum):
    """The value is the catalogue prompt the caller hears."""

    THANKS = "p5"  # SPEC-P5: a suggestion or thanks
    OUT_OF_SCOPE = "p6"  # SPEC-P6
    COMPLAINT_RESOLVED = "p7a"  # SPEC-P7a
    COMPLAINT_REGISTERED = "p7b"  # SPEC-P7b
    WRONG_NUMBER = "p8"  # SPEC-P8


SURVEY_NODE = """
  survey:
    type: survey
    prompt: survey_question
    thanks: survey_thanks
    timeout: 6
    retries: 1
"""


def survey_flow(known_prompts: Collection[str] | None = None) -> Flow:
    """SPEC-Q4: "satisfied 1 / acceptable 2 / not satisfied 3" → RecordSurvey → thanks → hang up."""
    text = "start: survey\nnodes:" + SURVEY_NODE
    return load_flow_text(text, "<survey>", _known(known_prompts), name="survey")


def closing_flow(
    kind: ClosingKind,
    *,
    then_survey: bool = False,
    known_prompts: Collection[str] | None = None,
) -> Flow:
    """The flow that plays ``kind``'s phrase, then hangs up (or runs the survey)."""
    kind = ClosingKind(kind)
    if then_survey:
        text = (
            "start: phrase\nnodes:\n  phrase:\n    type: play\n"
            f"    prompt: {kind.value}\n    next: survey\n" + SURVEY_NODE
        )
    else:
        text = f"start: phrase\nnodes:\n  phrase:\n    type: hangup\n    prompt: {kind.value}\n"
    name = f"closing-{kind.name.lower()}" + ("-survey" if then_survey else "")
    return load_flow_text(text, f"<{name}>", _known(known_prompts), name=name)


def _known(known_prompts: Collection[str] | None) -> Collection[str]:
    return PROMPTS_BY_ID.keys() if known_prompts is None else known_prompts
