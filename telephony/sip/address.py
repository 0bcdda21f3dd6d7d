"""Where SIP messages come from and go to: transport kind plus host and port."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = ["DEFAULT_PORTS", "Peer", "TransportKind"]


class TransportKind(StrEnum):
    """Transport names as written in Via (RFC 3261 §18, §20.42); lowercase here."""

    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"  # TCP with ssl; needs a TlsConfig (transport.py)

    @property
    def reliable(self) -> bool:
        """Reliable transports skip retransmissions and zero Timers D/I/J/K (§17)."""
        return self is not TransportKind.UDP

    @property
    def via_name(self) -> str:
        return self.value.upper()

    @classmethod
    def from_via(cls, name: str) -> TransportKind:
        return cls(name.lower())


# RFC 3261 §19.1.2: default ports 5060 (sip over UDP/TCP) and 5061 (sips / TLS).
DEFAULT_PORTS: Final[dict[TransportKind, int]] = {
    TransportKind.UDP: 5060,
    TransportKind.TCP: 5060,
    TransportKind.TLS: 5061,
}


@dataclass(frozen=True, slots=True)
class Peer:
    """A transport address. ``host`` is a bare IP (no IPv6 brackets)."""

    transport: TransportKind
    host: str
    port: int

    @property
    def host_for_uri(self) -> str:
        """The host as written in a URI or Via: IPv6 in brackets (RFC 3261 §25.1)."""
        return f"[{self.host}]" if ":" in self.host else self.host

    def __str__(self) -> str:
        return f"{self.transport.value}:{self.host_for_uri}:{self.port}"
