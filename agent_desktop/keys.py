"""Typed application keys: how handlers reach the services the composition root built."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from hotline.accounts.service import AccountService
from hotline.acd_service import AcdService
from hotline.notifier import Notifier


class CallControlPort(Protocol):
    """What the web layer asks of live calls; the call manager implements it."""

    def close_call(self, call_id: str, phrase: str) -> None:
        """Play a closing phrase (SPEC-P5…P8) to the caller, then the service ends the call."""

    def active_call_of(self, agent_number: str) -> str | None: ...

    def pause_recording(self, call_id: str, reason: str) -> None: ...

    def resume_recording(self, call_id: str) -> None: ...


ACCOUNTS = web.AppKey("accounts", AccountService)
ACD = web.AppKey("acd", AcdService)
NOTIFIER = web.AppKey("notifier", Notifier)
CALLS = web.AppKey("calls", CallControlPort)
