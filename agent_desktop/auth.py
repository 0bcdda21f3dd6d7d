"""Log in and out, change password, and find the principal behind a request."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agent_desktop.errors import BadRequest
from agent_desktop.keys import ACCOUNTS
from hotline.accounts.errors import SessionInvalid
from hotline.accounts.permissions import Principal

SESSION_COOKIE = "hotline_session"

routes = web.RouteTableDef()


def session_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SessionInvalid("log in first")
    return token


async def principal_of(request: web.Request) -> Principal:
    return await request.app[ACCOUNTS].principal(session_token(request), ip=request.remote)


async def json_body(request: web.Request) -> dict[str, Any]:
    body = await request.json()
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def text_field(body: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadRequest(f"field {name!r} must be a non-empty string")
    return value


def principal_json(principal: Principal) -> dict[str, Any]:
    return {
        "username": principal.username,
        "role": principal.role.value,
        "agent_number": principal.agent_number,
        "teams": sorted(principal.teams),
        "complaint_handler": principal.complaint_handler,
    }


@routes.post("/api/session")
async def login(request: web.Request) -> web.Response:
    body = await json_body(request)
    info = await request.app[ACCOUNTS].login(
        text_field(body, "username"), text_field(body, "password"), ip=request.remote
    )
    response = web.json_response(
        {
            "token": info.token,
            "password_change_required": info.password_change_required,
            "expires_at": info.expires_at,
            "principal": principal_json(info.principal),
        }
    )
    if info.token:
        response.set_cookie(SESSION_COOKIE, info.token, httponly=True, samesite="Strict")
    return response


@routes.delete("/api/session")
async def logout(request: web.Request) -> web.Response:
    await request.app[ACCOUNTS].logout(session_token(request))
    response = web.json_response({"ok": True})
    response.del_cookie(SESSION_COOKIE)
    return response


@routes.post("/api/password")
async def change_password(request: web.Request) -> web.Response:
    body = await json_body(request)
    await request.app[ACCOUNTS].change_password(
        session_token(request), text_field(body, "old_password"), text_field(body, "new_password")
    )
    return web.json_response({"ok": True})


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    return web.json_response(principal_json(await principal_of(request)))
