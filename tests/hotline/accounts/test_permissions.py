"""The permission matrix in code and the documented one agree; masking hides complainants (R4)."""

from __future__ import annotations

from pathlib import Path

from hotline.accounts.permissions import (
    MASK,
    Permission,
    Principal,
    Role,
    Scope,
    mask_complaint_fields,
    mask_phone_number,
    reaches,
    render_markdown,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "permissions.md"


def test_docs_permissions_md_shows_the_matrix_from_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    documented = text.split("<!-- matrix:start -->")[1].split("<!-- matrix:end -->")[0].strip()
    assert documented == render_markdown()


def test_every_role_has_a_cell_for_every_permission() -> None:
    lines = render_markdown().splitlines()[2:]
    assert len(lines) == len(Permission)
    for line in lines:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == 1 + len(Role)
        assert all(Scope(cell) for cell in cells[1:])


def test_scopes_reach_own_team_or_all_calls() -> None:
    agent = Principal(1, "a", Role.AGENT, agent_number="1042", teams=frozenset({"billing"}))
    lead = Principal(2, "l", Role.TEAM_LEAD, teams=frozenset({"billing"}))
    admin = Principal(3, "x", Role.ADMIN)
    listen = Permission.RECORDING_LISTEN
    assert reaches(agent, listen, agent_number="1042", team="billing")
    assert not reaches(agent, listen, agent_number="1043", team="billing")
    assert reaches(lead, listen, agent_number="1043", team="billing")
    assert not reaches(lead, listen, agent_number="2001", team="fraud")
    assert not reaches(lead, listen, agent_number="2001", team=None)
    assert reaches(admin, listen, agent_number=None, team=None)
    assert not reaches(agent, Permission.RECORDING_DOWNLOAD, agent_number="1042", team="billing")


def test_only_complaint_handlers_see_complainants() -> None:
    qa = Principal(1, "q", Role.QA, teams=frozenset({"billing"}))
    admin = Principal(2, "x", Role.ADMIN)
    handler = Principal(3, "h", Role.AGENT, agent_number="7", complaint_handler=True)
    assert mask_phone_number("13800138000", qa) == MASK
    assert mask_phone_number("13800138000", admin) == MASK
    assert mask_phone_number("13800138000", handler) == "13800138000"
    record = {"call_id": "c1", "caller": "13800138000", "complaint": "rude", "queue": "q"}
    fields = frozenset({"caller", "complaint"})
    assert mask_complaint_fields(record, admin, fields) == {
        "call_id": "c1",
        "caller": MASK,
        "complaint": MASK,
        "queue": "q",
    }
    assert mask_complaint_fields(record, handler, fields) == record
