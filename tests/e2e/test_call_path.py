"""End to end over 127.0.0.1: PJSIP phones call the running service (issues 3, 4, 5).

Callers and agents are pjsua2 softphones, an independently written SIP stack.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import soundfile
from conftest import PROMPTS_STARTED, running_service, service_config, sip_port
from pjsua_phones import Phone, PhoneCall, PjsuaLibrary, answer, hang_up, wait_for

from acd.events import (
    CallAbandoned,
    CallAnswered,
    CallbackOffered,
    CallbackOutcome,
    CallbackPlaced,
    CallbackRequested,
    CallbackResult,
    CallEnded,
    CallQueued,
    Party,
    SurveyAnswered,
    TalkEnded,
)
from hotline.app import Service

pytestmark = pytest.mark.interop

# China's ring cadence: 1 s on, 4 s off (YD/T 1258); "three rings" of SPEC-Q1 is about 10 s.
RING_CYCLE_SECONDS = 2.0


def hotline_uri(service: Service) -> str:
    return f"sip:1000@127.0.0.1:{sip_port(service)}"


async def wait_for_prompt(service: Service, call: PhoneCall, prompt_id: str) -> None:
    """Until the service starts playing ``prompt_id`` to this caller (a menu step is ready)."""
    call_id = call.info.callIdString
    started = PROMPTS_STARTED.setdefault(call_id, [])
    await wait_for(
        lambda: any(prompt_id in ids for ids in started),
        timeout=20,
        what=f"prompt {prompt_id} for {call_id} (seen {PROMPTS_STARTED})",
    )


def queued_calls(service: Service) -> list[CallQueued]:
    seen: list[CallQueued] = []
    service.notifier.subscribe(CallQueued, seen.append)
    return seen


@pytest.mark.parametrize("info", [False, True], ids=["rfc4733", "sip-info"])
async def test_digits_walk_the_menu_to_the_chosen_queue(
    service: Service, pjsua: PjsuaLibrary, info: bool
) -> None:
    queued = queued_calls(service)
    caller = Phone(pjsua, "13800000002")
    call = caller.call(hotline_uri(service))
    await wait_for(lambda: call.confirmed, what="200 OK and ACK")
    await wait_for_prompt(service, call, "language_choice")  # P1 is not interruptible
    call.send_digits("2", info=info)  # English
    await wait_for_prompt(service, call, "menu_main")
    call.send_digits("1", info=info)  # billing
    await wait_for(lambda: bool(queued), what="the call to reach the ACD")
    assert queued[0].queue == "billing"
    assert queued[0].menu_path[-1] == "1"
    assert queued[0].caller == "13800000002"
    hang_up(call)
    await wait_for(lambda: call.disconnected, what="BYE done")


def events_of(service: Service, *types: type) -> list[object]:
    seen: list[object] = []
    for kind in types:
        service.notifier.subscribe(kind, seen.append)
    return seen


async def registered_agent(service: Service, pjsua: PjsuaLibrary, number: str) -> Phone:
    phone = Phone(
        pjsua,
        number,
        registrar=f"sip:127.0.0.1:{sip_port(service)}",
        password=service.initial_passwords[number],
    )
    await wait_for(lambda: 200 in phone.registration_codes, what=f"agent {number} registered")
    engine = service.acd.engine
    service.acd.command(lambda now: engine.agent_login(number, now, ready=True))
    return phone


async def caller_to_general_queue(service: Service, pjsua: PjsuaLibrary, user: str) -> PhoneCall:
    caller = Phone(pjsua, user)
    call = caller.call(hotline_uri(service))
    await wait_for(lambda: call.confirmed, what="200 OK and ACK")
    await wait_for_prompt(service, call, "language_choice")
    call.send_digits("1")  # 中文
    await wait_for_prompt(service, call, "menu_main")
    call.send_digits("0")  # a human agent (SPEC-Q3)
    return call


async def test_agent_answer_after_two_rings_is_within_service_level_and_agent_bye_keeps_caller(
    service: Service, pjsua: PjsuaLibrary
) -> None:
    seen = events_of(service, CallAnswered, TalkEnded, SurveyAnswered, CallEnded)
    agent = await registered_agent(service, pjsua, "1001")
    call = await caller_to_general_queue(service, pjsua, "13800000003")
    await wait_for(lambda: bool(agent.incoming), what="the agent's phone to ring")
    await asyncio.sleep(2 * RING_CYCLE_SECONDS)  # two rings, then the agent picks up
    answer(agent.incoming[0])
    await wait_for(lambda: any(isinstance(e, CallAnswered) for e in seen), what="answer")
    answered = next(e for e in seen if isinstance(e, CallAnswered))
    assert answered.agent_id == "1001"
    assert not answered.late  # SPEC-Q1: inside 10 s, no P4
    # The caller first hears P10 with the agent's number; then the two are bridged and the
    # recording starts (issue 6); they talk for a moment.
    root = service.config.recordings.root
    await wait_for(lambda: any(root.rglob(f"{answered.call_id}.wav")), timeout=20, what="recording")
    await asyncio.sleep(1.0)
    hang_up(agent.incoming[0])  # the agent's phone sends BYE first
    await wait_for(lambda: any(isinstance(e, TalkEnded) for e in seen), what="talk ended")
    ended = next(e for e in seen if isinstance(e, TalkEnded))
    assert ended.ended_by is Party.AGENT  # recorded as "agent BYE first"
    await asyncio.sleep(1.0)
    assert not call.disconnected  # SPEC-Q7: the caller is not cut off, but surveyed (Q4)
    call.send_digits("1")  # satisfied
    await wait_for(lambda: call.disconnected, timeout=15, what="the service to end the call")
    survey = [e for e in seen if isinstance(e, SurveyAnswered)]
    assert [(s.agent_id, s.score, s.satisfied) for s in survey] == [("1001", 1, True)]
    assert any(isinstance(e, CallEnded) for e in seen)
    # The agent-connected part was recorded (issue 6): stereo, 8 kHz, as long as the talk.
    (path,) = root.rglob(f"{answered.call_id}.wav")
    info = soundfile.info(str(path))
    assert (info.channels, info.samplerate, info.subtype) == (2, 8000, "PCM_16")
    assert 0.5 < info.duration < 10.0
    assert path.relative_to(root).parts[0].isdigit()  # <root>/YYYY/MM/DD/<call-id>.wav


async def test_agent_answering_after_12_seconds_is_counted_late(
    service: Service, pjsua: PjsuaLibrary
) -> None:
    seen = events_of(service, CallAnswered)
    agent = await registered_agent(service, pjsua, "1002")
    call = await caller_to_general_queue(service, pjsua, "13800000004")
    await wait_for(lambda: bool(agent.incoming), what="the agent's phone to ring")
    await asyncio.sleep(12.0)
    answer(agent.incoming[0])
    await wait_for(lambda: bool(seen), what="answer")
    assert seen[0].late  # SPEC-Q1 → the caller hears P4 before the agent
    hang_up(call)
    await wait_for(lambda: call.disconnected, what="caller BYE")


async def test_caller_hanging_up_while_agent_rings_cancels_the_agent_leg(
    service: Service, pjsua: PjsuaLibrary
) -> None:
    seen = events_of(service, CallAbandoned)
    agent = await registered_agent(service, pjsua, "1001")
    call = await caller_to_general_queue(service, pjsua, "13800000005")
    await wait_for(lambda: bool(agent.incoming), what="the agent's phone to ring")
    hang_up(call)
    await wait_for(lambda: agent.incoming[0].disconnected, what="CANCEL to the agent")
    assert 487 in agent.incoming[0].status_codes
    await wait_for(lambda: bool(seen), what="abandon recorded")


async def test_a_busy_agent_is_never_rung(service: Service, pjsua: PjsuaLibrary) -> None:
    queued = queued_calls(service)
    agent = await registered_agent(service, pjsua, "1001")
    first = await caller_to_general_queue(service, pjsua, "13800000006")
    await wait_for(lambda: bool(agent.incoming), what="the agent's phone to ring")
    answer(agent.incoming[0])
    await wait_for(lambda: agent.incoming[0].confirmed, what="agent connected")
    second = await caller_to_general_queue(service, pjsua, "13800000007")
    await wait_for(lambda: len(queued) == 2, what="the second caller to queue")
    await asyncio.sleep(2.0)
    assert len(agent.incoming) == 1  # talking: the second caller waits
    status = service.acd.engine.queue_status("general", service.acd.now())
    assert status.waiting == 1
    for call in (first, second):
        hang_up(call)
    await wait_for(lambda: first.disconnected and second.disconnected, what="both BYEs")


async def test_callback_keeps_the_place_and_the_agent_is_connected_to_a_call_back(
    tmp_path: Path, pjsua: PjsuaLibrary
) -> None:
    queues = [
        {"name": name, "callback_after": 2.0 if name == "general" else None}
        for name in ("general", "billing", "faults", "complaints", "overflow")
    ]
    for queue in queues:
        if queue["name"] in ("billing", "faults", "complaints"):
            queue["skills"] = [queue["name"]]
    config = service_config(tmp_path, **{"acd.queues": queues})
    async with running_service(config) as service:
        seen = events_of(
            service,
            CallbackOffered,
            CallbackRequested,
            CallbackPlaced,
            CallbackResult,
            CallAnswered,
        )
        call = await caller_to_general_queue(service, pjsua, "13800000008")
        await wait_for(
            lambda: any(isinstance(e, CallbackOffered) for e in seen), timeout=20, what="offer"
        )
        await asyncio.sleep(0.5)
        call.send_digits("1")  # "press 1 to be called back"
        await wait_for(lambda: call.disconnected, what="the service to release the caller")
        requested = [e for e in seen if isinstance(e, CallbackRequested)]
        assert [r.number for r in requested] == ["13800000008"]
        agent = await registered_agent(service, pjsua, "1001")
        await wait_for(lambda: bool(agent.incoming), what="the agent to be rung for the callback")
        answer(agent.incoming[0])
        caller_phone = call.phone
        await wait_for(lambda: bool(caller_phone.incoming), what="the call back to the caller")
        answer(caller_phone.incoming[0])
        await wait_for(
            lambda: any(isinstance(e, CallbackResult) for e in seen), what="callback outcome"
        )
        result = next(e for e in seen if isinstance(e, CallbackResult))
        assert (result.agent_id, result.outcome) == ("1001", CallbackOutcome.ANSWERED)
        assert any(isinstance(e, CallAnswered) and e.agent_id == "1001" for e in seen)
        hang_up(caller_phone.incoming[0])
        await wait_for(lambda: caller_phone.incoming[0].disconnected, what="BYE")
