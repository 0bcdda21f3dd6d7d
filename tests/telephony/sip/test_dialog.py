"""Dialogs (RFC 3261 §12): identity, route sets, CSeq rules, target refresh, glare, ACK."""

from __future__ import annotations

import random

import pytest

from telephony.sip.dialog import (
    Dialog,
    DialogEvent,
    DialogId,
    DialogState,
    DialogStateError,
    RequestPending,
    Role,
)
from telephony.sip.errors import LocalSipError, RemoteSipError
from telephony.sip.headers import Via
from telephony.sip.message import SipRequest, SipResponse, make_response, new_branch
from telephony.sip.parser import parse_message
from telephony.sip.uri import NameAddr

US = NameAddr.parse("<sip:hotline@127.0.0.1:5060>")


def via() -> Via:
    return Via("UDP", "127.0.0.1", 5060, (("branch", new_branch()),))


def parse_request(text: str) -> SipRequest:
    msg = parse_message(text.replace("\n", "\r\n").encode())
    assert isinstance(msg, SipRequest)
    return msg


INVITE = """INVITE sip:1000@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bK-a1
Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>
Max-Forwards: 70
From: "Caller" <sip:caller@10.0.0.9>;tag=caller-tag
To: <sip:1000@127.0.0.1>
Call-ID: call-1@10.0.0.9
CSeq: 10 INVITE
Contact: <sip:caller@10.0.0.9:5070>
Content-Length: 0

"""


def in_dialog(method: str, cseq: int, *, contact: str | None = None, body: str = "",
              to_tag: str = "our-tag") -> SipRequest:
    lines = [
        f"{method} sip:hotline@127.0.0.1:5060 SIP/2.0",
        f"Via: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bK-{method}{cseq}",
        "Max-Forwards: 70",
        "From: <sip:caller@10.0.0.9>;tag=caller-tag",
        f"To: <sip:1000@127.0.0.1>;tag={to_tag}",
        "Call-ID: call-1@10.0.0.9",
        f"CSeq: {cseq} {method}",
    ]
    if contact:
        lines.append(f"Contact: {contact}")
    if body:
        lines.append("Content-Type: application/sdp")
    return parse_request("\n".join(lines) + f"\nContent-Length: {len(body)}\n\n{body}")


def uas_dialog() -> Dialog:
    invite = parse_request(INVITE)
    dialog = Dialog.as_uas(invite, local_tag="our-tag", local_contact=US)
    dialog.handle(DialogEvent.ANSWERED)
    dialog.remote_request_answered(invite)
    return dialog


def test_uas_dialog_takes_ids_routes_and_target_from_the_invite() -> None:
    dialog = uas_dialog()
    assert dialog.id == DialogId("call-1@10.0.0.9", "our-tag", "caller-tag")
    assert dialog.id == DialogId.for_incoming_request(in_dialog("BYE", 11))
    assert dialog.role is Role.UAS and dialog.state is DialogState.CONFIRMED
    assert [str(r.uri) for r in dialog.route_set] == ["sip:p1.example;lr", "sip:p2.example;lr"]
    assert str(dialog.remote_target) == "sip:caller@10.0.0.9:5070"


def test_bye_from_uas_goes_through_the_route_set_with_tags_swapped() -> None:
    dialog = uas_dialog()
    bye = dialog.build_request("BYE", via=via())
    assert str(bye.uri) == "sip:caller@10.0.0.9:5070"
    assert bye.headers.get_all("Route") == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    assert bye.from_.tag == "our-tag" and bye.to.tag == "caller-tag"
    assert bye.to.display == "Caller"
    assert bye.cseq.method == "BYE" and bye.cseq.seq == 2
    assert "Contact" not in bye.headers
    assert str(dialog.next_hop()) == "sip:p1.example;lr"
    # Round trip through the wire form.
    assert parse_message(bye.serialize()) == bye


def test_local_cseq_grows_per_request() -> None:
    dialog = uas_dialog()
    seqs = [dialog.build_request(m, via=via()).cseq.seq for m in ("INFO", "OPTIONS", "INFO")]
    assert seqs == [2, 3, 4]


def uac_dialog(record_route: str = "<sip:p1.example;lr>, <sip:p2.example;lr>") -> tuple[
        Dialog, SipRequest]:
    invite = parse_request(
        INVITE.replace("Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>\n", "")
        .replace('"Caller" <sip:caller@10.0.0.9>;tag=caller-tag', "<sip:hotline@127.0.0.1>;tag=t1")
        .replace("Contact: <sip:caller@10.0.0.9:5070>", "Contact: <sip:hotline@127.0.0.1:5060>")
    )
    ok = make_response(invite, 200, to_tag="agent-tag", headers=[
        ("Record-Route", record_route), ("Contact", "<sip:agent@10.0.0.7:5062>")])
    ok = parse_message(ok.serialize())
    assert isinstance(ok, SipResponse)
    dialog = Dialog.as_uac(invite, ok)
    dialog.handle(DialogEvent.ANSWERED)
    return dialog, invite


def test_uac_dialog_reverses_record_route_and_continues_cseq() -> None:
    dialog, invite = uac_dialog()
    assert dialog.id == DialogId("call-1@10.0.0.9", "t1", "agent-tag")
    assert [str(r.uri) for r in dialog.route_set] == ["sip:p2.example;lr", "sip:p1.example;lr"]
    assert dialog.remote_seq is None
    bye = dialog.build_request("BYE", via=via())
    assert bye.cseq.seq == invite.cseq.seq + 1
    assert str(bye.uri) == "sip:agent@10.0.0.7:5062"


def test_ack_for_2xx_reuses_invite_cseq_and_credentials() -> None:
    dialog, invite = uac_dialog("<sip:p1.example;lr>")
    invite = SipRequest(invite.method, invite.uri,
                        invite.headers.with_added("Authorization", 'Digest username="a"'),
                        invite.body)
    ack_via = via()
    ack = dialog.build_ack(invite, via=ack_via)
    assert ack.method == "ACK" and ack.cseq.seq == invite.cseq.seq and ack.cseq.method == "ACK"
    assert ack.top_via.branch == ack_via.branch != invite.top_via.branch
    assert ack.headers.get("Authorization") == 'Digest username="a"'
    assert dialog.local_seq == invite.cseq.seq  # ACK takes no new number
    with pytest.raises(LocalSipError):
        dialog.build_request("ACK", via=via())


def test_strict_router_gets_request_uri_and_target_goes_last() -> None:
    dialog, _ = uac_dialog("<sip:strict.example>")
    bye = dialog.build_request("BYE", via=via())
    assert str(bye.uri) == "sip:strict.example"
    assert bye.headers.get_all("Route") == ["<sip:agent@10.0.0.7:5062>"]


def test_incoming_request_with_old_cseq_gets_500() -> None:
    dialog = uas_dialog()
    dialog.request_received(in_dialog("INFO", 12))
    with pytest.raises(RemoteSipError) as err:
        dialog.request_received(in_dialog("INFO", 11))
    assert err.value.status_hint == 500


def test_reinvite_refreshes_remote_target() -> None:
    dialog = uas_dialog()
    dialog.request_received(in_dialog("INVITE", 11, contact="<sip:caller@10.0.0.99:5070>"))
    assert str(dialog.remote_target) == "sip:caller@10.0.0.99:5070"
    dialog.remote_request_answered(in_dialog("INVITE", 11))
    dialog.request_received(in_dialog("UPDATE", 12, contact="<sip:caller@10.0.0.5>"))
    assert str(dialog.remote_target) == "sip:caller@10.0.0.5"
    dialog.request_received(in_dialog("INFO", 13, contact="<sip:ignored@10.9.9.9>"))
    assert str(dialog.remote_target) == "sip:caller@10.0.0.5"


def test_our_reinvite_2xx_refreshes_target() -> None:
    dialog, _ = uac_dialog()
    reinvite = dialog.build_request("INVITE", via=via(), body=b"v=0\r\n",
                                    content_type="application/sdp")
    assert reinvite.headers.get("Contact") == "<sip:hotline@127.0.0.1:5060>"
    ok = make_response(reinvite, 200, headers=[("Contact", "<sip:agent@10.0.0.8:5062>")])
    dialog.response_received(reinvite, ok)
    assert str(dialog.remote_target) == "sip:agent@10.0.0.8:5062"


def test_overlapping_reinvites_glare_gives_491_and_second_remote_gives_500() -> None:
    dialog = uas_dialog()
    ours = dialog.build_request("INVITE", via=via(), body=b"v=0\r\n",
                                content_type="application/sdp")
    with pytest.raises(RequestPending) as err:
        dialog.request_received(in_dialog("INVITE", 11))
    assert err.value.status_hint == 491
    with pytest.raises(LocalSipError):
        dialog.build_request("INVITE", via=via())  # one at a time (§14.1)
    dialog.response_received(ours, make_response(ours, 491))
    dialog.request_received(in_dialog("INVITE", 12))
    with pytest.raises(RequestPending) as err:
        dialog.request_received(in_dialog("INVITE", 13), random.Random(1))
    assert err.value.status_hint == 500
    assert err.value.retry_after is not None and 0 <= err.value.retry_after <= 10
    with pytest.raises(LocalSipError):
        dialog.build_request("INVITE", via=via())


def test_update_with_offer_collides_like_reinvite() -> None:
    dialog = uas_dialog()
    dialog.build_request("UPDATE", via=via(), body=b"v=0\r\n", content_type="application/sdp")
    with pytest.raises(RequestPending):
        dialog.request_received(in_dialog("UPDATE", 11, body="v=0\r\n"))


def test_glare_retry_delay_depends_on_call_id_owner() -> None:
    rng = random.Random(7)
    uac, _ = uac_dialog()
    uas = uas_dialog()
    assert all(2.1 <= uac.glare_retry_delay(rng) <= 4.0 for _ in range(50))
    assert all(0.0 <= uas.glare_retry_delay(rng) <= 2.0 for _ in range(50))


def test_bye_received_terminates_and_nothing_more_can_be_sent() -> None:
    dialog = uas_dialog()
    dialog.request_received(in_dialog("BYE", 11))
    assert dialog.state is DialogState.TERMINATED
    with pytest.raises(LocalSipError):
        dialog.build_request("INFO", via=via())


def test_481_to_our_request_ends_the_dialog() -> None:
    dialog, _ = uac_dialog()
    info = dialog.build_request("INFO", via=via())
    dialog.response_received(info, make_response(info, 481))
    assert dialog.state is DialogState.TERMINATED


def test_callee_cannot_bye_an_early_dialog() -> None:
    dialog = Dialog.as_uas(parse_request(INVITE), local_tag="x", local_contact=US)
    with pytest.raises(LocalSipError, match="early"):
        dialog.build_request("BYE", via=via())


def test_missing_transition_is_a_clear_error() -> None:
    dialog = uas_dialog()
    with pytest.raises(DialogStateError, match="can't handle failed in dialog state confirmed"):
        dialog.handle(DialogEvent.FAILED)


def test_early_dialog_fails_on_non_2xx() -> None:
    dialog = Dialog.as_uas(parse_request(INVITE), local_tag="x", local_contact=US)
    assert dialog.handle(DialogEvent.PROVISIONAL) is DialogState.EARLY
    assert dialog.handle(DialogEvent.FAILED) is DialogState.TERMINATED


def test_invite_without_contact_cannot_make_a_dialog() -> None:
    invite = parse_request(INVITE.replace("Contact: <sip:caller@10.0.0.9:5070>\n", ""))
    with pytest.raises(RemoteSipError):
        Dialog.as_uas(invite, local_tag="x", local_contact=US)


def test_body_needs_content_type() -> None:
    with pytest.raises(LocalSipError):
        uas_dialog().build_request("INFO", via=via(), body=b"Signal=1")
