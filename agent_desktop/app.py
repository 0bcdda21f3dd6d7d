"""The aiohttp application: route tables, middleware, pages, and the services it is handed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from agent_desktop import acd_api, auth, desk_api, live, ops_api, qa_api, recordings_api
from agent_desktop.desk_api import DESKTOP, DesktopServices
from agent_desktop.errors import domain_errors
from agent_desktop.keys import ACCOUNTS, ACD, CALLS, NOTIFIER, CallControlPort
from agent_desktop.wiring import escalation_loop
from hotline.accounts.service import AccountService
from hotline.acd_service import AcdService
from hotline.db.store import EventStore
from hotline.ivr_control import IvrControl
from hotline.notifier import Notifier
from recordings.access import RecordingAccess
from recordings.reviews import QaService

STATIC = Path(__file__).resolve().parent / "static"
# Page paths and their files: plain HTML + JS modules, no build step.
PAGES = {
    "/": "index.html",
    "/wallboard": "wallboard.html",
    "/complaints": "complaints.html",
    "/handover": "handover.html",
    "/recordings": "recordings.html",
    "/qa": "qa.html",
}


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def _page(name: str) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    async def serve(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})

    return serve


def build_web_app(
    *,
    accounts: AccountService,
    acd: AcdService,
    notifier: Notifier,
    calls: CallControlPort,
    desktop: DesktopServices | None = None,
    recordings: RecordingAccess | None = None,
    qa: QaService | None = None,
    ivr: IvrControl | None = None,
    store: EventStore | None = None,
) -> web.Application:
    app = web.Application(middlewares=[domain_errors])
    app[ACCOUNTS] = accounts
    app[ACD] = acd
    app[NOTIFIER] = notifier
    app[CALLS] = calls
    app[live.REGISTRY] = live.metrics_registry(acd)
    app.router.add_get("/healthz", health)
    app.add_routes(auth.routes)
    app.add_routes(acd_api.routes)
    app.add_routes(live.routes)
    if desktop is not None:
        app[DESKTOP] = desktop
        app.add_routes(desk_api.routes)
        app.cleanup_ctx.append(escalation_loop)
    if recordings is not None:
        app[recordings_api.RECORDINGS] = recordings
        app.add_routes(recordings_api.routes)
    if qa is not None:
        app[qa_api.QA] = qa
        app.add_routes(qa_api.routes)
    if ivr is not None:
        app[ops_api.IVR] = ivr
    if store is not None:
        app[ops_api.STORE] = store
    if ivr is not None or store is not None:
        app.add_routes(ops_api.routes)
    for path, name in PAGES.items():
        app.router.add_get(path, _page(name))
    app.router.add_static("/static/", STATIC)
    return app
