"""Maps domain errors to HTTP answers, so services never know about HTTP (STYLE.md, point 10)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from acd.states import AcdError
from agent_desktop.complaints import CalendarError, ComplaintStateError
from hotline.accounts.errors import (
    AccountLocked,
    AuthenticationFailed,
    ConcurrentSession,
    Conflict,
    DomainError,
    NotFound,
    PasswordChangeRequired,
    PermissionDenied,
    ReasonRequired,
    SessionInvalid,
)
from ivr.flow_loader import FlowValidationError

log = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (AuthenticationFailed, 401, "authentication_failed"),
    (SessionInvalid, 401, "session_invalid"),
    (PasswordChangeRequired, 403, "password_change_required"),
    (PermissionDenied, 403, "permission_denied"),
    (NotFound, 404, "not_found"),
    (ConcurrentSession, 409, "concurrent_session"),
    (Conflict, 409, "conflict"),
    (AccountLocked, 423, "account_locked"),
    (ReasonRequired, 422, "reason_required"),
    (DomainError, 400, "bad_request"),
    (AcdError, 409, "acd_refused"),
)


class BadRequest(Exception):
    """The request body or parameters are malformed."""


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


@web.middleware
async def domain_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except BadRequest as exc:
        return error_response(400, "bad_request", str(exc))
    except ComplaintStateError as exc:
        return error_response(409, "complaint_state", str(exc))
    except CalendarError as exc:
        return error_response(500, "calendar", str(exc))
    except json.JSONDecodeError as exc:
        return error_response(400, "bad_json", f"request body is not JSON: {exc.msg}")
    except FlowValidationError as exc:
        # A bad flow file: the menu stays as it was; the operator sees file, line and node.
        return error_response(422, "invalid_flow", str(exc))
    except (DomainError, AcdError) as exc:
        for kind, status, code in _STATUS:
            if isinstance(exc, kind):
                return error_response(status, code, str(exc))
        raise  # pragma: no cover - every DomainError matches the last rows
