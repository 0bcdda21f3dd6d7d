"""The agent state table: its rules hold, and a missing transition is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.states import (
    AGENT_TRANSITIONS,
    BUSY_STATES,
    AgentEvent,
    AgentState,
    AgentStateError,
    agent_can,
    agent_next_state,
    agent_state_diagram,
)


def test_only_a_ready_agent_can_be_offered_a_call() -> None:
    offerable = {s for s in AgentState if agent_can(s, AgentEvent.OFFER)}
    assert offerable == {AgentState.READY}
    assert offerable.isdisjoint(BUSY_STATES)


def test_every_state_is_reachable_from_logged_out() -> None:
    seen = {AgentState.LOGGED_OUT}
    frontier = [AgentState.LOGGED_OUT]
    while frontier:
        state = frontier.pop()
        for (src, _), dst in AGENT_TRANSITIONS.items():
            if src is state and dst not in seen:
                seen.add(dst)
                frontier.append(dst)
    assert seen == set(AgentState)


def test_wrapup_always_comes_after_a_call() -> None:
    into_wrapup = {src for (src, _), dst in AGENT_TRANSITIONS.items()
                   if dst is AgentState.WRAPUP and src is not AgentState.WRAPUP}
    assert into_wrapup == {AgentState.TALKING, AgentState.ON_HOLD}


@pytest.mark.parametrize(("state", "event"), [
    (s, e) for s in AgentState for e in AgentEvent if (s, e) not in AGENT_TRANSITIONS])
def test_a_missing_transition_names_event_agent_and_state(state: AgentState,
                                                          event: AgentEvent) -> None:
    with pytest.raises(AgentStateError) as err:
        agent_next_state("a7", state, event)
    assert str(err.value) == f"can't handle {event.value} for agent 'a7' in state {state.value}"


def test_the_diagram_in_the_docs_is_the_table() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "acd.md").read_text(encoding="utf-8")
    assert agent_state_diagram() in doc
