"""The asyncio side of the ACD: the one engine of the process, its timers, events and actions.

Every ACD command of the service (from calls, the web API, timers) goes through
:meth:`AcdService.command`, so that after each one the engine's events are published and its
actions are carried out in order, and its timer is re-armed — in one place. The engine itself
stays pure (``acd.engine``), which is what lets the simulator run it unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from acd.actions import AcdAction
from acd.config import AgentConfig, QueueConfig, SkillLevel, Strategy
from acd.engine import AcdEngine
from hotline.config import AcdSettings
from hotline.deadlines import DeadlineDriver
from hotline.notifier import Notifier

log = logging.getLogger(__name__)

ActionHandler = Callable[[AcdAction], None]


def engine_config(settings: AcdSettings) -> tuple[list[QueueConfig], list[AgentConfig]]:
    """Translate the service config into the ACD's own config objects."""
    queues = [
        QueueConfig(
            name=q.name,
            strategy=Strategy(q.strategy),
            skills=q.skills,
            ring_timeout=q.ring_timeout,
            wrapup_seconds=q.wrapup_seconds,
            max_wait=q.max_wait,
            overflow_target=q.overflow_target,
            announce_every=q.announce_every,
            service_level_seconds=q.service_level_seconds,
            short_abandon_seconds=q.short_abandon_seconds,
            callback_after=q.callback_after,
            play_agent_number=q.play_agent_number,
            play_late_apology=q.play_late_apology,
            max_consecutive_misses=q.max_consecutive_misses,
        )
        for q in settings.queues
    ]
    agents = [
        AgentConfig(
            agent_id=a.number,
            number=a.number,
            name=a.name,
            team=a.team,
            queues=a.queues,
            skills={skill: SkillLevel[level.upper()] for skill, level in a.skills.items()},
        )
        for a in settings.agents
    ]
    return queues, agents


class AcdService:
    def __init__(
        self,
        engine: AcdEngine,
        notifier: Notifier,
        loop: asyncio.AbstractEventLoop,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self._notifier = notifier
        self._clock = clock
        self._handlers: list[ActionHandler] = []
        self._driver: DeadlineDriver[AcdAction] = DeadlineDriver(
            engine, self._perform, loop, clock=clock
        )

    def now(self) -> float:
        return self._clock()

    def on_action(self, handler: ActionHandler) -> None:
        """The call manager registers here to carry out rings, connects, prompts …"""
        self._handlers.append(handler)

    def command(self, op: Callable[[float], Iterable[AcdAction]]) -> list[AcdAction]:
        """Run one engine command at the current time; ACD domain errors propagate."""
        actions = list(op(self._clock()))
        self._perform(actions)
        return actions

    def _perform(self, actions: list[AcdAction]) -> None:
        self._notifier.emit_all(self.engine.drain_events())
        for action in actions:
            for handler in self._handlers:
                try:
                    handler(action)
                except Exception:
                    # A failed action must not strand the engine's other actions.
                    log.exception("ACD action %r failed", action)
        self._driver.rearm()

    def close(self) -> None:
        self._driver.close()
