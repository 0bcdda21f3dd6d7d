"""The supervisor wallboard's live figures: today's and the last 15 minutes' SPEC-Q2 metrics
(computed by ``acd.metrics`` from ``acd.records``, never re-derived here), queues now, every
agent's state and time in it, abandoned calls, the chart over the day and the alerts.

The board is fed the ACD's events as they are published and rebuilt from the event log at
start-up, so a restart keeps the day's figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from acd import metrics
from acd.config import QueueConfig
from acd.events import AgentStateChanged
from acd.records import CallOutcome, CallRecord, RecordBuilder
from acd.states import AgentState
from agent_desktop.acd_api import to_json
from hotline.acd_service import AcdService
from hotline.db.history import load_agent_states, load_call_records
from hotline.db.store import EventStore

# SPEC-Q2's "last 15 minutes" window, and the chart's bucket.
RECENT_WINDOW_SECONDS = metrics.QUARTER_HOUR
# How many abandoned calls the board lists (newest first).
ABANDONED_SHOWN = 50


@dataclass(slots=True)
class AgentSince:
    state: AgentState
    reason: str | None
    since: float


class Wallboard:
    def __init__(
        self,
        acd: AcdService,
        queues: Sequence[QueueConfig],
        *,
        service_level_target: float,
        utc_offset: float = metrics.CHINA_STANDARD_TIME,
    ) -> None:
        self._acd = acd
        self._queues = {q.name: q for q in queues}
        self._builder = RecordBuilder(queues)
        self._records: list[CallRecord] = []
        self._agents: dict[str, AgentSince] = {}
        self._utc_offset = utc_offset
        self.service_level_target = service_level_target
        self._day = self.day_start(acd.now())
        for agent_id in acd.engine.agent_ids():
            status = acd.engine.agent_status(agent_id)
            self._agents[agent_id] = AgentSince(status.state, status.reason, acd.now())

    def day_start(self, now: float) -> float:
        return metrics.bucket_start(now, metrics.DAY, utc_offset=self._utc_offset)

    async def load(self, store: EventStore) -> None:
        """Today's finished calls and the agents' state changes, from the event log."""
        now = self._acd.now()
        records = await load_call_records(
            store, self._day, now, queues=tuple(self._queues.values())
        )
        self._records = sorted(records + self._records, key=lambda r: r.queued_at)
        for change in await load_agent_states(store, self._day, now):
            current = self._agents.get(change.agent_id)
            if current is not None and current.state is change.new:
                current.since = min(current.since, change.at)

    def feed(self, event: object) -> None:
        """Every published event comes here (subscribed on the notifier)."""
        if isinstance(event, AgentStateChanged):
            self._agents[event.agent_id] = AgentSince(event.new, event.reason, event.at)
            return
        for record in self._builder.feed([event]):  # type: ignore[list-item]
            self._records.append(record)

    def _roll(self, now: float) -> None:
        day = self.day_start(now)
        if day != self._day:
            self._day = day
            self._records = [r for r in self._records if r.queued_at >= day]

    def snapshot(self, now: float) -> dict[str, Any]:
        self._roll(now)
        engine = self._acd.engine
        today = [r for r in self._records if r.queued_at >= self._day]
        recent = [r for r in today if r.queued_at >= now - RECENT_WINDOW_SECONDS]
        per_queue = metrics.by_queue(today)
        queues = []
        for name in engine.queue_names():
            status = engine.queue_status(name, now)
            cfg = self._queues.get(name)
            queues.append(
                {
                    **to_json(status),
                    "service_level_seconds": (
                        cfg.service_level_seconds if cfg is not None else 10.0
                    ),
                    "today": to_json(per_queue.get(name)),
                }
            )
        agents = []
        for agent_id in engine.agent_ids():
            agent = engine.agent_status(agent_id)
            since = self._agents.get(agent_id)
            agents.append(
                {
                    "agent_id": agent_id,
                    "state": agent.state.value,
                    "reason": agent.reason,
                    "call_id": agent.call_id,
                    "since": since.since if since is not None else now,
                }
            )
        chart = [
            {
                "start": start,
                "offered": m.offered,
                "answered": m.answered,
                "service_level": m.service_level,
            }
            for start, m in metrics.by_interval(
                today, metrics.QUARTER_HOUR, utc_offset=self._utc_offset
            ).items()
        ]
        abandoned = [
            {
                "call_id": r.call_id,
                "caller": r.caller,
                "queue": r.queue,
                "at": r.abandoned_at if r.abandoned_at is not None else r.ended_at,
                "wait": round(r.wait, 1),
                "short": r.short_abandon,
            }
            for r in reversed(today)
            if r.outcome is CallOutcome.ABANDONED and not r.by_callback
        ][:ABANDONED_SHOWN]
        today_m = metrics.compute(today)
        recent_m = metrics.compute(recent)
        return {
            "now": now,
            "day_start": self._day,
            "service_level_target": self.service_level_target,
            "today": to_json(today_m),
            "last_15_min": to_json(recent_m),
            "queues": queues,
            "agents": agents,
            "chart": chart,
            "abandoned": abandoned,
            "alerts": alerts(today_m, recent_m, queues, self.service_level_target),
        }


def alerts(
    today: metrics.Metrics, recent: metrics.Metrics, queues: list[dict[str, Any]], target: float
) -> list[dict[str, Any]]:
    """What needs a supervisor now: service level under target, a caller waiting too long.

    The browser re-checks waits every second between events (a wait grows without events).
    """
    out: list[dict[str, Any]] = []
    for window, m in (("today", today), ("last_15_min", recent)):
        if m.service_level is not None and m.service_level < target:
            out.append(
                {
                    "kind": "service_level",
                    "window": window,
                    "value": m.service_level,
                    "target": target,
                }
            )
    for q in queues:
        if q["waiting"] and q["longest_wait"] > q["service_level_seconds"]:
            out.append(
                {
                    "kind": "long_wait",
                    "queue": q["queue"],
                    "value": q["longest_wait"],
                    "target": q["service_level_seconds"],
                }
            )
    return out
