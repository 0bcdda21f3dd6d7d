"""Typed events the desktop's own features emit on the service's notifier (complaints, callback
tasks, handover), so live pages update over the one WebSocket and the event log keeps them.

They never carry a complainant's identity (SPEC-R4): every logged-in page receives them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ComplaintRegistered:
    at: float
    complaint_id: int
    kind: str
    klass: str
    owner: str
    due_at: float


@dataclass(frozen=True, slots=True)
class ComplaintUpdated:
    at: float
    complaint_id: int
    action: str
    status: str


@dataclass(frozen=True, slots=True)
class ComplaintEscalated:
    """SPEC-C2: an open complaint passed its due time; supervisors are told."""

    at: float
    complaint_id: int
    owner: str
    due_at: float


@dataclass(frozen=True, slots=True)
class CallbackTaskChanged:
    at: float
    task_id: int
    status: str
    assigned_to: str | None


@dataclass(frozen=True, slots=True)
class HandoverChanged:
    at: float
    note_id: int
    acknowledged: bool
