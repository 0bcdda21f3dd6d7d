"""The aiohttp application: route tables, middleware, and the services it is handed."""

from __future__ import annotations

from aiohttp import web

from agent_desktop import acd_api, auth, live
from agent_desktop.errors import domain_errors
from agent_desktop.keys import ACCOUNTS, ACD, CALLS, NOTIFIER, CallControlPort
from hotline.accounts.service import AccountService
from hotline.acd_service import AcdService
from hotline.notifier import Notifier


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def build_web_app(
    *,
    accounts: AccountService,
    acd: AcdService,
    notifier: Notifier,
    calls: CallControlPort,
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
    return app
