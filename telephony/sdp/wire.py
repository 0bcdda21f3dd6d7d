"""SDP (RFC 4566) wire objects: frozen dataclasses with symmetric parse/serialize.

Everything here is pure: text in, frozen dataclasses out, and back. A malformed body raises
`SdpParseError` (the SIP user agent answers 400), never anything else.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from enum import StrEnum

# A whole SDP body larger than this is refused: a two-codec audio offer is ~300 bytes and
# the biggest real offers we have seen (video + ICE candidates) stay under 4 KiB.
MAX_SDP_BYTES = 16 * 1024
# Far more m= lines than any phone sends; bounds the work done on a hostile body.
MAX_MEDIA_DESCRIPTIONS = 16

# RFC 3551 §6 static payload types for the two G.711 laws.
PT_PCMU = 0
PT_PCMA = 8
# RFC 3551 §3: dynamic payload types are 96-127.
DYNAMIC_PT_MIN = 96
DYNAMIC_PT_MAX = 127
# RFC 4733 §7.1.1: telephone-event is dynamic; 101 is what nearly every phone picks.
DEFAULT_TELEPHONE_EVENT_PT = 101
# RFC 4733 §3.2: events 0-15 are the DTMF digits, 16 is flash.
TELEPHONE_EVENT_FMTP = "0-16"
TELEPHONE_EVENT = "telephone-event"
# RFC 3551 §4.5: G.711 packets default to 20 ms.
DEFAULT_PTIME_MS = 20
AUDIO_CLOCK_RATE = 8000
RTP_AVP = "RTP/AVP"


class SdpError(Exception):
    """Base of every SDP failure the peer caused."""


class SdpParseError(SdpError):
    """The body is not valid SDP; the SIP layer answers 400 with this message as reason."""


class NoCommonCodec(SdpError):
    """No acceptable audio stream in the offer or answer; the SIP layer answers 488."""


class Direction(StrEnum):
    """RFC 4566 §6 / RFC 3264 §5.1 media direction attributes."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    @classmethod
    def of(cls, *, sends: bool, receives: bool) -> Direction:
        if sends and receives:
            return cls.SENDRECV
        if sends:
            return cls.SENDONLY
        if receives:
            return cls.RECVONLY
        return cls.INACTIVE

    def seen_from_peer(self) -> Direction:
        """The same stream described by the other end (sendonly <-> recvonly)."""
        return Direction.of(sends=self.receives, receives=self.sends)


class AddrType(StrEnum):
    IP4 = "IP4"
    IP6 = "IP6"

    @classmethod
    def for_address(cls, address: str) -> AddrType:
        try:
            return cls.IP6 if ipaddress.ip_address(address).version == 6 else cls.IP4
        except ValueError:
            return cls.IP4  # a host name: RFC 4566 allows FQDNs, IP4 is the usual tag


@dataclass(frozen=True, slots=True)
class Connection:
    """c=IN <addrtype> <address> (RFC 4566 §5.7); multicast TTL suffixes stay in address."""

    address: str
    addr_type: AddrType = AddrType.IP4

    @property
    def is_hold_address(self) -> bool:
        """RFC 3264 §8.4: c=0.0.0.0 is the RFC 2543 way of putting a call on hold."""
        return self.addr_type is AddrType.IP4 and self.address == "0.0.0.0"

    def serialize(self) -> str:
        return f"IN {self.addr_type} {self.address}"

    @classmethod
    def parse(cls, value: str) -> Connection:
        parts = value.split()
        if len(parts) != 3 or parts[0] != "IN":
            raise SdpParseError(f"bad c= line: {value!r}")
        try:
            addr_type = AddrType(parts[1])
        except ValueError:
            raise SdpParseError(f"unknown address type in c= line: {parts[1]!r}") from None
        return cls(address=parts[2], addr_type=addr_type)


@dataclass(frozen=True, slots=True)
class Origin:
    """o=<username> <sess-id> <sess-version> IN <addrtype> <address> (RFC 4566 §5.2)."""

    username: str
    session_id: str
    session_version: int
    address: str
    addr_type: AddrType = AddrType.IP4

    def serialize(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"IN {self.addr_type} {self.address}"
        )

    @classmethod
    def parse(cls, value: str) -> Origin:
        parts = value.split()
        if len(parts) != 6 or parts[3] != "IN":
            raise SdpParseError(f"bad o= line: {value!r}")
        try:
            version = int(parts[2])
            addr_type = AddrType(parts[4])
        except ValueError:
            raise SdpParseError(f"bad o= line: {value!r}") from None
        return cls(parts[0], parts[1], version, parts[5], addr_type)


@dataclass(frozen=True, slots=True)
class Attribute:
    """a=<name>[:<value>] (RFC 4566 §5.13); value is None for property attributes."""

    name: str
    value: str | None = None

    def serialize(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"

    @classmethod
    def parse(cls, text: str) -> Attribute:
        name, sep, value = text.partition(":")
        if not name or any(c.isspace() for c in name):
            raise SdpParseError(f"bad a= line: {text!r}")
        return cls(name, value if sep else None)


@dataclass(frozen=True, slots=True)
class Codec:
    """An RTP payload format as named in a=rtpmap (RFC 4566 §6)."""

    name: str
    clock_rate: int
    payload_type: int
    channels: int | None = None

    def matches(self, other: Codec) -> bool:
        """Same format regardless of payload number (encoding names are case-insensitive)."""
        return (
            self.name.lower() == other.name.lower()
            and self.clock_rate == other.clock_rate
            and (self.channels or 1) == (other.channels or 1)
        )

    def rtpmap(self) -> str:
        suffix = f"/{self.channels}" if self.channels else ""
        return f"{self.payload_type} {self.name}/{self.clock_rate}{suffix}"


PCMU = Codec("PCMU", AUDIO_CLOCK_RATE, PT_PCMU)
PCMA = Codec("PCMA", AUDIO_CLOCK_RATE, PT_PCMA)
# RFC 3551 table 4: the static payload types a peer may use without any a=rtpmap.
_STATIC_CODECS = {PT_PCMU: PCMU, PT_PCMA: PCMA}
DEFAULT_CODECS: tuple[Codec, ...] = (PCMU, PCMA)


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """One m= section with its c=, b= and a= lines (RFC 4566 §5.14)."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    connection: Connection | None = None
    bandwidths: tuple[str, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    other_lines: tuple[tuple[str, str], ...] = ()  # i=, k= lines, kept for round trips
    port_count: int | None = None

    @property
    def rejected(self) -> bool:
        """RFC 3264 §6: a zero port disables the stream."""
        return self.port == 0

    def attribute(self, name: str) -> str | None:
        for attr in self.attributes:
            if attr.name == name:
                return attr.value
        return None

    def has_attribute(self, name: str) -> bool:
        return any(attr.name == name for attr in self.attributes)

    @property
    def direction(self) -> Direction | None:
        for attr in self.attributes:
            if attr.value is None and attr.name in Direction.__members__.values():
                return Direction(attr.name)
        return None

    @property
    def ptime(self) -> int | None:
        value = self.attribute("ptime")
        if value is None:
            return None
        try:
            return int(float(value))
        except ValueError:
            raise SdpParseError(f"bad a=ptime value: {value!r}") from None

    def codecs(self) -> tuple[Codec, ...]:
        """Formats in offer order, resolved through a=rtpmap or the static table."""
        maps: dict[int, Codec] = {}
        for attr in self.attributes:
            if attr.name == "rtpmap" and attr.value is not None:
                codec = _parse_rtpmap(attr.value)
                maps[codec.payload_type] = codec
        result: list[Codec] = []
        for fmt in self.formats:
            if not fmt.isdigit():
                continue  # non-RTP formats cannot carry our audio
            pt = int(fmt)
            codec_or_none = maps.get(pt) or _STATIC_CODECS.get(pt)
            if codec_or_none is not None:
                result.append(codec_or_none)
        return tuple(result)

    def fmtp(self, payload_type: int) -> str | None:
        prefix = f"{payload_type} "
        for attr in self.attributes:
            if attr.name == "fmtp" and attr.value is not None and attr.value.startswith(prefix):
                return attr.value[len(prefix) :].strip()
        return None

    def serialize_lines(self) -> list[str]:
        port = f"{self.port}/{self.port_count}" if self.port_count is not None else str(self.port)
        lines = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}".rstrip()]
        lines += [f"{kind}={value}" for kind, value in self.other_lines if kind == "i"]
        if self.connection is not None:
            lines.append(f"c={self.connection.serialize()}")
        lines += [f"b={value}" for value in self.bandwidths]
        lines += [f"{kind}={value}" for kind, value in self.other_lines if kind != "i"]
        lines += [f"a={attr.serialize()}" for attr in self.attributes]
        return lines


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A whole SDP body; `parse(body.serialize()) == body` for every value we build."""

    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    timing: tuple[str, ...] = ("0 0",)
    bandwidths: tuple[str, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    media: tuple[MediaDescription, ...] = ()
    other_lines: tuple[tuple[str, str], ...] = ()  # i= u= e= p= r= z= k= lines

    @property
    def direction(self) -> Direction | None:
        for attr in self.attributes:
            if attr.value is None and attr.name in Direction.__members__.values():
                return Direction(attr.name)
        return None

    def media_direction(self, media: MediaDescription) -> Direction:
        """RFC 3264 §5.1: media level overrides session level; sendrecv is the default."""
        return media.direction or self.direction or Direction.SENDRECV

    def media_connection(self, media: MediaDescription) -> Connection | None:
        return media.connection or self.connection

    def serialize(self) -> bytes:
        lines = ["v=0", f"o={self.origin.serialize()}", f"s={self.session_name}"]
        lines += [f"{k}={v}" for k, v in self.other_lines if k in "iuep"]
        if self.connection is not None:
            lines.append(f"c={self.connection.serialize()}")
        lines += [f"b={value}" for value in self.bandwidths]
        lines += [f"t={value}" for value in self.timing]
        lines += [f"{k}={v}" for k, v in self.other_lines if k in "rzk"]
        lines += [f"a={attr.serialize()}" for attr in self.attributes]
        for media in self.media:
            lines += media.serialize_lines()
        return ("\r\n".join(lines) + "\r\n").encode()

    @classmethod
    def parse(cls, body: bytes | str) -> SessionDescription:
        return parse_sdp(body)


def _parse_rtpmap(value: str) -> Codec:
    # a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
    pt_text, _, encoding = value.strip().partition(" ")
    parts = encoding.strip().split("/")
    try:
        pt = int(pt_text)
        clock_rate = int(parts[1])
        channels = int(parts[2]) if len(parts) > 2 and parts[2] else None
    except (ValueError, IndexError):
        raise SdpParseError(f"bad a=rtpmap value: {value!r}") from None
    if not parts[0] or not 0 <= pt <= DYNAMIC_PT_MAX:
        raise SdpParseError(f"bad a=rtpmap value: {value!r}")
    return Codec(parts[0], clock_rate, pt, channels)


def _parse_media_line(value: str) -> MediaDescription:
    # m=<media> <port>[/<number of ports>] <proto> <fmt> ...
    parts = value.split()
    if len(parts) < 3:
        raise SdpParseError(f"bad m= line: {value!r}")
    port_text, _, count_text = parts[1].partition("/")
    try:
        port = int(port_text)
        count = int(count_text) if count_text else None
    except ValueError:
        raise SdpParseError(f"bad port in m= line: {value!r}") from None
    if not 0 <= port <= 65535:
        raise SdpParseError(f"port out of range in m= line: {value!r}")
    return MediaDescription(parts[0], port, parts[2], tuple(parts[3:]), port_count=count)


@dataclass(slots=True)
class _MediaBuilder:
    head: MediaDescription
    connection: Connection | None = None
    bandwidths: list[str] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    other: list[tuple[str, str]] = field(default_factory=list)

    def build(self) -> MediaDescription:
        # Validate the attributes we later interpret, so errors surface at parse time.
        for attr in self.attributes:
            if attr.name == "rtpmap":
                _parse_rtpmap(attr.value or "")
        return replace(
            self.head,
            connection=self.connection,
            bandwidths=tuple(self.bandwidths),
            attributes=tuple(self.attributes),
            other_lines=tuple(self.other),
        )


def parse_sdp(body: bytes | str) -> SessionDescription:
    """Parse an SDP body; raises SdpParseError (never anything else) on malformed input."""
    if isinstance(body, bytes):
        if len(body) > MAX_SDP_BYTES:
            raise SdpParseError(f"SDP body larger than {MAX_SDP_BYTES} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise SdpParseError("SDP body is not UTF-8") from None
    else:
        text = body
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if not lines or lines[0].strip() != "v=0":
        raise SdpParseError("SDP must start with v=0")
    origin: Origin | None = None
    session_name: str | None = None
    connection: Connection | None = None
    timing: list[str] = []
    bandwidths: list[str] = []
    attributes: list[Attribute] = []
    other: list[tuple[str, str]] = []
    media: list[_MediaBuilder] = []
    for line in lines[1:]:
        if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
            raise SdpParseError(f"bad SDP line: {line[:40]!r}")
        kind, value = line[0], line[2:].strip()
        if kind == "m":
            if len(media) >= MAX_MEDIA_DESCRIPTIONS:
                raise SdpParseError(f"more than {MAX_MEDIA_DESCRIPTIONS} m= lines")
            media.append(_MediaBuilder(_parse_media_line(value)))
        elif media:
            current = media[-1]
            if kind == "c":
                current.connection = Connection.parse(value)
            elif kind == "b":
                current.bandwidths.append(value)
            elif kind == "a":
                current.attributes.append(Attribute.parse(value))
            elif kind in "ik":
                current.other.append((kind, value))
            else:
                raise SdpParseError(f"{kind}= line not allowed in a media section")
        elif kind == "o":
            origin = Origin.parse(value)
        elif kind == "s":
            session_name = value
        elif kind == "c":
            connection = Connection.parse(value)
        elif kind == "t":
            timing.append(value)
        elif kind == "b":
            bandwidths.append(value)
        elif kind == "a":
            attributes.append(Attribute.parse(value))
        elif kind in "iueprzk":
            other.append((kind, value))
        elif kind == "v":
            raise SdpParseError("repeated v= line")
        # RFC 4566 §5: "parsers MUST ignore" unknown types only inside known extensions;
        # unknown letters are a malformed body.
        else:
            raise SdpParseError(f"unknown SDP line type {kind!r}")
    if origin is None:
        raise SdpParseError("SDP has no o= line")
    return SessionDescription(
        origin=origin,
        session_name=session_name if session_name is not None else "-",
        connection=connection,
        timing=tuple(timing) or ("0 0",),
        bandwidths=tuple(bandwidths),
        attributes=tuple(attributes),
        media=tuple(m.build() for m in media),
        other_lines=tuple(other),
    )
