"""The two SIP error kinds: the peer broke the protocol (remote) or we did (local)."""

from __future__ import annotations

__all__ = [
    "LocalSipError",
    "RemoteSipError",
    "SipError",
    "TransactionTimeout",
    "TransportFailure",
]


class SipError(Exception):
    """Base of every error the SIP core raises on purpose."""


class RemoteSipError(SipError):
    """The peer sent something we cannot accept.

    ``status_hint`` is the response the I/O layer should send when it can route one
    (400 malformed, 413/513 too large, 416 bad URI scheme, 420 bad extension,
    481 no transaction, 482 loop/merged, 483 too many hops, 488 not acceptable here,
    505 version). A remote error always becomes a response or a silent drop, never a crash.
    """

    def __init__(self, reason: str, status_hint: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_hint = status_hint

    def __repr__(self) -> str:
        return f"RemoteSipError({self.reason!r}, status_hint={self.status_hint})"


class LocalSipError(SipError):
    """We tried to do something the protocol or the current state does not allow (a bug)."""


class TransactionTimeout(SipError):
    """A client transaction got no final response before Timer B/F fired (RFC 3261 §17.1)."""


class TransportFailure(SipError):
    """The transport could not deliver a transaction's message (RFC 3261 §17.1.4)."""
