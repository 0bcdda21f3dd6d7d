"""`hotline sim --live`: real SIP calls at a running Hotline over 127.0.0.1, bounded in calls
and time, and SPEC-Q2's service level and ASA from both sides.

The service's side is its own: every ACD event of the run, streamed from GET /api/events, goes
through `acd.records.RecordBuilder` and `acd.metrics.compute` — the code behind the wallboard
and `hotline report` — restricted to this run's callers (each has its own number). With a
supervisor login the wallboard's "today" figures before and after the run are read as well.

The callers' side: a caller enters the queue when it sends its last menu key (plus the prompts
the flow plays after that key) and is answered when the SPEC-P10 greeting starts arriving
(sim/live_audio.py says why that is the service's moment of answer). So both sides time the
same interval and differ only by transport and pacing: see `AGREEMENT_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp

from acd.config import DEFAULT_SERVICE_LEVEL_SECONDS, DEFAULT_SHORT_ABANDON_SECONDS, QueueConfig
from acd.events import AcdEvent
from acd.records import CallRecord, RecordBuilder
from hotline.app import DEFAULT_FLOW
from ivr.flow_loader import load_flow
from prompts.catalogue import PromptCatalogue
from sim.live_audio import Pcm, agent_greeting_template, default_speech
from sim.live_compare import (
    AGREEMENT_SECONDS,
    CROSSING_WINDOW,
    CallComparison,
    SideFigures,
    Verdict,
    compare,
    measured_figures,
    service_figures,
    wallboard_delta,
)
from sim.live_parties import (
    AgentTimes,
    CallerContext,
    CallerOutcome,
    CallerPlan,
    CallerResult,
    MenuTiming,
    SimAgent,
    menu_timing,
    run_caller,
)
from sim.live_sip import Registration, registrar_peer
from sim.live_web import LiveError, Login, WebClient, gauge_totals
from sim.model import Distribution
from telephony.media.engine import MediaEngine
from telephony.media.ports import PortAllocator
from telephony.sip.digest import ClientCredentials
from telephony.sip.uri import SipUri
from telephony.sip.useragent import UserAgent

# Calls start within --duration; every call is over this long after that at the latest (a
# caller hangs up then, whatever it waits for): room for the menu (~10 s), a long queue wait,
# P10, a talk time far in an exponential's tail and the survey. Scaled up with --time-scale > 1.
OVERTIME_SECONDS: Final = 420.0
# After the last caller is done, wait at most this long for the service's call records (a
# record is complete once the agent's wrap-up is in).
RECORDS_GRACE_SECONDS: Final = 10.0
# The numbers callers ring from: one per call, so the service's records name the caller.
CALLER_PREFIX: Final = "139"
HOTLINE_USER: Final = "1000"


@dataclass(frozen=True, slots=True)
class AgentLogin:
    number: str
    password: str


@dataclass(frozen=True, slots=True)
class LiveConfig:
    sip_host: str
    sip_port: int
    web_url: str
    agents: tuple[AgentLogin, ...]
    calls: int
    rate_per_hour: float  # offered calls per hour before scaling
    duration: float  # wall seconds: no new call after this; the run ends by duration + bounds
    talk: Distribution
    patience: Distribution | None
    ring_delay: Distribution | None
    wrapup_time: Distribution | None
    time_scale: float = 1.0  # multiplies talk, patience, ring delay, wrap-up, inter-arrival
    digits: tuple[str, ...] = ("1", "1")  # 中文, billing (the default flow)
    survey_keys: tuple[str, ...] = ("1", "2", "3")
    survey_hangup: float = 0.0  # chance a caller hangs up at the survey instead
    supervisor: AgentLogin | None = None
    queues: tuple[QueueConfig, ...] = ()  # thresholds for the records (service's config)
    flow: Path = DEFAULT_FLOW
    seed: int = 1
    rtp_ports: tuple[int, int] = (40000, 40998)
    speech: Pcm | None = None
    database_url: str | None = None  # the service's database: `hotline report`'s figures too


@dataclass(slots=True)
class LiveReport:
    config: LiveConfig
    threshold: float
    callers: list[CallerResult]
    agents: list[dict[str, Any]]
    records: list[CallRecord]
    service: SideFigures
    measured: SideFigures
    calls: list[CallComparison]
    wallboard: dict[str, Any] | None
    database: SideFigures | None  # from the service's event log, as `hotline report` reads it
    gauges_after: dict[str, float]  # GET /metrics after the run, summed over labels
    password_changes: dict[str, str]
    wall_seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def per_call_differences(self) -> list[float]:
        """Caller wait − service wait (to the answer or the hang-up) of comparable calls."""
        return [
            c.difference
            for c in self.calls
            if c.verdict in (Verdict.AGREE, Verdict.APART) and c.difference is not None
        ]

    @property
    def max_difference(self) -> float | None:
        return max((abs(d) for d in self.per_call_differences), default=None)

    def count(self, verdict: Verdict) -> int:
        return sum(1 for c in self.calls if c.verdict is verdict)

    @property
    def agree(self) -> bool:
        """Every call the caller completed has the same outcome on both sides (or crossed)
        and waits within AGREEMENT_SECONDS."""
        bad = (Verdict.APART, Verdict.DIFFERENT, Verdict.NO_RECORD)
        return not any(c.verdict in bad for c in self.calls)


def _sampler(dist: Distribution | None, rng: random.Random, scale: float) -> Callable[[], float]:
    if dist is None:
        return lambda: 0.0
    return lambda: max(0.0, dist.sample(rng) * scale)


async def _start_agent(
    login: AgentLogin,
    config: LiveConfig,
    http: aiohttp.ClientSession,
    engine: MediaEngine,
    times: AgentTimes,
) -> tuple[SimAgent, Registration, Login]:
    web = WebClient(http, config.web_url)
    info = await web.login(login.number, login.password)
    ua = await UserAgent.start([("udp", config.sip_host, 0)], user=login.number)
    registration = Registration(
        ua,
        registrar_peer(config.sip_host, config.sip_port),
        login.number,
        ClientCredentials(login.number, info.password),
    )
    try:
        await registration.register()
        await web.set_state(login.number, "ready")
    except BaseException:
        # Leave no web session behind: the service refuses a second one (SPEC-R3).
        with contextlib.suppress(Exception):
            await web.logout()
        await ua.close()
        raise
    return SimAgent(login.number, ua, engine, web, times), registration, info


async def _stop_agent(agent: SimAgent, registration: Registration) -> list[str]:
    problems: list[str] = []
    for step in (
        lambda: agent.web.set_state(agent.number, "logged_out"),
        registration.unregister,
        agent.web.logout,
    ):
        try:
            await asyncio.wait_for(step(), timeout=5.0)
        except (LiveError, TimeoutError, OSError) as exc:
            problems.append(f"agent {agent.number} clean-up: {exc}")
    await agent.ua.close()
    return problems


async def run_live(
    config: LiveConfig, *, progress: Callable[[int, int], None] | None = None
) -> LiveReport:
    """Run the calls; returns when every call is over (bounded by duration and timeouts)."""
    if not config.agents:
        raise LiveError("give at least one agent (--agents number:password)")
    if config.calls < 1 or not config.rate_per_hour > 0 or not config.time_scale > 0:
        raise LiveError("calls, rate and time scale must be positive")
    began = time.monotonic()
    began_wall = time.time()
    rng = random.Random(config.seed)
    scale = config.time_scale
    catalogue = PromptCatalogue()
    flow = load_flow(config.flow, catalogue.ids())
    timing = menu_timing(flow, catalogue, config.digits)
    thresholds = {q.name: q.service_level_seconds for q in config.queues}
    threshold = thresholds.get(timing.queue, DEFAULT_SERVICE_LEVEL_SECONDS)
    short_abandon = next(
        (q.short_abandon_seconds for q in config.queues if q.name == timing.queue),
        DEFAULT_SHORT_ABANDON_SECONDS,
    )
    builder = RecordBuilder(config.queues)
    records: list[CallRecord] = []

    def on_event(event: AcdEvent) -> None:
        records.extend(builder.feed([event]))

    problems: list[str] = []
    password_changes: dict[str, str] = {}
    low, high = config.rtp_ports
    engine = MediaEngine(ports=PortAllocator(low, high), host=config.sip_host)
    await engine.start()
    callers_ua = await UserAgent.start([("udp", config.sip_host, 0)], user="simcaller")
    async with aiohttp.ClientSession() as http, contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(engine.stop)
        stack.push_async_callback(callers_ua.close)
        agents: list[tuple[SimAgent, Registration]] = []
        tasks: list[asyncio.Task[None]] = []
        supervisor: WebClient | None = None
        board_before: dict[str, Any] | None = None
        try:
            for login in config.agents:
                times = AgentTimes(
                    _sampler(config.ring_delay, rng, scale),
                    _sampler(config.talk, rng, scale),
                    _sampler(config.wrapup_time, rng, scale),
                )
                agent, registration, info = await _start_agent(login, config, http, engine, times)
                agents.append((agent, registration))
                if info.changed_from is not None:
                    password_changes[login.number] = info.password
            if config.supervisor is not None:
                supervisor = WebClient(http, config.web_url)
                info = await supervisor.login(config.supervisor.number, config.supervisor.password)
                if info.changed_from is not None:
                    password_changes[config.supervisor.number] = info.password
                board_before = await supervisor.wallboard()
            connected = asyncio.Event()
            stream = asyncio.ensure_future(agents[0][0].web.stream_events(on_event, connected))
            tasks.append(stream)
            await asyncio.wait_for(connected.wait(), timeout=5.0)
            tasks.extend(asyncio.ensure_future(a.run()) for a, _ in agents)
            tasks.extend(asyncio.ensure_future(r.keep_registered()) for _, r in agents)

            callers = await _place_calls(
                config, rng, callers_ua, engine, timing, catalogue, progress
            )
            await _await_records(records, callers, agents)
            board_after = await supervisor.wallboard() if supervisor is not None else None
            # The service should be idle again: nobody waiting, no agent stuck in a call.
            gauges = gauge_totals(await agents[0][0].web.metrics_text())
        finally:
            if supervisor is not None:
                with contextlib.suppress(LiveError):
                    await supervisor.logout()
            for task in tasks:
                task.cancel()
            for agent, registration in agents:
                problems.extend(await _stop_agent(agent, registration))
    ours = {c.number for c in callers}
    records = [r for r in records if r.caller in ours]
    database = None
    if config.database_url is not None:
        settled = {c.number for c in callers if c.outcome is not CallerOutcome.FAILED}
        stored = await database_records(config.database_url, began_wall, config.queues, settled)
        database = service_figures([r for r in stored if r.caller in ours])
    wallboard = (
        wallboard_delta(board_before, board_after)
        if board_before is not None and board_after is not None
        else None
    )
    return LiveReport(
        config=config,
        threshold=threshold,
        callers=callers,
        agents=[_agent_json(a) for a, _ in agents],
        records=records,
        service=service_figures(records),
        measured=measured_figures(callers, threshold, short_abandon),
        calls=compare(callers, records),
        wallboard=wallboard,
        database=database,
        gauges_after=gauges,
        password_changes=password_changes,
        wall_seconds=time.monotonic() - began,
        problems=problems + [f"{c.number}: {c.problem}" for c in callers if c.problem],
    )


def _agent_json(agent: SimAgent) -> dict[str, Any]:
    r = agent.result
    return {
        "number": r.number,
        "answered": r.answered,
        "missed": r.missed,
        "wrapups": r.wrapups,
        "heard_caller_frames": r.heard_caller_frames,
        "problems": list(r.problems),
    }


async def _place_calls(
    config: LiveConfig,
    rng: random.Random,
    ua: UserAgent,
    engine: MediaEngine,
    timing: MenuTiming,
    catalogue: PromptCatalogue,
    progress: Callable[[int, int], None] | None,
) -> list[CallerResult]:
    scale = config.time_scale
    start = time.monotonic()
    deadline = start + config.duration + OVERTIME_SECONDS * max(1.0, scale)
    ctx = CallerContext(
        ua=ua,
        engine=engine,
        target=SipUri("sip", HOTLINE_USER, config.sip_host, config.sip_port),
        destination=registrar_peer(config.sip_host, config.sip_port),
        digits=config.digits,
        timing=timing,
        templates=tuple(
            {a.number: agent_greeting_template(a.number, catalogue) for a in config.agents}.values()
        ),
        speech=config.speech if config.speech is not None else default_speech(catalogue),
        deadline=deadline,
    )
    mean_gap = 3600.0 / config.rate_per_hour * scale
    patience = _sampler(config.patience, rng, scale) if config.patience is not None else None
    running: list[asyncio.Task[CallerResult]] = []
    done = 0

    def finished(_: asyncio.Task[CallerResult]) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, config.calls)

    run_tag = rng.randrange(10**4)
    next_at = start
    for i in range(config.calls):
        next_at += rng.expovariate(1.0 / mean_gap) if i else 0.0
        if next_at - start > config.duration:
            break
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        survey: str | None = None
        if rng.random() >= config.survey_hangup:
            survey = rng.choice(config.survey_keys)
        plan = CallerPlan(
            number=f"{CALLER_PREFIX}{run_tag:04d}{i:04d}",
            patience=patience() if patience is not None else None,
            survey_key=survey,
        )
        task = asyncio.ensure_future(run_caller(ctx, plan))
        task.add_done_callback(finished)
        running.append(task)
    if progress is not None and len(running) < config.calls:
        progress(done, len(running))
    results = await asyncio.gather(*running)
    return list(results)


async def _await_records(
    records: list[CallRecord],
    callers: list[CallerResult],
    agents: list[tuple[SimAgent, Registration]],
) -> None:
    wanted = {c.number for c in callers if c.outcome is not CallerOutcome.FAILED}
    stop = time.monotonic() + RECORDS_GRACE_SECONDS
    while time.monotonic() < stop:
        have = {r.caller for r in records}
        if wanted <= have and not any(a.busy for a, _ in agents):
            return
        await asyncio.sleep(0.1)


async def database_records(
    url: str, since: float, queues: tuple[QueueConfig, ...], wanted: set[str]
) -> list[CallRecord]:
    """The calls of `wanted` callers logged since `since`, rebuilt from the event log as
    `hotline report` does (hotline.db.history.load_call_records)."""
    from hotline.db.engine import Database
    from hotline.db.history import load_call_records
    from hotline.db.store import EventStore

    database = Database.open(url)
    try:
        async with EventStore(database) as store:
            # The service writes its log in the background; give the last wrap-up its turn.
            stop = time.monotonic() + RECORDS_GRACE_SECONDS
            while True:
                records = await load_call_records(
                    store, since - 1.0, time.time() + 1.0, queues=queues
                )
                records = [r for r in records if r.caller in wanted]
                if time.monotonic() > stop or {r.caller for r in records} >= wanted:
                    return records
                await asyncio.sleep(0.2)
    finally:
        await database.close()


def report_json(report: LiveReport) -> dict[str, Any]:
    def side(f: SideFigures) -> dict[str, Any]:
        return {
            "offered": f.offered,
            "answered": f.answered,
            "abandoned": f.abandoned,
            "short_abandoned": f.short_abandoned,
            "answered_within": f.answered_within,
            "service_level": f.service_level,
            "asa": f.asa,
        }

    def difference(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    diffs = report.per_call_differences
    return {
        "threshold_seconds": report.threshold,
        "agreement_tolerance_seconds": AGREEMENT_SECONDS,
        "crossing_window_seconds": CROSSING_WINDOW,
        "agree": report.agree,
        "service": side(report.service),
        "callers": side(report.measured),
        "difference": {
            "service_level": difference(
                report.measured.service_level, report.service.service_level
            ),
            "asa": difference(report.measured.asa, report.service.asa),
            "per_call_mean": sum(diffs) / len(diffs) if diffs else None,
            "per_call_max_abs": report.max_difference,
        },
        "wallboard_delta": report.wallboard,
        "metrics_after": report.gauges_after,
        "database": side(report.database) if report.database is not None else None,
        "verdicts": {v.value: report.count(v) for v in Verdict if report.count(v)},
        "calls": [
            {
                "caller": c.number,
                "outcome": c.outcome.value,
                "wait": c.wait,
                "service_outcome": k.service_outcome,
                "service_wait": k.service_wait,
                "difference": k.difference,
                "verdict": k.verdict.value,
                "survey_key": c.survey_key,
                "p10_match": round(c.match_score, 3),
                "problem": c.problem,
            }
            for c, k in zip(report.callers, report.calls, strict=True)
        ],
        "agents": report.agents,
        "password_changes": report.password_changes,
        "problems": report.problems,
        "wall_seconds": report.wall_seconds,
    }
