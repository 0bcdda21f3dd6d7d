"""Builds the desktop's services for the composition root, and runs the escalation check.

``hotline.app`` calls :func:`build_desktop` once; everything the desktop subscribes to on
the notifier is listed here, so who reacts to what is visible in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence

from aiohttp import web

from acd.config import QueueConfig
from agent_desktop.callpop import CallDirectory
from agent_desktop.desk_api import DESKTOP, DesktopServices, SipAccountInfo
from agent_desktop.desk_services import CallbackTasks, ComplaintService, HandoverService
from agent_desktop.settings import DesktopSettings
from agent_desktop.wallboard import Wallboard
from hotline.acd_service import AcdService
from hotline.config import HotlineConfig
from hotline.db.engine import Database
from hotline.db.store import EventStore
from hotline.notifier import Notifier
from hotline.telephony_service import TelephonyService
from telephony.sip.address import TransportKind

log = logging.getLogger(__name__)

# How often overdue complaints are looked for (SPEC-C2 escalation). Due dates are whole hours
# or day ends; a minute late is well inside what "escalated" means to a supervisor.
ESCALATION_CHECK_SECONDS = 60.0


async def build_desktop(
    *,
    database: Database,
    store: EventStore,
    notifier: Notifier,
    acd: AcdService,
    queues: Sequence[QueueConfig],
    settings: DesktopSettings,
    sip: SipAccountInfo,
    clock: Callable[[], float],
) -> DesktopServices:
    sessions = database.sessions
    complaints = ComplaintService(sessions, settings.calendar(), clock, notifier.emit)
    wallboard = Wallboard(acd, queues, service_level_target=settings.service_level_target)
    await wallboard.load(store)
    notifier.subscribe(None, wallboard.feed)  # every ACD event moves the board
    return DesktopServices(
        settings=settings,
        complaints=complaints,
        callbacks=CallbackTasks(sessions, clock, notifier.emit),
        handover=HandoverService(sessions, clock, notifier.emit),
        directory=CallDirectory(notifier, sessions, complaints, clock),
        wallboard=wallboard,
        sip=sip,
    )


def sip_account_info(config: HotlineConfig, telephony: TelephonyService) -> SipAccountInfo:
    """The registrar an agent's softphone points at: the first transport's bound address."""
    kind = TransportKind(config.sip.transports[0])
    local = telephony.ua.endpoint.local_address(kind)
    return SipAccountInfo(
        domain=config.sip.advertised_host or local.host_for_uri,
        port=local.port,
        transports=tuple(config.sip.transports),
        realm=config.sip.realm,
    )


async def escalation_loop(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context: checks for overdue complaints while the app runs."""

    async def run() -> None:
        while True:
            try:
                await app[DESKTOP].complaints.escalate_overdue()
            except Exception:
                log.exception("the complaint escalation check failed")
            await asyncio.sleep(ESCALATION_CHECK_SECONDS)

    task = asyncio.create_task(run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
