"""REST resources of the desktop pages: their config, the call pop, transfer, callbacks,
complaints, the wallboard and shift handover. Each handler validates, makes one service call,
and serialises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web

from acd.config import SkillLevel
from acd.states import NotReadyReason
from agent_desktop import complaints as rules
from agent_desktop.acd_api import CLOSING_PHRASES, to_json
from agent_desktop.auth import json_body, principal_of, text_field
from agent_desktop.callpop import CallDirectory
from agent_desktop.desk_services import (
    SUPERVISING,
    CallbackTasks,
    ComplaintService,
    HandoverService,
)
from agent_desktop.errors import BadRequest
from agent_desktop.keys import ACD, CALLS
from agent_desktop.settings import DesktopSettings
from agent_desktop.wallboard import Wallboard
from hotline.accounts.errors import PermissionDenied
from prompts.texts import PROMPTS_BY_ID, Language, PromptSettings

routes = web.RouteTableDef()

# Not-ready reasons an agent may pick; "missed calls" and "login" are set by the system.
AGENT_REASONS = tuple(
    r.value for r in NotReadyReason if r not in (NotReadyReason.MISSED_CALLS, NotReadyReason.LOGIN)
)
SCRIPT_PROMPTS = (
    "p4",
    "p9",
    "p10_prefix",
    "p10_suffix",
    "p12",
    *(p.lower() for p in CLOSING_PHRASES),
)


@dataclass(frozen=True, slots=True)
class SipAccountInfo:
    """What an agent types into a softphone; the password is their login password."""

    domain: str
    port: int
    transports: tuple[str, ...]
    realm: str


@dataclass(frozen=True, slots=True)
class DesktopServices:
    settings: DesktopSettings
    complaints: ComplaintService
    callbacks: CallbackTasks
    handover: HandoverService
    directory: CallDirectory
    wallboard: Wallboard
    sip: SipAccountInfo
    prompt_settings: PromptSettings = field(default_factory=PromptSettings)


DESKTOP = web.AppKey("desktop", DesktopServices)


def _script(services: DesktopServices) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for prompt_id in SCRIPT_PROMPTS:
        text = PROMPTS_BY_ID.get(prompt_id)
        if text is not None:
            out[prompt_id] = {
                lang.value: text.render(lang, services.prompt_settings) for lang in Language
            }
    return out


@routes.get("/api/desktop/config")
async def desktop_config(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    services = request.app[DESKTOP]
    engine = request.app[ACD].engine
    settings = services.settings
    return web.json_response(
        {
            "call_types": [label.model_dump() for label in settings.call_types],
            "hold_reasons": [label.model_dump() for label in settings.hold_reasons],
            "banned_phrases": list(settings.banned_phrases),
            "not_ready_reasons": list(AGENT_REASONS),
            "closing_phrases": list(CLOSING_PHRASES),
            "script": _script(services),
            "queues": engine.queue_names(),
            "agents": engine.agent_ids(),
            "service_level_target": settings.service_level_target,
            "sip": None
            if principal.agent_number is None
            else {
                "username": principal.agent_number,
                "auth_user": principal.agent_number,
                "domain": services.sip.domain,
                "port": services.sip.port,
                "transports": list(services.sip.transports),
                "realm": services.sip.realm,
            },
        }
    )


# --- calls ------------------------------------------------------------------------------------


@routes.get("/api/calls/{call_id}/pop")
async def call_pop(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    services = request.app[DESKTOP]
    info = services.directory.live(request.match_info["call_id"])
    if principal.role not in SUPERVISING and principal.agent_number not in (
        info.offered_to,
        info.agent_id,
    ):
        raise PermissionDenied("the pop shows a call to the agent it rings")
    return web.json_response(await services.directory.pop(info.call_id))


@routes.post("/api/calls/{call_id}/transfer")
async def transfer(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    number = principal.agent_number
    call_id = request.match_info["call_id"]
    if number is None or request.app[CALLS].active_call_of(number) != call_id:
        raise PermissionDenied(f"call {call_id} is not your call")
    body = await json_body(request)
    to_queue = body.get("to_queue") or None
    to_agent = body.get("to_agent") or None
    if (to_queue is None) == (to_agent is None):
        raise BadRequest("give exactly one of to_queue or to_agent")
    senior = body.get("senior") is True
    attended = body.get("attended") is True
    acd = request.app[ACD]
    acd.command(
        lambda now: acd.engine.transfer(
            call_id,
            now,
            to_queue=to_queue,
            to_agent=to_agent,
            attended=attended,
            min_level=SkillLevel.SENIOR if senior else SkillLevel.JUNIOR,
        )
    )
    return web.json_response({"call_id": call_id, "to_queue": to_queue, "to_agent": to_agent})


# --- callbacks --------------------------------------------------------------------------------


@routes.get("/api/callbacks")
async def list_callbacks(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    return web.json_response(await request.app[DESKTOP].callbacks.listing(principal))


@routes.post("/api/callbacks")
async def create_callback(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await json_body(request)
    task = await request.app[DESKTOP].callbacks.create(
        principal,
        call_id=text_field(body, "call_id"),
        number=text_field(body, "number"),
        queue=body.get("queue"),
        assigned_to=body.get("assigned_to"),
    )
    return web.json_response(task, status=201)


@routes.post("/api/callbacks/{task_id}/done")
async def callback_done(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await json_body(request)
    task = await request.app[DESKTOP].callbacks.complete(
        principal,
        _int(request, "task_id"),
        text_field(body, "outcome"),
        text_field(body, "note", required=False),
    )
    return web.json_response(task)


# --- complaints -------------------------------------------------------------------------------


def _int(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise BadRequest(f"{name} must be a number") from None


def _enum(body: dict[str, Any], name: str, kind: type[StrEnum]) -> Any:
    try:
        return kind(text_field(body, name))
    except ValueError:
        raise BadRequest(f"{name} must be one of {[k.value for k in kind]}") from None


@routes.get("/api/complaints")
async def list_complaints(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    open_only = request.query.get("open") == "1"
    return web.json_response(
        await request.app[DESKTOP].complaints.listing(principal, open_only=open_only)
    )


@routes.post("/api/complaints")
async def register_complaint(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await json_body(request)
    view = await request.app[DESKTOP].complaints.register(
        principal,
        call_id=body.get("call_id") or None,
        caller_number=text_field(body, "caller_number", required=False),
        caller_name=text_field(body, "caller_name", required=False),
        kind=_enum(body, "kind", rules.ComplaintKind),
        klass=_enum(body, "klass", rules.ComplaintClass),
        description=text_field(body, "description"),
    )
    return web.json_response(view, status=201)


@routes.get("/api/complaints/{complaint_id}")
async def get_complaint(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    return web.json_response(
        await request.app[DESKTOP].complaints.get(principal, _int(request, "complaint_id"))
    )


@routes.post("/api/complaints/{complaint_id}/actions")
async def complaint_action(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await json_body(request)
    view = await request.app[DESKTOP].complaints.act(
        principal,
        _int(request, "complaint_id"),
        _enum(body, "action", rules.ComplaintAction),
        text_field(body, "note", required=False),
    )
    return web.json_response(view)


# --- wallboard and handover -------------------------------------------------------------------


@routes.get("/api/wallboard")
async def wallboard(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    if principal.role not in SUPERVISING:
        raise PermissionDenied("the wallboard is for supervisors and team leads")
    services = request.app[DESKTOP]
    snapshot = services.wallboard.snapshot(request.app[ACD].now())
    tasks = await services.callbacks.open_call_ids()
    for row in snapshot["abandoned"]:
        row["callback_set"] = row["call_id"] in tasks
    overdue = [
        c
        for c in await services.complaints.listing(principal, open_only=True)
        if c["urgency"] == rules.Urgency.OVERDUE.value
    ]
    snapshot["overdue_complaints"] = len(overdue)
    return web.json_response(to_json(snapshot))


@routes.get("/api/handover")
async def list_handover(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    return web.json_response(await request.app[DESKTOP].handover.listing(principal))


@routes.post("/api/handover")
async def post_handover(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await json_body(request)
    items = body.get("open_items", [])
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise BadRequest("open_items must be a list of strings")
    note = await request.app[DESKTOP].handover.post(
        principal, shift=text_field(body, "shift"), body=text_field(body, "body"), open_items=items
    )
    return web.json_response(note, status=201)


@routes.post("/api/handover/{note_id}/ack")
async def ack_handover(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    note = await request.app[DESKTOP].handover.acknowledge(principal, _int(request, "note_id"))
    return web.json_response(note)
