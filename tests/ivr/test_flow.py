"""FlowRegistry reloads for new calls only; calls in progress keep the flow they started with."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ivr_flowtext import BASE, KNOWN_PROMPTS, write

from ivr.events import Digit, PlayPrompt, PromptFinished
from ivr.flow import FlowRegistry, SwitchBoard
from ivr.flow_loader import FlowValidationError
from ivr.runner import MenuRunner

NOON = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def _at_menu(runner: MenuRunner) -> None:
    [greeting] = runner.start(0.0, NOON)
    assert isinstance(greeting, PlayPrompt)
    [menu] = runner.handle(PromptFinished(greeting.play_id, 1.0))
    runner.handle(PromptFinished(menu.play_id, 2.0))


def test_reload_changes_new_calls_and_keeps_calls_in_progress(tmp_path: Path) -> None:
    write(tmp_path, BASE, "main.yaml")
    registry = FlowRegistry(tmp_path, KNOWN_PROMPTS)
    in_progress = MenuRunner(registry.get("main"))
    _at_menu(in_progress)

    write(tmp_path, BASE.replace("queue: billing", "queue: billing-v2"), "main.yaml")
    assert registry.reload() == ("main",)

    new_call = MenuRunner(registry.get("main"))
    _at_menu(new_call)
    assert in_progress.handle(Digit("1", 3.0))[-1].queue == "billing"
    assert new_call.handle(Digit("1", 3.0))[-1].queue == "billing-v2"


def test_a_bad_edit_is_refused_and_the_old_flows_stay(tmp_path: Path) -> None:
    write(tmp_path, BASE, "main.yaml")
    registry = FlowRegistry(tmp_path, KNOWN_PROMPTS)
    before = registry.get("main")
    path = write(tmp_path, BASE.replace('"1": billing', '"1": nowhere'), "main.yaml")
    with pytest.raises(FlowValidationError) as info:
        registry.reload()
    assert info.value.issues[0].file == str(path) and info.value.issues[0].node == "menu"
    assert registry.get("main") is before


def test_shipped_flows_load_in_one_registry() -> None:
    with pytest.raises(KeyError):
        FlowRegistry(Path("ivr/flows"), KNOWN_PROMPTS).get("nope")
    assert FlowRegistry(Path("ivr/flows"), KNOWN_PROMPTS).names() == ("default", "survey")


def test_registry_needs_flow_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        FlowRegistry(tmp_path, KNOWN_PROMPTS)


def test_a_flow_file_copied_in_becomes_available_on_reload(tmp_path: Path) -> None:
    shutil.copy("ivr/flows/default.yaml", tmp_path / "default.yaml")
    registry = FlowRegistry(tmp_path, KNOWN_PROMPTS)
    write(tmp_path, BASE, "vip.yaml")
    assert registry.reload() == ("default", "vip")


def test_switchboard_is_off_until_set() -> None:
    board = SwitchBoard()
    assert board.is_on("surge") is False
    board.set("surge", True)
    assert board.is_on("surge") and board.snapshot() == {"surge": True}
