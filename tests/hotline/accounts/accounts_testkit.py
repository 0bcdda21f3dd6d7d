"""Test helpers shared by the accounts tests (a module name no other test folder uses)."""

from __future__ import annotations

from hotline.accounts.passwords import Argon2Params

# Cheap argon2id so the suite stays fast; production uses the RFC 9106 defaults.
FAST_ARGON2 = Argon2Params(time_cost=1, memory_cost_kib=1024, parallelism=1)


class FakeClock:
    """A clock the test moves by hand: every service takes time as an input."""

    def __init__(self, now: float = 1_780_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
