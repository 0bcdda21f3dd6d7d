"""The rules a call flow's graph must keep, checked at load; each broken rule is a FlowIssue.

Rules: every target exists; every node is reachable from ``start``; menus are at most three
deep and each has an option that leads to a human agent (SPEC-Q3); nodes whose retries run
out have an agent to fall back to; every prompt is in the catalogue; no loop plays prompts
forever without waiting for the caller.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping

from ivr.flow import (
    AGENT_FALLBACK_TYPES,
    MAX_MENU_DEPTH,
    AnyNode,
    CollectNode,
    Flow,
    ListenNode,
    MenuNode,
    NodeType,
    SurveyNode,
    TransferNode,
)
from ivr.flow_loader import FlowIssue
from ivr.runner import RUNNER_PROMPTS

# Nodes the runner reprompts with "no input" / "invalid input".
_REPROMPTING = frozenset({NodeType.MENU, NodeType.COLLECT, NodeType.LANGUAGE, NodeType.SURVEY})
_Issue = Callable[[int, str | None, str], None]  # records one FlowIssue (line, node, message)

# Nodes that move on by themselves, without waiting for the caller.
_AUTOMATIC = frozenset({NodeType.PLAY, NodeType.HOURS, NodeType.SWITCH})


def check_flow(
    flow: Flow,
    known_prompts: Collection[str],
    *,
    declared: Mapping[str, int],
    top_lines: Mapping[str, int],
) -> list[FlowIssue]:
    """All rule violations of ``flow``; ``declared`` has every node id written (line)."""
    issues: list[FlowIssue] = []

    def issue(line: int, node: str | None, message: str) -> None:
        issues.append(FlowIssue(flow.file, line, node, message))

    if flow.start and flow.start not in declared:
        issue(top_lines.get("start", 1), None, f"start node {flow.start!r} is not defined")
    _check_agent(flow, declared, top_lines, issue)
    for node in flow.nodes.values():
        for label, target in node.targets():
            if target not in declared:
                issue(node.line_of(label), node.node_id, f"{label}: unknown target {target!r}")
        _check_prompts(node, known_prompts, issue)
        if node.type in _REPROMPTING:
            for prompt_id in sorted(RUNNER_PROMPTS - set(known_prompts)):
                issue(
                    node.line,
                    node.node_id,
                    f"reprompt {prompt_id!r} is not in the prompt catalogue",
                )
        if isinstance(node, CollectNode) and not 1 <= node.min_digits <= node.max_digits:
            issue(node.line_of("min_digits"), node.node_id, "need 1 <= min_digits <= max_digits")
    if len(flow.nodes) == len(declared):  # a broken node's targets are unknown: skip graph rules
        _check_reachable(flow, declared, issue)
        _check_menu_depth(flow, issue)
        _check_menus_reach_agent(flow, issue)
        _check_automatic_loops(flow, issue)
    return issues


def _check_agent(
    flow: Flow, declared: Mapping[str, int], top_lines: Mapping[str, int], issue: _Issue
) -> None:
    needing = [n for n in flow.nodes.values() if n.type in AGENT_FALLBACK_TYPES]
    if flow.agent is None:
        for node in needing:
            issue(
                node.line,
                node.node_id,
                f"a {node.type.value} node needs a top-level 'agent' (a transfer node) for "
                "callers whose retries run out (SPEC-Q3: never a dead end)",
            )
        return
    line = top_lines.get("agent", 1)
    if flow.agent not in declared:
        issue(line, None, f"agent node {flow.agent!r} is not defined")
    elif flow.agent in flow.nodes and not isinstance(flow.nodes[flow.agent], TransferNode):
        issue(line, None, f"agent node {flow.agent!r} must be a transfer node")


def _check_prompts(node: AnyNode, known: Collection[str], issue: _Issue) -> None:
    pairs: list[tuple[str, str]] = [(f"prompt:{p}", p) for p in node.prompts]
    if isinstance(node, SurveyNode):
        pairs += [(f"thanks:{p}", p) for p in node.thanks]
    if isinstance(node, ListenNode):
        pairs += [("silence_prompt", node.silence_prompt), ("quiet_prompt", node.quiet_prompt)]
    for label, prompt_id in pairs:
        if prompt_id not in known:
            issue(
                node.line_of(label),
                node.node_id,
                f"prompt {prompt_id!r} is not in the prompt catalogue",
            )


def _successors(flow: Flow, node: AnyNode) -> Iterator[str]:
    for _, target in node.targets():
        if target in flow.nodes:
            yield target
    if node.type in AGENT_FALLBACK_TYPES and flow.agent is not None and flow.agent in flow.nodes:
        yield flow.agent  # reached when retries run out


def _check_reachable(flow: Flow, declared: Mapping[str, int], issue: _Issue) -> None:
    if flow.start not in flow.nodes:
        return
    seen = {flow.start}
    todo = deque([flow.start])
    while todo:
        for nxt in _successors(flow, flow.nodes[todo.popleft()]):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    for node_id, line in declared.items():
        if node_id not in seen:
            issue(line, node_id, f"unreachable from start node {flow.start!r}")


def _check_menu_depth(flow: Flow, issue: _Issue) -> None:
    if flow.start not in flow.nodes:
        return
    reported: set[str] = set()

    def walk(node_id: str, depth: int, path: frozenset[str]) -> None:
        node = flow.nodes[node_id]
        if isinstance(node, MenuNode):
            depth += 1
            if depth > MAX_MENU_DEPTH and node_id not in reported:
                reported.add(node_id)
                issue(
                    node.line,
                    node_id,
                    f"menu is {depth} levels deep; at most {MAX_MENU_DEPTH} (SPEC-Q3)",
                )
                return
        for nxt in _successors(flow, node):
            if nxt not in path:  # a loop back to a parent menu is not deeper
                walk(nxt, depth, path | {nxt})

    walk(flow.start, 0, frozenset({flow.start}))


def _check_menus_reach_agent(flow: Flow, issue: _Issue) -> None:
    for menu in flow.nodes.values():
        if not isinstance(menu, MenuNode):
            continue
        if not any(_reaches_transfer(flow, t) for _, t in menu.targets()):
            issue(
                menu.line,
                menu.node_id,
                "no option leads to a human agent without another menu (SPEC-Q3: the "
                "agent option must be easy to find, e.g. '0' → a transfer node)",
            )


def _reaches_transfer(flow: Flow, start: str) -> bool:
    seen: set[str] = set()
    todo = deque([start])
    while todo:
        node_id = todo.popleft()
        if node_id in seen or node_id not in flow.nodes:
            continue
        seen.add(node_id)
        node = flow.nodes[node_id]
        if isinstance(node, TransferNode):
            return True
        if isinstance(node, MenuNode):
            continue  # behind another menu is not "easy to find"
        todo.extend(t for _, t in node.targets())
    return False


def _check_automatic_loops(flow: Flow, issue: _Issue) -> None:
    automatic = {k: n for k, n in flow.nodes.items() if n.type in _AUTOMATIC}
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node_id: str) -> None:
        state[node_id] = 1
        for _, target in automatic[node_id].targets():
            if target not in automatic:
                continue
            if state.get(target) == 1:
                node = automatic[target]
                issue(
                    node.line,
                    target,
                    "loop of play/hours/switch nodes never waits for the caller and never ends",
                )
            elif target not in state:
                visit(target)
        state[node_id] = 2

    for node_id in automatic:
        if node_id not in state:
            visit(node_id)
