"""The one place where domain events fan out to their consumers (database, web, metrics).

Features emit frozen dataclass events; consumers subscribe here in one visible table built by
the composition root, rather than features calling each other (STYLE.md, point 9).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[Any], None]

# A browser tab that stops reading must not grow the service's memory without bound.
SUBSCRIBER_QUEUE_LIMIT = 1000


class Notifier:
    """Synchronous fan-out: a handler runs in the emitter's turn and must not block."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)
        self._catch_all: list[Handler] = []

    def subscribe(self, event_type: type | None, handler: Handler) -> None:
        if event_type is None:
            self._catch_all.append(handler)
        else:
            self._handlers[event_type].append(handler)

    def unsubscribe(self, event_type: type | None, handler: Handler) -> None:
        target = self._catch_all if event_type is None else self._handlers[event_type]
        if handler in target:
            target.remove(handler)

    def emit(self, event: object) -> None:
        for handler in (*self._handlers.get(type(event), ()), *self._catch_all):
            try:
                handler(event)
            except Exception:
                # One broken consumer must not stop the call that emitted the event.
                log.exception("event handler %r failed on %r", handler, event)

    def emit_all(self, events: Iterable[object]) -> None:
        for event in events:
            self.emit(event)

    @contextmanager
    def stream(self, limit: int = SUBSCRIBER_QUEUE_LIMIT) -> Iterator[asyncio.Queue[object]]:
        """All events into a bounded queue for one live consumer (a WebSocket)."""
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=limit)

        def put(event: object) -> None:
            if queue.full():
                queue.get_nowait()  # drop the oldest: a live view wants the latest state
            queue.put_nowait(event)

        self.subscribe(None, put)
        try:
            yield queue
        finally:
            self.unsubscribe(None, put)
