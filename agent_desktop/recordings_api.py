"""HTTP resources for recordings: the list within the principal's scope and playback with
Range requests so a player can seek. Authorisation and auditing are ``recordings.access``'s
(SPEC-R2, R4); this file only translates.
"""

from __future__ import annotations

from aiohttp import web

from agent_desktop.acd_api import to_json
from agent_desktop.auth import principal_of
from agent_desktop.errors import BadRequest
from recordings.access import ListFilter, Playback, RecordingAccess
from recordings.ranges import RangeNotSatisfiable, parse_range

routes = web.RouteTableDef()

RECORDINGS = web.AppKey("recordings", RecordingAccess)
# Bytes per write when streaming a recording: 64 KiB is 4 s of 8 kHz stereo 16-bit audio.
CHUNK_BYTES = 64 * 1024


@routes.get("/api/recordings")
async def list_recordings(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        raise BadRequest("limit must be a number") from None
    views = await request.app[RECORDINGS].list(
        principal,
        ListFilter(
            agent_number=request.query.get("agent"), queue=request.query.get("queue"), limit=limit
        ),
    )
    return web.json_response(to_json(views))


@routes.get("/api/recordings/{call_id}/audio")
async def listen(request: web.Request) -> web.StreamResponse:
    principal = await principal_of(request)
    playback = await request.app[RECORDINGS].listen(
        principal, request.match_info["call_id"], request.query.get("reason")
    )
    return await _stream(request, playback)


async def _stream(request: web.Request, playback: Playback) -> web.StreamResponse:
    try:
        wanted = parse_range(request.headers.get("Range"), playback.size)
    except RangeNotSatisfiable as exc:
        return web.Response(status=416, headers={"Content-Range": exc.content_range})
    start, length = (0, playback.size) if wanted is None else (wanted.start, wanted.length)
    response = web.StreamResponse(status=200 if wanted is None else 206)
    response.content_type = playback.content_type
    response.content_length = length
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = "no-store"  # an audited listen is not cached (R2)
    if wanted is not None:
        response.headers["Content-Range"] = wanted.content_range
    await response.prepare(request)
    with playback.path.open("rb") as audio:
        audio.seek(start)
        left = length
        while left > 0:
            chunk = audio.read(min(CHUNK_BYTES, left))
            if not chunk:
                break
            left -= len(chunk)
            await response.write(chunk)
    await response.write_eof()
    return response
