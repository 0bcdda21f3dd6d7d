"""Header names, comma lists, Via and CSeq (issue 3)."""

from __future__ import annotations

import pytest

from telephony.sip.errors import RemoteSipError
from telephony.sip.headers import COMPACT_FORMS, CSeq, Via, canonical_name, split_comma_list


@pytest.mark.parametrize(
    ("compact", "full"),
    [
        ("i", "Call-ID"),
        ("m", "Contact"),
        ("e", "Content-Encoding"),
        ("l", "Content-Length"),
        ("c", "Content-Type"),
        ("f", "From"),
        ("s", "Subject"),
        ("k", "Supported"),
        ("t", "To"),
        ("v", "Via"),
        ("o", "Event"),
        ("u", "Allow-Events"),
        ("r", "Refer-To"),
        ("b", "Referred-By"),
        ("x", "Session-Expires"),
    ],
)
def test_compact_forms_expand(compact: str, full: str) -> None:
    assert canonical_name(compact) == full
    assert canonical_name(compact.upper()) == full
    assert COMPACT_FORMS[compact] == full


def test_known_names_get_canonical_spelling_unknown_keep_theirs() -> None:
    assert canonical_name("call-id") == "Call-ID"
    assert canonical_name("www-authenticate") == "WWW-Authenticate"
    assert canonical_name("X-Agent-Id") == "X-Agent-Id"


def test_comma_lists_respect_quotes_and_angle_brackets() -> None:
    value = '"Doe, John" <sip:j@a;x=1,2>;q=1, <sip:b@c> , sip:d@e'
    assert split_comma_list(value) == [
        '"Doe, John" <sip:j@a;x=1,2>;q=1',
        "<sip:b@c>",
        "sip:d@e",
    ]
    assert split_comma_list(" INVITE,ACK ,,BYE") == ["INVITE", "ACK", "BYE"]
    with pytest.raises(RemoteSipError):
        split_comma_list('"open, <sip:a@b>')


def test_via_parts_and_rport_forms() -> None:
    via = Via.parse("SIP / 2.0 / udp  [::1]:5062 ;branch=z9hG4bKx ;rport ;received=10.0.0.1")
    assert (via.transport, via.host, via.port) == ("UDP", "[::1]", 5062)
    assert via.branch == "z9hG4bKx" and via.received == "10.0.0.1"
    assert via.wants_rport and via.rport is None
    filled = via.with_param("rport", "4000")
    assert filled.rport == 4000
    assert str(filled) == "SIP/2.0/UDP [::1]:5062;branch=z9hG4bKx;rport=4000;received=10.0.0.1"
    assert Via.parse(str(filled)) == filled


@pytest.mark.parametrize(
    "text",
    [
        "SIP/2.0 host",
        "SIP/3.0/UDP host",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP h:99999",
        'SIP/2.0/UDP h;branch="x',
    ],
)
def test_bad_vias_raise_remote_errors(text: str) -> None:
    with pytest.raises(RemoteSipError):
        Via.parse(text)


def test_cseq_parse_and_limits() -> None:
    assert CSeq.parse(" 42   INVITE ") == CSeq(42, "INVITE")
    assert str(CSeq(7, "BYE")) == "7 BYE"
    for bad in ["", "INVITE", "-1 INVITE", "2147483648 INVITE", "1 INVITE extra", "1"]:
        with pytest.raises(RemoteSipError):
            CSeq.parse(bad)
