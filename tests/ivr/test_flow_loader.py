"""Loading flow YAML: each malformed field is reported with file, line and node."""

from __future__ import annotations

from pathlib import Path

import pytest
from ivr_flowtext import BASE, KNOWN_PROMPTS, line_of, write

from ivr.flow import MenuNode, NodeType, TransferNode
from ivr.flow_loader import FlowValidationError, load_flow


def _issues(tmp_path: Path, text: str) -> list:
    path = write(tmp_path, text)
    with pytest.raises(FlowValidationError) as info:
        load_flow(path, KNOWN_PROMPTS)
    for issue in info.value.issues:
        assert issue.file == str(path)
        assert str(path) in str(info.value)
    return info.value.issues


def test_shipped_default_flow_loads_with_lines_kept() -> None:
    flow = load_flow(Path("ivr/flows/default.yaml"), KNOWN_PROMPTS)
    menu = flow.node("main_menu")
    assert isinstance(menu, MenuNode) and dict(menu.options) == {
        "1": "billing",
        "2": "faults",
        "3": "complaints",
        "0": "agent",
    }
    text = Path("ivr/flows/default.yaml").read_text()
    assert menu.line == line_of(text, "  main_menu:")
    assert isinstance(flow.node(flow.agent or ""), TransferNode)


def test_a_good_flow_loads(tmp_path: Path) -> None:
    flow = load_flow(write(tmp_path, BASE), KNOWN_PROMPTS)
    assert flow.start == "answer" and flow.node("menu").type is NodeType.MENU


def test_bad_field_type_names_file_line_and_node(tmp_path: Path) -> None:
    text = BASE.replace(
        "    prompt: menu_main\n", "    prompt: menu_main\n    timeout: soon  # X\n"
    )
    [issue] = _issues(tmp_path, text)
    assert (issue.line, issue.node) == (line_of(text, "# X"), "menu")
    assert "timeout" in issue.message


@pytest.mark.parametrize(
    ("insert", "words"),
    [
        ("    retries: 2.5  # X\n", "retries"),
        ("    retries: 9  # X\n", "at most"),
        ("    timeout: -1  # X\n", "timeout"),
        ("    colour: red  # X\n", "unknown field 'colour'"),
        ("    prompt: [menu_main, {a: b}]  # X\n", "prompt"),
    ],
)
def test_each_bad_field_is_reported_at_its_line(tmp_path: Path, insert: str, words: str) -> None:
    text = BASE.replace(
        "    prompt: menu_main\n",
        insert if "prompt" in insert else "    prompt: menu_main\n" + insert,
    )
    issues = _issues(tmp_path, text)
    assert any(
        i.line == line_of(text, "# X") and i.node == "menu" and words in i.message for i in issues
    ), issues


def test_unknown_node_type_and_missing_fields(tmp_path: Path) -> None:
    text = BASE.replace(
        "    type: transfer\n    queue: billing", "    type: teleport  # X\n    queue: billing"
    )
    [issue] = _issues(tmp_path, text)
    assert (issue.line, issue.node) == (line_of(text, "# X"), "billing")
    assert "teleport" in issue.message

    text = BASE.replace("    queue: general\n", "")
    [issue] = _issues(tmp_path, text)
    assert issue.node == "agent" and "missing field 'queue'" in issue.message
    assert issue.line == line_of(text, "  agent:")


def test_bad_menu_key_and_duplicate_node(tmp_path: Path) -> None:
    text = BASE.replace('      "0": agent\n', '      "0": agent\n      "x": agent  # X\n')
    [issue] = _issues(tmp_path, text)
    assert (issue.line, issue.node) == (line_of(text, "# X"), "menu")

    text = BASE + "  agent:  # X\n    type: transfer\n    queue: other\n"
    issues = _issues(tmp_path, text)
    assert any(i.line == line_of(text, "# X") and "twice" in i.message for i in issues)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    text = BASE.replace("    next: menu\n", "    next: [menu\n")
    [issue] = _issues(tmp_path, text)
    assert "not valid YAML" in issue.message and issue.line >= line_of(text, "next: [menu")


def test_hours_fields_are_checked(tmp_path: Path) -> None:
    text = BASE.replace("    next: menu\n", "    next: hours\n") + (
        "  hours:\n    type: hours\n    open: menu\n    closed: agent\n"
        "    weekly:\n      mon-fri: ['08:00-25:00']  # X\n"
    )
    [issue] = _issues(tmp_path, text)
    assert issue.node == "hours" and "08:00-25:00" in issue.message
    assert issue.line == line_of(text, "# X")


def test_errors_are_all_reported_together_in_line_order(tmp_path: Path) -> None:
    text = BASE.replace("    prompt: p1\n", "    prompt: p1\n    barge_in: maybe  # A\n").replace(
        "    skill: billing\n", "    skill: billing\n    colour: red  # B\n"
    )
    issues = _issues(tmp_path, text)
    assert [i.line for i in issues] == [line_of(text, "# A"), line_of(text, "# B")]
