"""SIP parser and stream framer: torture fixtures, round trips, fuzzing (issue 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.sip.address import Peer, TransportKind
from telephony.sip.errors import RemoteSipError
from telephony.sip.message import Headers, SipRequest, SipResponse
from telephony.sip.parser import StreamFramer, parse_message
from telephony.sip.transaction import MessageRejected, RequestReceived, Send
from telephony.sip.txlayer import TransactionLayer
from telephony.sip.uri import NameAddr, SipUri

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sip"
SOURCE = Peer(TransportKind.UDP, "127.0.0.1", 5099)
TORTURE = sorted(p for p in FIXTURES.glob("*.sip") if not p.name.startswith("ok_"))
VALID = sorted(FIXTURES.glob("ok_*.sip"))

INVITE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@example.com>\r\n"
    b'From: "Alice" <sip:alice@example.com>;tag=1928301774\r\n'
    b"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.example.com>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n\r\nv=0\n"
)


def test_there_are_at_least_twenty_hostile_fixtures() -> None:
    assert len(TORTURE) >= 20


@pytest.mark.parametrize("path", TORTURE, ids=lambda p: p.stem)
def test_hostile_message_gets_its_status_or_is_dropped(path: Path) -> None:
    """File names say the outcome: ``<status>_<category>_<what>`` or ``drop_...``."""
    expected = path.name.split("_", 1)[0]
    outputs = TransactionLayer().receive_data(path.read_bytes(), SOURCE, now=0.0)
    assert not any(isinstance(o, RequestReceived) for o in outputs)
    sends = [o for o in outputs if isinstance(o, Send)]
    if expected == "drop":
        assert sends == []
        assert all(isinstance(o, MessageRejected) and o.status is None for o in outputs)
        return
    assert len(sends) == 1
    response = sends[0].message
    assert isinstance(response, SipResponse)
    assert response.status == int(expected)
    # Routed per §18.2.2 / RFC 3581: the fixtures ask for rport, so back to the source.
    assert sends[0].destination == SOURCE
    assert sends[0].data.startswith(f"SIP/2.0 {expected} ".encode())
    if response.status != 483:  # parse errors say why (RFC 3261 §20.43)
        assert response.headers.get("Warning")


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_odd_but_valid_messages_are_accepted(path: Path) -> None:
    outputs = TransactionLayer().receive_data(path.read_bytes(), SOURCE, now=0.0)
    assert any(isinstance(o, RequestReceived) for o in outputs)


def test_compact_forms_and_folding_are_expanded() -> None:
    msg = parse_message((FIXTURES / "ok_compact-forms-and-folding.sip").read_bytes())
    assert isinstance(msg, SipRequest)
    assert msg.cseq.seq == 8 and msg.cseq.method == "INVITE"
    assert msg.top_via.branch == "z9hG4bKfold"
    assert msg.from_.display == 'J"o"e'
    assert [c.uri.host for c in msg.contacts] == ["127.0.0.1", "[::1]"]
    assert msg.contacts[1].param("q") == "0.5"
    assert msg.media_type == "application/sdp"
    assert msg.body.startswith(b"v=0")
    assert ("Call-ID", "fold-1@example.com") in list(msg.headers)


def test_bytes_beyond_content_length_are_discarded_on_datagrams() -> None:
    msg = parse_message((FIXTURES / "ok_trailing-bytes-after-content-length.sip").read_bytes())
    assert msg.body == b"ab"


def test_escaped_uri_and_ipv6_host_survive_a_round_trip() -> None:
    msg = parse_message((FIXTURES / "ok_escaped-user-and-ipv6-host.sip").read_bytes())
    assert isinstance(msg, SipRequest)
    assert msg.uri.user == "%61lice;day=tue"
    assert msg.uri.host == "[2001:db8::10]" and msg.uri.port == 5070
    assert msg.uri.param("MADDR") == "[::1]" and msg.uri.param("lr") == ""
    assert msg.uri.headers == (("Subject", "hi"), ("Priority", "urgent"))
    assert msg.contact_wildcard and msg.contacts == ()
    assert parse_message(msg.serialize()) == msg


def test_typed_accessors_of_a_plain_invite() -> None:
    msg = parse_message(INVITE)
    assert isinstance(msg, SipRequest)
    assert msg.method == "INVITE"
    assert msg.call_id == "a84b4c76e66710@pc33.example.com"
    assert msg.to.tag is None and msg.from_.tag == "1928301774"
    assert msg.max_forwards == 70
    assert msg.top_via.host == "pc33.example.com" and msg.top_via.port is None
    assert msg.body == b"v=0\n"
    assert msg.content_type == "application/sdp"


# --- stream framing ---------------------------------------------------------------------------


def test_framer_byte_at_a_time_with_keepalives() -> None:
    stream = b"\r\n\r\n" + INVITE + b"\r\n\r\n" + INVITE
    framer = StreamFramer()
    frames: list[bytes] = []
    for i in range(len(stream)):
        frames += framer.feed(stream[i : i + 1])
    assert [parse_message(f) for f in frames] == [parse_message(INVITE)] * 2
    assert framer.buffered == 0


def test_framer_keeps_trailing_partial_message() -> None:
    framer = StreamFramer()
    frames = framer.feed(INVITE + INVITE[:30])
    assert len(frames) == 1
    assert framer.buffered == 30
    assert framer.feed(INVITE[30:]) == [INVITE]


def test_framer_requires_content_length_and_stays_broken() -> None:
    framer = StreamFramer()
    no_length = INVITE.replace(b"Content-Length: 4\r\n", b"")
    with pytest.raises(RemoteSipError, match="Content-Length is mandatory"):
        framer.feed(no_length)
    with pytest.raises(RemoteSipError):
        framer.feed(INVITE)


def test_framer_bounds_an_endless_header_section() -> None:
    framer = StreamFramer()
    with pytest.raises(RemoteSipError) as info:
        for _ in range(100):
            framer.feed(b"X-Junk: " + b"a" * 1000 + b"\r\n")
    assert info.value.status_hint == 513


# --- properties -------------------------------------------------------------------------------

token = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~",
    min_size=1,
    max_size=12,
)
host = st.one_of(
    st.from_regex(r"[a-z][a-z0-9]{0,10}(\.[a-z][a-z0-9]{0,10}){0,2}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
)
# RFC 3261 §25.1 paramchar / user: unreserved characters only (no backquote, no bare %)
uri_token = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()",
    min_size=1,
    max_size=12,
)
port = st.one_of(st.none(), st.integers(1, 65535))
uri_params = st.lists(st.tuples(uri_token, st.one_of(st.none(), uri_token)), max_size=3).map(tuple)
params = st.lists(st.tuples(token, st.one_of(st.none(), token)), max_size=3).map(tuple)
uri = st.builds(
    SipUri,
    scheme=st.sampled_from(["sip", "sips"]),
    user=st.one_of(st.none(), uri_token),
    host=host,
    port=port,
    params=uri_params,
)
display = st.one_of(
    st.none(),
    st.text(
        alphabet=st.characters(min_codepoint=32, max_codepoint=0x4FFF, exclude_characters="\x7f"),
        min_size=1,
        max_size=10,
    ),
)
name_addr = st.builds(NameAddr, uri=uri, display=display, params=params)
text_value = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x4FFF, exclude_characters="\x7f,"),
    min_size=1,
    max_size=20,
)
methods = st.sampled_from(["INVITE", "OPTIONS", "BYE", "REGISTER", "INFO", "FOO"])


@st.composite
def requests(draw: st.DrawFn) -> SipRequest:
    method = draw(methods)
    vias = draw(
        st.lists(
            st.builds(
                lambda h, p, b: f"SIP/2.0/UDP {h}{'' if p is None else f':{p}'};branch=z9hG4bK{b}",
                host,
                port,
                token,
            ),
            min_size=1,
            max_size=3,
        )
    )
    extra = draw(
        st.lists(
            st.tuples(st.sampled_from(["Subject", "X-Custom", "User-Agent"]), text_value),
            max_size=3,
        )
    )
    headers = [("Via", v) for v in vias] + [
        ("Max-Forwards", str(draw(st.integers(0, 255)))),
        ("From", str(draw(name_addr).with_tag(draw(token)))),
        ("To", str(draw(name_addr))),
        ("Call-ID", draw(token) + "@" + draw(token)),
        ("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {method}"),
        *extra,
    ]
    return SipRequest(method, draw(uri), Headers(headers), draw(st.binary(max_size=200)))


@settings(max_examples=100, deadline=None)
@given(requests())
def test_parse_of_serialize_is_identity_for_requests(msg: SipRequest) -> None:
    assert parse_message(msg.serialize()) == msg


@settings(max_examples=100, deadline=None)
@given(requests(), st.integers(100, 699), text_value)
def test_parse_of_serialize_is_identity_for_responses(
    req: SipRequest, status: int, reason: str
) -> None:
    from telephony.sip.message import make_response

    response = make_response(req, status, reason, to_tag="t1", body=b"x")
    assert parse_message(response.serialize()) == response


@settings(max_examples=150, deadline=None)
@given(name_addr)
def test_name_addr_round_trip(value: NameAddr) -> None:
    assert NameAddr.parse(str(value)) == value


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_random_bytes_parse_or_raise_remote_error(data: bytes) -> None:
    try:
        parse_message(data)
    except RemoteSipError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fuzz_mutated_messages_parse_or_raise_remote_error(data: st.DataObject) -> None:
    raw = bytearray(INVITE)
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            raw[pos] = data.draw(st.integers(0, 255))
        elif action == "delete":
            del raw[pos]
        else:
            raw[pos:pos] = data.draw(
                st.sampled_from(
                    [
                        b"\r\n",
                        b" ",
                        b":",
                        b";",
                        b'"',
                        b"<",
                        b"@",
                        b",",
                        b"\x00",
                        b"\xff",
                        b"[",
                        b"%",
                    ]
                )
            )
    try:
        msg = parse_message(bytes(raw))
    except RemoteSipError:
        return
    # Whatever parses must also serialise and parse back to itself.
    assert parse_message(msg.serialize()) == msg


@settings(max_examples=100, deadline=None)
@given(st.lists(requests(), min_size=1, max_size=4), st.data())
def test_framer_gives_the_same_messages_however_the_stream_is_cut(
    messages: list[SipRequest], data: st.DataObject
) -> None:
    stream = b"".join(b"\r\n\r\n" * data.draw(st.integers(0, 1)) + m.serialize() for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    framer = StreamFramer()
    frames: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        frames += framer.feed(stream[start:end])
    assert [parse_message(f) for f in frames] == messages
    assert framer.buffered == 0


# --- messages captured from other stacks (named after their source) ----------------------------


def fixture(name: str) -> SipRequest:
    msg = parse_message((FIXTURES / name).read_bytes())
    assert isinstance(msg, SipRequest)
    assert parse_message(msg.serialize()) == msg
    return msg


def test_pjsua2_invite_with_bare_addr_spec_from_and_padded_content_length() -> None:
    msg = fixture("ok_pjsua2_invite.sip")
    assert msg.from_.uri.user == "1001" and msg.from_.tag  # From without <>: tag is a param
    assert msg.to.uri.host == "127.0.0.1" and msg.to.tag is None
    assert msg.top_via.wants_rport and msg.top_via.branch.startswith("z9hG4bKPj")
    assert "100rel" in msg.headers.get_all("Supported")
    assert msg.contacts[0].uri.param("ob") == ""
    assert msg.media_type == "application/sdp" and msg.body.startswith(b"v=0")
    assert len(msg.body) == 619


def test_pjsua2_register() -> None:
    msg = fixture("ok_pjsua2_register.sip")
    assert msg.method == "REGISTER" and msg.expires == 300 and msg.body == b""
    assert msg.from_.uri.host == "hotline.test"


def test_pyvoip_register_with_quoted_instance_id() -> None:
    msg = fixture("ok_pyvoip_register.sip")
    contact = msg.contacts[0]
    assert contact.uri.transport == "udp"
    assert contact.param("+sip.instance") == '"<urn:uuid:738C0BC7-0878-4EC1-A7DC-7F152436A14F>"'
    assert msg.from_.display == "1002" and msg.expires == 120


def test_baresip_register_with_contact_expires() -> None:
    msg = fixture("ok_baresip_register.sip")
    assert msg.contacts[0].param("expires") == "60"
    assert msg.headers.get_all("Allow")[:3] == ["INVITE", "ACK", "BYE"]
    assert msg.headers.get("User-Agent", "").startswith("baresip")
