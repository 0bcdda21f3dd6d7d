"""The tables for call handling: the append-only event log, the call records projected from it,
and the agent / queue / skill directory.

Times are UNIX epoch seconds as double precision, the same floats the ACD events carry, so
"answered within 10 s" compares exactly what the ACD measured (SPEC-Q1) and nothing is lost
to a timezone or a datetime rounding. String columns hold the ``.value`` of the ACD's enums
(outcomes, who ended a call, callback status): the vocabulary belongs to ``acd/``; the
database keeps it as text so a new enum member needs no migration.

Rows are named ``…Row`` so they never clash with the ACD's domain classes of the same idea.
Accounts, roles, recordings and the audit log live in ``hotline/accounts/models.py`` and
``recordings/models.py`` on the same ``Base``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base

# Column widths. Call ids are produced by the ACD (uuid4 hex or SIP Call-ID fragments);
# 128 covers a full SIP Call-ID of the form local@host. Agent numbers (工号) are short digits.
CALL_ID_LENGTH = 128
QUEUE_NAME_LENGTH = 64
AGENT_ID_LENGTH = 64
AGENT_NUMBER_LENGTH = 32
PHONE_NUMBER_LENGTH = 64
EVENT_TYPE_LENGTH = 64
SHORT_TEXT_LENGTH = 64

# SQLite only makes an INTEGER PRIMARY KEY an alias of the rowid (and so auto-incrementing);
# PostgreSQL gets a 64-bit key because the event log grows without bound.
EventId = BigInteger().with_variant(Integer(), "sqlite")

# A junior agent's skill level, and a senior's (issue 5: skills with levels).
SKILL_LEVEL_JUNIOR = 1
SKILL_LEVEL_SENIOR = 2


class QueueRow(Base):
    """A queue as declared in the configuration, kept so reports can name and join it."""

    __tablename__ = "queues"

    name: Mapped[str] = mapped_column(String(QUEUE_NAME_LENGTH), primary_key=True)
    title: Mapped[str | None] = mapped_column(String(200))
    strategy: Mapped[str | None] = mapped_column(String(SHORT_TEXT_LENGTH))
    # SPEC-Q1: 10 s unless the queue says otherwise.
    service_level_seconds: Mapped[float] = mapped_column(Double, default=10.0)
    short_abandon_seconds: Mapped[float | None] = mapped_column(Double)


class SkillRow(Base):
    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(SHORT_TEXT_LENGTH), unique=True)
    title: Mapped[str | None] = mapped_column(String(200))


class AgentRow(Base):
    """An agent of the service centre, known by the agent number (工号) they state on every
    call (SPEC-P10, SPEC-Q6)."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The ACD's identifier (``AgentConfig.agent_id``), which every event carries.
    agent_id: Mapped[str] = mapped_column(String(AGENT_ID_LENGTH), unique=True)
    number: Mapped[str] = mapped_column(String(AGENT_NUMBER_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(SHORT_TEXT_LENGTH))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AgentSkillRow(Base):
    __tablename__ = "agent_skills"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(Integer, default=SKILL_LEVEL_JUNIOR)


class QueueSkillRow(Base):
    __tablename__ = "queue_skills"

    queue_name: Mapped[str] = mapped_column(
        ForeignKey("queues.name", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )
    min_level: Mapped[int] = mapped_column(Integer, default=SKILL_LEVEL_JUNIOR)


class EventLogRow(Base):
    """One ACD event, as it happened (like Asterisk's queue_log). Append-only: the migration
    installs triggers that refuse UPDATE and DELETE on both SQLite and PostgreSQL."""

    __tablename__ = "event_log"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Double, index=True)
    call_id: Mapped[str | None] = mapped_column(String(CALL_ID_LENGTH), index=True)
    queue: Mapped[str | None] = mapped_column(String(QUEUE_NAME_LENGTH))
    agent_id: Mapped[str | None] = mapped_column(String(AGENT_ID_LENGTH))
    event: Mapped[str] = mapped_column(String(EVENT_TYPE_LENGTH))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class CallRow(Base):
    """One caller's contact, summarised from its events so reports need one query."""

    __tablename__ = "calls"

    call_id: Mapped[str] = mapped_column(String(CALL_ID_LENGTH), primary_key=True)
    queue: Mapped[str | None] = mapped_column(String(QUEUE_NAME_LENGTH))
    caller: Mapped[str | None] = mapped_column(String(PHONE_NUMBER_LENGTH))
    # The first event seen for the call.
    started_at: Mapped[float] = mapped_column(Double)
    # When the caller asked for an agent (SPEC-Q2's denominator of 接通率).
    entered_queue_at: Mapped[float | None] = mapped_column(Double)
    answered_at: Mapped[float | None] = mapped_column(Double)
    agent_id: Mapped[str | None] = mapped_column(String(AGENT_ID_LENGTH))
    abandoned_at: Mapped[float | None] = mapped_column(Double)
    ended_at: Mapped[float | None] = mapped_column(Double)
    ended_by: Mapped[str | None] = mapped_column(String(SHORT_TEXT_LENGTH))
    outcome: Mapped[str | None] = mapped_column(String(SHORT_TEXT_LENGTH))
    # SPEC-Q5: total hold time; a hold still open at the end is closed at the call's end.
    hold_seconds: Mapped[float] = mapped_column(Double, default=0.0)
    hold_started_at: Mapped[float | None] = mapped_column(Double)
    holds: Mapped[int] = mapped_column(Integer, default=0)
    transfers: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_calls_queue_entered_queue_at", "queue", "entered_queue_at"),)


class LegRow(Base):
    """One offer of a call to an agent: ring start, ring end and how the ring ended
    (SPEC-Q1: every ring is recorded), and, if answered, the talk leg that followed."""

    __tablename__ = "legs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[str] = mapped_column(String(AGENT_ID_LENGTH))
    offered_at: Mapped[float] = mapped_column(Double)
    ring_ended_at: Mapped[float | None] = mapped_column(Double)
    outcome: Mapped[str | None] = mapped_column(String(SHORT_TEXT_LENGTH))
    answered_at: Mapped[float | None] = mapped_column(Double)
    # End of the conversation with this agent, and who ended it (SPEC-Q7: an agent hanging
    # up first is recorded as such; the caller then goes on to the survey).
    ended_at: Mapped[float | None] = mapped_column(Double)
    ended_by: Mapped[str | None] = mapped_column(String(SHORT_TEXT_LENGTH))


class WrapupRow(Base):
    """An agent's wrap-up of one call: what they recorded (SPEC-Q6), whether the request was
    resolved on first contact (SPEC-Q2 一次问题处理率) and how long wrap-up lasted (for AHT).
    ``submitted_at`` is empty when the wrap-up time ran out without a submission."""

    __tablename__ = "wrapups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[str] = mapped_column(String(AGENT_ID_LENGTH))
    call_type: Mapped[str | None] = mapped_column(String(SHORT_TEXT_LENGTH))
    summary: Mapped[str | None] = mapped_column(Text)
    resolved_first_contact: Mapped[bool | None] = mapped_column(Boolean)
    submitted_at: Mapped[float | None] = mapped_column(Double)
    ended_at: Mapped[float | None] = mapped_column(Double)
    seconds: Mapped[float | None] = mapped_column(Double)


class SurveyAnswerRow(Base):
    """The caller's answer to the post-call voice survey (SPEC-Q4); ``satisfied`` feeds
    满意率 (SPEC-Q2)."""

    __tablename__ = "survey_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[str | None] = mapped_column(String(AGENT_ID_LENGTH))
    score: Mapped[int | None] = mapped_column(Integer)
    satisfied: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[float] = mapped_column(Double)


class CallbackRow(Base):
    """A caller who kept their place and hung up; an agent calls them back (issue 5)."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str | None] = mapped_column(String(PHONE_NUMBER_LENGTH))
    queue: Mapped[str | None] = mapped_column(String(QUEUE_NAME_LENGTH))
    requested_at: Mapped[float] = mapped_column(Double)
    status: Mapped[str] = mapped_column(String(SHORT_TEXT_LENGTH))
    agent_id: Mapped[str | None] = mapped_column(String(AGENT_ID_LENGTH))
    outbound_call_id: Mapped[str | None] = mapped_column(String(CALL_ID_LENGTH))
    completed_at: Mapped[float | None] = mapped_column(Double)
    outcome: Mapped[str | None] = mapped_column(String(SHORT_TEXT_LENGTH))
