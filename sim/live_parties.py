"""The simulated people of `hotline sim --live`: callers who walk the voice menu, wait with a
sampled patience, talk and answer the survey; agents who answer after a ring delay, talk for
a sampled time, hang up and submit the wrap-up.

Every wait a party does is bounded (a missing prompt or BYE ends that call as FAILED, never
the run). Times are `time.monotonic()`, the media engine's clock, so frame arrival times and
key presses are on one timeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from ivr.flow import (
    Flow,
    HoursNode,
    LanguageNode,
    MenuNode,
    PlayNode,
    SwitchNode,
    TransferNode,
)
from prompts.catalogue import PromptCatalogue
from prompts.texts import Language
from sim.live_audio import (
    Pcm,
    PromptSpotter,
    PromptTemplate,
    SpeechMeter,
    ToneTracker,
    tone,
)
from sim.live_sip import local_media, media_params
from sim.live_web import WebClient
from sim.model import ModelError
from telephony.media.engine import MediaEngine
from telephony.media.session import AudioFrame, MediaParams, PlaybackOutcome, RtpSession
from telephony.sip.address import Peer
from telephony.sip.call_events import CallAnswered, CallEnded, CallStateError, MediaUpdated
from telephony.sip.call_leg import CallLeg
from telephony.sip.ua import InboundCall
from telephony.sip.uri import NameAddr, SipUri
from telephony.sip.useragent import UserAgent

SAMPLE_RATE: Final = 8000
# Margins around the service's prompts: a key pressed while P1 still plays is dropped (it is
# not interruptible), so wait this long past its end; the same gap between two keys.
KEY_MARGIN_SECONDS: Final = 0.5
KEY_DURATION_MS: Final = 100
# Bounds on what a caller waits for (each ends the call as FAILED when it runs out).
SETUP_TIMEOUT: Final = 10.0  # 200 OK after the INVITE
GREETING_TIMEOUT: Final = 15.0  # the agent's audio after P10 starts (P10 + P4 ≈ 10 s)
SURVEY_DELAY: Final = 1.0  # after the agent's tone stops, before pressing the survey key
BYE_TIMEOUT: Final = 20.0  # the service's BYE after the survey key (thanks + hang-up)
# What an agent says: its marker tone, one second at a time.
AGENT_VOICE: Final = tone(1.0)
LANGUAGE_KEYS: Final = {"1": Language.ZH, "2": Language.EN}


class CallerOutcome(enum.StrEnum):
    ANSWERED = "answered"  # heard P10 (and the agent) — the caller's own measure
    ABANDONED = "abandoned"  # patience ran out while queued
    FAILED = "failed"  # set-up, menu or media did not happen as the service promises


@dataclass(frozen=True, slots=True)
class MenuTiming:
    """When keys may be pressed, and how long after the last one the call enters the queue."""

    first_key_after: float  # from the 200 OK: the non-interruptible prompts before the menu
    queue_entry_delay: float  # the prompts the service plays after the last key (transfer)
    queue: str


def menu_timing(flow: Flow, catalogue: PromptCatalogue, digits: Sequence[str]) -> MenuTiming:
    """Follow `digits` through `flow` (hours open, surge switch off) to its transfer node."""

    def seconds(prompts: Sequence[str], language: Language) -> float:
        return sum(catalogue.get(p, language).samples.size for p in prompts) / SAMPLE_RATE

    node = flow.nodes[flow.start]
    language = flow.default_language
    before_first = after_last = 0.0
    used = 0
    for _ in range(len(flow.nodes) + len(digits) + 1):
        if isinstance(node, PlayNode):
            if used == 0 and not node.barge_in:
                before_first += seconds(node.prompts, language)
            elif used == len(digits):
                after_last += seconds(node.prompts, language)
            node = flow.nodes[node.next]
        elif isinstance(node, (LanguageNode, MenuNode)):
            if used >= len(digits):
                raise ModelError(
                    f"the keys {','.join(digits)} end at menu {node.node_id!r}", field="--digits"
                )
            digit = digits[used]
            used += 1
            if isinstance(node, LanguageNode):
                if digit not in LANGUAGE_KEYS:
                    raise ModelError(
                        f"language key must be 1 or 2, got {digit!r}", field="--digits"
                    )
                language = LANGUAGE_KEYS[digit]
                node = flow.nodes[node.next]
            else:
                if digit not in node.options:
                    raise ModelError(
                        f"menu {node.node_id!r} has no option {digit!r}", field="--digits"
                    )
                node = flow.nodes[node.options[digit]]
        elif isinstance(node, HoursNode):
            node = flow.nodes[node.open]
        elif isinstance(node, SwitchNode):
            node = flow.nodes[node.off]
        elif isinstance(node, TransferNode):
            if used != len(digits):
                raise ModelError(f"keys left over after queue {node.queue!r}", field="--digits")
            after_last += seconds(node.prompts, language)
            return MenuTiming(before_first, after_last, node.queue)
        else:
            raise ModelError(
                f"the keys lead to a {node.type.value} node ({node.node_id!r}), not a queue",
                field="--digits",
            )
    raise ModelError("the menu path loops", field="--digits")


def _watch(
    leg: CallLeg, session: RtpSession
) -> tuple[asyncio.Event, asyncio.Event, asyncio.Task[None]]:
    """Follow a leg's events: (answered, ended) events, media updates applied to `session`."""
    answered, ended = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async for event in leg.events():
            if isinstance(event, (CallAnswered, MediaUpdated)):
                session.update(media_params(event.media))
                answered.set()
            elif isinstance(event, CallEnded):
                ended.set()
                return

    return answered, ended, asyncio.ensure_future(run())


async def _first(*events: asyncio.Event, within: float) -> asyncio.Event | None:
    """The first of `events` to be set within `within` seconds, else None."""
    for event in events:
        if event.is_set():
            return event
    waiters = {asyncio.ensure_future(e.wait()): e for e in events}
    _, pending = await asyncio.wait(
        waiters, timeout=max(0.0, within), return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
    for event in events:
        if event.is_set():
            return event
    return None


async def play_looped(session: RtpSession, pcm: Pcm) -> None:
    """Say `pcm` over and over until cancelled (two copies queued, so there is no gap)."""
    pending = deque([session.play(pcm), session.play(pcm)])
    try:
        while await pending.popleft() is PlaybackOutcome.FINISHED:
            pending.append(session.play(pcm))
    finally:
        session.stop_playback()


# --- callers ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallerPlan:
    number: str  # the From user: the service records it as the caller (CallRecord.caller)
    patience: float | None  # seconds from entering the queue; None waits for an answer
    survey_key: str | None  # None: hang up at the survey instead of answering it


@dataclass(slots=True)
class CallerResult:
    number: str
    started: float
    outcome: CallerOutcome = CallerOutcome.FAILED
    queue_entry: float | None = None  # last key sent + the prompts before the queue
    answered_at: float | None = None  # P10 started arriving
    agent_heard_at: float | None = None
    agent_left_at: float | None = None
    abandoned_at: float | None = None
    ended_at: float | None = None
    survey_key: str | None = None
    match_score: float = 0.0
    problem: str | None = None

    @property
    def wait(self) -> float | None:
        """Seconds from entering the queue to being answered (or to giving up)."""
        if self.queue_entry is None:
            return None
        end = self.answered_at if self.answered_at is not None else self.abandoned_at
        return None if end is None else end - self.queue_entry


@dataclass(frozen=True, slots=True)
class CallerContext:
    ua: UserAgent
    engine: MediaEngine
    target: SipUri
    destination: Peer
    digits: tuple[str, ...]
    timing: MenuTiming
    templates: tuple[PromptTemplate, ...]  # each agent's P10 opening
    speech: Pcm
    deadline: float  # monotonic time by which every call must be over


async def run_caller(ctx: CallerContext, plan: CallerPlan) -> CallerResult:
    result = CallerResult(plan.number, time.monotonic())
    session = ctx.engine.open_session(MediaParams(remote=None))
    leg = ctx.ua.call(
        ctx.target,
        local_media=local_media(session),
        from_=NameAddr(SipUri("sip", plan.number, ctx.destination.host)),
        destination=ctx.destination,
    )
    answered, ended, watcher = _watch(leg, session)
    spotters = [PromptSpotter(t) for t in ctx.templates]
    agent_tone = ToneTracker()
    heard = asyncio.Event()

    def on_frame(frame: AudioFrame) -> None:
        at = time.monotonic()
        if result.queue_entry is None:
            return
        if result.answered_at is None:
            for spotter in spotters:
                spotter.feed(frame.pcm, at)
                if spotter.found_at is not None:
                    result.answered_at = spotter.found_at
                    heard.set()
                    break
        else:
            agent_tone.feed(frame.pcm, at)
            if agent_tone.started_at is not None or agent_tone.ended_at is not None:
                heard.set()

    unsubscribe = session.subscribe_audio(on_frame)
    try:
        await _caller_script(ctx, plan, result, session, answered, ended, heard, agent_tone)
    except Exception as exc:  # a broken call is a result, never the end of the run
        result.outcome = CallerOutcome.FAILED
        result.problem = result.problem or f"{type(exc).__name__}: {exc}"
    finally:
        result.match_score = max((s.best for s in spotters), default=0.0)
        unsubscribe()
        if not ended.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(leg.hangup(), timeout=2.0)
        result.ended_at = time.monotonic()
        session.close()
        watcher.cancel()
    return result


async def _caller_script(
    ctx: CallerContext,
    plan: CallerPlan,
    result: CallerResult,
    media: RtpSession,
    answered: asyncio.Event,
    ended: asyncio.Event,
    heard: asyncio.Event,
    agent_tone: ToneTracker,
) -> None:
    if await _first(answered, ended, within=SETUP_TIMEOUT) is not answered:
        result.problem = "the service did not answer the INVITE"
        return
    await asyncio.sleep(ctx.timing.first_key_after + KEY_MARGIN_SECONDS)
    for i, digit in enumerate(ctx.digits):
        if ended.is_set():
            result.problem = "the service hung up in the menu"
            return
        if i:
            await asyncio.sleep(KEY_MARGIN_SECONDS)
        sent_at = time.monotonic()
        media.send_dtmf(digit, duration_ms=KEY_DURATION_MS)
    result.queue_entry = sent_at + ctx.timing.queue_entry_delay
    # Queued: until P10 starts (answered), patience runs out, or the service ends the call.
    limit = ctx.deadline - time.monotonic()
    if plan.patience is not None:
        limit = min(limit, result.queue_entry + plan.patience - time.monotonic())
    if await _first(heard, ended, within=limit) is not heard:
        if ended.is_set():
            result.problem = "the service hung up while queued"
            return
        result.abandoned_at = time.monotonic()
        result.outcome = CallerOutcome.ABANDONED
        return
    # Answered: the agent's tone follows P10 (and P4 when late).
    result.outcome = CallerOutcome.ANSWERED
    if not await _until(lambda: agent_tone.started_at is not None, ended, GREETING_TIMEOUT):
        result.problem = "P10 but no audio from the agent"
        return
    result.agent_heard_at = agent_tone.started_at
    speaking = asyncio.ensure_future(play_looped(media, ctx.speech))
    # The agent talks until it hangs up (SPEC-Q7: the caller is kept and surveyed).
    try:
        if not await _until(
            lambda: agent_tone.ended_at is not None, ended, ctx.deadline - time.monotonic()
        ):
            result.problem = "the agent's audio never ended"
            return
    finally:
        speaking.cancel()
    result.agent_left_at = agent_tone.ended_at
    await asyncio.sleep(SURVEY_DELAY)
    if ended.is_set():
        result.problem = "the service hung up instead of the survey (SPEC-Q7/Q4)"
        return
    if plan.survey_key is None:
        return  # the caller hangs up at the survey (the finally block sends BYE)
    media.send_dtmf(plan.survey_key, duration_ms=KEY_DURATION_MS)
    result.survey_key = plan.survey_key
    if await _first(ended, within=BYE_TIMEOUT) is None:
        result.problem = "no BYE from the service after the survey"


async def _until(condition: Callable[[], bool], ended: asyncio.Event, within: float) -> bool:
    """Poll `condition` each 20 ms frame until true (True), the call ends or time runs out."""
    stop = time.monotonic() + within
    while not condition():
        if ended.is_set() or time.monotonic() >= stop:
            return condition()
        await asyncio.sleep(0.02)
    return True


# --- agents ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentTimes:
    """Samplers for one agent's behaviour (seconds, already scaled)."""

    ring_delay: Callable[[], float]
    talk: Callable[[], float]
    wrapup: Callable[[], float]


@dataclass(slots=True)
class AgentResult:
    number: str
    answered: int = 0
    missed: int = 0  # rang but the caller or the service gave up first
    wrapups: int = 0
    heard_caller_frames: int = 0
    problems: list[str] = field(default_factory=list)


class SimAgent:
    """One registered softphone plus its web session; answers the calls the ACD offers."""

    def __init__(
        self,
        number: str,
        ua: UserAgent,
        engine: MediaEngine,
        web: WebClient,
        times: AgentTimes,
    ) -> None:
        self.number = number
        self.ua = ua
        self.engine = engine
        self.web = web
        self.times = times
        self.result = AgentResult(number)
        self._busy = 0

    @property
    def busy(self) -> bool:
        return self._busy > 0

    async def run(self) -> None:
        """Answer offers until cancelled."""
        while True:
            call = await self.ua.incoming.get()
            self._busy += 1
            try:
                await self._handle(call)
            except Exception as exc:
                self.result.problems.append(f"{type(exc).__name__}: {exc}")
            finally:
                self._busy -= 1

    async def _handle(self, call: InboundCall) -> None:
        session = self.engine.open_session(MediaParams(remote=None))
        _, ended, watcher = _watch(call, session)
        speaking: asyncio.Future[None] | None = None
        try:
            await call.ring()
            if await _first(ended, within=self.times.ring_delay()) is ended:
                self.result.missed += 1
                return
            try:
                negotiated = await call.answer(local_media(session))
            except CallStateError:
                self.result.missed += 1  # the CANCEL crossed our 200 OK
                return
            if negotiated is not None:
                session.update(media_params(negotiated))
            self.result.answered += 1
            talk = self.times.talk()
            meter = SpeechMeter()
            unsubscribe = session.subscribe_audio(lambda f: meter.feed(f.pcm, 0.0))
            speaking = asyncio.ensure_future(play_looped(session, AGENT_VOICE))
            # The caller hears P10 (and P4) before the two are bridged; the talk starts when
            # the agent first hears the caller, as it would for a person.
            await _until(lambda: meter.loud_frames > 0, ended, GREETING_TIMEOUT)
            if await _first(ended, within=talk) is None:
                speaking.cancel()  # silence first, so the caller hears the agent leave
                await call.hangup()  # the agent's BYE first (SPEC-Q7 keeps the caller)
            unsubscribe()
            self.result.heard_caller_frames += meter.loud_frames
        finally:
            if speaking is not None:
                speaking.cancel()
            session.close()
            watcher.cancel()
        await asyncio.sleep(self.times.wrapup())
        await self.web.submit_wrapup(
            self.number, call_type="consultation", summary="simulated call", resolved=True
        )
        self.result.wrapups += 1
