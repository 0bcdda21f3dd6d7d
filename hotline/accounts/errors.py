"""Domain errors of accounts, access control and recordings; the web layer maps them to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a user's request can cause (never a bug)."""


class PermissionDenied(DomainError):
    """The principal's role or scope does not allow this operation (SPEC-R2)."""


class NotFound(DomainError):
    """The named object does not exist (or no longer does)."""


class ReasonRequired(DomainError):
    """Listening to (or downloading, deleting) a recording needs a stated work reason (SPEC-R2)."""


class AuthenticationFailed(DomainError):
    """Unknown user or wrong password; deliberately does not say which."""


class AccountLocked(DomainError):
    """Too many failed logins; ``until`` is when it unlocks (None: an admin must unlock)."""

    def __init__(self, message: str, until: float | None) -> None:
        super().__init__(message)
        self.until = until


class ConcurrentSession(DomainError):
    """The agent number already has a live login (SPEC-R3); the attempt was audited."""


class PasswordChangeRequired(DomainError):
    """The session may only change its password: first login or expired password (SPEC-R3)."""


class SessionInvalid(DomainError):
    """The session token is unknown, ended or expired."""


class Conflict(DomainError):
    """The request contradicts the current state (e.g. a second dispute of one score)."""
