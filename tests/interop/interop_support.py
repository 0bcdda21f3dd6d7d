"""Shared pieces of the interop suite: accounts, our registrar, and a wire tap.

Imported by tests/interop/conftest.py and the tests (not from conftest itself: tests/e2e has
a conftest too, and two modules named ``conftest`` cannot both be imported by name).
"""

from __future__ import annotations

from telephony.sip.digest import DigestAuthenticator, InMemoryCredentialStore
from telephony.sip.registrar import BindingStore, Registrar
from telephony.sip.useragent import UserAgent

REALM = "hotline.test"
ACCOUNTS = {"1001": "agent-1001-pw", "1002": "agent-1002-pw", "2001": "pyvoip-pw"}



def make_registrar(*, allow_no_qop: bool = False) -> Registrar:
    store = InMemoryCredentialStore((user, REALM, pw) for user, pw in ACCOUNTS.items())
    auth = DigestAuthenticator(realm=REALM, store=store, secret=b"interop-secret" * 3,
                               allow_no_qop=allow_no_qop)
    return Registrar(bindings=BindingStore(), authenticator=auth)



class WireTap:
    """Start lines of every SIP message our service puts on the wire (observed, not mocked:
    the bytes still go out). pjsua2 stops reporting a call once the user hangs up, so what
    it was sent after that is checked here."""

    def __init__(self, ua: UserAgent) -> None:
        self.lines: list[str] = []
        for transport in ua.endpoint._transports:
            send = transport.send

            def tapped(data: bytes, destination: object, on_error: object = None,
                       _send: object = send) -> None:
                self.lines.append(data.split(b"\r\n", 1)[0].decode(errors="replace"))
                _send(data, destination, on_error)  # type: ignore[operator]

            transport.send = tapped  # type: ignore[method-assign]

    def sent(self, prefix: str) -> list[str]:
        return [line for line in self.lines if line.startswith(prefix)]
