"""The REST + WebSocket API for agents and supervisors, against a real database and ACD engine."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

import hotline.accounts.models  # noqa: F401  (registers the tables)
from acd.config import AgentConfig, QueueConfig
from acd.engine import AcdEngine
from agent_desktop.app import build_web_app
from hotline.accounts.audit import AuditLog
from hotline.accounts.passwords import Argon2Params, PasswordPolicy
from hotline.accounts.permissions import Role
from hotline.accounts.service import AccountPolicy, AccountService
from hotline.acd_service import AcdService
from hotline.db.base import Base
from hotline.notifier import Notifier

FAST_ARGON2 = Argon2Params(time_cost=1, memory_cost_kib=1024, parallelism=1)
INITIAL = {
    "1001": "Amber-Falcon-Meadow-7",
    "1002": "Cobalt-Harbor-Window-3",
    "boss": "Tidal-Orchard-Spire-9",
}
NEW = {
    "1001": "Quiet-River-Lantern-42",
    "1002": "Silver-Canyon-Echo-58",
    "boss": "Maple-Drift-Beacon-16",
}


class RecordingCalls:
    """Stands in for the call manager (SIP and media are tested end to end elsewhere)."""

    def __init__(self) -> None:
        self.closed: list[tuple[str, str]] = []
        self.active: dict[str, str] = {}
        self.paused: list[tuple[str, str]] = []

    def close_call(self, call_id: str, phrase: str) -> None:
        self.closed.append((call_id, phrase))

    def active_call_of(self, agent_number: str) -> str | None:
        return self.active.get(agent_number)

    def pause_recording(self, call_id: str, reason: str) -> None:
        self.paused.append((call_id, reason))

    def resume_recording(self, call_id: str) -> None:
        self.paused.append((call_id, "resumed"))


TEST_CALLS = web.AppKey("test_calls", RecordingCalls)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    db = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    async with db.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    sessions = async_sessionmaker(db, expire_on_commit=False)
    clock = asyncio.get_running_loop().time
    accounts = AccountService(
        sessions,
        AuditLog(sessions, clock),
        clock,
        policy=AccountPolicy(password=PasswordPolicy(argon2=FAST_ARGON2)),
    )
    for username, role, number in (
        ("1001", Role.AGENT, "1001"),
        ("1002", Role.AGENT, "1002"),
        ("boss", Role.SUPERVISOR, None),
    ):
        await accounts.create_account(
            None,
            username=username,
            role=role,
            initial_password=INITIAL[username],
            agent_number=number,
            teams=("default",),
        )
    notifier = Notifier()
    engine = AcdEngine(
        [QueueConfig(name="general")],
        [
            AgentConfig(agent_id="1001", number="1001", queues=("general",)),
            AgentConfig(agent_id="1002", number="1002", queues=("general",)),
        ],
        rng=random.Random(1),
    )
    acd = AcdService(engine, notifier, asyncio.get_running_loop())
    calls = RecordingCalls()
    app = build_web_app(accounts=accounts, acd=acd, notifier=notifier, calls=calls)
    app[TEST_CALLS] = calls
    async with TestClient(TestServer(app)) as test_client:
        yield test_client
    acd.close()
    await db.dispose()


async def login(client: TestClient, username: str) -> dict[str, str]:
    response = await client.post(
        "/api/session", json={"username": username, "password": INITIAL[username]}
    )
    assert response.status == 200
    token = (await response.json())["token"]
    headers = {"Authorization": f"Bearer {token}"}
    changed = await client.post(
        "/api/password",
        json={"old_password": INITIAL[username], "new_password": NEW[username]},
        headers=headers,
    )
    assert changed.status == 200, await changed.text()
    return headers


async def test_initial_password_must_be_changed_before_anything_else(client: TestClient) -> None:
    response = await client.post(
        "/api/session", json={"username": "1001", "password": INITIAL["1001"]}
    )
    body = await response.json()
    assert body["password_change_required"] is True
    headers = {"Authorization": f"Bearer {body['token']}"}
    refused = await client.get("/api/agents", headers=headers)
    assert refused.status == 403
    assert (await refused.json())["error"] == "password_change_required"


async def test_agent_goes_ready_and_the_event_reaches_a_websocket(client: TestClient) -> None:
    agent = await login(client, "1001")
    socket = await client.ws_connect("/api/events", headers=agent)
    response = await client.post("/api/agents/1001/state", json={"state": "ready"}, headers=agent)
    assert response.status == 200
    assert (await response.json())["state"] == "ready"
    seen = []
    while True:
        message = await asyncio.wait_for(socket.receive_json(), 5)
        seen.append(message)
        if message["type"] == "AgentStateChanged" and message["data"]["new"] == "ready":
            break
    assert seen[-1]["data"]["agent_id"] == "1001"
    await socket.close()


async def test_an_agent_cannot_change_another_agents_state_but_a_supervisor_can(
    client: TestClient,
) -> None:
    agent = await login(client, "1001")
    refused = await client.post("/api/agents/1002/state", json={"state": "ready"}, headers=agent)
    assert refused.status == 403
    boss = await login(client, "boss")
    allowed = await client.post(
        "/api/agents/1002/state", json={"state": "not_ready", "reason": "meeting"}, headers=boss
    )
    assert allowed.status == 200
    body = await allowed.json()
    assert (body["state"], body["reason"]) == ("not_ready", "meeting")


async def test_not_ready_needs_a_known_reason(client: TestClient) -> None:
    agent = await login(client, "1001")
    response = await client.post(
        "/api/agents/1001/state", json={"state": "not_ready", "reason": "nap"}, headers=agent
    )
    assert response.status == 400
    assert "reason must be one of" in (await response.json())["message"]


async def test_hold_without_a_reason_is_refused(client: TestClient) -> None:
    agent = await login(client, "1001")
    response = await client.post("/api/calls/c1/hold", json={"reason": " "}, headers=agent)
    assert response.status == 400  # SPEC-Q5


async def test_closing_phrase_only_on_the_agents_own_call(client: TestClient) -> None:
    agent = await login(client, "1001")
    calls = client.app[TEST_CALLS]
    refused = await client.post("/api/calls/c9/close", json={"phrase": "P5"}, headers=agent)
    assert refused.status == 403
    calls.active["1001"] = "c9"
    bad = await client.post("/api/calls/c9/close", json={"phrase": "P1"}, headers=agent)
    assert bad.status == 400
    ok = await client.post("/api/calls/c9/close", json={"phrase": "P8"}, headers=agent)
    assert ok.status == 200
    assert calls.closed == [("c9", "P8")]


async def test_prometheus_metrics_show_queue_and_agent_gauges(client: TestClient) -> None:
    agent = await login(client, "1001")
    await client.post("/api/agents/1001/state", json={"state": "ready"}, headers=agent)
    text = await (await client.get("/metrics")).text()
    assert 'hotline_queue_ready_agents{queue="general"} 1.0' in text
    assert 'hotline_agents{state="ready"} 1.0' in text


async def test_requests_without_a_session_get_401(client: TestClient) -> None:
    response = await client.get("/api/queues")
    assert response.status == 401


async def test_recording_pause_needs_a_reason_and_the_agents_own_call(client: TestClient) -> None:
    agent = await login(client, "1001")
    calls = client.app[TEST_CALLS]
    body = {"reason": "card number"}
    refused = await client.post("/api/calls/c7/recording/pause", json=body, headers=agent)
    assert refused.status == 403
    calls.active["1001"] = "c7"
    no_reason = await client.post(
        "/api/calls/c7/recording/pause", json={"reason": ""}, headers=agent
    )
    assert no_reason.status == 400
    paused = await client.post("/api/calls/c7/recording/pause", json=body, headers=agent)
    assert paused.status == 200
    resumed = await client.post("/api/calls/c7/recording/resume", headers=agent)
    assert resumed.status == 200
    assert calls.paused == [("c7", "card number"), ("c7", "resumed")]
