"""A small harness to drive pjsua2 (PJSIP's Python binding) phones from asyncio tests.

pjsua2 runs its own worker thread and calls back into Python from it. Everything the
callbacks learn goes into plain lists guarded by a lock; tests poll them with
`wait_until` (bounded, sleeping between looks) so no pj call is ever made from the worker
thread and no asyncio object is touched from it. Rules that keep PJSIP happy:
- one library per process: `PjEnv` creates it (libCreate/libInit/libStart, libDestroy at the
  end) or, if another suite already did, reuses it and only adds its own UDP transport;
  the `pj_env` session fixture (tests/interop/conftest.py) holds it;
- audio goes to the null device (no sound card on CI);
- a `PjCall` is dropped (forgotten) once DISCONNECTED; `PjEnv.reset` hangs up and forgets
  everything between tests so one test's calls never leak into the next.

Usage (see tests/interop/test_pjsua2.py; import as ``from interop.pjsua_harness import ...``):
    phone = pj_env.account("1001", registrar=("127.0.0.1", port), password="pw",
                           domain="hotline.test")
    await wait_until(lambda: phone.reg_codes, "REGISTER answered")
    call = phone.call("sip:1000@127.0.0.1:5060")
    await call.wait_state("CONFIRMED")
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

# Upper bound for one SIP step between pjsua2 and us on loopback; waits end at the event.
STEP_TIMEOUT = 10.0
POLL_INTERVAL = 0.02
# PJSUA_CALL_UNHOLD (pjsua.h): release hold in a re-INVITE.
PJSUA_CALL_UNHOLD = 1


async def wait_until(predicate: Callable[[], Any], what: str,
                     limit: float = STEP_TIMEOUT) -> Any:
    """Poll `predicate` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(POLL_INTERVAL)


def pj_api(action: Callable[[], Any], attempts: int = 5) -> Any:
    """Run one pjsua2 API call, retrying when PJSIP's call lock timed out.

    The binding keeps the GIL during a call; if pjsua2's worker thread holds the call's lock
    while it waits for the GIL to run one of our callbacks, PJSIP gives up after its lock
    timeout with PJ_ETIMEDOUT. Sleeping (which releases the GIL) lets the callback finish,
    and the retry then goes through.
    """
    for attempt in range(attempts):
        try:
            return action()
        except RuntimeError as exc:
            if "PJ_ETIMEDOUT" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)
    return None


def _state_name(state: Any) -> str:
    return str(getattr(state, "name", state)).split(".")[-1]


class PjCall(pj.Call):  # type: ignore[misc]
    """A pjsua2 call that records its states, last status, DTMF and media status."""

    def __init__(self, account: PjAccount, call_id: int | None = None) -> None:
        if call_id is None:
            super().__init__(account)
        else:
            super().__init__(account, call_id)
        self.account = account
        self._lock = threading.Lock()
        self.states: list[str] = []
        self.status_codes: list[int] = []
        self.media_states: list[str] = []
        self.digits: list[str] = []
        self.responses: list[tuple[str, int]] = []  # (method, status) of our transactions
        self.received: list[str] = []  # first line of every message pjsua2 received
        self.disconnected = False

    # --- callbacks (pjsua2 worker thread) -----------------------------------------------

    def onCallState(self, prm: Any) -> None:
        info = self.info
        with self._lock:
            self.states.append(_state_name(info.state))
            self.status_codes.append(int(info.lastStatusCode))
            if info.state == pj.InvState.DISCONNECTED:
                self.disconnected = True

    def onCallTsxState(self, prm: Any) -> None:
        event = prm.e
        if event.type != pj.EventId.TSX_STATE:
            return
        state = event.body.tsxState
        tsx = state.tsx
        with self._lock:
            if tsx.statusCode:
                self.responses.append((tsx.method, int(tsx.statusCode)))
            if state.type == pj.EventId.RX_MSG:
                self.received.append(str(state.src.rdata.wholeMsg).split("\r\n", 1)[0])

    def onCallMediaState(self, prm: Any) -> None:
        info = self.info
        with self._lock:
            for media in info.media:
                if media.type == pj.MediaType.AUDIO:
                    self.media_states.append(_state_name(media.status))

    def onDtmfDigit(self, prm: Any) -> None:
        with self._lock:
            self.digits.append(prm.digit)

    # --- test side --------------------------------------------------------------------

    @property
    def last_status(self) -> int | None:
        with self._lock:
            return self.status_codes[-1] if self.status_codes else None

    async def wait_state(self, name: str, limit: float = STEP_TIMEOUT) -> None:
        await wait_until(lambda: name in self.states, f"pjsua2 call state {name}", limit)

    async def wait_media(self, name: str, limit: float = STEP_TIMEOUT) -> None:
        """Wait for the audio stream to reach `name` (ACTIVE, LOCAL_HOLD, REMOTE_HOLD...)."""
        await wait_until(lambda: self.media_states and self.media_states[-1] == name,
                         f"pjsua2 media state {name} (seen {self.media_states})", limit)

    def answer_with(self, status: int = 200) -> None:
        prm = pj.CallOpParam(True)
        prm.statusCode = pj.StatusCode(status)
        pj_api(lambda: self.answer(prm))

    def hang_up(self, status: int = 603) -> None:
        if self.disconnected:
            return
        prm = pj.CallOpParam(True)
        prm.statusCode = pj.StatusCode(status)
        pj_api(lambda: self.hangup(prm))

    def put_on_hold(self) -> None:
        pj_api(lambda: self.setHold(pj.CallOpParam(True)))

    def release_hold(self) -> None:
        prm = pj.CallOpParam(True)
        prm.opt.flag = PJSUA_CALL_UNHOLD
        pj_api(lambda: self.reinvite(prm))

    def send_info_dtmf(self, digits: str) -> None:
        prm = pj.CallSendDtmfParam()
        prm.digits = digits
        prm.method = pj.DtmfMethod.SIP_INFO
        pj_api(lambda: self.sendDtmf(prm))


class PjAccount(pj.Account):  # type: ignore[misc]
    """One pjsua2 identity: optionally registers; collects incoming calls."""

    def __init__(self, env: PjEnv) -> None:
        super().__init__()
        self.env = env
        self._lock = threading.Lock()
        self.reg_codes: list[int] = []
        self.incoming: list[PjCall] = []
        self.auto_answer: int | None = None  # answer incoming calls with this status

    def onRegState(self, prm: Any) -> None:
        with self._lock:
            self.reg_codes.append(int(prm.code))

    def onIncomingCall(self, prm: Any) -> None:
        call = PjCall(self, prm.callId)
        with self._lock:
            self.incoming.append(call)
        self.env.calls.append(call)
        if self.auto_answer is not None:
            call.answer_with(self.auto_answer)

    def call(self, uri: str) -> PjCall:
        call = PjCall(self)
        self.env.calls.append(call)
        pj_api(lambda: call.makeCall(uri, pj.CallOpParam(True)))
        return call

    async def wait_incoming(self, limit: float = STEP_TIMEOUT) -> PjCall:
        await wait_until(lambda: self.incoming, "an incoming call at pjsua2", limit)
        with self._lock:
            return self.incoming.pop(0)


class PjEnv:
    """The process-wide pjsua2 library with our own UDP transport on 127.0.0.1.

    PJSIP allows one library per process. If another suite (tests/e2e) already created it,
    it is reused: we only add a transport and never destroy what we did not create.
    """

    def __init__(self) -> None:
        try:
            self.ep = pj.Endpoint.instance()
            self.owner = False
        except RuntimeError:  # PJ_ENOTFOUND: nobody created the library yet
            self.ep = pj.Endpoint()
            self.ep.libCreate()
            self.owner = True
            cfg = pj.EpConfig()
            cfg.logConfig.level = 0
            cfg.logConfig.consoleLevel = 0
            cfg.uaConfig.maxCalls = 32
            # An 8 kHz bridge, as tests/e2e configures it, so either suite can go first.
            cfg.medConfig.clockRate = 8000
            cfg.medConfig.sndClockRate = 8000
            # The null sound device must never auto-close: its clock drives the conference
            # bridge, and a stopped bridge sends no RTP (and so no RFC 4733 digits).
            cfg.medConfig.sndAutoCloseTime = -1
            self.ep.libInit(cfg)
        tcfg = pj.TransportConfig()
        tcfg.boundAddress = "127.0.0.1"
        tcfg.port = 0
        self.transport_id = self.ep.transportCreate(pj.TransportType.UDP, tcfg)
        if self.owner:
            self.ep.libStart()
        self.ep.audDevManager.setNullDev()
        self.accounts: list[PjAccount] = []
        self.calls: list[PjCall] = []
        self._graveyard: list[weakref.ref[PjCall]] = []

    @property
    def port(self) -> int:
        info = self.ep.transportGetInfo(self.transport_id)
        return int(str(info.localName).rsplit(":", 1)[1])

    def account(
        self,
        user: str,
        *,
        domain: str = "127.0.0.1",
        registrar: tuple[str, int] | None = None,
        password: str | None = None,
        realm: str = "*",
        expires: int = 300,
    ) -> PjAccount:
        """An account `sip:user@domain`; with `registrar` it REGISTERs there at once."""
        cfg = pj.AccountConfig()
        cfg.idUri = f"sip:{user}@{domain}"
        if registrar is not None:
            cfg.regConfig.registrarUri = f"sip:{registrar[0]}:{registrar[1]}"
            cfg.regConfig.timeoutSec = expires
            cfg.regConfig.retryIntervalSec = 0  # a refused REGISTER is not retried
        cfg.sipConfig.transportId = self.transport_id
        if password is not None:
            cfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", realm, user, 0, password))
        account = PjAccount(self)
        account.create(cfg)
        self.accounts.append(account)
        return account

    async def reset(self) -> None:
        """Hang up every call, unregister and drop every account (between tests)."""
        self.ep.hangupAllCalls()
        await wait_until(lambda: all(c.disconnected or not c.states for c in self.calls),
                         "pjsua2 calls to end", 5.0)
        self._drop_calls()
        for account in self.accounts:
            account.shutdown()
        self.accounts.clear()

    def _drop_calls(self) -> None:
        for call in self.calls:
            self._graveyard.append(weakref.ref(call))
        self.calls.clear()
        for account in self.accounts:
            with account._lock:
                account.incoming.clear()

    def close(self) -> None:
        self.ep.hangupAllCalls()
        self._drop_calls()
        for account in self.accounts:
            account.shutdown()
        self.accounts.clear()
        gc.collect()
        if not self.owner:
            return
        # A pjsua2 Call destroyed after libDestroy aborts the process (pjsua_call.c asserts),
        # and a failed test's traceback can keep one alive: then leave the library to exit.
        if any(ref() is not None for ref in self._graveyard):
            return
        self.ep.libDestroy()
