"""Real softphones for end-to-end tests: PJSIP (an independent SIP stack) through pjsua2.

PJSIP allows one library instance per process, so a session fixture owns it; phones are
accounts on it. pjsua2 calls our callbacks from its own worker thread: they only append to
lists and set flags, which the asyncio tests poll. The pybind11 binding has no recorder or
player, so these phones check signalling and digits; baresip (``baresip_phones.py``) checks
what callers and agents hear.
"""

from __future__ import annotations

import asyncio
import ctypes
import time
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

# The conference bridge at 8 kHz: no resampling between G.711 and the recorder, so what we
# record is exactly what the phone decoded.
CLOCK_RATE = 8000


def retrying(action: Callable[[], Any], attempts: int = 5) -> Any:
    """One pjsua2 API call, retried when PJSIP's call lock timed out.

    The binding keeps the GIL during an API call; if pjsua2's worker thread holds the call's
    lock while it waits for the GIL to run one of our callbacks, PJSIP gives up with
    PJ_ETIMEDOUT. Sleeping releases the GIL, the callback finishes, and the retry goes
    through.
    """
    for attempt in range(attempts):
        try:
            return action()
        except RuntimeError as exc:
            if "PJ_ETIMEDOUT" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)
    return None


class PjsuaLibrary:
    def __init__(self) -> None:
        try:
            # One PJSIP library per process: reuse one another suite created.
            self.endpoint = pj.Endpoint.instance()
            owner = False
        except RuntimeError:
            self.endpoint = pj.Endpoint()
            self.endpoint.libCreate()
            owner = True
        self.keep: list[object] = []
        self.phones: dict[str, Phone] = {}
        if owner:
            self._init_library()
        transport = pj.TransportConfig()
        transport.port = 0
        transport.boundAddress = "127.0.0.1"
        transport.publicAddress = "127.0.0.1"
        self.transport_id = self.endpoint.transportCreate(pj.TransportType.UDP, transport)
        if owner:
            self.endpoint.libStart()
        self.endpoint.audDevManager.setNullDev()

    def _init_library(self) -> None:
        config = pj.EpConfig()
        config.logConfig.level = 0
        config.logConfig.consoleLevel = 0
        config.uaConfig.threadCnt = 1
        config.medConfig.clockRate = CLOCK_RATE
        config.medConfig.sndClockRate = CLOCK_RATE
        config.medConfig.ecTailLen = 0
        config.medConfig.noVad = True
        # Never close the (null) sound device when idle: its clock drives PJSIP's conference
        # bridge, and a bridge that stopped after a quiet moment sent no more RTP, so RFC 4733
        # digits were never sent (the cause of digits "lost" between tests).
        config.medConfig.sndAutoCloseTime = -1
        # PJSUA allows 8 accounts by default; tests shut theirs down (shutdown_phones).
        self.endpoint.libInit(config)

    def shutdown_phones(self) -> None:
        """End every call and phone of the test that just ran: a call left up would keep
        sending RTP to a port the next test's service may bind, and PJSUA has 8 account
        slots for the whole session."""
        retrying(self.endpoint.hangupAllCalls)
        for phone in self.phones.values():
            retrying(phone.shutdown)
        self.phones.clear()

    def close(self) -> None:
        # Not libDestroy(): Python may still finalise Call objects afterwards, and their
        # destructors assert that the library is alive. The process ends right after.
        self.endpoint.hangupAllCalls()


def keep_alive(library: PjsuaLibrary, obj: object) -> None:
    """Never finalise pjsua2 objects: the binding's Call destructor asserts inside PJSIP
    (pjsua_call_set_user_data with the id of a call that already ended), aborting the test
    process. One extra reference held from C makes the few test phones immortal."""
    library.keep.append(obj)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


class PhoneCall(pj.Call):
    """One call of a phone, with the states and status codes it went through."""

    def __init__(self, account: Phone, call_id: int = -1) -> None:
        super().__init__(account, call_id)
        keep_alive(account.library, self)
        self.phone = account
        self.states: list[pj.InvState] = []
        self.status_codes: list[int] = []
        self.media_active = False
        self.remote_hold = False

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        info = self.info
        self.states.append(info.state)
        self.status_codes.append(int(info.lastStatusCode))

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        for media in self.info.media:
            if media.type == pj.MediaType.AUDIO:
                self.media_active = media.status == pj.CallMediaStatus.ACTIVE
                self.remote_hold = media.status == pj.CallMediaStatus.REMOTE_HOLD

    @property
    def confirmed(self) -> bool:
        return pj.InvState.CONFIRMED in self.states

    @property
    def disconnected(self) -> bool:
        return pj.InvState.DISCONNECTED in self.states

    def send_digits(self, digits: str, *, info: bool = False) -> None:
        for digit in digits:
            param = pj.CallSendDtmfParam()
            param.method = pj.DtmfMethod.SIP_INFO if info else pj.DtmfMethod.RFC2833
            param.digits = digit
            param.duration = 160
            retrying(lambda param=param: self.sendDtmf(param))


class Phone(pj.Account):
    """A softphone account; registered when a registrar and password are given."""

    def __init__(
        self,
        library: PjsuaLibrary,
        user: str,
        *,
        registrar: str | None = None,
        password: str | None = None,
    ) -> None:
        super().__init__()
        keep_alive(library, self)
        # PJSIP hands an incoming INVITE to the account whose URI matches; an older phone of
        # the same user (from an earlier test) would take it, so it goes away first.
        previous = library.phones.get(user)
        if previous is not None:
            retrying(previous.shutdown)
        library.phones[user] = self
        self.library = library
        self.user = user
        self.incoming: list[PhoneCall] = []
        self.registration_codes: list[int] = []
        config = pj.AccountConfig()
        config.idUri = f"sip:{user}@127.0.0.1"
        if registrar is not None:
            config.regConfig.registrarUri = registrar
            config.regConfig.timeoutSec = 300
            config.regConfig.retryIntervalSec = 0
        if password is not None:
            config.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", user, 0, password))
        retrying(lambda: self.create(config))

    def onRegState(self, prm: pj.OnRegStateParam) -> None:
        self.registration_codes.append(int(prm.code))

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        call = PhoneCall(self, prm.callId)
        self.incoming.append(call)
        ringing = pj.CallOpParam()
        ringing.statusCode = pj.StatusCode.RINGING
        retrying(lambda: call.answer(ringing))

    def call(self, uri: str) -> PhoneCall:
        call = PhoneCall(self)
        retrying(lambda: call.makeCall(uri, pj.CallOpParam(True)))
        return call


def answer(call: PhoneCall) -> None:
    param = pj.CallOpParam()
    param.statusCode = pj.StatusCode.OK
    retrying(lambda: call.answer(param))


def hang_up(call: PhoneCall) -> None:
    param = pj.CallOpParam()
    param.statusCode = pj.StatusCode.DECLINE
    retrying(lambda: call.hangup(param))


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.02)
