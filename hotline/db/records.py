"""Call records as read back from the database's call tables: immutable snapshots of the
rows, for views of one call (history, QA). The SPEC-Q2 figures are not computed from these
but by ``acd.metrics`` from ``acd.records`` (see ``hotline.db.history``), so the definitions
live in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoredOffer:
    """One ring of one agent (SPEC-Q1: every offer is recorded)."""

    agent_id: str
    offered_at: float
    ring_ended_at: float | None
    outcome: str | None
    answered_at: float | None
    ended_at: float | None
    ended_by: str | None

    @property
    def connected_seconds(self) -> float:
        if self.answered_at is None or self.ended_at is None:
            return 0.0
        return max(0.0, self.ended_at - self.answered_at)


@dataclass(frozen=True, slots=True)
class StoredWrapup:
    agent_id: str
    call_type: str | None
    summary: str | None
    resolved_first_contact: bool | None
    submitted_at: float | None
    ended_at: float | None
    seconds: float | None


@dataclass(frozen=True, slots=True)
class StoredSurveyAnswer:
    agent_id: str | None
    score: int | None
    satisfied: bool
    answered_at: float


@dataclass(frozen=True, slots=True)
class StoredCallback:
    number: str | None
    requested_at: float
    status: str
    agent_id: str | None
    completed_at: float | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class StoredCall:
    """Everything recorded about one call, in the order things happened."""

    call_id: str
    queue: str | None
    caller: str | None
    started_at: float
    entered_queue_at: float | None
    answered_at: float | None
    agent_id: str | None
    abandoned_at: float | None
    ended_at: float | None
    ended_by: str | None
    outcome: str | None
    hold_seconds: float
    holds: int
    transfers: int
    offers: tuple[StoredOffer, ...]
    wrapups: tuple[StoredWrapup, ...]
    survey: tuple[StoredSurveyAnswer, ...]
    callbacks: tuple[StoredCallback, ...]

    @property
    def wait_seconds(self) -> float | None:
        """Time from asking for an agent to the answer, or to abandoning."""
        if self.entered_queue_at is None:
            return None
        until = self.answered_at if self.answered_at is not None else self.abandoned_at
        return None if until is None else until - self.entered_queue_at

    @property
    def connected_seconds(self) -> float:
        """Time connected to agents, holds included (the legs' answer-to-end spans)."""
        return sum(offer.connected_seconds for offer in self.offers)
