"""HTTP resources for QA: the reviewer's work list, the scorecard and submitting a score with
time-stamped notes (SPEC-R1). Authorisation and auditing are ``recordings.reviews``'s.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agent_desktop.acd_api import to_json
from agent_desktop.auth import json_body, principal_of, text_field
from agent_desktop.errors import BadRequest
from recordings.reviews import QaService
from recordings.scorecard import Note

routes = web.RouteTableDef()

QA = web.AppKey("qa", QaService)


@routes.get("/api/qa/work")
async def work_list(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    rows = await request.app[QA].open_work(principal)
    return web.json_response(
        [
            {
                "call_id": r.call_id,
                "agent_number": r.agent_number,
                "team": r.team,
                "queue": r.queue,
                "reasons": list(r.reasons or []),
                "created_at": r.created_at,
            }
            for r in rows
        ]
    )


@routes.get("/api/qa/scorecard")
async def scorecard(request: web.Request) -> web.Response:
    await principal_of(request)
    return web.json_response(request.app[QA].scorecard.model_dump(mode="json"))


def _notes(raw: Any) -> list[Note]:
    if not isinstance(raw, list):
        raise BadRequest("notes must be a list")
    notes = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise BadRequest("each note needs offset_s and text")
        offset = item.get("offset_s")
        if isinstance(offset, bool) or not isinstance(offset, int | float):
            raise BadRequest("a note's offset_s must be a number of seconds")
        criterion = item.get("criterion")
        notes.append(Note(float(offset), item["text"], criterion if criterion else None))
    return notes


@routes.post("/api/qa/scores")
async def submit_score(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await json_body(request)
    answers = body.get("answers")
    if not isinstance(answers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in answers.items()
    ):
        raise BadRequest("answers must map criterion ids to met, not_met or n/a")
    view = await request.app[QA].submit_score(
        principal,
        text_field(body, "call_id"),
        answers,
        comments=text_field(body, "comments", required=False),
        notes=_notes(body.get("notes", [])),
    )
    return web.json_response(to_json(view), status=201)


@routes.get("/api/qa/scores")
async def list_scores(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    return web.json_response(to_json(await request.app[QA].scores(principal)))
