"""Call control once an agent is on the call: hold, transfer, agent hang-up, wrap-up,
callbacks and the survey answer — the commands of ``AcdEngine`` that follow an answer.

Rules kept here: a hold needs a reason (SPEC-Q5); the agent never hangs up the caller — their
hang-up sends the caller to the closing/survey flow (SPEC-Q7, Q4); a junior handing a call to a
senior makes the caller hear P9 first; an attended transfer keeps the caller with the first
agent (on hold) until the target answers, and returns them to that agent if the target does
not; a blind transfer releases the first agent at once.
"""

from __future__ import annotations

from acd.actions import (
    AcdAction,
    PlayToCaller,
    ReleaseAgent,
    StartClosingFlow,
    StartMusicOnHold,
    StopMusicOnHold,
)
from acd.config import SkillLevel
from acd.core import AcdCore, Agent, Call, command
from acd.events import (
    CallAnswered,
    CallbackOutcome,
    CallbackRequested,
    CallbackResult,
    CallTransferred,
    HoldEnded,
    HoldStarted,
    OfferOutcome,
    Party,
    SurveyAnswered,
    TalkEnded,
    TransferFailed,
    WrapupSubmitted,
)
from acd.states import (
    AcdError,
    AgentEvent,
    AgentState,
    AgentUnavailableError,
    CallState,
    CallStateError,
    HoldReasonRequiredError,
)

# SPEC-P9: "对不起,该项业务由专业话务员为您服务,正在为您转接,请稍候!"
PROMPT_TRANSFER_TO_SENIOR = "P9"
# Music the caller hears while an attended transfer rings the target.
TRANSFER_HOLD_REASON = "transfer"


class CallControl(AcdCore):
    """Commands on answered calls; mixed into ``AcdEngine``."""

    # --- hold (SPEC-Q5) ---------------------------------------------------------------------

    @command
    def hold(self, call_id: str, reason: str, now: float) -> list[AcdAction]:
        if not reason or not reason.strip():
            raise HoldReasonRequiredError(
                "SPEC-Q5: putting a caller on hold needs their consent and a stated reason")
        now, out = self._begin(now)
        call = self._call(call_id)
        if call.state is not CallState.CONNECTED or call.agent is None:
            raise CallStateError(call_id, call.state, "hold")
        agent = call.agent
        self._move_agent(agent, AgentEvent.HOLD, now, None)
        call.state = CallState.ON_HOLD
        call.hold_started = now
        out.append(StartMusicOnHold(call_id, call.queue.cfg.music_on_hold))
        if self._rec:
            self._events.append(HoldStarted(now, call_id, agent.agent_id, reason.strip()))
        return out

    @command
    def unhold(self, call_id: str, now: float) -> list[AcdAction]:
        now, out = self._begin(now)
        call = self._call(call_id)
        if call.state is not CallState.ON_HOLD or call.agent is None:
            raise CallStateError(call_id, call.state, "unhold")
        self._resume(call, call.agent, now, out)
        return out

    def _resume(self, call: Call, agent: Agent, now: float, out: list[AcdAction]) -> None:
        if agent.state is AgentState.ON_HOLD:
            self._move_agent(agent, AgentEvent.UNHOLD, now, None)
        call.state = CallState.CONNECTED
        out.append(StopMusicOnHold(call.call_id))
        if call.hold_started is not None:
            if self._rec:
                self._events.append(HoldEnded(now, call.call_id, agent.agent_id,
                                              now - call.hold_started))
            call.hold_started = None

    # --- the agent leaves (SPEC-Q7) -------------------------------------------------------

    @command
    def agent_hangup(self, call_id: str, now: float) -> list[AcdAction]:
        """The agent ended the call or their phone sent BYE: the caller is NOT cut off but
        goes to the closing/survey flow; recorded as ended by the agent."""
        now, out = self._begin(now)
        call = self._call(call_id)
        agent = call.agent
        if agent is not None and call.state is CallState.TRANSFERRING:
            self._hand_over_attended(call, agent, now, out)
            return out
        if agent is not None and call.state is CallState.CALLBACK_DIALING:
            # The agent gave up before the caller picked up: the callback failed.
            self._callback_failed(call, agent, now, out, CallbackOutcome.FAILED)
            return out
        if call.state not in (CallState.CONNECTED, CallState.ON_HOLD) or agent is None:
            raise CallStateError(call_id, call.state, "agent_hangup")
        if call.state is CallState.ON_HOLD:
            out.append(StopMusicOnHold(call_id))
        call.state = CallState.CLOSING
        call.last_agent = agent.agent_id
        out.append(StartClosingFlow(call_id, agent.agent_id))
        self._end_talk(call, now, out, Party.AGENT, release_agent=False)
        return out

    @command
    def survey_answered(
        self, call_id: str, now: float, *, score: int, satisfied: bool
    ) -> list[AcdAction]:
        """The caller answered the post-call survey (SPEC-Q4) during the closing flow."""
        now, out = self._begin(now)
        call = self._call(call_id)
        if call.state is not CallState.CLOSING:
            raise CallStateError(call_id, call.state, "survey_answered")
        if self._rec:
            self._events.append(SurveyAnswered(now, call_id, call.last_agent, score, satisfied))
        return out

    # --- wrap-up (SPEC-Q6) ----------------------------------------------------------------

    @command
    def wrapup_submitted(
        self, agent_id: str, now: float, *, call_type: str, summary: str, resolved: bool
    ) -> list[AcdAction]:
        """The agent recorded the call type and what was asked; wrap-up ends now.

        A form sent after the wrap-up time ran out still counts for the agent's last call: it
        is logged (``WrapupSubmitted``) without changing the agent's state. Records already
        handed over by ``RecordBuilder`` do not see it; the stored event log does."""
        if not call_type.strip():
            raise AcdError("a wrap-up needs a call type (SPEC-Q6)")
        now, out = self._begin(now)
        agent = self._agent(agent_id)
        if agent.state is AgentState.WRAPUP and agent.wrap_call is not None:
            call_id = agent.wrap_call.call_id
        elif agent.unsubmitted is not None:
            call_id = agent.unsubmitted
            agent.unsubmitted = None
        else:
            raise AcdError(f"agent {agent_id!r} has no call to wrap up "
                           f"(state {agent.state.value})")
        if self._rec:
            self._events.append(WrapupSubmitted(now, agent_id, call_id, call_type.strip(),
                                                summary, resolved))
        if agent.state is AgentState.WRAPUP:
            self._end_wrapup(agent, now, out, submitted=True)
        return out

    # --- transfers --------------------------------------------------------------------------

    @command
    def transfer(
        self,
        call_id: str,
        now: float,
        *,
        to_queue: str | None = None,
        to_agent: str | None = None,
        attended: bool = False,
        skill: str | None = None,
        min_level: SkillLevel = SkillLevel.JUNIOR,
    ) -> list[AcdAction]:
        """Hand the call to a queue or an agent; blind unless ``attended``."""
        if (to_queue is None) == (to_agent is None):
            raise AcdError("transfer needs exactly one of to_queue or to_agent")
        now, out = self._begin(now)
        call = self._call(call_id)
        source = call.agent
        if call.state not in (CallState.CONNECTED, CallState.ON_HOLD) or source is None:
            raise CallStateError(call_id, call.state, "transfer")
        want_skill = skill if skill is not None else call.skill
        target: Agent | None = None
        if to_agent is not None:
            target = self._agent(to_agent)
            if target is source or not target.in_pools:
                raise AgentUnavailableError(
                    f"agent {to_agent!r} is not ready (state {target.state.value})")
            target_level = self._level(target, want_skill)
        else:
            assert to_queue is not None
            q = self._queue(to_queue)
            lane_skill = want_skill if want_skill in q.cfg.skills else None
            lane = self._lane(q, lane_skill, min_level)
            if attended:
                picked = lane.pool.pick(self._rng, q.rr_last)
                if not picked:
                    raise AgentUnavailableError(f"nobody is ready in queue {to_queue!r}")
                target = picked[0]
            target_level = min_level
        to_senior = (self._level(source, want_skill) < SkillLevel.SENIOR
                     and target_level >= SkillLevel.SENIOR)
        if to_senior:
            out.append(PlayToCaller(call_id, PROMPT_TRANSFER_TO_SENIOR))
        if call.state is CallState.ON_HOLD:
            self._resume(call, source, now, out)
        if attended:
            assert target is not None
            call.state = CallState.TRANSFERRING
            call.transfer_from = source.agent_id
            call.transfer_to = target.agent_id
            call.transfer_queue = to_queue
            call.transfer_senior = to_senior
            call.hold_started = now
            out.append(StartMusicOnHold(call_id, call.queue.cfg.music_on_hold))
            if self._rec:
                self._events.append(HoldStarted(now, call_id, source.agent_id,
                                                TRANSFER_HOLD_REASON))
            self._offer(call, [target], now, out)
            return out
        if self._rec:
            self._events.append(CallTransferred(now, call_id, source.agent_id, to_queue,
                                                to_agent, False, to_senior))
        # A blind transfer: the first agent is done now.
        out.append(ReleaseAgent(call_id, source.agent_id))
        if self._rec:
            self._events.append(TalkEnded(now, call_id, source.agent_id, Party.TRANSFER))
        call.agent = None
        self._start_wrapup(source, call, now, out)
        if to_queue is not None:
            self._move_to_queue(call, self._queues[to_queue], want_skill, min_level, now)
            self._route(call, now, out)
        else:
            assert target is not None
            call.state = CallState.RINGING
            call.transfer_from = source.agent_id
            call.transfer_to = target.agent_id
            self._offer(call, [target], now, out)
        return out

    @staticmethod
    def _level(agent: Agent, skill: str | None) -> SkillLevel:
        if skill is None:
            return agent.cfg.top_level
        return agent.cfg.level(skill) or SkillLevel.JUNIOR

    def _complete_attended_transfer(self, call: Call, target: Agent, now: float,
                                    out: list[AcdAction]) -> None:
        """The target of an attended transfer answered: swap agents."""
        source = call.agent
        assert source is not None
        rec = self._rec
        if rec:
            self._events.append(CallTransferred(now, call.call_id, source.agent_id,
                                                call.transfer_queue, call.transfer_to, True,
                                                call.transfer_senior))
        if call.hold_started is not None:
            if rec:
                self._events.append(HoldEnded(now, call.call_id, source.agent_id,
                                              now - call.hold_started))
            call.hold_started = None
        out.append(ReleaseAgent(call.call_id, source.agent_id))
        if rec:
            self._events.append(TalkEnded(now, call.call_id, source.agent_id, Party.TRANSFER))
        self._start_wrapup(source, call, now, out)  # on the source queue's wrap-up time
        if call.transfer_queue is not None:
            # The call now belongs to the queue it was handed to (its wrap-up time, its
            # lane if it comes back), as a blind transfer's would.
            q = self._queues[call.transfer_queue]
            skill = call.skill if call.skill in q.cfg.skills else None
            call.queue = q
            call.lane = self._lane(q, skill, call.min_level)
            call.skill = skill
        call.transfer_queue = None
        self._connect(call, target, now, out)

    def _hand_over_attended(self, call: Call, source: Agent, now: float,
                            out: list[AcdAction]) -> None:
        """The transferring agent hung up while the target still rings: the attended
        transfer becomes a blind one (as on a PBX), so the caller is not lost."""
        rec = self._rec
        if rec:
            self._events.append(CallTransferred(now, call.call_id, source.agent_id,
                                                call.transfer_queue, call.transfer_to, False,
                                                call.transfer_senior))
            if call.hold_started is not None:
                self._events.append(HoldEnded(now, call.call_id, source.agent_id,
                                              now - call.hold_started))
            self._events.append(TalkEnded(now, call.call_id, source.agent_id, Party.TRANSFER))
        call.hold_started = None
        call.agent = None
        call.transfer_queue = None
        call.state = CallState.RINGING  # transfer_from stays: a miss sends it to the queue
        self._start_wrapup(source, call, now, out)

    def _attended_transfer_failed(self, call: Call, now: float, out: list[AcdAction]) -> None:
        """Nobody took the attended transfer: the caller is back with the first agent."""
        source = call.agent
        assert source is not None
        if self._rec:
            self._events.append(TransferFailed(now, call.call_id, source.agent_id,
                                               call.transfer_to))
        call.transfer_from = None
        call.transfer_to = None
        call.transfer_queue = None
        self._resume(call, source, now, out)

    # --- callbacks ------------------------------------------------------------------------

    @command
    def callback_requested(self, call_id: str, now: float, number: str) -> list[AcdAction]:
        """The caller pressed the key and hangs up; they keep their place in the queue."""
        number = number.strip()
        if not number or not all(ch.isdigit() or ch == "+" for ch in number):
            raise AcdError(f"callback number {number!r} is not a phone number")
        now, out = self._begin(now)
        call = self._call(call_id)
        if call.queue.cfg.callback_after is None:
            raise AcdError(f"queue {call.queue.name!r} does not offer callbacks")
        if call.state not in (CallState.WAITING, CallState.RINGING):
            raise CallStateError(call_id, call.state, "callback_requested")
        freed = self._stop_all_offers(call, now, out, OfferOutcome.CANCELLED)
        call.callback_number = number
        if self._rec:
            self._events.append(CallbackRequested(now, call_id, number))
        if call.wait_token == -1:
            call.state = CallState.CALLBACK_WAITING
            self._enqueue(call)
        else:
            call.state = CallState.CALLBACK_WAITING
        for agent in freed:
            self._agent_available(agent, now, out)
        return out

    @command
    def callback_result(
        self, call_id: str, now: float, outcome: CallbackOutcome
    ) -> list[AcdAction]:
        """How the outbound call to the caller went, after ``DialCallback``."""
        now, out = self._begin(now)
        call = self._call(call_id)
        agent = call.agent
        if call.state is not CallState.CALLBACK_DIALING or agent is None:
            raise CallStateError(call_id, call.state, "callback_result")
        rec = self._rec
        if outcome is CallbackOutcome.ANSWERED:
            if rec:
                self._events.append(CallbackResult(now, call_id, agent.agent_id, outcome))
            call.state = CallState.CONNECTED
            first = not call.answered
            call.answered = True
            call.last_agent = agent.agent_id
            if rec:
                self._events.append(CallAnswered(now, call_id, agent.agent_id, call.queue.name,
                                                 now - call.first_queued_at, False, first))
            return out
        out.append(ReleaseAgent(call_id, agent.agent_id))
        self._callback_failed(call, agent, now, out, outcome)
        return out

    def _callback_failed(self, call: Call, agent: Agent, now: float, out: list[AcdAction],
                         outcome: CallbackOutcome) -> None:
        if self._rec:
            # TalkEnded first: the agent's part (and wrap-up) belongs to the record.
            self._events.append(TalkEnded(now, call.call_id, agent.agent_id, Party.SYSTEM))
            self._events.append(CallbackResult(now, call.call_id, agent.agent_id, outcome))
        call.agent = None
        self._start_wrapup(agent, call, now, out)
        self._finish(call, CallState.CALLBACK_FAILED)
