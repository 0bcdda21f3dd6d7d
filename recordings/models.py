"""Tables for recordings and their QA: the recording catalogue, QA work items, scores and
disputes, on the shared ``hotline.db.base.Base``. Times are UNIX seconds (float).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base


class Recording(Base):
    """One call's recording file and what access control needs to know about the call."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), unique=True)
    queue: Mapped[str | None] = mapped_column(String(64))
    # The agent (工号) who took the call and their team: scopes "own" and "team" match these.
    agent_number: Mapped[str | None] = mapped_column(String(16), index=True)
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    # The caller's number: masked for everyone but complaint handlers on complaint calls (R4).
    caller_number: Mapped[str | None] = mapped_column(String(32))
    is_complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    includes_ivr: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[float] = mapped_column(Float, index=True)
    ended_at: Mapped[float | None] = mapped_column(Float)
    path: Mapped[str] = mapped_column(String(512))
    format: Mapped[str] = mapped_column(String(8), default="wav")
    state: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str | None] = mapped_column(String(64))
    samples: Mapped[int | None] = mapped_column(Integer)
    sample_rate: Mapped[int] = mapped_column(Integer, default=8000)
    markers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    deleted_at: Mapped[float | None] = mapped_column(Float)


class QaWorkItem(Base):
    """A call picked for QA review, with every reason it was picked (SPEC-R1)."""

    __tablename__ = "qa_work_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), unique=True)
    agent_number: Mapped[str | None] = mapped_column(String(16))
    team: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(64))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="open")


class QaScore(Base):
    """One reviewer's scorecard for one call; several per call make a calibration."""

    __tablename__ = "qa_scores"
    __table_args__ = (UniqueConstraint("call_id", "reviewer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), index=True)
    agent_number: Mapped[str | None] = mapped_column(String(16), index=True)
    team: Mapped[str | None] = mapped_column(String(64))
    reviewer: Mapped[str] = mapped_column(String(64))
    scorecard_id: Mapped[str] = mapped_column(String(64))
    scorecard_version: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)
    critical_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    # criterion id -> "met" | "not_met" | "n/a"
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    comments: Mapped[str] = mapped_column(Text, default="")
    # [{"offset_s": 12.5, "text": "...", "criterion": "greeting" | null}]
    notes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    calibration: Mapped[bool] = mapped_column(Boolean, default=False)
    scored_at: Mapped[float] = mapped_column(Float)


class QaDispute(Base):
    """An agent's objection to one of their scores, and how it was resolved."""

    __tablename__ = "qa_disputes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    score_id: Mapped[int] = mapped_column(
        ForeignKey("qa_scores.id", ondelete="CASCADE"), unique=True
    )
    agent_number: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[float] = mapped_column(Float)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[float | None] = mapped_column(Float)
