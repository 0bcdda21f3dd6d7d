"""SDP parse/serialize and RFC 3264 offer/answer, against offers captured from real phones."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telephony.sdp import (
    PCMA,
    PCMU,
    AddrType,
    Attribute,
    Codec,
    Direction,
    LocalMedia,
    NoCommonCodec,
    SdpParseError,
    SessionDescription,
    accept_answer,
    answer_direction,
    answer_offer,
    build_offer,
    parse_sdp,
)

FIXTURES = Path(__file__).parent / "fixtures" / "sdp"
PEERS = ["pjsua2_offer", "baresip_offer", "pyvoip_offer"]
LOCAL = LocalMedia(address="127.0.0.1", port=30000)


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.sdp").read_bytes()


def _offer(direction: str = "sendrecv", codecs: str = "0 8 101", extra: str = "") -> bytes:
    return (
        "v=0\r\no=peer 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        f"m=audio 4000 RTP/AVP {codecs}\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
        f"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na={direction}\r\n{extra}"
    ).encode()


@pytest.mark.parametrize("peer", PEERS)
def test_real_peer_offers_round_trip(peer: str) -> None:
    parsed = parse_sdp(fixture(peer))
    assert parse_sdp(parsed.serialize()) == parsed


@pytest.mark.parametrize("peer", PEERS)
def test_real_peer_offers_are_answered_with_pcmu_and_their_telephone_event(peer: str) -> None:
    offer = parse_sdp(fixture(peer))
    answer, negotiated = answer_offer(offer, LOCAL, session_id=7, session_version=1)
    assert negotiated.codec.name == "PCMU"
    assert negotiated.codec.payload_type == 0
    # pjsua2 offers telephone-event at 16, 32 and 8 kHz; only the 8 kHz one fits G.711.
    expected_te = {"pjsua2_offer": 121, "baresip_offer": 101, "pyvoip_offer": 101}[peer]
    assert negotiated.telephone_event_pt == expected_te
    assert negotiated.direction is Direction.SENDRECV
    media = answer.media[0]
    assert media.port == LOCAL.port
    assert media.formats == ("0", str(expected_te))
    assert answer.connection is not None and answer.connection.address == "127.0.0.1"
    assert parse_sdp(answer.serialize()) == answer


def test_pjsua2_offer_gives_remote_rtp_address_and_port() -> None:
    negotiated = answer_offer(parse_sdp(fixture("pjsua2_offer")), LOCAL, session_id=1,
                              session_version=1)[1]
    assert (negotiated.remote_address, negotiated.remote_port) == ("192.0.2.2", 4000)


def test_our_preference_wins_over_offer_order() -> None:
    offer = parse_sdp(_offer(codecs="8 0 101"))
    local = LocalMedia(address="127.0.0.1", port=30000, codecs=(PCMU, PCMA))
    _, negotiated = answer_offer(offer, local, session_id=1, session_version=1)
    assert negotiated.codec == PCMU
    local_a = LocalMedia(address="127.0.0.1", port=30000, codecs=(PCMA,))
    _, negotiated = answer_offer(parse_sdp(_offer()), local_a, session_id=1, session_version=1)
    assert negotiated.codec == PCMA


def test_static_payload_types_without_rtpmap_are_understood() -> None:
    body = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" \
           b"m=audio 4000 RTP/AVP 8\r\n"
    _, negotiated = answer_offer(parse_sdp(body), LOCAL, session_id=1, session_version=1)
    assert negotiated.codec == PCMA
    assert negotiated.telephone_event_pt is None
    assert negotiated.ptime_ms == 20


def test_offer_without_g711_raises_no_common_codec() -> None:
    body = (
        b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        b"m=audio 4000 RTP/AVP 9 101\r\na=rtpmap:9 G722/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\n"
    )
    with pytest.raises(NoCommonCodec, match="G722"):
        answer_offer(parse_sdp(body), LOCAL, session_id=1, session_version=1)


def test_video_stream_is_refused_with_port_zero_and_audio_kept_in_order() -> None:
    body = (
        b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        b"m=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"
        b"m=audio 4000 RTP/AVP 0\r\n"
        b"m=audio 4002 RTP/AVP 0\r\n"
    )
    answer, negotiated = answer_offer(parse_sdp(body), LOCAL, session_id=1, session_version=1)
    assert [(m.media, m.port) for m in answer.media] == [
        ("video", 0), ("audio", LOCAL.port), ("audio", 0)]
    assert negotiated.remote_port == 4000


def test_audio_stream_offered_with_port_zero_is_not_used() -> None:
    body = (
        b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        b"m=audio 0 RTP/AVP 0\r\n"
    )
    with pytest.raises(NoCommonCodec):
        answer_offer(parse_sdp(body), LOCAL, session_id=1, session_version=1)


@pytest.mark.parametrize(
    ("offered", "answered"),
    [
        ("sendrecv", Direction.SENDRECV),
        ("sendonly", Direction.RECVONLY),  # the peer holds us: we only listen
        ("recvonly", Direction.SENDONLY),
        ("inactive", Direction.INACTIVE),
    ],
)
def test_hold_offers_get_the_matching_answer_direction(offered: str,
                                                       answered: Direction) -> None:
    answer, negotiated = answer_offer(parse_sdp(_offer(offered)), LOCAL, session_id=1,
                                      session_version=2)
    assert answer.media[0].direction is answered
    assert negotiated.direction is answered


def test_session_level_direction_applies_when_media_has_none() -> None:
    body = (
        b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        b"a=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n"
    )
    _, negotiated = answer_offer(parse_sdp(body), LOCAL, session_id=1, session_version=1)
    assert negotiated.direction is Direction.RECVONLY


def test_rfc2543_hold_address_means_peer_does_not_receive() -> None:
    body = _offer().replace(b"c=IN IP4 10.0.0.1", b"c=IN IP4 0.0.0.0")
    _, negotiated = answer_offer(parse_sdp(body), LOCAL, session_id=1, session_version=1)
    assert negotiated.direction is Direction.RECVONLY
    assert negotiated.on_hold


def test_we_can_hold_when_answering() -> None:
    answer, negotiated = answer_offer(parse_sdp(_offer()), LOCAL, session_id=1,
                                      session_version=1, direction=Direction.SENDONLY)
    assert negotiated.direction is Direction.SENDONLY
    assert answer.media[0].direction is Direction.SENDONLY


def test_answer_direction_never_widens_the_offer() -> None:
    for offered in Direction:
        for wanted in Direction:
            result = answer_direction(offered, wanted)
            assert not (result.sends and not offered.receives)
            assert not (result.receives and not offered.sends)


def test_offer_for_outbound_leg_round_trips_and_is_accepted_by_an_answer() -> None:
    offer = build_offer(LOCAL, session_id=42, session_version=1)
    text = offer.serialize().decode()
    assert "m=audio 30000 RTP/AVP 0 8 101\r\n" in text
    assert "a=rtpmap:101 telephone-event/8000\r\n" in text
    assert "a=fmtp:101 0-16\r\n" in text
    assert "a=ptime:20\r\n" in text
    assert "a=sendrecv\r\n" in text
    assert parse_sdp(offer.serialize()) == offer
    peer = LocalMedia(address="10.1.1.1", port=5555, codecs=(PCMA,), telephone_event_pt=None)
    answer, peer_side = answer_offer(offer, peer, session_id=9, session_version=1)
    ours = accept_answer(offer, answer)
    assert ours.codec == PCMA
    assert (ours.remote_address, ours.remote_port) == ("10.1.1.1", 5555)
    assert ours.telephone_event_pt is None
    assert peer_side.remote_port == LOCAL.port


def test_hold_offer_answered_recvonly_is_read_as_we_send_only() -> None:
    offer = build_offer(LOCAL, session_id=42, session_version=2, direction=Direction.SENDONLY)
    answer, _ = answer_offer(offer, LocalMedia(address="10.1.1.1", port=5555), session_id=9,
                             session_version=2)
    assert answer.media[0].direction is Direction.RECVONLY
    assert accept_answer(offer, answer).direction is Direction.SENDONLY


def test_answer_refusing_audio_raises_no_common_codec() -> None:
    offer = build_offer(LOCAL, session_id=1, session_version=1)
    refused = (
        b"v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
        b"m=audio 0 RTP/AVP 0\r\n"
    )
    with pytest.raises(NoCommonCodec):
        accept_answer(offer, parse_sdp(refused))


def test_ipv6_connection_lines() -> None:
    local6 = LocalMedia(address="::1", port=30000)
    offer = build_offer(local6, session_id=1, session_version=1)
    text = offer.serialize().decode()
    assert "c=IN IP6 ::1\r\n" in text
    assert "o=hotline 1 1 IN IP6 ::1\r\n" in text
    body = _offer().replace(b"IN IP4 10.0.0.1", b"IN IP6 2001:db8::5")
    answer, negotiated = answer_offer(parse_sdp(body), local6, session_id=1, session_version=1)
    assert negotiated.remote_address == "2001:db8::5"
    assert answer.connection is not None and answer.connection.addr_type is AddrType.IP6


def test_telephone_event_disabled_locally_is_left_out_of_answer() -> None:
    local = LocalMedia(address="127.0.0.1", port=30000, telephone_event_pt=None)
    answer, negotiated = answer_offer(parse_sdp(_offer()), local, session_id=1,
                                      session_version=1)
    assert answer.media[0].formats == ("0",)
    assert negotiated.telephone_event_pt is None


def test_build_offer_refuses_static_telephone_event_payload_type() -> None:
    with pytest.raises(ValueError, match="dynamic"):
        build_offer(LocalMedia(address="127.0.0.1", port=1, telephone_event_pt=8),
                    session_id=1, session_version=1)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"o=- 1 1 IN IP4 1.2.3.4\r\n",
        b"v=0\r\ns=-\r\n",  # no origin
        b"v=0\r\no=- 1 IN IP4 1.2.3.4\r\n",
        b"v=0\r\no=- 1 x IN IP4 1.2.3.4\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP9 1.2.3.4\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 99999 RTP/AVP 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 4 RTP/AVP 0\r\na=rtpmap:x PCMU\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 4 RTP/AVP 0\r\nt=0 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nnot a line\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n\xff\xfe=\r\n",
        b"v=0\r\nv=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n" + b"m=audio 4 RTP/AVP 0\r\n" * 40,
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\na=x" + b"y" * 20000 + b"\r\n",
    ],
)
def test_malformed_bodies_raise_sdp_parse_error(body: bytes) -> None:
    with pytest.raises(SdpParseError):
        parse_sdp(body)


def test_bad_rtpmap_in_offer_is_a_parse_error_not_a_crash() -> None:
    body = _offer(extra="a=rtpmap:0 PCMU/notanumber\r\n")
    with pytest.raises(SdpParseError):
        answer_offer(parse_sdp(body), LOCAL, session_id=1, session_version=1)


def test_parse_accepts_bare_lf_line_endings() -> None:
    parsed = parse_sdp(fixture("pyvoip_offer").replace(b"\r\n", b"\n"))
    assert parsed == parse_sdp(fixture("pyvoip_offer"))


@given(st.binary(max_size=400))
def test_parse_never_raises_anything_but_sdp_parse_error(data: bytes) -> None:
    for candidate in (data, b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n" + data):
        try:
            parsed = parse_sdp(candidate)
        except SdpParseError:
            continue
        for media in parsed.media:
            try:
                media.codecs()
                _ = media.ptime
            except SdpParseError:
                pass


_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)


@given(
    port=st.integers(min_value=0, max_value=65535),
    formats=st.lists(st.integers(min_value=0, max_value=127).map(str), max_size=5),
    attributes=st.lists(
        st.builds(Attribute, _token, st.one_of(st.none(), _token)), max_size=5),
    version=st.integers(min_value=0, max_value=2**32),
)
def test_parse_of_serialize_is_identity(port: int, formats: list[str],
                                        attributes: list[Attribute], version: int) -> None:
    offer = build_offer(LocalMedia(address="127.0.0.1", port=port), session_id=3,
                        session_version=version)
    media = offer.media[0]
    from dataclasses import replace
    changed = replace(offer, media=(replace(media, formats=tuple(formats),
                                            attributes=tuple(attributes)),))
    assert SessionDescription.parse(changed.serialize()) == changed


def test_codec_matching_ignores_case_and_payload_number() -> None:
    assert Codec("pcmu", 8000, 96).matches(PCMU)
    assert not Codec("PCMU", 16000, 0).matches(PCMU)


# --- answers and re-offers captured from real peers (our offer was build_offer(LOCAL...)) ---

ANSWERS = ["pjsua2_answer", "baresip_answer", "pyvoip_answer"]


@pytest.mark.parametrize("peer", ANSWERS)
def test_real_peer_answers_to_our_offer_are_accepted(peer: str) -> None:
    offer = build_offer(LocalMedia(address="127.0.0.1", port=33100), session_id=1,
                        session_version=1)
    answer = parse_sdp(fixture(peer))
    assert parse_sdp(answer.serialize()) == answer
    negotiated = accept_answer(offer, answer)
    assert negotiated.codec == PCMU
    assert negotiated.telephone_event_pt == 101
    assert negotiated.direction is Direction.SENDRECV
    assert negotiated.remote_port == answer.media[0].port


def test_pjsua2_hold_reoffer_is_answered_recvonly_with_same_codec() -> None:
    offer = parse_sdp(fixture("pjsua2_hold_offer"))
    answer, negotiated = answer_offer(offer, LOCAL, session_id=1, session_version=2)
    assert negotiated.direction is Direction.RECVONLY and negotiated.on_hold
    assert negotiated.codec == PCMU
    assert answer.media[0].direction is Direction.RECVONLY
