"""REST resources for agents and queues: state control, hold, wrap-up, closing phrases, status.

Each handler validates, makes one service call, and serialises (the Wazo resource shape).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from aiohttp import web

from acd.states import AgentState, NotReadyReason
from agent_desktop.auth import json_body, principal_of, text_field
from agent_desktop.errors import BadRequest
from agent_desktop.keys import ACD, CALLS
from hotline.accounts.errors import PermissionDenied
from hotline.accounts.permissions import Principal, Role

routes = web.RouteTableDef()

# Closing phrases an agent may trigger (SPEC-P5 … P8); the caller hears it, then the service
# ends the call (SPEC-Q7: never the agent).
CLOSING_PHRASES = ("P5", "P6", "P7a", "P7b", "P8")
_SUPERVISING = frozenset({Role.TEAM_LEAD, Role.SUPERVISOR, Role.ADMIN})


def to_json(value: Any) -> Any:
    """Frozen dataclasses, enums and tuples as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple, frozenset, set)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def _may_control(principal: Principal, agent_number: str) -> None:
    if principal.agent_number == agent_number or principal.role in _SUPERVISING:
        return
    raise PermissionDenied(f"{principal.username} may not act for agent {agent_number}")


def _own_agent(principal: Principal) -> str:
    if principal.agent_number is None:
        raise PermissionDenied("only an agent account handles calls")
    return principal.agent_number


@routes.get("/api/agents")
async def list_agents(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    engine = request.app[ACD].engine
    numbers = engine.agent_ids()
    if principal.role not in _SUPERVISING and principal.role is not Role.QA:
        numbers = [n for n in numbers if n == principal.agent_number]
    return web.json_response([to_json(engine.agent_status(n)) for n in numbers])


@routes.post("/api/agents/{number}/state")
async def set_agent_state(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    number = request.match_info["number"]
    _may_control(principal, number)
    body = await json_body(request)
    wanted = text_field(body, "state")
    acd = request.app[ACD]
    engine = acd.engine
    current = engine.agent_status(number).state
    if wanted == "ready":
        if current is AgentState.LOGGED_OUT:
            acd.command(lambda now: engine.agent_login(number, now, ready=True))
        else:
            acd.command(lambda now: engine.agent_ready(number, now))
    elif wanted == "not_ready":
        try:
            reason = NotReadyReason(text_field(body, "reason"))
        except ValueError:
            raise BadRequest(f"reason must be one of {[r.value for r in NotReadyReason]}") from None
        if current is AgentState.LOGGED_OUT:
            acd.command(lambda now: engine.agent_login(number, now))
        acd.command(lambda now: engine.agent_not_ready(number, reason, now))
    elif wanted == "logged_out":
        acd.command(lambda now: engine.agent_logout(number, now))
    else:
        raise BadRequest("state must be ready, not_ready or logged_out")
    return web.json_response(to_json(engine.agent_status(number)))


@routes.post("/api/agents/{number}/wrapup")
async def submit_wrapup(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    number = request.match_info["number"]
    if principal.agent_number != number:
        raise PermissionDenied("agents submit their own wrap-up (SPEC-Q6)")
    body = await json_body(request)
    resolved = body.get("resolved")
    if not isinstance(resolved, bool):
        raise BadRequest("field 'resolved' must be true or false")
    acd = request.app[ACD]
    acd.command(
        lambda now: acd.engine.wrapup_submitted(
            number,
            now,
            call_type=text_field(body, "call_type"),
            summary=text_field(body, "summary"),
            resolved=resolved,
        )
    )
    return web.json_response(to_json(acd.engine.agent_status(number)))


@routes.post("/api/calls/{call_id}/hold")
async def hold(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    _own_agent(principal)
    body = await json_body(request)
    call_id = request.match_info["call_id"]
    reason = text_field(body, "reason")  # SPEC-Q5: a hold needs a stated reason
    acd = request.app[ACD]
    acd.command(lambda now: acd.engine.hold(call_id, reason, now))
    return web.json_response({"call_id": call_id, "on_hold": True})


@routes.post("/api/calls/{call_id}/unhold")
async def unhold(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    _own_agent(principal)
    call_id = request.match_info["call_id"]
    acd = request.app[ACD]
    acd.command(lambda now: acd.engine.unhold(call_id, now))
    return web.json_response({"call_id": call_id, "on_hold": False})


@routes.post("/api/calls/{call_id}/close")
async def close_call(request: web.Request) -> web.Response:
    call_id = await _own_call(request)
    phrase = text_field(await json_body(request), "phrase")
    if phrase not in CLOSING_PHRASES:
        raise BadRequest(f"phrase must be one of {list(CLOSING_PHRASES)}")
    request.app[CALLS].close_call(call_id, phrase)
    return web.json_response({"call_id": call_id, "closing": phrase})


@routes.post("/api/calls/{call_id}/recording/pause")
async def pause_recording(request: web.Request) -> web.Response:
    """Card numbers and other sensitive data: nothing is kept until resumed (issue 6)."""
    call_id = await _own_call(request)
    reason = text_field(await json_body(request), "reason")
    request.app[CALLS].pause_recording(call_id, reason)
    return web.json_response({"call_id": call_id, "recording": "paused"})


@routes.post("/api/calls/{call_id}/recording/resume")
async def resume_recording(request: web.Request) -> web.Response:
    call_id = await _own_call(request)
    request.app[CALLS].resume_recording(call_id)
    return web.json_response({"call_id": call_id, "recording": "recording"})


async def _own_call(request: web.Request) -> str:
    number = _own_agent(await principal_of(request))
    call_id = request.match_info["call_id"]
    if request.app[CALLS].active_call_of(number) != call_id:
        raise PermissionDenied(f"call {call_id} is not agent {number}'s call")
    return call_id


@routes.get("/api/queues")
async def list_queues(request: web.Request) -> web.Response:
    await principal_of(request)
    acd = request.app[ACD]
    now = acd.now()
    return web.json_response(
        [to_json(acd.engine.queue_status(name, now)) for name in acd.engine.queue_names()]
    )
