"""Back-to-back pairing of a caller's leg with an agent's leg: signalling only.

Each leg keeps its own dialog and events (sippy's idea: call control never crosses legs
implicitly). The session reads both legs' events and reports them in one stream, tagged
with the leg, plus three pairing events: `AgentRinging`, `AgentConnected`, and the two
`...LegEnded`. When the caller leaves, the agent's leg is ended too. When the agent hangs
up, the caller's leg stays up and `AgentLegEnded` is reported: the application decides
what the caller hears next (closing phrase, satisfaction survey; SPEC-Q4, SPEC-Q7).
Audio is not touched here: `MediaBridgeHooks` hands both legs to the media layer's bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any, Protocol

from telephony.sdp import LocalMedia, NegotiatedAudio, NoCommonCodec
from telephony.sip.call_events import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallRinging,
    CallState,
)
from telephony.sip.call_leg import CallLeg
from telephony.sip.errors import LocalSipError
from telephony.sip.ua import InboundCall, OutboundCall
from telephony.sip.uri import SipUri
from telephony.sip.useragent import UserAgent

log = logging.getLogger(__name__)


class Leg(StrEnum):
    CALLER = "caller"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class LegEvent:
    """Any other event of one leg (DTMF, hold, media updates...), tagged with its leg."""

    leg: Leg
    event: CallEvent


@dataclass(frozen=True, slots=True)
class AgentRinging:
    agent: SipUri
    status: int


@dataclass(frozen=True, slots=True)
class AgentConnected:
    """Both legs are up and their media were handed to the bridge hooks."""

    agent: SipUri
    caller_media: NegotiatedAudio | None
    agent_media: NegotiatedAudio


@dataclass(frozen=True, slots=True)
class AgentLegEnded:
    """The agent's leg is over; the caller's leg is untouched (SPEC-Q7)."""

    agent: SipUri
    ended: CallEnded
    was_connected: bool


@dataclass(frozen=True, slots=True)
class CallerLegEnded:
    ended: CallEnded


B2buaEvent = LegEvent | AgentRinging | AgentConnected | AgentLegEnded | CallerLegEnded


class MediaBridgeHooks(Protocol):
    """The media layer's side: join the two legs' RTP sessions, and part them."""

    def connect(self, caller: CallLeg, agent: CallLeg) -> None: ...

    def disconnect(self, caller: CallLeg, agent: CallLeg) -> None: ...


class B2buaSession:
    """One caller, at most one agent leg at a time; use as ``async with``."""

    def __init__(
        self,
        ua: UserAgent,
        caller: InboundCall,
        *,
        caller_media: LocalMedia | None = None,
        hooks: MediaBridgeHooks | None = None,
    ) -> None:
        self.ua = ua
        self.caller = caller
        self.agent: OutboundCall | None = None
        self.agent_uri: SipUri | None = None
        self._caller_media = caller_media
        self._hooks = hooks
        self._bridged = False
        self._agent_connected = False
        self._events: asyncio.Queue[B2buaEvent] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._agent_pump: asyncio.Task[None] | None = None
        self._spawn(self._pump_caller())

    async def __aenter__(self) -> B2buaSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Stop reading the legs (they stay as they are; hang them up first if needed)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- the merged event stream -----------------------------------------------------------

    async def next_event(self) -> B2buaEvent:
        return await self._events.get()

    async def events(self) -> AsyncIterator[B2buaEvent]:
        """Everything both legs report, ending with CallerLegEnded (after AgentLegEnded)."""
        while True:
            event = await self._events.get()
            yield event
            if isinstance(event, CallerLegEnded):
                return

    # --- control ---------------------------------------------------------------------------

    def ring_agent(
        self,
        agent: SipUri,
        *,
        local_media: LocalMedia,
        ring_timeout: float | None = None,
        registered: bool = True,
    ) -> OutboundCall:
        """Start the agent's leg: `agent` is an AOR (its registered contact is called) or,
        with ``registered=False``, a URI called directly. LookupError if not registered."""
        if self.agent is not None and self.agent.is_active:
            raise LocalSipError("an agent leg is already active in this session")
        if not self.caller.is_active:
            raise LocalSipError("the caller has left")
        if registered:
            leg = self.ua.call_registered(agent, local_media=local_media,
                                          ring_timeout=ring_timeout)
        else:
            leg = self.ua.call(agent, local_media=local_media, ring_timeout=ring_timeout)
        self.agent, self.agent_uri = leg, agent
        self._agent_connected = False
        self._agent_pump = self._spawn(self._pump_agent(leg, agent))
        return leg

    async def end_agent_leg(self) -> None:
        """Stop ringing the agent, or hang up on them (e.g. to transfer the caller elsewhere)."""
        if self.agent is not None and self.agent.is_active:
            await self.agent.hangup()

    async def hangup(self) -> None:
        """End the whole call: the agent's leg first, then the caller's."""
        await self.end_agent_leg()
        if self.caller.is_active:
            await self.caller.hangup()

    # --- pumps -----------------------------------------------------------------------------

    async def _pump_caller(self) -> None:
        async for event in self.caller.events():
            if isinstance(event, CallEnded):
                self._unbridge()
                if self.agent is not None and self.agent.is_active:
                    await self.agent.hangup()
                if self._agent_pump is not None:
                    # AgentLegEnded comes first: the stream ends with CallerLegEnded. A
                    # CANCELled leg ends on its 487 (or Timer B), after hangup() returns.
                    await asyncio.shield(self._agent_pump)
                self._events.put_nowait(CallerLegEnded(event))
            else:
                self._events.put_nowait(LegEvent(Leg.CALLER, event))

    async def _pump_agent(self, leg: OutboundCall, agent: SipUri) -> None:
        async for event in leg.events():
            if isinstance(event, CallRinging):
                self._events.put_nowait(AgentRinging(agent, event.status))
            elif isinstance(event, CallAnswered) and not self._agent_connected:
                await self._connect(leg, agent, event)
            elif isinstance(event, CallEnded):
                if self.agent is leg:
                    self._unbridge()
                self._events.put_nowait(AgentLegEnded(agent, event, self._agent_connected))
            else:
                self._events.put_nowait(LegEvent(Leg.AGENT, event))

    async def _connect(self, leg: OutboundCall, agent: SipUri, answered: CallAnswered) -> None:
        if self.caller.state in (CallState.NEW, CallState.RINGING):
            if self._caller_media is None:
                raise LocalSipError("caller not answered and no caller_media to answer with")
            try:
                await self.caller.answer(self._caller_media)
            except NoCommonCodec:
                await leg.hangup()
                return
        if not self.caller.is_active:
            await leg.hangup()
            return
        self._agent_connected = True
        if self._hooks is not None:
            self._hooks.connect(self.caller, leg)
            self._bridged = True
        self._events.put_nowait(AgentConnected(agent, self.caller.media, answered.media))

    def _unbridge(self) -> None:
        if self._bridged and self._hooks is not None and self.agent is not None:
            self._bridged = False
            self._hooks.disconnect(self.caller, self.agent)

