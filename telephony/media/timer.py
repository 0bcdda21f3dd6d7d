"""A microsecond-precise asyncio wake-up at an absolute monotonic time, using Linux's timerfd.

asyncio (and uvloop) turn a timer into an epoll timeout in whole milliseconds, rounded up, so
``loop.call_at`` wakes up to a millisecond late (PERFORMANCE.md). A timerfd armed with an
absolute CLOCK_MONOTONIC deadline becomes readable at that instant; registered as a reader on
the loop it wakes the loop's epoll with microsecond precision. ``time.monotonic()`` reads the
same clock, so deadlines computed from it can be used directly.

Python 3.13 has ``os.timerfd_create``; on 3.11 we call libc through ctypes. Where neither is
available (not Linux), ``MonotonicTimer.available()`` is False and the engine falls back to
``asyncio.sleep``.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import sys
import time
from typing import Final

CLOCK_MONOTONIC: Final = 1  # <linux/time.h>
TFD_NONBLOCK: Final = os.O_NONBLOCK  # <sys/timerfd.h>: same value as O_NONBLOCK
TFD_CLOEXEC: Final = os.O_CLOEXEC
TFD_TIMER_ABSTIME: Final = 1
_NANOSECONDS: Final = 1_000_000_000


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _load_libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name, use_errno=True)
    if not hasattr(libc, "timerfd_create") or not hasattr(libc, "timerfd_settime"):
        return None
    libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.timerfd_create.restype = ctypes.c_int
    libc.timerfd_settime.argtypes = [
        ctypes.c_int,
        ctypes.c_int,
        ctypes.POINTER(_Itimerspec),
        ctypes.POINTER(_Itimerspec),
    ]
    libc.timerfd_settime.restype = ctypes.c_int
    return libc


class MonotonicTimer:
    """One timerfd registered on one event loop; ``sleep_until`` has one waiter at a time."""

    _libc: ctypes.CDLL | None = None
    _probed = False

    @classmethod
    def available(cls) -> bool:
        if not cls._probed:
            cls._libc = _load_libc()
            cls._probed = True
        return cls._libc is not None

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self.available():
            raise OSError("timerfd is not available on this platform")
        assert self._libc is not None
        fd = self._libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create failed")
        self._fd = fd
        self._loop = loop
        self._waiter: asyncio.Future[None] | None = None
        self._spec = _Itimerspec()
        self._target = 0.0
        loop.add_reader(fd, self._on_readable)

    async def sleep_until(self, when: float) -> None:
        """Return at or just after monotonic time ``when``."""
        if when <= time.monotonic():
            return
        if self._waiter is not None:
            raise RuntimeError("MonotonicTimer has one waiter at a time")
        self._arm(when)
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def wake_by(self, when: float) -> None:
        """Move the pending wake-up earlier to ``when`` (a new slot became due sooner)."""
        if self._waiter is not None and when < self._target:
            self._arm(max(when, time.monotonic()))

    def _arm(self, when: float) -> None:
        self._target = when
        seconds = int(when)
        self._spec.it_value.tv_sec = seconds
        # Round up so we never wake before ``when``.
        self._spec.it_value.tv_nsec = min(_NANOSECONDS - 1, int((when - seconds) * 1e9) + 1)
        assert self._libc is not None
        if self._libc.timerfd_settime(self._fd, TFD_TIMER_ABSTIME, self._spec, None) != 0:
            raise OSError(ctypes.get_errno(), "timerfd_settime failed")

    def _on_readable(self) -> None:
        try:
            os.read(self._fd, 8)  # the expiry count; reading re-arms readiness
        except BlockingIOError:
            return
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def close(self) -> None:
        self._loop.remove_reader(self._fd)
        os.close(self._fd)
