"""RFC 3264 offer/answer for G.711 audio: build offers, answer offers, read answers.

Pure functions over `telephony.sdp.wire` values. `NoCommonCodec` is mapped to 488 by the
SIP user agent (RFC 3261 §21.4.26); hold is a direction change (RFC 3264 §8.4).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telephony.sdp.wire import (
    AUDIO_CLOCK_RATE,
    DEFAULT_CODECS,
    DEFAULT_PTIME_MS,
    DEFAULT_TELEPHONE_EVENT_PT,
    DYNAMIC_PT_MAX,
    DYNAMIC_PT_MIN,
    RTP_AVP,
    TELEPHONE_EVENT,
    TELEPHONE_EVENT_FMTP,
    AddrType,
    Attribute,
    Codec,
    Connection,
    Direction,
    MediaDescription,
    NoCommonCodec,
    Origin,
    SessionDescription,
)


@dataclass(frozen=True, slots=True)
class NegotiatedAudio:
    """What the media layer needs once offer/answer is done, seen from our side."""

    remote_address: str
    remote_port: int
    codec: Codec  # carries the payload type to send and expect
    telephone_event_pt: int | None
    ptime_ms: int
    direction: Direction  # what *we* do: SENDONLY means we send and ignore what we receive

    @property
    def on_hold(self) -> bool:
        """The peer has stopped receiving (it put us on hold or the stream is inactive)."""
        return not self.direction.sends


@dataclass(frozen=True, slots=True)
class LocalMedia:
    """Our side of the audio stream: where we receive and what we offer to accept."""

    address: str
    port: int
    codecs: tuple[Codec, ...] = DEFAULT_CODECS
    telephone_event_pt: int | None = DEFAULT_TELEPHONE_EVENT_PT
    ptime_ms: int = DEFAULT_PTIME_MS
    username: str = "hotline"
    session_name: str = "hotline"


def _origin(local: LocalMedia, session_id: int, session_version: int) -> Origin:
    return Origin(
        username=local.username,
        session_id=str(session_id),
        session_version=session_version,
        address=local.address,
        addr_type=AddrType.for_address(local.address),
    )


def _audio_section(
    local: LocalMedia,
    codecs: Sequence[Codec],
    telephone_event_pt: int | None,
    telephone_event_fmtp: str,
    direction: Direction,
) -> MediaDescription:
    formats = [str(c.payload_type) for c in codecs]
    attributes = [Attribute("rtpmap", c.rtpmap()) for c in codecs]
    if telephone_event_pt is not None:
        formats.append(str(telephone_event_pt))
        te = Codec(TELEPHONE_EVENT, AUDIO_CLOCK_RATE, telephone_event_pt)
        attributes.append(Attribute("rtpmap", te.rtpmap()))
        attributes.append(Attribute("fmtp", f"{telephone_event_pt} {telephone_event_fmtp}"))
    attributes.append(Attribute("ptime", str(local.ptime_ms)))
    attributes.append(Attribute(direction.value))
    return MediaDescription(
        media="audio",
        port=local.port,
        proto=RTP_AVP,
        formats=tuple(formats),
        attributes=tuple(attributes),
    )


def build_offer(
    local: LocalMedia,
    *,
    session_id: int,
    session_version: int,
    direction: Direction = Direction.SENDRECV,
) -> SessionDescription:
    """An audio offer for an outbound leg or a re-INVITE (hold = SENDONLY, RFC 3264 §8.4)."""
    if local.telephone_event_pt is not None and not (
        DYNAMIC_PT_MIN <= local.telephone_event_pt <= DYNAMIC_PT_MAX
    ):
        raise ValueError(f"telephone-event payload type {local.telephone_event_pt} not dynamic")
    section = _audio_section(
        local, local.codecs, local.telephone_event_pt, TELEPHONE_EVENT_FMTP, direction
    )
    return SessionDescription(
        origin=_origin(local, session_id, session_version),
        session_name=local.session_name,
        connection=Connection(local.address, AddrType.for_address(local.address)),
        media=(section,),
    )


def _offered_direction(offer: SessionDescription, media: MediaDescription) -> Direction:
    direction = offer.media_direction(media)
    conn = offer.media_connection(media)
    if conn is not None and conn.is_hold_address:
        # RFC 3264 §8.4: c=0.0.0.0 means "do not send to me".
        direction = Direction.of(sends=direction.sends, receives=False)
    return direction


def answer_direction(offered: Direction, wanted: Direction) -> Direction:
    """RFC 3264 §6.1: the answer may only narrow the offer's direction, seen from our side.

    An offer of sendonly gets recvonly (or inactive), recvonly gets sendonly (or inactive),
    inactive gets inactive; sendrecv gets whatever we want.
    """
    allowed = offered.seen_from_peer()
    return Direction.of(
        sends=allowed.sends and wanted.sends, receives=allowed.receives and wanted.receives
    )


def _telephone_event(media: MediaDescription) -> tuple[int | None, str]:
    for codec in media.codecs():
        if codec.name.lower() == TELEPHONE_EVENT and codec.clock_rate == AUDIO_CLOCK_RATE:
            pt = codec.payload_type
            return pt, media.fmtp(pt) or TELEPHONE_EVENT_FMTP
    return None, TELEPHONE_EVENT_FMTP


def _choose_codec(preferred: Iterable[Codec], offered: Sequence[Codec]) -> Codec | None:
    """Our preference order wins; the payload type is the offerer's (RFC 3264 §6.1)."""
    for ours in preferred:
        for theirs in offered:
            if ours.matches(theirs):
                return theirs
    return None


def _usable_audio(media: MediaDescription) -> bool:
    return media.media == "audio" and not media.rejected and media.proto.upper() == RTP_AVP


def answer_offer(
    offer: SessionDescription,
    local: LocalMedia,
    *,
    session_id: int,
    session_version: int,
    direction: Direction = Direction.SENDRECV,
) -> tuple[SessionDescription, NegotiatedAudio]:
    """Answer an offer: first usable audio stream accepted, every other m= line rejected.

    Raises NoCommonCodec when no audio stream shares a codec with `local.codecs`.
    """
    answered: list[MediaDescription] = []
    negotiated: NegotiatedAudio | None = None
    for media in offer.media:
        codec = _choose_codec(local.codecs, media.codecs()) if _usable_audio(media) else None
        conn = offer.media_connection(media)
        if negotiated is not None or codec is None or conn is None:
            # RFC 3264 §6: same number of m= lines, in order; port 0 refuses a stream.
            answered.append(MediaDescription(media.media, 0, media.proto, media.formats[:1]))
            continue
        te_pt, te_fmtp = _telephone_event(media)
        if local.telephone_event_pt is None:
            te_pt = None
        ours = answer_direction(_offered_direction(offer, media), direction)
        answered.append(_audio_section(local, [codec], te_pt, te_fmtp, ours))
        negotiated = NegotiatedAudio(
            remote_address=conn.address,
            remote_port=media.port,
            codec=codec,
            telephone_event_pt=te_pt,
            ptime_ms=media.ptime or local.ptime_ms,
            direction=ours,
        )
    if negotiated is None:
        names = sorted({c.name for m in offer.media for c in m.codecs()})
        raise NoCommonCodec(f"no common audio codec (offered: {', '.join(names) or 'none'})")
    answer = SessionDescription(
        origin=_origin(local, session_id, session_version),
        session_name=local.session_name,
        connection=Connection(local.address, AddrType.for_address(local.address)),
        media=tuple(answered),
    )
    return answer, negotiated


def accept_answer(offer: SessionDescription, answer: SessionDescription) -> NegotiatedAudio:
    """Read the peer's answer to our offer (UAC side); raises NoCommonCodec if refused."""
    for index, media in enumerate(answer.media):
        if not _usable_audio(media) or index >= len(offer.media):
            continue
        ours = offer.media[index]
        answered_audio = [c for c in media.codecs() if c.name.lower() != TELEPHONE_EVENT]
        codec = _choose_codec(answered_audio, ours.codecs())
        conn = answer.media_connection(media)
        if codec is None or conn is None:
            continue
        # The answerer's payload type numbers are what it expects to receive.
        codec = next(c for c in media.codecs() if c.matches(codec))
        te_pt, _ = _telephone_event(media)
        their_direction = _offered_direction(answer, media)
        ours_direction = answer_direction(their_direction, offer.media_direction(ours))
        return NegotiatedAudio(
            remote_address=conn.address,
            remote_port=media.port,
            codec=codec,
            telephone_event_pt=te_pt if _telephone_event(ours)[0] is not None else None,
            ptime_ms=media.ptime or ours.ptime or DEFAULT_PTIME_MS,
            direction=ours_direction,
        )
    raise NoCommonCodec("the answer accepted no audio stream we offered")
