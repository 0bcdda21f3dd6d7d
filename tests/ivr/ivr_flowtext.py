"""Helpers for flow tests: write a flow file and find the line a marker comment is on."""

from __future__ import annotations

from pathlib import Path

from prompts.texts import PROMPTS_BY_ID

KNOWN_PROMPTS = frozenset(PROMPTS_BY_ID)

BASE = """\
start: answer
agent: agent
nodes:
  answer:
    type: play
    prompt: p1
    next: menu
  menu:
    type: menu
    prompt: menu_main
    options:
      "1": billing
      "0": agent
  billing:
    type: transfer
    queue: billing
    skill: billing
  agent:
    type: transfer
    queue: general
"""


def line_of(text: str, marker: str) -> int:
    """1-based line of the only line containing ``marker``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(hits) == 1, f"marker {marker!r} found {len(hits)} times"
    return hits[0]


def write(tmp_path: Path, text: str, name: str = "flow.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
