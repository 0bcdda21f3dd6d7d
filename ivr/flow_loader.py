"""Reading call-flow YAML into ``Flow`` objects, with every problem reported as file, line, node.

PyYAML's composer keeps a start mark on every node, so we parse from the node tree (not from
plain dicts) and each field's line survives into the errors and into ``Node.lines``.  All
problems in a file are collected and raised together as one FlowValidationError.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from ivr.events import DTMF_KEYS
from ivr.flow import (
    DEFAULT_INTER_DIGIT_S,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    AnyNode,
    CollectNode,
    Flow,
    HangupNode,
    HoursNode,
    LanguageNode,
    ListenNode,
    MenuNode,
    NodeType,
    PlayNode,
    SurveyNode,
    SwitchNode,
    TransferNode,
)
from ivr.hours import HoursError, build_hours
from prompts.texts import Language

MAX_TIMEOUT_S = 60.0  # a caller left waiting longer than a minute for a key is a design error
MAX_RETRIES = 5


@dataclass(frozen=True, slots=True)
class FlowIssue:
    file: str
    line: int
    node: str | None
    message: str

    def __str__(self) -> str:
        where = f" node {self.node!r}:" if self.node else ""
        return f"{self.file}:{self.line}:{where} {self.message}"


class FlowValidationError(ValueError):
    """One or more problems in flow files; ``issues`` has each with file, line and node."""

    def __init__(self, issues: list[FlowIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


# ----------------------------------------------------------------- field kinds

Value = Any
Reader = Callable[["_NodeReader", yaml.Node, str], Value]


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _scalar(node: yaml.Node) -> Value:
    # A throwaway SafeLoader resolves the scalar exactly as yaml.safe_load would.
    return yaml.SafeLoader("").construct_object(node, deep=True)


class _NodeReader:
    """Reads one node's fields, recording type errors against the field's own line."""

    def __init__(self, file: str, node_id: str | None, issues: list[FlowIssue]) -> None:
        self.file = file
        self.node_id = node_id
        self.issues = issues
        self.lines: dict[str, int] = {}

    def error(self, line: int, message: str) -> None:
        self.issues.append(FlowIssue(self.file, line, self.node_id, message))

    def text(self, value: yaml.Node, name: str) -> Value:
        if not isinstance(value, yaml.ScalarNode) or value.value == "" or _scalar(value) is None:
            self.error(_line(value), f"field {name!r} must be a non-empty string")
            return None
        return str(value.value)

    def number(self, value: yaml.Node, name: str) -> Value:
        parsed = _scalar(value) if isinstance(value, yaml.ScalarNode) else None
        if isinstance(parsed, bool) or not isinstance(parsed, int | float):
            self.error(_line(value), f"field {name!r} must be a number of seconds")
            return None
        if not 0 < parsed <= MAX_TIMEOUT_S:
            self.error(_line(value), f"field {name!r} must be in (0, {MAX_TIMEOUT_S:g}] seconds")
            return None
        return float(parsed)

    def count(self, value: yaml.Node, name: str) -> Value:
        parsed = _scalar(value) if isinstance(value, yaml.ScalarNode) else None
        if isinstance(parsed, bool) or not isinstance(parsed, int) or not 0 <= parsed <= 99:
            self.error(_line(value), f"field {name!r} must be a whole number 0-99")
            return None
        if name == "retries" and parsed > MAX_RETRIES:
            self.error(_line(value), f"field 'retries' must be at most {MAX_RETRIES}")
            return None
        return parsed

    def flag(self, value: yaml.Node, name: str) -> Value:
        parsed = _scalar(value) if isinstance(value, yaml.ScalarNode) else None
        if not isinstance(parsed, bool):
            self.error(_line(value), f"field {name!r} must be true or false")
            return None
        return parsed

    def key(self, value: yaml.Node, name: str) -> Value:
        text = value.value if isinstance(value, yaml.ScalarNode) else None
        if text not in DTMF_KEYS:
            self.error(_line(value), f"field {name!r} must be one DTMF key 0-9, * or #")
            return None
        return text

    def language(self, value: yaml.Node, name: str) -> Value:
        text = value.value if isinstance(value, yaml.ScalarNode) else ""
        try:
            return Language(text)
        except ValueError:
            allowed = ", ".join(lang.value for lang in Language)
            self.error(_line(value), f"field {name!r} must be one of {allowed}")
            return None

    def prompts(self, value: yaml.Node, name: str) -> Value:
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        result = []
        for item in items:
            text = self.text(item, name)
            if text is None:
                return None
            result.append(text)
            self.lines.setdefault(f"{name}:{text}", _line(item))
        return tuple(result)

    def strings(self, value: yaml.Node, name: str) -> Value:
        if not isinstance(value, yaml.SequenceNode):
            self.error(_line(value), f"field {name!r} must be a list")
            return None
        items = [self.text(item, name) for item in value.value]
        return None if None in items else items

    def options(self, value: yaml.Node, name: str) -> Value:
        if not isinstance(value, yaml.MappingNode) or not value.value:
            self.error(_line(value), f"field {name!r} must map keys to node ids")
            return None
        result: dict[str, str] = {}
        for key_node, target_node in value.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key not in DTMF_KEYS:
                self.error(_line(key_node), f"menu option {key!r} is not a DTMF key 0-9, * or #")
                continue
            if key in result:
                self.error(_line(key_node), f"menu option {key!r} appears twice")
                continue
            target = self.text(target_node, f"options.{key}")
            if target is not None:
                result[key] = target
                self.lines[f"options.{key}"] = _line(target_node)
        return MappingProxyType(result)

    def weekly(self, value: yaml.Node, name: str) -> Value:
        if not isinstance(value, yaml.MappingNode):
            self.error(_line(value), f"field {name!r} must map days (mon-fri) to HH:MM-HH:MM lists")
            return None
        result: dict[str, list[str]] = {}
        for key_node, intervals in value.value:
            listed = self.strings(intervals, f"weekly.{key_node.value}")
            if listed is not None:
                result[str(key_node.value)] = listed
        return result


_COMMON: dict[str, tuple[Reader, bool]] = {
    "type": (_NodeReader.text, True),
    "prompt": (_NodeReader.prompts, False),
}
# field → (reader, required), per node type; YAML field names as the flow author writes them.
_FIELDS: dict[NodeType, dict[str, tuple[Reader, bool]]] = {
    NodeType.PLAY: {"next": (_NodeReader.text, True), "barge_in": (_NodeReader.flag, False)},
    NodeType.MENU: {
        "options": (_NodeReader.options, True),
        "timeout": (_NodeReader.number, False),
        "retries": (_NodeReader.count, False),
    },
    NodeType.COLLECT: {
        "var": (_NodeReader.text, True),
        "next": (_NodeReader.text, True),
        "max_digits": (_NodeReader.count, True),
        "min_digits": (_NodeReader.count, False),
        "terminator": (_NodeReader.key, False),
        "timeout": (_NodeReader.number, False),
        "inter_digit_timeout": (_NodeReader.number, False),
        "retries": (_NodeReader.count, False),
    },
    NodeType.LANGUAGE: {
        "next": (_NodeReader.text, True),
        "default": (_NodeReader.language, False),
        "timeout": (_NodeReader.number, False),
        "retries": (_NodeReader.count, False),
    },
    NodeType.TRANSFER: {"queue": (_NodeReader.text, True), "skill": (_NodeReader.text, False)},
    NodeType.HANGUP: {},
    NodeType.HOURS: {
        "open": (_NodeReader.text, True),
        "closed": (_NodeReader.text, True),
        "timezone": (_NodeReader.text, False),
        "weekly": (_NodeReader.weekly, False),
        "holidays": (_NodeReader.strings, False),
    },
    NodeType.SWITCH: {
        "on": (_NodeReader.text, True),
        "off": (_NodeReader.text, True),
        "switch": (_NodeReader.text, False),
    },
    NodeType.SURVEY: {
        "thanks": (_NodeReader.prompts, False),
        "timeout": (_NodeReader.number, False),
        "retries": (_NodeReader.count, False),
    },
    NodeType.LISTEN: {
        "next": (_NodeReader.text, True),
        "silence_prompt": (_NodeReader.text, False),
        "quiet_prompt": (_NodeReader.text, False),
        "retries": (_NodeReader.count, False),
    },
}


def _mapping_items(
    value: yaml.Node,
    reader: _NodeReader,
    what: str,
) -> list[tuple[str, yaml.Node, yaml.Node]]:
    if not isinstance(value, yaml.MappingNode):
        reader.error(_line(value), f"{what} must be a mapping")
        return []
    seen: set[str] = set()
    items = []
    for key_node, val_node in value.value:
        key = str(key_node.value)
        if key in seen:
            reader.error(_line(key_node), f"{key!r} appears twice in {what}")
            continue
        seen.add(key)
        items.append((key, key_node, val_node))
    return items


def _build_node(
    node_id: str, line: int, fields: dict[str, Value], lines: dict[str, int]
) -> AnyNode:
    kind = NodeType(fields.pop("type"))
    base: dict[str, Value] = {
        "node_id": node_id,
        "line": line,
        "prompts": fields.pop("prompt", ()) or (),
        "lines": MappingProxyType(lines),
    }
    if kind is NodeType.PLAY:
        return PlayNode(**base, next=fields["next"], barge_in=fields.get("barge_in", False))
    if kind is NodeType.MENU:
        return MenuNode(
            **base,
            options=fields["options"],
            timeout_s=fields.get("timeout", DEFAULT_TIMEOUT_S),
            retries=fields.get("retries", DEFAULT_RETRIES),
        )
    if kind is NodeType.COLLECT:
        return CollectNode(
            **base,
            var=fields["var"],
            next=fields["next"],
            max_digits=fields["max_digits"],
            min_digits=fields.get("min_digits", 1),
            terminator=fields.get("terminator", "#"),
            timeout_s=fields.get("timeout", DEFAULT_TIMEOUT_S),
            inter_digit_s=fields.get("inter_digit_timeout", DEFAULT_INTER_DIGIT_S),
            retries=fields.get("retries", DEFAULT_RETRIES),
        )
    if kind is NodeType.LANGUAGE:
        return LanguageNode(
            **base,
            next=fields["next"],
            default=fields.get("default", Language.ZH),
            timeout_s=fields.get("timeout", DEFAULT_TIMEOUT_S),
            retries=fields.get("retries", DEFAULT_RETRIES),
        )
    if kind is NodeType.TRANSFER:
        return TransferNode(**base, queue=fields["queue"], skill=fields.get("skill"))
    if kind is NodeType.HANGUP:
        return HangupNode(**base)
    if kind is NodeType.HOURS:
        hours = build_hours(
            fields.get("timezone"), fields.get("weekly"), fields.get("holidays", [])
        )
        return HoursNode(**base, open=fields["open"], closed=fields["closed"], hours=hours)
    if kind is NodeType.SWITCH:
        return SwitchNode(
            **base, on=fields["on"], off=fields["off"], switch=fields.get("switch", "surge")
        )
    if kind is NodeType.SURVEY:
        return SurveyNode(
            **base,
            thanks=fields.get("thanks", ("survey_thanks",)),
            timeout_s=fields.get("timeout", DEFAULT_TIMEOUT_S),
            retries=fields.get("retries", DEFAULT_RETRIES),
        )
    return ListenNode(
        **base,
        next=fields["next"],
        silence_prompt=fields.get("silence_prompt", "p2"),
        quiet_prompt=fields.get("quiet_prompt", "p3"),
        retries=fields.get("retries", DEFAULT_RETRIES),
    )


def _read_node(
    file: str,
    node_id: str,
    key_node: yaml.Node,
    value: yaml.Node,
    issues: list[FlowIssue],
) -> AnyNode | None:
    reader = _NodeReader(file, node_id, issues)
    before = len(issues)
    items = _mapping_items(value, reader, "a node")
    fields: dict[str, Value] = {}
    by_name = {name: (k, v) for name, k, v in items}
    type_entry = by_name.get("type")
    if type_entry is None:
        reader.error(_line(key_node), "missing field 'type'")
        return None
    type_name = type_entry[1].value if isinstance(type_entry[1], yaml.ScalarNode) else None
    if type_name not in {t.value for t in NodeType}:
        allowed = ", ".join(t.value for t in NodeType)
        reader.error(_line(type_entry[1]), f"unknown node type {type_name!r} (one of {allowed})")
        return None
    spec = {**_COMMON, **_FIELDS[NodeType(type_name)]}
    for name, k, v in items:
        if name not in spec:
            reader.error(_line(k), f"unknown field {name!r} for a {type_name} node")
            continue
        reader.lines.setdefault(name, _line(v))
        fields[name] = spec[name][0](reader, v, name)
    for name, (_, required) in spec.items():
        if required and name not in fields:
            reader.error(_line(key_node), f"missing field {name!r}")
    if len(issues) > before:
        return None
    try:
        return _build_node(node_id, _line(key_node), fields, reader.lines)
    except HoursError as exc:
        reader.error(reader.lines.get("weekly", _line(key_node)), str(exc))
        return None


_TOP_LEVEL = {"start", "agent", "language", "nodes", "description"}


def load_flow_text(text: str, file: str, known_prompts: Collection[str], name: str = "") -> Flow:
    """Parse and validate a flow; raises FlowValidationError listing every problem."""
    from ivr.flow_check import check_flow  # the graph rules live in their own module

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = int(mark.line) + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        issue = FlowIssue(file, line, None, f"not valid YAML: {problem}")
        raise FlowValidationError([issue]) from exc
    issues: list[FlowIssue] = []
    top = _NodeReader(file, None, issues)
    if root is None:
        raise FlowValidationError([FlowIssue(file, 1, None, "the file is empty")])
    fields: dict[str, yaml.Node] = {}
    for key, key_node, value in _mapping_items(root, top, "a flow file"):
        if key not in _TOP_LEVEL:
            top.error(_line(key_node), f"unknown top-level field {key!r}")
        fields[key] = value
    start = top.text(fields["start"], "start") if "start" in fields else None
    if "start" not in fields:
        top.error(1, "missing top-level field 'start'")
    agent = top.text(fields["agent"], "agent") if "agent" in fields else None
    language = top.language(fields["language"], "language") if "language" in fields else None
    nodes: dict[str, AnyNode] = {}
    declared: dict[str, int] = {}
    if "nodes" not in fields:
        top.error(1, "missing top-level field 'nodes'")
    else:
        for node_id, key_node, value in _mapping_items(fields["nodes"], top, "'nodes'"):
            declared[node_id] = _line(key_node)
            node = _read_node(file, node_id, key_node, value, issues)
            if node is not None:
                nodes[node_id] = node
    top_lines = {k: _line(v) for k, v in fields.items()}
    flow = Flow(
        name=name or Path(file).stem,
        file=file,
        start=start or "",
        agent=agent,
        nodes=MappingProxyType(nodes),
        default_language=language or Language.ZH,
    )
    issues.extend(check_flow(flow, known_prompts, declared=declared, top_lines=top_lines))
    if issues:
        raise FlowValidationError(sorted(issues, key=lambda i: i.line))
    return flow


def load_flow(path: Path, known_prompts: Collection[str]) -> Flow:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowValidationError([FlowIssue(str(path), 1, None, f"cannot read: {exc}")]) from exc
    return load_flow_text(text, str(path), known_prompts, name=path.stem)


def node_fields(kind: NodeType) -> Mapping[str, bool]:
    """The YAML fields a node type takes (name → required), for docs and tooling."""
    return MappingProxyType({k: req for k, (_, req) in {**_COMMON, **_FIELDS[kind]}.items()})
