"""Password rules (SPEC-R3) and argon2id hashing: what a new password must satisfy.

Pure functions of their inputs: the account service supplies the history and the time.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# NIST SP 800-63B §5.1.1.2 asks for at least 8; the hotline's brief (issue 6) sets 10.
MIN_PASSWORD_LENGTH = 10
# Long enough for pass-phrases, short enough that hashing cannot be used to burn CPU.
MAX_PASSWORD_LENGTH = 256
# SPEC-R3 "passwords are changed regularly": 90 days unless configured otherwise (issue 6).
DEFAULT_MAX_AGE_DAYS = 90
# How many earlier passwords (including the initial one) a new password must differ from.
DEFAULT_HISTORY_DEPTH = 5
# Fewer distinct characters than this is a "simple password" (SPEC-R3), e.g. 1111111111.
MIN_DISTINCT_CHARACTERS = 4
SECONDS_PER_DAY = 86_400


class PasswordProblem(enum.Enum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    COMMON = "common"
    TOO_SIMPLE = "too_simple"
    CONTAINS_USERNAME = "contains_username"
    PREVIOUSLY_USED = "previously_used"


class PasswordRejected(ValueError):
    """A proposed password breaks a rule; ``problem`` says which, for the user interface."""

    def __init__(self, problem: PasswordProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """argon2id cost; the defaults are RFC 9106 §4's second recommended option (64 MiB)."""

    time_cost: int = 3
    memory_cost_kib: int = 65_536
    parallelism: int = 4

    def hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.time_cost,
            memory_cost=self.memory_cost_kib,
            parallelism=self.parallelism,
            type=Type.ID,
        )


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    min_length: int = MIN_PASSWORD_LENGTH
    max_age_days: float | None = DEFAULT_MAX_AGE_DAYS  # None: never expires
    history_depth: int = DEFAULT_HISTORY_DEPTH
    argon2: Argon2Params = Argon2Params()

    def expired(self, changed_at: float, now: float) -> bool:
        """Whether a password set at ``changed_at`` must be changed at ``now``."""
        if self.max_age_days is None:
            return False
        return now - changed_at >= self.max_age_days * SECONDS_PER_DAY


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower-cased), one per line in the package data."""
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def check_new_password(
    password: str,
    *,
    policy: PasswordPolicy,
    username: str,
    previous_hashes: Iterable[str],
    hasher: PasswordHasher,
) -> None:
    """Raise :class:`PasswordRejected` unless ``password`` may be set for ``username``.

    ``previous_hashes`` are the newest first; only ``policy.history_depth`` of them count.
    """
    if len(password) < policy.min_length:
        raise PasswordRejected(
            PasswordProblem.TOO_SHORT, f"a password needs at least {policy.min_length} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(
            PasswordProblem.TOO_LONG, f"a password has at most {MAX_PASSWORD_LENGTH} characters"
        )
    if password.lower() in common_passwords():
        raise PasswordRejected(
            PasswordProblem.COMMON, "this password is on the list of common passwords"
        )
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        raise PasswordRejected(
            PasswordProblem.TOO_SIMPLE, "this password repeats too few characters"
        )
    if username and username.lower() in password.lower():
        raise PasswordRejected(
            PasswordProblem.CONTAINS_USERNAME,
            "a password must not contain the user name or agent number",
        )
    for index, previous in enumerate(previous_hashes):
        if index >= policy.history_depth:
            break
        if verify_password(hasher, previous, password):
            raise PasswordRejected(
                PasswordProblem.PREVIOUSLY_USED,
                "this password (or the initial one) was used before",
            )


def hash_password(hasher: PasswordHasher, password: str) -> str:
    return hasher.hash(password)


def verify_password(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    """True when ``password`` matches; a corrupt stored hash counts as no match, never a crash."""
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
