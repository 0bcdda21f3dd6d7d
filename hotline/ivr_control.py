"""Operating the voice menu while calls run: reload the flow file, flip the surge switch.

A reload validates the file first; a bad edit raises FlowValidationError (file, line, node)
and the menu new callers get stays as it was. Calls already in the menu keep the flow they
started with, since each call's runner holds its own Flow (issue 4).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path

from hotline.calls import CallManager
from ivr.flow import SwitchBoard
from ivr.flow_loader import load_flow

log = logging.getLogger(__name__)

# SPEC-O1: the emergency plan for a sudden surge of calls, as the default flow names it.
SURGE_SWITCH = "surge"


class IvrControl:
    def __init__(
        self,
        *,
        flow_path: Path,
        known_prompts: Collection[str],
        calls: CallManager,
        switches: SwitchBoard,
    ) -> None:
        self.flow_path = flow_path
        self._known_prompts = frozenset(known_prompts)
        self._calls = calls
        self.switches = switches

    def reload(self) -> str:
        """Load and validate the flow file, then give it to new calls; returns its name."""
        flow = load_flow(self.flow_path, self._known_prompts)
        self._calls.flow = flow
        log.info("voice menu reloaded from %s", self.flow_path)
        return flow.name or self.flow_path.stem

    def set_switch(self, name: str, on: bool) -> None:
        self.switches.set(name, on)
        log.warning("operator switch %r turned %s", name, "on" if on else "off")

    def status(self) -> dict[str, object]:
        return {
            "flow": str(self.flow_path),
            "flow_name": self._calls.flow.name,
            "switches": self.switches.snapshot(),
        }
