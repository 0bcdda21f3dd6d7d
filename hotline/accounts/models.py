"""Tables for accounts, their password history, web sessions, SIP digest credentials and the
hash-chained audit log, all on the shared ``hotline.db.base.Base``.

Times are UNIX seconds (float) because every service takes ``now`` as an input.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base

# Hex digests: sha256 → 64 characters.
SHA256_HEX_LENGTH = 64


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # The 工号 (SPEC-P10, R3); agents log in with it, so it is unique too.
    agent_number: Mapped[str | None] = mapped_column(String(16), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(16))
    teams: Mapped[list[str]] = mapped_column(JSON, default=list)
    complaint_handler: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str] = mapped_column(String(256))
    password_changed_at: Mapped[float] = mapped_column(Float)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[float | None] = mapped_column(Float)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)


class PasswordHistory(Base):
    __tablename__ = "account_password_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    password_hash: Mapped[str] = mapped_column(String(256))
    set_at: Mapped[float] = mapped_column(Float)


class LoginSession(Base):
    __tablename__ = "account_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Only the sha256 of the bearer token is stored: a leaked table grants no session.
    token_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[float] = mapped_column(Float)
    last_seen_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float)
    ip: Mapped[str | None] = mapped_column(String(64))


class SipCredential(Base):
    """HA1 = H(username:realm:password) per realm and algorithm (RFC 7616 §3.4.2)."""

    __tablename__ = "sip_credentials"
    __table_args__ = (UniqueConstraint("username", "realm", "algorithm"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str] = mapped_column(String(64))
    realm: Mapped[str] = mapped_column(String(128))
    algorithm: Mapped[str] = mapped_column(String(16))
    ha1: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))


class AuditRecord(Base):
    """One append-only audit entry; ``row_hash`` = sha256(prev_hash + canonical content)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Consecutive from 1 and covered by the hash, so a deleted row leaves a visible gap.
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[float] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(48))
    target: Mapped[str] = mapped_column(String(256))
    outcome: Mapped[str] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Unique: two writers that read the same head cannot both append after it (a fork).
    prev_hash: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH), unique=True)
    row_hash: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH), unique=True)


# Append-only at the database too (for create_all; migration 0002 carries the same
# statements): UPDATE and DELETE on audit_log abort. The hash chain is the
# second line: whoever can drop these triggers is still caught by verify_chain().
SQLITE_AUDIT_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
POSTGRES_AUDIT_TRIGGERS = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'restrict_violation'; "
    "END $$",
    "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


def _install_triggers() -> None:
    for dialect, statements in (
        ("sqlite", SQLITE_AUDIT_TRIGGERS),
        ("postgresql", POSTGRES_AUDIT_TRIGGERS),
    ):
        for statement in statements:
            ddl = DDL(statement)  # type: ignore[no-untyped-call]
            event.listen(AuditRecord.__table__, "after_create", ddl.execute_if(dialect=dialect))


_install_triggers()
