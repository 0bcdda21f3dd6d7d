"""Operating the running service over its API: surge switch, menu reload, metrics history.

SPEC-O1 (emergency plan without a restart), issue 4 (reload without dropping calls), issue 5
(SPEC-Q2 history by query).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from conftest import PROMPTS_STARTED, running_service, service_config, sip_port
from pjsua_phones import Phone, PjsuaLibrary, hang_up, wait_for

from acd.events import CallAbandoned, CallQueued
from hotline.app import DEFAULT_FLOW, Service

pytestmark = pytest.mark.interop

NEW_ADMIN_PASSWORD = "Granite-Lighthouse-Orbit-73"


async def admin_session(service: Service) -> aiohttp.ClientSession:
    base = f"http://127.0.0.1:{service.web_port}"
    session = aiohttp.ClientSession(base_url=base)
    initial = service.initial_passwords["admin"]
    async with session.post(
        "/api/session", json={"username": "admin", "password": initial}
    ) as response:
        token = (await response.json())["token"]
    session.headers["Authorization"] = f"Bearer {token}"
    async with session.post(
        "/api/password", json={"old_password": initial, "new_password": NEW_ADMIN_PASSWORD}
    ) as response:
        assert response.status == 200
    return session


@pytest.fixture
async def flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "flow.yaml"
    shutil.copy(DEFAULT_FLOW, path)
    return path


@pytest.fixture
async def operated(tmp_path: Path, flow_file: Path) -> AsyncIterator[Service]:
    async with running_service(service_config(tmp_path, **{"ivr.flow": str(flow_file)})) as s:
        yield s


async def caller_chooses_chinese(service: Service, pjsua: PjsuaLibrary, user: str) -> object:
    caller = Phone(pjsua, user)
    call = caller.call(f"sip:1000@127.0.0.1:{sip_port(service)}")
    await wait_for(lambda: call.confirmed, what="answer")
    started = PROMPTS_STARTED.setdefault(call.info.callIdString, [])
    await wait_for(lambda: any("language_choice" in ids for ids in started), timeout=20)
    call.send_digits("1")
    return call


async def test_surge_switch_sends_the_next_caller_to_the_emergency_message(
    operated: Service, pjsua: PjsuaLibrary
) -> None:
    queued: list[CallQueued] = []
    operated.notifier.subscribe(CallQueued, queued.append)
    async with await admin_session(operated) as admin:
        async with admin.post("/api/ivr/switches/surge", json={"on": True}) as response:
            assert response.status == 200
            assert (await response.json())["switches"]["surge"] is True
    call = await caller_chooses_chinese(operated, pjsua, "13900000001")
    started = PROMPTS_STARTED[call.info.callIdString]
    await wait_for(lambda: any("emergency" in ids for ids in started), timeout=20)
    await wait_for(lambda: bool(queued), timeout=20, what="the overflow queue")
    assert queued[0].queue == "overflow"
    hang_up(call)


async def test_a_bad_flow_edit_is_refused_with_file_line_and_node_and_the_menu_stays(
    operated: Service, flow_file: Path
) -> None:
    good = flow_file.read_text()
    broken = good.replace("next: language", "next: nowhere", 1)
    assert broken != good
    flow_file.write_text(broken)
    async with await admin_session(operated) as admin:
        async with admin.post("/api/ivr/reload") as response:
            assert response.status == 422
            message = (await response.json())["message"]
        line = next(n for n, text in enumerate(broken.splitlines(), 1) if "nowhere" in text)
        assert f"{flow_file}:{line}" in message
        assert "answer" in message  # the node whose target is unknown
        assert "nowhere" in message
        flow_file.write_text(good)
        async with admin.post("/api/ivr/reload") as response:
            assert response.status == 200
    assert operated.calls.flow.node("answer").next == "language"


async def test_metrics_history_counts_a_caller_who_gave_up_in_the_queue(
    service: Service, pjsua: PjsuaLibrary
) -> None:
    abandoned: list[CallAbandoned] = []
    service.notifier.subscribe(CallAbandoned, abandoned.append)
    start = time.time() - 1
    call = await caller_chooses_chinese(service, pjsua, "13900000002")
    started = PROMPTS_STARTED[call.info.callIdString]
    await wait_for(lambda: any("menu_main" in ids for ids in started), timeout=20)
    call.send_digits("0")
    await wait_for(
        lambda: service.acd.engine.queue_status("general", time.time()).waiting == 1,
        timeout=20,
        what="queued",
    )
    hang_up(call)
    await wait_for(lambda: bool(abandoned), what="abandon recorded")
    await service.store.append([])  # everything submitted before this is committed
    async with await admin_session(service) as admin:
        params = {"from": str(start), "to": str(time.time() + 1), "queue": "general"}
        async with admin.get("/api/metrics", params=params) as response:
            assert response.status == 200
            body = await response.json()
    total = body["total"]
    assert total["offered"] == 1
    assert total["answered"] == 0
    assert total["abandoned"] + total["short_abandoned"] == 1
