"""Graph rules of a flow, each reported with file, line and node (SPEC-Q3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ivr_flowtext import BASE, KNOWN_PROMPTS, line_of, write

from ivr.flow_loader import FlowValidationError, load_flow


def _issues(tmp_path: Path, text: str, known=KNOWN_PROMPTS) -> list:
    path = write(tmp_path, text)
    with pytest.raises(FlowValidationError) as info:
        load_flow(path, known)
    assert all(i.file == str(path) for i in info.value.issues)
    return info.value.issues


def test_unknown_target(tmp_path: Path) -> None:
    text = BASE.replace('"1": billing', '"1": biling  # X')
    issues = _issues(tmp_path, text)
    assert any(
        (i.line, i.node) == (line_of(text, "# X"), "menu")
        and "unknown target 'biling'" in i.message
        for i in issues
    )


def test_unreachable_node(tmp_path: Path) -> None:
    text = BASE + "  orphan:  # X\n    type: hangup\n    prompt: goodbye\n"
    [issue] = _issues(tmp_path, text)
    assert (issue.line, issue.node) == (line_of(text, "# X"), "orphan")
    assert "unreachable" in issue.message


def _nested_menus(depth: int) -> str:
    text = "start: m1\nagent: agent\nnodes:\n"
    for level in range(1, depth + 1):
        deeper = f"m{level + 1}" if level < depth else "agent"
        text += (
            f"  m{level}:  # M{level}\n    type: menu\n    prompt: menu_main\n"
            f'    options:\n      "1": {deeper}\n      "0": agent\n'
        )
    return text + "  agent:\n    type: transfer\n    queue: general\n"


def test_three_menu_levels_are_allowed_four_are_not(tmp_path: Path) -> None:
    load_flow(write(tmp_path, _nested_menus(3)), KNOWN_PROMPTS)
    text = _nested_menus(4)
    [issue] = _issues(tmp_path, text)
    assert (issue.line, issue.node) == (line_of(text, "# M4"), "m4")
    assert "4 levels deep" in issue.message


def test_a_loop_back_to_the_main_menu_is_not_depth(tmp_path: Path) -> None:
    text = _nested_menus(3).replace('"1": agent', '"1": agent\n      "9": m1')
    load_flow(write(tmp_path, text), KNOWN_PROMPTS)


def test_menu_without_a_way_to_an_agent(tmp_path: Path) -> None:
    # SPEC-Q3: the option for a human agent must be easy to find
    text = (
        BASE.replace('      "0": agent\n', "")
        .replace(
            "  billing:\n    type: transfer\n    queue: billing\n    skill: billing\n",
            "  billing:\n    type: hangup\n    prompt: goodbye\n",
        )
        .replace("  menu:\n", "  menu:  # X\n")
    )
    issues = _issues(tmp_path, text)
    assert any(
        (i.line, i.node) == (line_of(text, "# X"), "menu") and "human agent" in i.message
        for i in issues
    )


def test_menu_needs_a_top_level_agent_for_retries(tmp_path: Path) -> None:
    text = BASE.replace("agent: agent\n", "").replace("  menu:\n", "  menu:  # X\n")
    issues = _issues(tmp_path, text)
    assert any(i.line == line_of(text, "# X") and "'agent'" in i.message for i in issues)


def test_agent_must_be_a_transfer_node(tmp_path: Path) -> None:
    text = BASE.replace("agent: agent\n", "agent: answer  # X\n")
    issues = _issues(tmp_path, text)
    assert any(i.line == line_of(text, "# X") and "transfer node" in i.message for i in issues)


def test_prompt_missing_from_catalogue(tmp_path: Path) -> None:
    text = BASE.replace("    prompt: p1\n", "    prompt: [p1, p99]  # X\n")
    [issue] = _issues(tmp_path, text)
    assert (issue.line, issue.node) == (line_of(text, "# X"), "answer")
    assert "'p99'" in issue.message


def test_reprompts_must_be_in_the_catalogue(tmp_path: Path) -> None:
    known = KNOWN_PROMPTS - {"no_input"}
    issues = _issues(tmp_path, BASE, known)
    assert [(i.node, "'no_input'" in i.message) for i in issues] == [("menu", True)]


def test_loop_without_waiting_for_the_caller(tmp_path: Path) -> None:
    text = BASE.replace("    next: menu\n", "    next: again\n") + (
        "  again:  # X\n    type: play\n    prompt: p2\n    next: answer\n"
    )
    issues = _issues(tmp_path, text)
    assert any("loop" in i.message for i in issues)


def test_collect_digit_bounds(tmp_path: Path) -> None:
    text = BASE.replace('"1": billing', '"1": account') + (
        "  account:\n    type: collect\n    prompt: p2\n    var: account\n"
        "    max_digits: 4\n    min_digits: 6  # X\n    next: billing\n"
    )
    [issue] = _issues(tmp_path, text)
    assert (issue.line, issue.node) == (line_of(text, "# X"), "account")
