"""A fake-clock harness for the pure ACD tests: builds an engine, keeps every action and event."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from acd.actions import AcdAction, RingAgent
from acd.config import AgentConfig, QueueConfig
from acd.engine import AcdEngine
from acd.events import AcdEvent
from acd.records import CallRecord, RecordBuilder


@dataclass
class Harness:
    engine: AcdEngine
    queues: tuple[QueueConfig, ...]
    now: float = 0.0
    actions: list[AcdAction] = field(default_factory=list)
    events: list[AcdEvent] = field(default_factory=list)
    records: list[CallRecord] = field(default_factory=list)
    builder: RecordBuilder = field(default_factory=RecordBuilder)

    def do(self, method: str, *args: Any, **kwargs: Any) -> list[AcdAction]:
        """Run one engine command (its ``now`` is among the arguments) and collect output."""
        out: list[AcdAction] = getattr(self.engine, method)(*args, **kwargs)
        self._collect(out)
        return out

    def tick(self, to: float) -> list[AcdAction]:
        """Advance the fake clock to ``to`` firing every deadline on the way, one by one."""
        fired: list[AcdAction] = []
        while True:
            deadline = self.engine.next_deadline()
            if deadline is None or deadline > to:
                break
            self.now = deadline
            out = self.engine.advance(deadline)
            self._collect(out)
            fired.extend(out)
        self.now = to
        return fired

    def _collect(self, out: list[AcdAction]) -> None:
        self.actions.extend(out)
        new = self.engine.drain_events()
        self.events.extend(new)
        self.records.extend(self.builder.feed(new))

    def rung(self, out: Iterable[AcdAction] | None = None) -> list[tuple[str, str]]:
        src = self.actions if out is None else out
        return [(a.call_id, a.agent_id) for a in src if isinstance(a, RingAgent)]

    def of(self, kind: type, out: Iterable[Any] | None = None) -> list[Any]:
        src = self.events if out is None else out
        return [x for x in src if isinstance(x, kind)]

    def record(self, call_id: str) -> CallRecord:
        (rec,) = [r for r in self.records if r.call_id == call_id]
        return rec

    def login_ready(self, *agent_ids: str) -> None:
        for agent_id in agent_ids:
            self.do("agent_login", agent_id, 0.0, ready=True)


def make_harness(queues: Iterable[QueueConfig], agents: Iterable[AgentConfig],
                 seed: int = 7) -> Harness:
    qs = tuple(queues)
    engine = AcdEngine(qs, tuple(agents), rng=random.Random(seed))
    return Harness(engine, qs, builder=RecordBuilder(qs))


def agents_in(queue: str, n: int, *, first_number: int = 1001) -> list[AgentConfig]:
    return [AgentConfig(f"a{i + 1}", str(first_number + i), queues=(queue,)) for i in range(n)]
