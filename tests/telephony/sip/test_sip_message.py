"""SIP message values: Headers multi-map, serialisation, make_response, id helpers (issue 3)."""

from __future__ import annotations

import pytest

from telephony.sip.errors import LocalSipError
from telephony.sip.message import (
    MAGIC_COOKIE,
    Headers,
    Method,
    SipRequest,
    SipResponse,
    make_response,
    new_branch,
    new_call_id,
    new_tag,
)
from telephony.sip.parser import parse_message
from telephony.sip.uri import SipUri

REQUEST = SipRequest(
    Method.INVITE,
    SipUri.parse("sip:1000@hotline"),
    Headers(
        [
            ("v", "SIP/2.0/UDP a:5060;branch=z9hG4bK1, SIP/2.0/TCP b;branch=z9hG4bK2"),
            ("Via", "SIP/2.0/UDP c;branch=z9hG4bK3"),
            ("Max-Forwards", "70"),
            ("f", "<sip:caller@x>;tag=from1"),
            ("t", "<sip:1000@hotline>"),
            ("i", "cid-1"),
            ("CSeq", "10 INVITE"),
            ("Record-Route", "<sip:proxy;lr>"),
            ("Contact", "<sip:caller@10.0.0.1:5060>;expires=30, <sip:caller@[::1]>"),
            ("Expires", "120"),
            ("Content-Type", "application/SDP; charset=utf-8"),
        ]
    ),
    b"v=0\r\n",
)


def test_headers_are_case_insensitive_ordered_and_split_lists() -> None:
    h = REQUEST.headers
    assert h.get("via") == "SIP/2.0/UDP a:5060;branch=z9hG4bK1"
    assert len(h.get_all("VIA")) == 3
    assert h.raw_values("Via")[0].endswith("branch=z9hG4bK2")
    assert h.get("call-id") == h.get("i") == "cid-1"
    assert "CALL-ID" in h and "Subject" not in h
    assert h.get("Subject") is None and h.get("Subject", "none") == "none"
    assert [name for name, _ in h][:3] == ["Via", "Via", "Max-Forwards"]


def test_headers_are_immutable_values() -> None:
    h = REQUEST.headers
    added = h.with_added("Via", "SIP/2.0/UDP top;branch=z9hG4bK0", first=True)
    assert added.get("Via") == "SIP/2.0/UDP top;branch=z9hG4bK0" and h.get("Via") != added.get(
        "Via"
    )
    replaced = h.with_replaced("via", "SIP/2.0/UDP only;branch=z9hG4bK9")
    assert replaced.get_all("Via") == ["SIP/2.0/UDP only;branch=z9hG4bK9"]
    assert next(n for n, _ in replaced) == "Via"  # stays where the first one was
    assert "Expires" not in h.without("expires") and "Expires" in h
    assert Headers([("a", "1")]) == Headers([("a", "1")])
    assert hash(Headers([("To", "x")])) == hash(Headers([("t", "x")]))


def test_header_values_cannot_smuggle_lines() -> None:
    with pytest.raises(LocalSipError):
        Headers([("Subject", "hi\r\nVia: evil")])
    with pytest.raises(LocalSipError):
        REQUEST.headers.with_added("Subject", "a\nb")


def test_typed_accessors() -> None:
    r = REQUEST
    assert r.call_id == "cid-1" and r.cseq.seq == 10 and r.cseq.method == "INVITE"
    assert r.from_.tag == "from1" and r.to.tag is None
    assert [v.host for v in r.vias] == ["a", "b", "c"] and r.top_via.branch == "z9hG4bK1"
    assert [c.uri.host for c in r.contacts] == ["10.0.0.1", "[::1]"]
    assert r.contacts[0].param("expires") == "30"
    assert r.max_forwards == 70 and r.expires == 120
    assert r.media_type == "application/sdp"
    assert r.record_routes[0].uri.param("lr") == ""


def test_serialize_writes_content_length_from_the_body() -> None:
    stale = SipRequest("OPTIONS", REQUEST.uri, REQUEST.headers.with_added("Content-Length", "999"))
    wire = stale.serialize()
    assert b"Content-Length: 0\r\n\r\n" in wire and b"999" not in wire
    assert wire.startswith(b"OPTIONS sip:1000@hotline SIP/2.0\r\nVia: ")
    assert bytes(REQUEST).endswith(b"Content-Length: 5\r\n\r\nv=0\r\n")


def test_make_response_copies_the_rfc_3261_8_2_6_2_headers() -> None:
    response = make_response(REQUEST, 180, to_tag="t1", headers=[("Contact", "<sip:svc@h>")])
    assert response.reason == "Ringing"
    assert response.headers.raw_values("Via") == REQUEST.headers.raw_values("Via")
    assert response.from_ == REQUEST.from_ and response.call_id == "cid-1"
    assert response.cseq == REQUEST.cseq and response.to.tag == "t1"
    assert "Record-Route" not in response.headers and "Max-Forwards" not in response.headers
    assert response.headers.get("Contact") == "<sip:svc@h>"
    assert parse_message(response.serialize()) == response


def test_make_response_keeps_an_existing_to_tag_and_rejects_bad_status() -> None:
    in_dialog = SipRequest(
        "BYE", REQUEST.uri, REQUEST.headers.with_replaced("To", "<sip:1000@hotline>;tag=mine")
    )
    assert make_response(in_dialog, 200, to_tag="other").to.tag == "mine"
    assert make_response(REQUEST, 100).to.tag is None
    assert make_response(REQUEST, 299, "Custom").reason == "Custom"
    with pytest.raises(LocalSipError):
        make_response(REQUEST, 700)


def test_response_helpers() -> None:
    ok = make_response(REQUEST, 200, to_tag="x")
    assert isinstance(ok, SipResponse) and ok.is_success and not ok.is_provisional


def test_ids_are_fresh_and_rfc_shaped() -> None:
    branches = {new_branch() for _ in range(100)}
    assert len(branches) == 100 and all(b.startswith(MAGIC_COOKIE) for b in branches)
    assert len({new_tag() for _ in range(100)}) == 100
    assert new_call_id("hotline.example").endswith("@hotline.example")


def test_method_enum_compares_with_wire_strings() -> None:
    assert Method.INVITE == "INVITE" and Method("PRACK") is Method.PRACK
    assert {m.value for m in Method} >= {"REFER", "SUBSCRIBE", "NOTIFY", "MESSAGE", "UPDATE"}
