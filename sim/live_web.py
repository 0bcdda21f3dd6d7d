"""The Hotline web API as `hotline sim --live` uses it: log in, forced password change, agent
state, wrap-up, the ACD event stream and the wallboard.

Thin on purpose: each method is one HTTP call of agent_desktop/ (auth.py, acd_api.py, live.py,
desk_api.py) with its error turned into a `LiveError` naming the call and the service's reason.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import aiohttp

from acd.events import AcdEvent, event_from_dict

# Generated passwords: 16 URL-safe characters (~96 bits), like the service's initial ones.
NEW_PASSWORD_BYTES: Final = 12
# A wrap-up posted before the service has seen the agent's BYE is refused ("no call to wrap
# up"); the BYE is on its way, so try again a few times.
WRAPUP_ATTEMPTS: Final = 10
WRAPUP_RETRY_SECONDS: Final = 0.1
HTTP_TIMEOUT_SECONDS: Final = 10.0


class LiveError(RuntimeError):
    """The service refused or could not be reached; the message says which call and why."""


@dataclass(frozen=True, slots=True)
class Login:
    username: str
    token: str
    password: str  # the one in force after login (a forced change replaces the given one)
    changed_from: str | None  # the given password when the service forced a change


def new_password(username: str) -> str:
    """A password the service's policy accepts (long, random, never containing the user)."""
    while True:
        candidate = secrets.token_urlsafe(NEW_PASSWORD_BYTES)
        if username.lower() not in candidate.lower():
            return candidate


def gauge_totals(text: str) -> dict[str, float]:
    """Prometheus text exposition: each sample's value summed per metric name (labels merged)."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_part, _, value = line.rpartition(" ")
        name = name_part.split("{", 1)[0].strip()
        try:
            totals[name] = totals.get(name, 0.0) + float(value)
        except ValueError:
            continue  # not a sample line
    return totals


class WebClient:
    """One logged-in session against the service's web API (Bearer token)."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self.login_info: Login | None = None

    @property
    def token(self) -> str:
        if self.login_info is None:
            raise LiveError("not logged in")
        return self.login_info.token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, auth: bool = True
    ) -> Any:
        headers = self._headers() if auth else {}
        try:
            async with self._http.request(
                method,
                self._base + path,
                json=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS),
            ) as response:
                try:
                    payload = await response.json(content_type=None)
                except ValueError:
                    payload = await response.text()
                if response.status >= 400:
                    reason = (
                        f"{payload.get('error')}: {payload.get('message')}"
                        if isinstance(payload, dict)
                        else payload
                    )
                    raise LiveError(f"{method} {path}: HTTP {response.status}: {reason}")
                return payload
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise LiveError(f"{method} {path}: {type(exc).__name__}: {exc}") from None

    async def login(self, username: str, password: str) -> Login:
        """POST /api/session; when the service demands a new password, set one (POST
        /api/password) so the run can go on, and report it in `Login.changed_from`."""
        info = await self._request(
            "POST", "/api/session", {"username": username, "password": password}, auth=False
        )
        self.login_info = Login(username, str(info["token"]), password, None)
        if info.get("password_change_required"):
            fresh = new_password(username)
            await self._request(
                "POST", "/api/password", {"old_password": password, "new_password": fresh}
            )
            self.login_info = Login(username, str(info["token"]), fresh, password)
        return self.login_info

    async def logout(self) -> None:
        if self.login_info is not None:
            await self._request("DELETE", "/api/session")
            self.login_info = None

    async def set_state(self, agent: str, state: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request(
            "POST", f"/api/agents/{agent}/state", {"state": state}
        )
        return result

    async def agents(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._request("GET", "/api/agents")
        return result

    async def submit_wrapup(
        self, agent: str, *, call_type: str, summary: str, resolved: bool
    ) -> dict[str, Any]:
        body = {"call_type": call_type, "summary": summary, "resolved": resolved}
        for attempt in range(WRAPUP_ATTEMPTS):
            try:
                result: dict[str, Any] = await self._request(
                    "POST", f"/api/agents/{agent}/wrapup", body
                )
                return result
            except LiveError:
                if attempt == WRAPUP_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(WRAPUP_RETRY_SECONDS)
        raise AssertionError("unreachable")

    async def wallboard(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", "/api/wallboard")
        return result

    async def queues(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._request("GET", "/api/queues")
        return result

    async def metrics_text(self) -> str:
        """GET /metrics (Prometheus text; no login needed)."""
        try:
            async with self._http.get(
                self._base + "/metrics", timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS)
            ) as response:
                return await response.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise LiveError(f"GET /metrics: {exc}") from None

    async def stream_events(
        self, on_event: Callable[[AcdEvent], None], connected: asyncio.Event
    ) -> None:
        """Feed every ACD event of GET /api/events (WebSocket) to `on_event` until cancelled."""
        try:
            async with self._http.ws_connect(
                self._base.replace("http", "ws", 1) + "/api/events", headers=self._headers()
            ) as socket:
                connected.set()
                async for message in socket:
                    if message.type is not aiohttp.WSMsgType.TEXT:
                        continue
                    doc = message.json()
                    try:
                        event = event_from_dict({"type": doc["type"], **doc["data"]})
                    except (KeyError, TypeError, ValueError):
                        continue  # an event kind this version does not know
                    on_event(event)
        except aiohttp.ClientError as exc:
            raise LiveError(f"GET /api/events: {exc}") from None
