"""The call-flow model (nodes, flows), the operator's switches, and the registry of loaded flows.

A flow is immutable once loaded: a runner keeps the Flow object it started with, so
``FlowRegistry.reload()`` changes what *new* calls get and never touches calls in progress.
Node types and their YAML fields are documented in ``ivr/flows/default.yaml``.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

from ivr.hours import OpeningHours
from prompts.texts import Language

DEFAULT_TIMEOUT_S = 5.0  # first-key wait after a menu prompt; common IVR practice is 4-6 s
DEFAULT_INTER_DIGIT_S = 3.0  # gap that ends a multi-digit entry (ITU-T E.180-era practice)
DEFAULT_RETRIES = 2  # reprompts before the caller goes to an agent (SPEC-Q3: no dead end)
MAX_MENU_DEPTH = 3  # SPEC-Q3: "the voice menu is shallow"
SURGE_SWITCH = "surge"  # SPEC-O1 default switch name


class NodeType(enum.StrEnum):
    PLAY = "play"
    MENU = "menu"
    COLLECT = "collect"
    LANGUAGE = "language"
    TRANSFER = "transfer"
    HANGUP = "hangup"  # play-and-hang-up
    HOURS = "hours"
    SWITCH = "switch"  # emergency / surge switch (SPEC-O1)
    SURVEY = "survey"
    LISTEN = "listen"


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Fields every node has; ``lines`` maps a field name (or "options.1") to its YAML line."""

    node_id: str
    line: int
    prompts: tuple[str, ...] = ()
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    KIND: ClassVar[NodeType]

    @property
    def type(self) -> NodeType:
        return self.KIND

    def targets(self) -> tuple[tuple[str, str], ...]:
        """(field label, target node id) of every way out of this node."""
        return ()

    def line_of(self, label: str) -> int:
        return self.lines.get(label, self.line)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayNode(Node):
    next: str
    barge_in: bool = False

    KIND: ClassVar[NodeType] = NodeType.PLAY

    def targets(self) -> tuple[tuple[str, str], ...]:
        return (("next", self.next),)


@dataclass(frozen=True, slots=True, kw_only=True)
class MenuNode(Node):
    options: Mapping[str, str]
    timeout_s: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES

    KIND: ClassVar[NodeType] = NodeType.MENU

    def targets(self) -> tuple[tuple[str, str], ...]:
        return tuple((f"options.{k}", v) for k, v in self.options.items())


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectNode(Node):
    var: str
    next: str
    max_digits: int
    min_digits: int = 1
    terminator: str = "#"
    timeout_s: float = DEFAULT_TIMEOUT_S
    inter_digit_s: float = DEFAULT_INTER_DIGIT_S
    retries: int = DEFAULT_RETRIES

    KIND: ClassVar[NodeType] = NodeType.COLLECT

    def targets(self) -> tuple[tuple[str, str], ...]:
        return (("next", self.next),)


@dataclass(frozen=True, slots=True, kw_only=True)
class LanguageNode(Node):
    """Played in every language; key 1 中文, key 2 English; after retries: ``default``."""

    next: str
    default: Language = Language.ZH
    timeout_s: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES

    KIND: ClassVar[NodeType] = NodeType.LANGUAGE

    def targets(self) -> tuple[tuple[str, str], ...]:
        return (("next", self.next),)


LANGUAGE_KEYS: Mapping[str, Language] = MappingProxyType({"1": Language.ZH, "2": Language.EN})


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferNode(Node):
    queue: str
    skill: str | None = None

    KIND: ClassVar[NodeType] = NodeType.TRANSFER


@dataclass(frozen=True, slots=True, kw_only=True)
class HangupNode(Node):
    KIND: ClassVar[NodeType] = NodeType.HANGUP


@dataclass(frozen=True, slots=True, kw_only=True)
class HoursNode(Node):
    open: str
    closed: str
    hours: OpeningHours = field(default_factory=OpeningHours)

    KIND: ClassVar[NodeType] = NodeType.HOURS

    def targets(self) -> tuple[tuple[str, str], ...]:
        return (("open", self.open), ("closed", self.closed))


@dataclass(frozen=True, slots=True, kw_only=True)
class SwitchNode(Node):
    on: str
    off: str
    switch: str = SURGE_SWITCH

    KIND: ClassVar[NodeType] = NodeType.SWITCH

    def targets(self) -> tuple[tuple[str, str], ...]:
        return (("on", self.on), ("off", self.off))


@dataclass(frozen=True, slots=True, kw_only=True)
class SurveyNode(Node):
    """SPEC-Q4: key 1 satisfied, 2 acceptable, 3 not satisfied; then ``thanks`` and hang up."""

    thanks: tuple[str, ...] = ("survey_thanks",)
    timeout_s: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES

    KIND: ClassVar[NodeType] = NodeType.SURVEY


@dataclass(frozen=True, slots=True, kw_only=True)
class ListenNode(Node):
    """Wait for the caller to speak: silence → ``silence_prompt`` (P2), quiet → P3."""

    next: str
    silence_prompt: str = "p2"
    quiet_prompt: str = "p3"
    retries: int = DEFAULT_RETRIES

    KIND: ClassVar[NodeType] = NodeType.LISTEN

    def targets(self) -> tuple[tuple[str, str], ...]:
        return (("next", self.next),)


AnyNode = (
    PlayNode
    | MenuNode
    | CollectNode
    | LanguageNode
    | TransferNode
    | HangupNode
    | HoursNode
    | SwitchNode
    | SurveyNode
    | ListenNode
)

# Node types whose failures (no input, wrong keys, not heard) send the caller to the agent node.
AGENT_FALLBACK_TYPES = frozenset({NodeType.MENU, NodeType.COLLECT, NodeType.LISTEN})


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    file: str
    start: str
    agent: str | None  # the transfer node callers reach after retries (SPEC-Q3)
    nodes: Mapping[str, AnyNode]
    default_language: Language = Language.ZH

    def node(self, node_id: str) -> AnyNode:
        return self.nodes[node_id]

    def prompt_ids(self) -> frozenset[str]:
        ids: set[str] = set()
        for node in self.nodes.values():
            ids.update(node.prompts)
            if isinstance(node, SurveyNode):
                ids.update(node.thanks)
            if isinstance(node, ListenNode):
                ids.update((node.silence_prompt, node.quiet_prompt))
        return frozenset(ids)


class SwitchBoard:
    """Operator switches (SPEC-O1 surge/emergency), flipped at run time without a restart.

    Shared by all runners; a runner reads a switch when a call reaches a switch node, so a
    change applies to the next caller who gets there.
    """

    def __init__(self, initial: Mapping[str, bool] | None = None) -> None:
        self._state: dict[str, bool] = dict(initial or {})
        self._lock = threading.Lock()

    def set(self, name: str, on: bool) -> None:
        with self._lock:
            self._state[name] = on

    def is_on(self, name: str) -> bool:
        return self._state.get(name, False)

    def snapshot(self) -> dict[str, bool]:
        with self._lock:
            return dict(self._state)


class FlowRegistry:
    """All flows of a folder (``<name>.yaml``), validated together and swapped atomically.

    ``reload()`` validates every file first; if any has errors nothing changes and the
    FlowValidationError (file, line, node for each problem) is raised, so a bad edit never
    takes the menu away from new callers.
    """

    def __init__(self, directory: Path, known_prompts: Collection[str]) -> None:
        self.directory = directory
        self._known_prompts = frozenset(known_prompts)
        self._flows: Mapping[str, Flow] = MappingProxyType({})
        self.reload()

    def reload(self) -> tuple[str, ...]:
        from ivr.flow_loader import FlowValidationError, load_flow

        loaded: dict[str, Flow] = {}
        issues = []
        for path in sorted(self.directory.glob("*.yaml")):
            try:
                loaded[path.stem] = load_flow(path, self._known_prompts)
            except FlowValidationError as exc:
                issues.extend(exc.issues)
        if issues:
            raise FlowValidationError(issues)
        if not loaded:
            raise FileNotFoundError(f"{self.directory}: no *.yaml flow files")
        self._flows = MappingProxyType(loaded)  # one reference swap: readers see old or new
        return tuple(sorted(loaded))

    def get(self, name: str) -> Flow:
        try:
            return self._flows[name]
        except KeyError:
            raise KeyError(f"no flow {name!r} in {self.directory}") from None

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._flows))
