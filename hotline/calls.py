"""The life of every live call: caller leg → voice menu → ACD queue → agent leg → closing.

The decisions live in the pure cores (``ivr.runner``, ``acd.engine``); this file carries them
out with SIP legs and RTP sessions, and reports what happened back to them. One
:class:`LiveCall` per caller holds every leg, session and task of that call, so a call's
resources are released in one place when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from acd.actions import (
    AcdAction,
    Announce,
    ConnectCall,
    DialCallback,
    OfferCallback,
    OverflowCall,
    PlayToCaller,
    ReleaseAgent,
    RingAgent,
    StartClosingFlow,
    StartMusicOnHold,
    StopMusicOnHold,
    StopRinging,
)
from acd.events import CallbackOutcome, OfferOutcome, Party
from acd.states import AcdError
from hotline.accounts.errors import Conflict, NotFound
from hotline.acd_service import AcdService
from hotline.ivr_session import IvrSession, ListenerFactory, MenuPromptStarted
from hotline.notifier import Notifier
from hotline.telephony_service import TelephonyService
from ivr.closing import ClosingKind, closing_flow, survey_flow
from ivr.events import SurveyScore
from ivr.flow import Flow, SwitchBoard
from ivr.runner import MenuRunner
from prompts.catalogue import PromptCatalogue
from prompts.texts import Language
from recordings.catalog import CallInfo
from recordings.policy import Phase as RecordingPhase
from recordings.recorder import Recorder
from recordings.writer import Channel, StereoWavWriter
from telephony.media.bridge import Bridge, BridgeLeg, TapFrame
from telephony.media.dtmf import DtmfDigit, DtmfKey, DtmfSource
from telephony.media.ports import PortsExhausted
from telephony.media.session import PlaybackOutcome, RtpSession
from telephony.sdp import NoCommonCodec
from telephony.sip.address import Peer
from telephony.sip.call_events import (
    CallAnswered,
    CallEnded,
    DtmfReceived,
    EndReason,
    HoldChanged,
    MediaUpdated,
)
from telephony.sip.ua import InboundCall, OutboundCall
from telephony.sip.uri import SipUri

log = logging.getLogger(__name__)

# The caller hears the music-on-hold prompt again after it ends, until an agent answers.
MUSIC_ON_HOLD_PROMPT = "hold_music"
CALLBACK_KEY = "1"
_OFFER_FAILURE_OF = {
    EndReason.REJECTED: OfferOutcome.DECLINED,
    EndReason.NOT_ACCEPTABLE: OfferOutcome.UNREACHABLE,
    EndReason.UNAUTHORIZED: OfferOutcome.UNREACHABLE,
    EndReason.TIMEOUT: OfferOutcome.UNREACHABLE,
    EndReason.TRANSPORT_ERROR: OfferOutcome.UNREACHABLE,
    EndReason.GONE: OfferOutcome.UNREACHABLE,
    EndReason.NO_ANSWER: OfferOutcome.TIMEOUT,
}


class Phase(enum.Enum):
    MENU = "menu"
    QUEUED = "queued"  # waiting or ringing agents
    CONNECTED = "connected"
    CLOSING = "closing"  # the agent left: closing phrase and/or survey (SPEC-Q7, Q4)
    CALLBACK = "callback"  # the caller hung up to be called back, keeping their place
    ENDED = "ended"


@dataclass(slots=True)
class AgentLeg:
    agent_id: str
    call: OutboundCall
    media: RtpSession
    answered: bool = False


@dataclass(frozen=True, slots=True)
class CallbackTarget:
    """Where the caller's phone was: the callback dials its Contact at the address it used."""

    contact: SipUri
    destination: Peer


@dataclass(slots=True)
class LiveCall:
    call_id: str
    caller: InboundCall | OutboundCall
    media: RtpSession
    caller_number: str
    phase: Phase = Phase.MENU
    language: Language = Language.ZH
    agent_legs: dict[str, AgentLeg] = field(default_factory=dict)
    agent_id: str | None = None
    bridge: Bridge | None = None
    closing_phrase: ClosingKind | None = None
    queue: str | None = None
    ivr: IvrSession | None = None
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    music: asyncio.Task[None] | None = None
    callback_target: CallbackTarget | None = None
    unsubscribe_keys: Callable[[], None] | None = None


class CallManager:
    def __init__(
        self,
        *,
        telephony: TelephonyService,
        acd: AcdService,
        notifier: Notifier,
        prompts: PromptCatalogue,
        flow: Flow,
        switches: SwitchBoard,
        listener_factory: ListenerFactory | None = None,
        default_queue: str,
        recorder: Recorder | None = None,
        teams: Mapping[str, str] | None = None,
        then_survey: bool = False,
    ) -> None:
        self._telephony = telephony
        self._acd = acd
        self._prompts = prompts
        self.flow = flow
        self._switches = switches
        self._listener_factory = listener_factory
        self._default_queue = default_queue
        self._then_survey = then_survey
        self._recorder = recorder
        self._teams = dict(teams or {})
        self._notifier = notifier
        self._calls: dict[str, LiveCall] = {}
        acd.on_action(self._on_acd_action)
        telephony.on_inbound_call(self._on_inbound)

    # --- the web layer's port (agent_desktop.keys.CallControlPort) -------------------------

    def active_call_of(self, agent_number: str) -> str | None:
        for call in self._calls.values():
            if call.agent_id == agent_number and call.phase is Phase.CONNECTED:
                return call.call_id
        return None

    def close_call(self, call_id: str, phrase: str) -> None:
        """SPEC-P5…P8: the caller hears the phrase, then the service ends the call (Q7)."""
        call = self._calls[call_id]
        call.closing_phrase = ClosingKind(phrase.lower())
        self._acd.command(lambda now: self._acd.engine.agent_hangup(call_id, now))

    def live_calls(self) -> list[LiveCall]:
        return list(self._calls.values())

    # --- inbound calls ---------------------------------------------------------------------

    def _on_inbound(self, leg: InboundCall) -> None:
        task = asyncio.ensure_future(self._run_caller(leg))
        task.add_done_callback(_log_failure)

    async def _run_caller(self, leg: InboundCall) -> None:
        try:
            media = self._telephony.open_media()
        except PortsExhausted:
            # Full: a clear 503 lets the caller's network retry elsewhere (SPEC-O1).
            log.error("no RTP port free: call %s refused", leg.request.call_id)
            await leg.reject(503, "Out of media ports")
            return
        try:
            negotiated = await leg.answer(self._telephony.local_media(media))
        except NoCommonCodec:
            media.close()  # the leg already answered 488
            return
        except Exception:
            media.close()
            raise
        if negotiated is not None:
            media.update(self._telephony.media_params(negotiated))
        contacts = leg.request.contacts
        call = LiveCall(
            call_id=leg.request.call_id,
            caller=leg,
            media=media,
            caller_number=leg.caller.uri.user or str(leg.caller.uri),
            language=self.flow.default_language,
            callback_target=CallbackTarget(contacts[0].uri, leg.handle.source)
            if contacts
            else None,
        )
        self._calls[call.call_id] = call
        self._spawn(call, self._watch_caller(call))
        try:
            await self._menu(call, self.flow, entering=True)
        except Exception:
            log.exception("call %s failed in the menu", call.call_id)
            await self._end(call)

    async def _menu(self, call: LiveCall, flow: Flow, *, entering: bool) -> None:
        session = IvrSession(
            MenuRunner(flow, self._switches),
            call.media,
            self._prompts,
            listener_factory=self._listener_factory,
            on_prompt=lambda ids: self._notifier.emit(
                MenuPromptStarted(time.time(), call.call_id, ids)
            ),
        )
        call.ivr = session
        outcome = await session.run()
        call.ivr = None
        if outcome.survey is not None and outcome.survey.score is not None:
            score = int(outcome.survey.score)
            satisfied = outcome.survey.score is SurveyScore.SATISFIED
            self._acd_safe(
                lambda now: self._acd.engine.survey_answered(
                    call.call_id, now, score=score, satisfied=satisfied
                )
            )
        if call.phase is Phase.ENDED:
            return
        if outcome.transfer is not None and entering:
            call.language = outcome.transfer.language
            queue = outcome.transfer.queue
            if queue not in self._acd.engine.queue_names():
                log.warning("flow names unknown queue %r; using %r", queue, self._default_queue)
                queue = self._default_queue
            call.phase = Phase.QUEUED
            call.queue = queue
            menu_path = tuple(outcome.transfer.menu_path)
            skill = outcome.transfer.skill
            try:
                self._queue_call(call, queue, skill, menu_path)
            except AcdError as exc:
                # A flow naming a skill no queue lists must not drop the caller: an agent of
                # the default queue takes them (SPEC-Q3, never a dead end).
                log.error(
                    "call %s could not queue at %r (%s); using %r",
                    call.call_id,
                    queue,
                    exc,
                    self._default_queue,
                )
                call.queue = self._default_queue
                self._queue_call(call, self._default_queue, None, menu_path)
            if call.phase is Phase.QUEUED:
                # Waiting, and while agents' phones ring, the caller hears the queue music
                # (docs/acd.md), not silence; ConnectCall stops it before P10.
                self._start_music(call)
            return
        # A hang-up node, the end of a closing flow, or a transfer where none is possible.
        if call.phase is Phase.CLOSING:
            self._acd_safe(
                lambda now: self._acd.engine.call_ended(call.call_id, now, ended_by=Party.SYSTEM)
            )
        await self._end(call)

    def _queue_call(
        self, call: LiveCall, queue: str, skill: str | None, menu_path: tuple[str, ...]
    ) -> None:
        self._acd.command(
            lambda now: self._acd.engine.call_arrived(
                call.call_id,
                queue,
                now,
                caller=call.caller_number,
                skill=skill,
                menu_path=menu_path,
            )
        )

    async def _watch_caller(self, call: LiveCall) -> None:
        async for event in call.caller.events():
            if isinstance(event, DtmfReceived) and event.source is DtmfSource.SIP_INFO:
                call.media.deliver_dtmf(
                    DtmfDigit(DtmfKey.from_char(event.digit), event.duration_ms, event.source)
                )
            elif isinstance(event, (MediaUpdated, CallAnswered)):
                call.media.update(self._telephony.media_params(event.media))
            elif isinstance(event, HoldChanged):
                pass  # the caller's own hold: media direction follows MediaUpdated
            elif isinstance(event, CallEnded):
                self._caller_left(call)
                return

    def _caller_left(self, call: LiveCall) -> None:
        if call.phase is Phase.CALLBACK:
            return  # hung up on purpose: the place in the queue is kept for the callback
        phase, call.phase = call.phase, Phase.ENDED
        if phase is Phase.MENU and call.ivr is not None:
            call.ivr.hang_up()
        elif phase in (Phase.QUEUED, Phase.CONNECTED):
            self._acd_safe(
                lambda now: (
                    self._acd.engine.call_ended(call.call_id, now, ended_by=Party.CALLER)
                    if phase is Phase.CONNECTED
                    else self._acd.engine.caller_abandoned(call.call_id, now)
                )
            )
        elif phase is Phase.CLOSING:
            if call.ivr is not None:
                call.ivr.hang_up()
            self._acd_safe(
                lambda now: self._acd.engine.call_ended(call.call_id, now, ended_by=Party.CALLER)
            )
        self._spawn(call, self._end(call))

    # --- what the ACD asks for -------------------------------------------------------------

    def _on_acd_action(self, action: AcdAction) -> None:
        call = self._calls.get(action.call_id)
        if call is None or call.phase is Phase.ENDED:
            return
        if isinstance(action, RingAgent):
            self._spawn(call, self._ring_agent(call, action))
        elif isinstance(action, StopRinging):
            leg = call.agent_legs.pop(action.agent_id, None)
            if leg is not None:
                self._spawn(call, self._drop_agent_leg(leg))
        elif isinstance(action, ConnectCall):
            self._spawn(call, self._connect(call, action))
        elif isinstance(action, PlayToCaller):
            self._play(call, self._prompts.get(action.prompt_id.lower(), call.language).samples)
        elif isinstance(action, StartMusicOnHold):
            self._unbridge(call)
            self._start_music(call)
        elif isinstance(action, StopMusicOnHold):
            self._stop_music(call)
            if call.agent_id is not None and call.agent_id in call.agent_legs:
                self._bridge(call, call.agent_legs[call.agent_id])
        elif isinstance(action, Announce):
            self._announce(call, action)
        elif isinstance(action, OfferCallback):
            self._offer_callback(call)
        elif isinstance(action, OverflowCall):
            self._spawn(call, self._overflow(call))
        elif isinstance(action, StartClosingFlow):
            self._spawn(call, self._closing_flow(call, action.agent_id))
        elif isinstance(action, ReleaseAgent):
            leg = call.agent_legs.pop(action.agent_id, None)
            self._unbridge(call)
            if leg is not None:
                self._spawn(call, self._drop_agent_leg(leg))
        elif isinstance(action, DialCallback):
            self._spawn(call, self._dial_callback(call, action))

    async def _ring_agent(self, call: LiveCall, action: RingAgent) -> None:
        contacts = self._telephony.contacts_of(action.agent_id)
        if not contacts:
            self._offer_failed(call, action.agent_id, OfferOutcome.UNREACHABLE)
            return
        try:
            media = self._telephony.open_media()
        except PortsExhausted:
            self._offer_failed(call, action.agent_id, OfferOutcome.UNREACHABLE)
            return
        try:
            leg = self._telephony.place_call(contacts[0], media)
        except LookupError:  # the phone's registration expired a moment ago
            media.close()
            self._offer_failed(call, action.agent_id, OfferOutcome.UNREACHABLE)
            return
        agent = AgentLeg(action.agent_id, leg, media)
        call.agent_legs[action.agent_id] = agent
        async for event in leg.events():
            if isinstance(event, CallAnswered):
                agent.answered = True
                media.update(self._telephony.media_params(event.media))
                if call.agent_legs.get(action.agent_id) is not agent:
                    await leg.hangup()  # the offer was withdrawn while the answer was on the way
                    continue
                if not self._acd_safe(
                    lambda now: self._acd.engine.offer_answered(call.call_id, action.agent_id, now)
                ):
                    call.agent_legs.pop(action.agent_id, None)
                    await leg.hangup()
            elif isinstance(event, MediaUpdated):
                media.update(self._telephony.media_params(event.media))
            elif isinstance(event, CallEnded):
                media.close()
                still_ours = call.agent_legs.get(action.agent_id) is agent
                if not agent.answered:
                    if still_ours:
                        call.agent_legs.pop(action.agent_id, None)
                        outcome = _OFFER_FAILURE_OF.get(event.reason, OfferOutcome.DECLINED)
                        if event.status == 486:
                            outcome = OfferOutcome.BUSY
                        self._offer_failed(call, action.agent_id, outcome)
                elif still_ours and call.phase is Phase.CONNECTED:
                    # SPEC-Q7: the agent's BYE must not cut the caller off.
                    call.agent_legs.pop(action.agent_id, None)
                    self._unbridge(call)
                    self._acd_safe(lambda now: self._acd.engine.agent_hangup(call.call_id, now))
                return

    def _offer_failed(self, call: LiveCall, agent_id: str, outcome: OfferOutcome) -> None:
        self._acd_safe(
            lambda now: self._acd.engine.offer_failed(call.call_id, agent_id, now, outcome)
        )

    async def _connect(self, call: LiveCall, action: ConnectCall) -> None:
        self._stop_music(call)
        call.phase = Phase.CONNECTED
        call.agent_id = action.agent_id
        leg = call.agent_legs.get(action.agent_id)
        greeting: list[np.ndarray] = []
        if action.play_agent_number:
            greeting.append(self._prompts.agent_greeting(action.agent_number, call.language))
        if action.play_late_apology:
            greeting.append(self._prompts.get("p4", call.language).samples)
        if greeting:
            # SPEC-P10 then SPEC-P4, before the two sides hear each other.
            await call.media.play(np.concatenate(greeting))
        if call.phase is Phase.CONNECTED and leg is not None and call.agent_id == leg.agent_id:
            await self._start_recording(call, action.agent_number)
            self._bridge(call, leg)

    async def _closing_flow(self, call: LiveCall, agent_id: str) -> None:
        call.phase = Phase.CLOSING
        self._unbridge(call)
        leg = call.agent_legs.pop(agent_id, None)
        if leg is not None:
            await self._drop_agent_leg(leg)
        known = self._prompts.ids()
        if call.closing_phrase is not None:
            flow = closing_flow(
                call.closing_phrase, then_survey=self._then_survey, known_prompts=known
            )
        else:
            flow = survey_flow(known)  # SPEC-Q4: the agent ended the call after asking P12
        await self._menu(call, flow, entering=False)

    # --- callbacks (issue 5) ----------------------------------------------------------------

    def _offer_callback(self, call: LiveCall) -> None:
        """ "Press 1 to be called back": the caller may hang up and keep their place."""
        self._stop_music(call)
        self._play(call, self._prompts.get("callback_offer", call.language).samples)
        self._start_music(call)
        if call.unsubscribe_keys is None:
            call.unsubscribe_keys = call.media.subscribe_dtmf(
                lambda digit: self._key_in_queue(call, digit)
            )

    def _key_in_queue(self, call: LiveCall, digit: DtmfDigit) -> None:
        if digit.key.value != CALLBACK_KEY or call.phase is not Phase.QUEUED:
            return
        if call.callback_target is None:
            return
        number = call.caller_number
        if not self._acd_safe(
            lambda now: self._acd.engine.callback_requested(call.call_id, now, number)
        ):
            return
        call.phase = Phase.CALLBACK
        self._spawn(call, self._release_for_callback(call))

    async def _release_for_callback(self, call: LiveCall) -> None:
        self._stop_music(call)
        if call.unsubscribe_keys is not None:
            call.unsubscribe_keys()
            call.unsubscribe_keys = None
        await call.media.play(self._prompts.get("goodbye", call.language).samples)
        with contextlib.suppress(Exception):
            await call.caller.hangup()
        call.media.close()

    async def _dial_callback(self, call: LiveCall, action: DialCallback) -> None:
        """The agent answered the callback offer: dial the caller and bridge the two."""
        target = call.callback_target
        agent = call.agent_legs.get(action.agent_id)
        if target is None or agent is None:
            self._callback_result(call, CallbackOutcome.FAILED)
            return
        media = self._telephony.open_media()
        leg = self._telephony.dial(target.contact, target.destination, media)
        async for event in leg.events():
            if isinstance(event, CallAnswered):
                media.update(self._telephony.media_params(event.media))
                call.caller, call.media = leg, media
                call.phase = Phase.CONNECTED
                call.agent_id = action.agent_id
                self._callback_result(call, CallbackOutcome.ANSWERED)
                self._spawn(call, self._watch_caller(call))
                # SPEC-P11, the outbound opening with the agent's number, then the two talk.
                opening = self._prompts.compose("agent_outbound", action.agent_id, call.language)
                await media.play(opening)
                if call.phase is Phase.CONNECTED:
                    await self._start_recording(call, action.agent_id)
                    self._bridge(call, agent)
                return
            if isinstance(event, CallEnded):
                media.close()
                busy = event.status == 486
                no_answer = event.reason in (EndReason.NO_ANSWER, EndReason.CANCELLED)
                outcome = (
                    CallbackOutcome.BUSY
                    if busy
                    else CallbackOutcome.NO_ANSWER
                    if no_answer
                    else CallbackOutcome.FAILED
                )
                self._callback_result(call, outcome)
                await self._end(call)
                return

    def _callback_result(self, call: LiveCall, outcome: CallbackOutcome) -> None:
        self._acd_safe(lambda now: self._acd.engine.callback_result(call.call_id, now, outcome))

    async def _overflow(self, call: LiveCall) -> None:
        await call.media.play(self._prompts.get("emergency", call.language).samples)
        await self._end(call)

    def _announce(self, call: LiveCall, action: Announce) -> None:
        minutes = max(1, round(action.expected_wait_s / 60))
        pcm = np.concatenate(
            [
                self._prompts.compose("queue_position", action.position, call.language),
                self._prompts.compose("wait", minutes, call.language),
            ]
        )
        self._stop_music(call)
        self._play(call, pcm)
        self._start_music(call)

    # --- media helpers ---------------------------------------------------------------------

    def _play(self, call: LiveCall, pcm: np.ndarray) -> None:
        call.media.play(pcm)

    def _start_music(self, call: LiveCall) -> None:
        if call.music is not None:
            return

        async def loop() -> None:
            music = self._prompts.get(MUSIC_ON_HOLD_PROMPT, call.language).samples
            # Until cancelled; a closed session ends it (play would return at once forever).
            while await call.media.play(music) is not PlaybackOutcome.CLOSED:
                pass

        call.music = asyncio.ensure_future(loop())

    def _stop_music(self, call: LiveCall) -> None:
        if call.music is not None:
            call.music.cancel()
            call.music = None
            call.media.stop_playback()

    def _bridge(self, call: LiveCall, leg: AgentLeg) -> None:
        self._unbridge(call)
        writer = self._recorder.active(call.call_id) if self._recorder else None
        tap = None
        if writer is not None:
            loop = asyncio.get_running_loop()

            def tap(frame: TapFrame) -> None:
                # Caller left, agent right, each placed by its own RTP timestamps (issue 6).
                channel = Channel.CALLER if frame.leg is BridgeLeg.A else Channel.AGENT
                writer.add_rtp(
                    channel, frame.frame.rtp_timestamp, channel.value, frame.frame.pcm, loop.time()
                )

        call.bridge = Bridge(call.media, leg.media, tap=tap)

    async def _start_recording(self, call: LiveCall, agent_number: str) -> None:
        if self._recorder is None:
            return
        info = CallInfo(
            call_id=call.call_id,
            queue=call.queue,
            agent_number=agent_number,
            team=self._teams.get(agent_number),
            caller_number=call.caller_number,
            is_complaint=call.queue == "complaints",
        )
        try:
            await self._recorder.start(
                info, phase=RecordingPhase.AGENT, now=asyncio.get_running_loop().time()
            )
        except Exception:
            # A full disk must not drop the caller: the call goes on unrecorded.
            log.exception("recording of call %s could not start", call.call_id)

    def _recording_of(self, call_id: str) -> StereoWavWriter:
        writer = self._recorder.active(call_id) if self._recorder else None
        if writer is None:
            raise NotFound(f"call {call_id} is not being recorded")
        return writer

    def pause_recording(self, call_id: str, reason: str) -> None:
        """Card numbers and other sensitive data: nothing reaches the disk until resumed."""
        writer = self._recording_of(call_id)
        if writer.paused:
            raise Conflict(f"the recording of call {call_id} is already paused")
        writer.pause(asyncio.get_running_loop().time(), reason)

    def resume_recording(self, call_id: str) -> None:
        writer = self._recording_of(call_id)
        if not writer.paused:
            raise Conflict(f"the recording of call {call_id} is not paused")
        writer.resume(asyncio.get_running_loop().time())

    def _unbridge(self, call: LiveCall) -> None:
        if call.bridge is not None:
            call.bridge.close()
            call.bridge = None

    # --- ending ----------------------------------------------------------------------------

    async def _drop_agent_leg(self, leg: AgentLeg) -> None:
        with contextlib.suppress(Exception):
            if leg.answered:
                await leg.call.hangup()
            else:
                await leg.call.cancel()
        leg.media.close()

    async def _end(self, call: LiveCall) -> None:
        call.phase = Phase.ENDED
        self._stop_music(call)
        self._unbridge(call)
        for leg in list(call.agent_legs.values()):
            await self._drop_agent_leg(leg)
        call.agent_legs.clear()
        if call.caller.is_active:
            with contextlib.suppress(Exception):
                await call.caller.hangup()
        call.media.close()
        self._calls.pop(call.call_id, None)
        if self._recorder is not None:
            try:
                await self._recorder.finish(call.call_id, now=asyncio.get_running_loop().time())
            except Exception:
                log.exception("recording of call %s could not be completed", call.call_id)

    def _acd_safe(self, op: Any) -> bool:
        """An ACD command whose refusal (a race with another event) is logged, not raised."""
        try:
            self._acd.command(op)
        except AcdError as exc:
            log.info("ACD refused: %s", exc)
            return False
        return True

    def _spawn(self, call: LiveCall, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        call.tasks.add(task)
        task.add_done_callback(call.tasks.discard)
        task.add_done_callback(_log_failure)

    async def close(self) -> None:
        for call in list(self._calls.values()):
            for task in list(call.tasks):
                task.cancel()
            await self._end(call)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("call task failed", exc_info=task.exception())
