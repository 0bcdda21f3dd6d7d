"""Tables of the agent desktop: complaints / work orders and their action log, callback tasks,
and shift handover notes, on the shared ``hotline.db.base.Base``. Times are UNIX seconds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Double, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base


class ComplaintRow(Base):
    """One complaint or fault report (SPEC-C1 … C3). The complainant's identity lives only in
    ``caller_number`` and ``caller_name``, which non-handlers see masked (SPEC-R4)."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    caller_number: Mapped[str | None] = mapped_column(String(32), index=True)
    caller_name: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    klass: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    # 首问负责制: the agent who took it owns it until it is closed.
    owner_number: Mapped[str] = mapped_column(String(16), index=True)
    team: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    registered_at: Mapped[float] = mapped_column(Double)
    due_at: Mapped[float] = mapped_column(Double, index=True)
    escalated_at: Mapped[float | None] = mapped_column(Double)
    replied_at: Mapped[float | None] = mapped_column(Double)
    closed_at: Mapped[float | None] = mapped_column(Double)
    result: Mapped[str | None] = mapped_column(Text)


class ComplaintActionRow(Base):
    """Append-only log of what happened to a complaint: registered, callbacks, escalation,
    closing with its result (SPEC-C3: "followed up with a callback, and the result logged")."""

    __tablename__ = "complaint_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[float] = mapped_column(Double)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")


class CallbackTaskRow(Base):
    """A call-back owed to a caller who abandoned, set by a supervisor from the wallboard;
    the agent dials it from the softphone and logs the outcome."""

    __tablename__ = "callback_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), index=True)
    number: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Double)
    assigned_to: Mapped[str | None] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[float | None] = mapped_column(Double)


class HandoverNoteRow(Base):
    """A shift handover record (SPEC-O2): what the outgoing shift tells the next one, with the
    open items, acknowledged by someone of the incoming shift."""

    __tablename__ = "handover_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author: Mapped[str] = mapped_column(String(64))
    shift: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Double, index=True)
    body: Mapped[str] = mapped_column(Text)
    # [{"text": "...", "done": false}]
    open_items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[float | None] = mapped_column(Double)
