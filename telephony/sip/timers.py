"""SIP transaction timers A-M and their configuration (RFC 3261 §17, Table 4; RFC 6026)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

__all__ = ["T1", "T2", "T4", "TIMER_C", "TIMER_D_UNRELIABLE", "Timer", "TimerConfig"]

T1: Final = 0.5  # RFC 3261 §17.1.1.1: RTT estimate, default 500 ms
T2: Final = 4.0  # RFC 3261 §17.1.2.2: maximum retransmit interval for non-INVITE / responses
T4: Final = 5.0  # RFC 3261 §17.1.2.2: maximum duration a message remains in the network
TIMER_D_UNRELIABLE: Final = 32.0  # RFC 3261 §17.1.1.2: "at least 32 seconds" for UDP
# RFC 3261 §16.6 item 11: Timer C "MUST be larger than 3 minutes" (proxies). We borrow it for
# the INVITE client in Proceeding so a UAS that rings forever cannot leak the transaction.
TIMER_C: Final = 181.0


class Timer(Enum):
    """Timer names of RFC 3261 Table 4 (A-K, C from §16.6) and RFC 6026 §8.4 (L, M)."""

    __hash__ = object.__hash__  # identity hash: Enum's is Python-level and hot here

    A = "A"  # INVITE request retransmit, T1 doubling (UDP only)
    B = "B"  # INVITE transaction timeout, 64*T1
    C = "C"  # INVITE client in Proceeding: no final response, > 3 min (§16.6), reset by 1xx
    D = "D"  # wait for response retransmits, 32 s UDP / 0 reliable
    E = "E"  # non-INVITE retransmit, T1 doubling capped at T2 (UDP only)
    F = "F"  # non-INVITE transaction timeout, 64*T1
    G = "G"  # INVITE response retransmit, T1 doubling capped at T2 (UDP only)
    H = "H"  # wait for ACK receipt, 64*T1
    I = "I"  # noqa: E741  (RFC name) wait for ACK retransmits, T4 UDP / 0 reliable
    J = "J"  # wait for non-INVITE request retransmits, 64*T1 UDP / 0 reliable
    K = "K"  # wait for response retransmits, T4 UDP / 0 reliable
    L = "L"  # RFC 6026: wait for accepted INVITE request retransmits, 64*T1
    M = "M"  # RFC 6026: wait for retransmission of 2xx to INVITE, 64*T1


# Timers that only exist to retransmit over unreliable transports.
RETRANSMIT_TIMERS: Final = frozenset({Timer.A, Timer.E, Timer.G})
# Timers whose value is zero over reliable transports (Table 4).
ZERO_WHEN_RELIABLE: Final = frozenset({Timer.D, Timer.I, Timer.J, Timer.K})


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """T1/T2/T4 in seconds; every other timer derives from them as in RFC 3261 Table 4."""

    t1: float = T1
    t2: float = T2
    t4: float = T4
    timer_d: float = TIMER_D_UNRELIABLE
    timer_c: float = TIMER_C

    def initial(self, timer: Timer, *, reliable: bool) -> float | None:
        """First duration of ``timer``; None when it is not armed on this transport."""
        if timer in RETRANSMIT_TIMERS:
            return None if reliable else self.t1
        if timer in ZERO_WHEN_RELIABLE and reliable:
            return 0.0
        if timer is Timer.D:
            return self.timer_d
        if timer is Timer.C:
            return self.timer_c
        if timer in (Timer.I, Timer.K):
            return self.t4
        return 64 * self.t1  # B, F, H, J, L, M

    def next_interval(self, timer: Timer, previous: float) -> float:
        """The retransmit interval after ``previous``: A doubles without cap (§17.1.1.2);
        E and G double up to T2 (§17.1.2.2, §17.2.1)."""
        if timer is Timer.A:
            return previous * 2
        return min(previous * 2, self.t2)
