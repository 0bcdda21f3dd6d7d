"""Operations: the voice menu (reload, surge switch) and SPEC-Q2 history by query."""

from __future__ import annotations

import datetime
from typing import Any

from aiohttp import web

from acd import metrics
from agent_desktop.acd_api import to_json
from agent_desktop.auth import json_body, principal_of
from agent_desktop.errors import BadRequest
from hotline.accounts.errors import PermissionDenied
from hotline.accounts.permissions import Principal, Role
from hotline.db.history import load_call_records
from hotline.db.store import EventStore
from hotline.ivr_control import IvrControl

IVR = web.AppKey("ivr", IvrControl)
STORE = web.AppKey("event_store", EventStore)

routes = web.RouteTableDef()

_OPERATORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
_VIEWERS = frozenset({Role.TEAM_LEAD, Role.QA, Role.SUPERVISOR, Role.ADMIN})
INTERVALS = {"15m": metrics.QUARTER_HOUR, "1h": 3600.0, "1d": 86400.0}


def _require(principal: Principal, roles: frozenset[Role], what: str) -> None:
    if principal.role not in roles:
        raise PermissionDenied(f"{principal.role.value} may not {what}")


@routes.get("/api/ivr")
async def ivr_status(request: web.Request) -> web.Response:
    _require(await principal_of(request), _VIEWERS, "see the voice menu settings")
    return web.json_response(request.app[IVR].status())


@routes.post("/api/ivr/reload")
async def ivr_reload(request: web.Request) -> web.Response:
    _require(await principal_of(request), _OPERATORS, "reload the voice menu")
    name = request.app[IVR].reload()  # FlowValidationError → 422 with file, line, node
    return web.json_response({"reloaded": name})


@routes.post("/api/ivr/switches/{name}")
async def ivr_switch(request: web.Request) -> web.Response:
    _require(await principal_of(request), _OPERATORS, "flip operator switches")
    body = await json_body(request)
    on = body.get("on")
    if not isinstance(on, bool):
        raise BadRequest("field 'on' must be true or false")
    request.app[IVR].set_switch(request.match_info["name"], on)
    return web.json_response(request.app[IVR].status())


def _time(value: str | None, name: str) -> float:
    if value is None:
        raise BadRequest(f"query parameter {name!r} is required (ISO 8601 or epoch seconds)")
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name}={value!r} is not ISO 8601 or epoch seconds") from None
    if parsed.tzinfo is None:
        raise BadRequest(f"{name}={value!r} needs a UTC offset, e.g. +08:00")
    return parsed.timestamp()


@routes.get("/api/metrics")
async def metrics_history(request: web.Request) -> web.Response:
    """SPEC-Q2 figures from the stored call records: ?from=&to=[&queue=][&interval=15m]."""
    _require(await principal_of(request), _VIEWERS, "read service-level history")
    query = request.query
    start, end = _time(query.get("from"), "from"), _time(query.get("to"), "to")
    if end <= start:
        raise BadRequest("'to' must be after 'from'")
    queue = query.get("queue")
    records = await load_call_records(request.app[STORE], start, end, queue=queue)
    body: dict[str, Any] = {
        "from": start,
        "to": end,
        "queue": queue,
        "total": to_json(metrics.compute(records)),
        "by_queue": to_json(metrics.by_queue(records)),
    }
    interval = query.get("interval")
    if interval is not None:
        if interval not in INTERVALS:
            raise BadRequest(f"interval must be one of {sorted(INTERVALS)}")
        body["by_interval"] = to_json(metrics.by_interval(records, INTERVALS[interval]))
    return web.json_response(body)
