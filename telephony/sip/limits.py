"""Size and count limits of the SIP parser, each a named constant with its source."""

from __future__ import annotations

from typing import Final

# RFC 3261 §18.1.1: a UDP datagram carries at most 65 535 bytes of IP packet; the largest
# UDP payload over IPv4 is 65 535 - 20 (IP) - 8 (UDP). A message larger than this can only
# arrive over a stream, where we apply the same ceiling so one peer cannot exhaust memory.
MAX_UDP_PAYLOAD: Final = 65_507

# Header section (start line + headers). Kamailio and OpenSIPS use a 64 KiB buffer for the
# whole message (BUF_SIZE); Asterisk's pjsip caps a packet at 32 KiB (PJSIP_MAX_PKT_LEN).
# 16 KiB of headers is already ten times a large INVITE with Record-Routes; beyond it we answer
# 513 Message Too Large (RFC 3261 §21.5.14).
MAX_HEADER_BYTES: Final = 16 * 1024

# Body. SDP for an audio call is < 1 KiB; 64 KiB leaves room for multipart and NOTIFY bodies.
# A larger body gets 413 Request Entity Too Large (RFC 3261 §21.4.11).
MAX_BODY_BYTES: Final = 64 * 1024

# Whole message (header section + body); matches the largest UDP payload (see above).
MAX_MESSAGE_BYTES: Final = MAX_UDP_PAYLOAD

# Header lines after unfolding. Real INVITEs carry 10-30; nginx's default is 100 lines of
# 8 KiB. 256 allows generous proxies and still bounds per-message work.
MAX_HEADER_COUNT: Final = 256

# Via entries: each proxy adds one and decrements Max-Forwards from 70 (RFC 3261 §8.1.1.6),
# so a legitimate request never carries more than 70 plus a little slack.
MAX_VIA_COUNT: Final = 80

# RFC 3261 §8.1.1.6: "A UAC MUST insert a Max-Forwards header field ... value SHOULD be 70".
DEFAULT_MAX_FORWARDS: Final = 70
# RFC 3261 §25.1: Max-Forwards = 1*DIGIT; RFC 3261 §20.22 range 0-255.
MAX_MAX_FORWARDS: Final = 255

# RFC 3261 §8.1.1.5: "The sequence number value MUST be expressible as a 32-bit unsigned
# integer and MUST be less than 2**31."
MAX_CSEQ: Final = 2**31 - 1

# RFC 3261 §20.19 Expires: delta-seconds, §25.1 "delta-seconds = 1*DIGIT"; values above
# 2**32-1 SHOULD be treated as 2**32-1 (§20.19). We accept up to that value.
MAX_EXPIRES: Final = 2**32 - 1

# Length of a URI we accept in the Request-URI or a name-addr. RFC 3261 sets none; 4 KiB is
# more than any real URI and keeps RFC 4475 §3.1.1.3-style huge URIs cheap to reject.
MAX_URI_LENGTH: Final = 4096
