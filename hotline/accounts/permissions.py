"""Who may do what: roles, permissions, the one permission matrix, and complainant masking.

The matrix below is the single source of truth (SPEC-R2, R4); ``docs/permissions.md`` is
generated from it (``python -m hotline.accounts.permissions``) and a test checks the two agree.
Each cell is a *scope*: whose recordings the permission reaches. Nothing is allowed unless a
cell says so.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Mapping
from dataclasses import dataclass


class Role(enum.Enum):
    AGENT = "agent"
    TEAM_LEAD = "team_lead"
    QA = "qa"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Permission(enum.Enum):
    RECORDING_LIST = "recording.list"
    RECORDING_LISTEN = "recording.listen"
    RECORDING_DOWNLOAD = "recording.download"
    RECORDING_DELETE = "recording.delete"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    QA_SCORE = "qa.score"
    QA_VIEW_SCORES = "qa.view_scores"
    QA_DISPUTE = "qa.dispute"
    QA_RESOLVE_DISPUTE = "qa.resolve_dispute"
    ACCOUNT_MANAGE = "account.manage"


class Scope(enum.Enum):
    """How far an allowed permission reaches, narrowest first."""

    NONE = "none"
    OWN = "own"  # calls the principal handled as the agent
    TEAM = "team"  # calls handled by agents of the principal's teams
    ALL = "all"


_N, _O, _T, _A = Scope.NONE, Scope.OWN, Scope.TEAM, Scope.ALL

# Rows: permission; columns: agent, team lead, QA, supervisor, admin.
# Why these choices:
# - agents hear their own calls (self-coaching, disputes) but never download: a copy leaves
#   the audited player (R2);
# - team leads coach their team, so they listen but do not download;
# - QA and supervisors score and escalate, so they may download their teams' calls;
# - only admins delete (the retention job acts as the system, also audited) and read the
#   audit log; the audit log protects the other roles' accountability.
_COLUMNS = (Role.AGENT, Role.TEAM_LEAD, Role.QA, Role.SUPERVISOR, Role.ADMIN)
_ROWS: dict[Permission, tuple[Scope, Scope, Scope, Scope, Scope]] = {
    Permission.RECORDING_LIST: (_O, _T, _T, _T, _A),
    Permission.RECORDING_LISTEN: (_O, _T, _T, _T, _A),
    Permission.RECORDING_DOWNLOAD: (_N, _N, _T, _T, _A),
    Permission.RECORDING_DELETE: (_N, _N, _N, _N, _A),
    Permission.AUDIT_READ: (_N, _N, _N, _N, _A),
    Permission.AUDIT_VERIFY: (_N, _N, _N, _N, _A),
    Permission.QA_SCORE: (_N, _N, _T, _T, _N),
    Permission.QA_VIEW_SCORES: (_O, _T, _T, _T, _A),
    Permission.QA_DISPUTE: (_O, _N, _N, _N, _N),
    Permission.QA_RESOLVE_DISPUTE: (_N, _N, _T, _T, _N),
    Permission.ACCOUNT_MANAGE: (_N, _N, _N, _N, _A),
}

PERMISSION_MATRIX: Mapping[tuple[Role, Permission], Scope] = {
    (role, permission): scopes[column]
    for permission, scopes in _ROWS.items()
    for column, role in enumerate(_COLUMNS)
}

# R4: complaint records and complainants' identity are a separate grant, given per account
# (the "complaint handler" flag) rather than per role, because handlers come from any role.
COMPLAINT_HANDLER_NOTE = "complaint handler flag: sees complainants' identity and complaint records"

MASK = "***"


def scope_of(role: Role, permission: Permission) -> Scope:
    """The scope a role holds for a permission (NONE when the matrix has no such cell)."""
    return PERMISSION_MATRIX.get((role, permission), Scope.NONE)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated person as the services see them; built by the session layer."""

    account_id: int
    username: str
    role: Role
    agent_number: str | None = None
    teams: frozenset[str] = frozenset()
    complaint_handler: bool = False
    ip: str | None = None


def reaches(
    principal: Principal,
    permission: Permission,
    *,
    agent_number: str | None,
    team: str | None,
) -> bool:
    """Whether ``permission`` reaches a call handled by ``agent_number`` in ``team``."""
    scope = scope_of(principal.role, permission)
    if scope is Scope.ALL:
        return True
    if scope is Scope.TEAM:
        return team is not None and team in principal.teams
    if scope is Scope.OWN:
        return agent_number is not None and agent_number == principal.agent_number
    return False


def mask_phone_number(number: str | None, principal: Principal) -> str | None:
    """A complainant's number as ``principal`` may see it: whole for handlers, else hidden.

    No digits stay visible (R4): even two digits plus the call time narrow a caller down.
    """
    if number is None or principal.complaint_handler:
        return number
    return MASK


def mask_complaint_fields(
    record: Mapping[str, object], principal: Principal, fields: frozenset[str]
) -> dict[str, object]:
    """``record`` with the complaint ``fields`` masked unless ``principal`` handles complaints."""
    if principal.complaint_handler:
        return dict(record)
    return {
        key: (MASK if key in fields and value is not None else value)
        for key, value in record.items()
    }


def render_markdown() -> str:
    """The permission matrix as the Markdown table in docs/permissions.md."""
    header = "| permission | " + " | ".join(role.value for role in _COLUMNS) + " |"
    rule = "|---|" + "---|" * len(_COLUMNS)
    rows = [
        f"| `{permission.value}` | " + " | ".join(scope.value for scope in scopes) + " |"
        for permission, scopes in _ROWS.items()
    ]
    return "\n".join([header, rule, *rows])


if __name__ == "__main__":
    sys.stdout.write(render_markdown() + "\n")
