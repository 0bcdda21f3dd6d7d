"""Live views: the WebSocket event stream and Prometheus' /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from aiohttp import WSMsgType, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from agent_desktop.acd_api import to_json
from agent_desktop.auth import principal_of
from agent_desktop.keys import NOTIFIER
from hotline.acd_service import AcdService

routes = web.RouteTableDef()

# A WebSocket that has sent nothing still gets a ping this often, so proxies keep it open.
WEBSOCKET_HEARTBEAT_SECONDS = 20.0


@routes.get("/api/events")
async def events(request: web.Request) -> web.WebSocketResponse:
    await principal_of(request)
    socket = web.WebSocketResponse(heartbeat=WEBSOCKET_HEARTBEAT_SECONDS)
    await socket.prepare(request)
    with request.app[NOTIFIER].stream() as queue:
        reader = asyncio.create_task(_drain_incoming(socket))
        try:
            while not socket.closed and not reader.done():
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                event = getter.result()
                await socket.send_json({"type": type(event).__name__, "data": to_json(event)})
        finally:
            reader.cancel()
    return socket


async def _drain_incoming(socket: web.WebSocketResponse) -> None:
    async for message in socket:
        if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
            break


class AcdCollector(Collector):
    """Reads the engine at scrape time, so gauges are never stale."""

    def __init__(self, acd: AcdService) -> None:
        self._acd = acd

    def collect(self) -> Iterator[GaugeMetricFamily]:
        engine = self._acd.engine
        now = self._acd.now()
        waiting = GaugeMetricFamily(
            "hotline_queue_calls_waiting", "Calls waiting", labels=["queue"]
        )
        longest = GaugeMetricFamily(
            "hotline_queue_longest_wait_seconds", "Longest current wait", labels=["queue"]
        )
        ready = GaugeMetricFamily("hotline_queue_ready_agents", "Ready agents", labels=["queue"])
        for name in engine.queue_names():
            status = engine.queue_status(name, now)
            waiting.add_metric([name], status.waiting)
            longest.add_metric([name], status.longest_wait)
            ready.add_metric([name], status.ready_agents)
        states = GaugeMetricFamily("hotline_agents", "Agents by state", labels=["state"])
        counts: dict[str, int] = {}
        for agent_id in engine.agent_ids():
            state = engine.agent_status(agent_id).state.value
            counts[state] = counts.get(state, 0) + 1
        for state, count in sorted(counts.items()):
            states.add_metric([state], count)
        yield from (waiting, longest, ready, states)


def metrics_registry(acd: AcdService) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(AcdCollector(acd))
    return registry


REGISTRY = web.AppKey("prometheus_registry", CollectorRegistry)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
