"""The composition root: builds every part of the service from the config, in one place.

Nothing else constructs services or reads configuration; each part gets what it needs as
keyword arguments (STYLE.md, point 8). The subscriptions between features are listed in
:func:`_wire_events`, so who reacts to what is visible here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from acd.engine import AcdEngine
from agent_desktop.app import build_web_app
from agent_desktop.settings import load_desktop_settings
from agent_desktop.wiring import build_desktop, sip_account_info
from hotline.accounts.audit import AuditLog
from hotline.accounts.credentials import SipCredentialStore
from hotline.accounts.service import AccountService
from hotline.acd_service import AcdService, engine_config
from hotline.bootstrap import ensure_accounts
from hotline.calls import CallManager
from hotline.config import HotlineConfig
from hotline.db.directory import sync_directory
from hotline.db.engine import Database
from hotline.db.migrate import upgrade_async
from hotline.db.store import EventStore
from hotline.ivr_control import IvrControl
from hotline.ivr_session import ListenerFactory
from hotline.jobs import DAY_SECONDS, Housekeeping, every
from hotline.notifier import Notifier
from hotline.telephony_service import TelephonyService
from ivr.flow import SwitchBoard
from ivr.flow_loader import FlowValidationError, load_flow
from ivr.listener import Listener, ListenerConfig
from prompts.catalogue import DEFAULT_DIR as PROMPTS_DIR
from prompts.catalogue import PromptCatalogue
from recordings.access import RecordingAccess
from recordings.catalog import RecordingCatalog
from recordings.policy import RecordingPolicy, RetentionPolicy
from recordings.qa import SamplingPolicy
from recordings.recorder import Recorder
from recordings.reviews import QaService
from recordings.scorecard import load_scorecard
from recordings.writer import ArchiveFormat, WriterSettings

ACD_EVENTS_MODULE = "acd.events"
DEFAULT_FLOW = Path(__file__).resolve().parent.parent / "ivr" / "flows" / "default.yaml"

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Service:
    """Everything one running instance owns; torn down in reverse order of building."""

    config: HotlineConfig
    database: Database
    store: EventStore
    notifier: Notifier
    accounts: AccountService
    credentials: SipCredentialStore
    acd: AcdService
    telephony: TelephonyService
    calls: CallManager
    ivr: IvrControl
    web_runner: web.AppRunner
    web_port: int
    # Passwords of accounts created at this start, already announced; kept for tests only.
    initial_passwords: dict[str, str]


def _wire_events(notifier: Notifier, store: EventStore) -> None:
    # Every ACD event is durably logged (SPEC-Q1 per-call records, SPEC-Q2 metrics); other
    # features' events (menu progress, desktop notices) are live-only.
    def persist(event: object) -> None:
        if type(event).__module__ != ACD_EVENTS_MODULE:
            return
        future = store.submit(event)
        future.add_done_callback(_log_store_failure)

    notifier.subscribe(None, persist)


def _log_store_failure(future: asyncio.Future[list[int]]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("an event could not be stored", exc_info=future.exception())


@contextlib.asynccontextmanager
async def build_service(
    config: HotlineConfig, *, announce: Callable[[str], None] = print
) -> AsyncIterator[Service]:
    loop = asyncio.get_running_loop()
    database = Database.open(config.database.url)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(database.close)
        await upgrade_async(database.engine)
        store = EventStore(database)
        stack.push_async_callback(store.close)
        notifier = Notifier()
        _wire_events(notifier, store)

        credentials = SipCredentialStore([config.sip.realm])
        await credentials.load(database.sessions)
        audit = AuditLog(database.sessions, time.time)
        accounts = AccountService(database.sessions, audit, time.time, credentials=credentials)
        initial_passwords = await ensure_accounts(
            accounts, database.sessions, config.acd, announce=announce
        )

        queues, agents = engine_config(config.acd)
        # The report and QA read queue thresholds and agents' teams from these tables.
        await sync_directory(database, queues, agents)
        engine = AcdEngine(queues, agents, rng=random.Random())
        acd = AcdService(engine, notifier, loop)
        stack.callback(acd.close)

        prompts = PromptCatalogue(config.prompts.directory or PROMPTS_DIR)
        flow_path = config.ivr.flow or DEFAULT_FLOW
        flow = load_flow(flow_path, prompts.ids())
        switches = SwitchBoard({"surge": config.ivr.emergency})
        recorder = Recorder(
            root=config.recordings.root,
            catalog=RecordingCatalog(database.sessions),
            policy=RecordingPolicy(
                percent_by_queue={q.name: q.record_percent for q in config.acd.queues},
                record_ivr=config.recordings.record_ivr,
            ),
            wall_clock=time.time,
            rng=random.Random(),
            settings=WriterSettings(archive_format=ArchiveFormat(config.recordings.archive_format)),
        )
        # A crash leaves at most the last second of a recording unwritten; repair the rest.
        await recorder.recover_at_startup()
        flusher = asyncio.create_task(recorder.run_flusher(loop.time), name="recordings")
        stack.callback(flusher.cancel)
        telephony = await TelephonyService.start(config, credentials=credentials)
        stack.push_async_callback(telephony.close)
        calls = CallManager(
            telephony=telephony,
            acd=acd,
            notifier=notifier,
            prompts=prompts,
            flow=flow,
            switches=switches,
            listener_factory=_listener_factory(config),
            default_queue=config.acd.default_queue,
            recorder=recorder,
            teams={a.number: a.team for a in config.acd.agents},
        )
        stack.push_async_callback(calls.close)
        ivr = IvrControl(
            flow_path=flow_path, known_prompts=prompts.ids(), calls=calls, switches=switches
        )

        desktop = await build_desktop(
            database=database,
            store=store,
            notifier=notifier,
            acd=acd,
            queues=queues,
            settings=load_desktop_settings(),
            sip=sip_account_info(config, telephony),
            clock=time.time,
        )
        recording_access = RecordingAccess(database.sessions, audit, time.time)
        qa = QaService(database.sessions, audit, time.time, load_scorecard())
        housekeeping = Housekeeping(
            sessions=database.sessions,
            access=recording_access,
            audit=audit,
            qa=qa,
            retention=RetentionPolicy(
                days_by_queue={q.name: q.retention_days for q in config.acd.queues}
            ),
            sampling=SamplingPolicy(),
        )
        for job, name in (
            (housekeeping.retention_once, "retention"),
            (housekeeping.sampling_once, "qa-sampling"),
        ):
            task = asyncio.create_task(every(DAY_SECONDS, job, name), name=name)
            stack.callback(task.cancel)
        app = build_web_app(
            accounts=accounts,
            acd=acd,
            notifier=notifier,
            calls=calls,
            desktop=desktop,
            recordings=recording_access,
            qa=qa,
            ivr=ivr,
            store=store,
        )
        runner = web.AppRunner(app)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, config.web.host, config.web.port)
        await site.start()
        web_port = _bound_port(site, config.web.port)

        yield Service(
            config=config,
            database=database,
            store=store,
            notifier=notifier,
            accounts=accounts,
            credentials=credentials,
            acd=acd,
            telephony=telephony,
            calls=calls,
            ivr=ivr,
            web_runner=runner,
            web_port=web_port,
            initial_passwords=initial_passwords,
        )


def _reload_flow(ivr: IvrControl) -> None:
    """SIGHUP: reload the voice menu; a bad file is reported and the old menu stays."""
    try:
        ivr.reload()
    except FlowValidationError as exc:
        log.error("flow reload refused, the menu is unchanged:\n%s", exc)


def _listener_factory(config: HotlineConfig) -> ListenerFactory:
    settings = ListenerConfig(
        silence_s=config.ivr.listener.silence_seconds,
        quiet_dbfs=config.ivr.listener.quiet_speech_dbfs,
    )

    def make(now: float) -> Listener:
        listener = Listener(settings)
        listener.start(now)
        return listener

    return make


def _bound_port(site: web.TCPSite, configured: int) -> int:
    server = site._server  # aiohttp exposes the bound sockets only here
    sockets = getattr(server, "sockets", None) or []
    return int(sockets[0].getsockname()[1]) if sockets else configured


async def run_service(config: HotlineConfig) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with build_service(config) as service:
        loop.add_signal_handler(signal.SIGHUP, _reload_flow, service.ivr)
        # Start-up objects (prompts, tables, modules) live for the whole run; freezing them
        # keeps full collections from scanning them (a 176 ms media stall at 500 calls → 52 ms,
        # bench/call_bench with BENCH_GC_FREEZE=1).
        gc.collect()
        gc.freeze()
        sip = service.telephony.describe()
        print(
            f"hotline: SIP on {sip}, web on http://{config.web.host}:{service.web_port}/, "
            f"database {config.database.url}",
            flush=True,
        )
        await stop.wait()
    print("hotline: stopped", flush=True)
