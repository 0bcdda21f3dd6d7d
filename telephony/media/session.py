"""One call's RTP session: what it sends on each engine tick, and its receive pipeline.

A session never schedules anything itself. On each 20 ms tick of the session's slot the media
engine (engine.py) calls ``send_tick``, then ``read_one`` for each waiting datagram, then
``receive_due``; everything the session does is a function of those calls, the tick number
and the time passed in.

Send side, in priority order each tick: an RFC 4733 event being sent, the prompt queue
(``play``), the live feed (a bridged call's audio), then the idle policy. SSRC, sequence number
and timestamp belong to the session, not to a prompt: the timestamp is derived from the tick
number, so it stays continuous across prompt changes, silence and even skipped ticks.

Receive side: datagram → RtpPacket → symmetric-RTP latch → jitter buffer → G.711 decode (loss
becomes silence of the lost length) → 20 ms frames positioned on the engine's shared sample
timeline → frame listeners (IVR, recorder, bridge); telephone events → DTMF listeners.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections import deque
from collections.abc import Callable, Sequence
from typing import Final, TypeVar

import numpy as np

from telephony.media.audio import FRAME_SAMPLES
from telephony.media.dtmf import (
    DtmfDigit,
    DtmfEnded,
    DtmfKey,
    DtmfParseError,
    TelephoneEventFrame,
    TelephoneEventReceiver,
    telephone_event_frames,
)
from telephony.media.g711 import G711Law, PcmArray, codec_for
from telephony.media.jitterbuffer import (
    DEFAULT_MAX_WAIT,
    JitterBuffer,
    LostPayload,
    ReceivedPayload,
)
from telephony.media.pacing import DEFAULT_TIMING_WINDOW, SendTimingStats
from telephony.media.rtp import (
    RTP_HEADER_SIZE,
    RtpPacket,
    RtpParseError,
    uint32_add,
    uint32_diff,
)
from telephony.media.values import (
    Address,
    AudioFrame,
    FrameAssembler,
    IdleMode,
    MediaError,
    MediaParams,
    PlaybackHandle,
    PlaybackOutcome,
    SessionStats,
)

# The types users of a session need are importable from here too.
__all__ = [
    "AudioFrame",
    "DtmfEndedListener",
    "DtmfListener",
    "FrameListener",
    "IdleMode",
    "MediaError",
    "MediaParams",
    "PlaybackHandle",
    "PlaybackOutcome",
    "RtpSession",
    "SessionStats",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")

# A UDP datagram carrying RTP for G.711 is 172 bytes; 2 KiB leaves room for any extension.
MAX_DATAGRAM: Final = 2048
# RFC 5761 §4: with rtcp-mux, RTCP packet types 200–204 appear as RTP payload types 72–76.
RTCP_MUX_PAYLOAD_TYPES: Final = range(72, 77)
# ITU-T Q.24: at least 40 ms between key presses; two ticks of audio separate our events.
DTMF_GAP_TICKS: Final = 2
# A bridged leg's audio waits at most 5 frames (100 ms) before the oldest is dropped, which
# bounds the delay the bridge adds when the two legs' clocks drift apart.
LIVE_FEED_MAX_FRAMES: Final = 5
# Comfort noise level: far below speech (about -20 dBFS) yet enough that a caller hears the
# line is alive; RFC 3389 §3 expresses comfort-noise levels on this same -dBov scale.
COMFORT_NOISE_DBFS: Final = -70.0

# A NAT that rebinds mid-call moves the peer's stream to a new source port. Once the latched
# address has been silent this long, a new source is followed instead of being ignored for
# the rest of the call (which would leave the caller unheard); a stray packet while the real
# stream flows is still dropped.
RELATCH_AFTER_SILENCE: Final = 2.0
# First header byte of an RTP packet with V=2 and no padding, extension or CSRC list.
_PLAIN_RTP_V2: Final = 0x80
_AFTER_FIRST_BYTE: Final = struct.Struct("!BHII")
# A plain RTP packet carrying one 20 ms frame of G.711 (one byte per sample).
_FRAME_DATAGRAM: Final = RTP_HEADER_SIZE + FRAME_SAMPLES
# RFC 3550 §5.1 fixed header: V/P/X/CC, M/PT, sequence number, timestamp, SSRC.
_RTP_HEADER: Final = struct.Struct("!BBHII")
# Prompts are encoded this many frames ahead (0.5 s, 4 KB per call): one numpy call per
# 25 packets instead of one per packet, little wasted when a caller barges in.
ENCODE_AHEAD_FRAMES: Final = 25
_SILENCE_CODES: Final = {
    law: codec_for(law).encode(np.zeros(FRAME_SAMPLES, dtype=np.int16)).tobytes()
    for law in G711Law
}

FrameListener = Callable[[AudioFrame], None]
DtmfListener = Callable[[DtmfDigit], None]
DtmfEndedListener = Callable[[DtmfEnded], None]


class RtpSession:
    """The RTP stream of one call. Created by ``MediaEngine.open_session``, never directly."""

    def __init__(
        self,
        *,
        sock: socket.socket,
        slot: int,
        first_tick: int,
        params: MediaParams,
        idle: IdleMode,
        ssrc: int,
        sequence_number: int,
        timestamp: int,
        loop: asyncio.AbstractEventLoop,
        comfort_noise: PcmArray,
        jitter_max_wait: float = DEFAULT_MAX_WAIT,
        timing_window: int = DEFAULT_TIMING_WINDOW,
        on_close: Callable[[RtpSession], None] | None = None,
    ) -> None:
        self._sock = sock
        host, port = sock.getsockname()[:2]
        self.local_address: Address = (host, port)
        self.slot = slot
        self.ssrc = ssrc
        self.idle = idle
        self.timing = SendTimingStats(timing_window)
        self._params = params
        self._law_by_pt = _laws_by_payload_type(params)
        self._loop = loop
        self._on_close = on_close
        self._closed = False
        # Send state.
        self._first_tick = first_tick
        self._ts0 = timestamp
        self._seq = sequence_number
        self._talkspurt_start = True
        self._playbacks: deque[PlaybackHandle] = deque()
        self._live: deque[PcmArray] = deque(maxlen=LIVE_FEED_MAX_FRAMES)
        # Frames reach listeners as they are; read-only arrays keep one consumer from
        # changing what another (or the next tick's packet) sees.
        self._silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        self._silence.setflags(write=False)
        self._comfort = comfort_noise
        self._comfort_pos = 0
        self._audio_pt = params.audio_payload_type
        # G.711 codes encoded ahead for the array being sent (see _codes).
        self._encoded_pcm: PcmArray | None = None
        self._encoded_law = params.law
        self._encoded_from = 0
        self._encoded = b""
        self._dtmf_queue: deque[tuple[DtmfKey, int, asyncio.Future[bool] | None]] = deque()
        self._dtmf_frames: deque[TelephoneEventFrame] = deque()
        self._dtmf_future: asyncio.Future[bool] | None = None
        self._dtmf_ts = 0
        self._dtmf_gap = 0
        self._sent_listeners: list[FrameListener] = []
        # Receive state.
        self._latched: Address | None = None
        self._latched_seen = 0.0
        self._rx_ssrc: int | None = None
        self._jitter_max_wait = jitter_max_wait
        self._jitter = JitterBuffer(max_wait=jitter_max_wait)
        self._framer = FrameAssembler()
        self._anchor: tuple[int, int] | None = None  # (rtp timestamp, position)
        self._dtmf_rx = TelephoneEventReceiver()
        self._audio_listeners: list[FrameListener] = []
        self._dtmf_listeners: list[DtmfListener] = []
        self._dtmf_ended_listeners: list[DtmfEndedListener] = []
        self._now = 0.0
        self._tick = first_tick
        # Counters.
        self._sent = 0
        self._received = 0
        self._send_errors = 0
        self._malformed = 0
        self._foreign = 0
        self._relatched = 0
        self._unknown_pt = 0
        self._skipped = 0

    # --- configuration ---------------------------------------------------------------------

    @property
    def params(self) -> MediaParams:
        return self._params

    @property
    def closed(self) -> bool:
        return self._closed

    def update(self, params: MediaParams) -> None:
        """Apply a re-negotiated SDP (re-INVITE/UPDATE): new codec, direction or address."""
        if params.remote != self._params.remote:
            self._latched = None
        self._params = params
        self._law_by_pt = _laws_by_payload_type(params)
        self._audio_pt = params.audio_payload_type

    @property
    def destination(self) -> Address | None:
        """Where packets go: the latched source once the peer has sent, else the SDP address."""
        return self._latched or self._params.remote

    @property
    def latched_address(self) -> Address | None:
        return self._latched

    @property
    def stats(self) -> SessionStats:
        return SessionStats(
            packets_sent=self._sent,
            packets_received=self._received,
            send_errors=self._send_errors,
            malformed=self._malformed,
            foreign_source=self._foreign,
            relatched=self._relatched,
            unknown_payload_type=self._unknown_pt,
            skipped_ticks=self._skipped,
            jitter=self._jitter.stats,
        )

    # --- listeners -------------------------------------------------------------------------

    def subscribe_audio(self, listener: FrameListener) -> Callable[[], None]:
        """Call ``listener`` with every received 20 ms frame; returns the unsubscribe function."""
        return _subscribe(self._audio_listeners, listener)

    def subscribe_sent_audio(self, listener: FrameListener) -> Callable[[], None]:
        """Call ``listener`` with every 20 ms frame this session sends (for recording)."""
        return _subscribe(self._sent_listeners, listener)

    def subscribe_dtmf(self, listener: DtmfListener) -> Callable[[], None]:
        """Call ``listener`` once per key press (RFC 4733 at key down, or SIP INFO via
        deliver_dtmf); returns the unsubscribe function."""
        return _subscribe(self._dtmf_listeners, listener)

    def subscribe_dtmf_ended(self, listener: DtmfEndedListener) -> Callable[[], None]:
        """Call ``listener`` when an RFC 4733 key press ends, with its duration."""
        return _subscribe(self._dtmf_ended_listeners, listener)

    def deliver_dtmf(self, digit: DtmfDigit) -> None:
        """Hand a digit that arrived by SIP INFO to the same listeners as RFC 4733 digits."""
        for listener in list(self._dtmf_listeners):
            _call(listener, digit)

    def _deliver_ended(self, ended: DtmfEnded) -> None:
        for listener in list(self._dtmf_ended_listeners):
            _call(listener, ended)

    # --- sending ---------------------------------------------------------------------------

    def play(self, pcm: PcmArray) -> PlaybackHandle:
        """Queue a prompt (8 kHz int16); it starts when the ones before it have finished."""
        if pcm.dtype != np.int16 or pcm.ndim != 1:
            raise MediaError(f"prompts are 1-D int16 PCM, got {pcm.dtype} with {pcm.ndim} dims")
        pcm = pcm.view()
        pcm.setflags(write=False)
        handle = PlaybackHandle(pcm, self._loop.create_future())
        if self._closed:
            handle._resolve(PlaybackOutcome.CLOSED)
        else:
            self._playbacks.append(handle)
        return handle

    def stop_playback(self) -> None:
        """Barge-in: drop the playing and queued prompts; the very next frame is idle audio."""
        while self._playbacks:
            self._playbacks.popleft()._resolve(PlaybackOutcome.STOPPED)

    @property
    def playing(self) -> bool:
        return bool(self._playbacks)

    def feed(self, frame: PcmArray) -> None:
        """Live audio (a bridged leg): sent when no prompt plays, one frame per tick."""
        self._live.append(frame)

    def send_dtmf(self, digits: str | Sequence[DtmfKey], *, duration_ms: int = 100) -> (
        asyncio.Future[bool]
    ):
        """Send key presses as RFC 4733 events; the future is True once all went out."""
        if self._params.dtmf_payload_type is None:
            raise MediaError("the peer did not negotiate telephone-event; use SIP INFO")
        keys = [DtmfKey.from_char(c) for c in digits] if isinstance(digits, str) else list(digits)
        future: asyncio.Future[bool] = self._loop.create_future()
        if not keys or self._closed:
            future.set_result(not self._closed)
            return future
        for i, key in enumerate(keys):
            self._dtmf_queue.append((key, duration_ms, future if i == len(keys) - 1 else None))
        return future

    def timestamp_at(self, tick: int) -> int:
        return uint32_add(self._ts0, (tick - self._first_tick) * FRAME_SAMPLES)

    def next_outgoing(self, tick: int) -> bytes | None:
        """Called by the engine once per tick: the packet to send now, or nothing."""
        if self._closed:
            return None
        timestamp = (self._ts0 + (tick - self._first_tick) * FRAME_SAMPLES) & 0xFFFFFFFF
        can_send = self._params.send and (self._latched or self._params.remote) is not None
        if self._dtmf_frames or self._dtmf_queue or self._dtmf_gap:
            event = self._next_event_frame(timestamp)
            if event is not None:
                dtmf_pt = self._params.dtmf_payload_type
                if not can_send or dtmf_pt is None:
                    return None
                packet = RtpPacket(dtmf_pt, self._seq, self._dtmf_ts, self.ssrc, event.payload,
                                   event.marker)
                self._seq = (self._seq + 1) & 0xFFFF
                return packet.serialize()
        source = self._next_source()
        if source is None:
            self._talkspurt_start = True
            return None
        pcm, start = source
        if self._sent_listeners:
            frame = AudioFrame(_frame_of(pcm, start), timestamp, tick * FRAME_SAMPLES)
            for listener in list(self._sent_listeners):
                _call(listener, frame)
        if not can_send:
            return None
        second = self._audio_pt
        if self._talkspurt_start:
            second |= 0x80  # RFC 3551 §4.1: marker on the first packet of a talkspurt
            self._talkspurt_start = False
        seq = self._seq
        self._seq = (seq + 1) & 0xFFFF
        header = _RTP_HEADER.pack(_PLAIN_RTP_V2, second, seq, timestamp, self.ssrc)
        return header + self._codes(pcm, start)

    def send_tick(self, tick: int, due: float, clock: Callable[[], float]) -> None:
        """Called by the engine once per tick of the session's slot (grid time ``due``):
        put this tick's packet, if any, on the wire and account for its send time."""
        packet = self.next_outgoing(tick)
        if packet is None or self._closed:  # a sent-audio listener may have closed us
            return
        destination = self._latched or self._params.remote
        if destination is None:
            return
        try:
            self._sock.sendto(packet, destination)
        except OSError:
            # A full socket buffer or an ICMP error: lose this one packet, keep the call.
            self._send_errors += 1
            return
        self._sent += 1
        self.timing.record(tick, due, clock())

    def note_skipped(self, ticks: int) -> None:
        self._skipped += ticks

    def _next_event_frame(self, timestamp: int) -> TelephoneEventFrame | None:
        if not self._dtmf_frames:
            if self._dtmf_gap > 0:
                self._dtmf_gap -= 1
                return None
            if not self._dtmf_queue:
                return None
            key, duration_ms, self._dtmf_future = self._dtmf_queue.popleft()
            self._dtmf_frames.extend(telephone_event_frames(key, duration_ms=duration_ms))
            # RFC 4733 §2.3.1: every packet of the event carries the timestamp of its start.
            self._dtmf_ts = timestamp
        frame = self._dtmf_frames.popleft()
        if not self._dtmf_frames:
            self._dtmf_gap = DTMF_GAP_TICKS
            self._talkspurt_start = True
            if self._dtmf_future is not None and not self._dtmf_future.done():
                self._dtmf_future.set_result(True)
            self._dtmf_future = None
        return frame

    def _next_source(self) -> tuple[PcmArray, int] | None:
        """Where this tick's 20 ms come from: an array and the sample it starts at (a frame
        running past the array's end is completed with silence)."""
        if self._playbacks:
            handle = self._playbacks[0]
            start = handle.samples_played
            handle.samples_played = min(start + FRAME_SAMPLES, handle.pcm.size)
            if handle.samples_played >= handle.pcm.size:
                self._playbacks.popleft()
                handle._resolve(PlaybackOutcome.FINISHED)
            return handle.pcm, start
        if self._live:
            return self._live.popleft(), 0
        if self.idle is IdleMode.SILENCE:
            return self._silence, 0
        if self.idle is IdleMode.COMFORT_NOISE:
            start = self._comfort_pos
            self._comfort_pos = (start + FRAME_SAMPLES) % (self._comfort.size - FRAME_SAMPLES)
            return self._comfort, start
        return None

    def _codes(self, pcm: PcmArray, start: int) -> bytes:
        """The G.711 payload of the frame at ``pcm[start:]``, sliced from codes encoded ahead.

        A prompt (or the comfort noise) is encoded ENCODE_AHEAD_FRAMES at a time rather than
        frame by frame: slicing bytes costs far less than a numpy call per packet.
        """
        law = self._params.law
        if pcm is self._silence:
            return _SILENCE_CODES[law]
        offset = start - self._encoded_from
        codes = self._encoded
        if (
            pcm is not self._encoded_pcm
            or law is not self._encoded_law
            or offset < 0
            or offset + FRAME_SAMPLES > len(codes)
        ):
            piece = pcm[start : start + ENCODE_AHEAD_FRAMES * FRAME_SAMPLES]
            codes = codec_for(law).encode(piece).tobytes()
            # Only the array's end pads: its last frame is completed with silence.
            short = max(FRAME_SAMPLES - len(codes), -len(codes) % FRAME_SAMPLES)
            if short:
                codes += _SILENCE_CODES[law][:short]
            self._encoded_pcm, self._encoded_law = pcm, law
            self._encoded_from, self._encoded, offset = start, codes, 0
        return codes[offset : offset + FRAME_SAMPLES]

    # --- receiving -------------------------------------------------------------------------

    def fileno(self) -> int:
        """The socket's descriptor, for the engine's per-slot readiness poll."""
        return self._sock.fileno()

    def read_one(self, now: float, tick: int) -> bool:
        """Called by the engine when the socket is readable: take one datagram.

        Returns False when there was nothing to read after all.
        """
        if self._closed:
            return False
        try:
            data, source = self._sock.recvfrom(MAX_DATAGRAM)
        except BlockingIOError:
            return False
        except OSError:
            # Linux reports an earlier ICMP "port unreachable" for our sends here.
            self._send_errors += 1
            return False
        self._now = now
        self._tick = tick
        # IPv6 sources carry flow info and scope id too; the latch compares host and port.
        self.receive_datagram(data, source if len(source) == 2 else source[:2], now)
        return True

    def receive_due(self, now: float, tick: int) -> None:
        """Called by the engine once per tick after reading: losses and DTMF that timed out."""
        if self._closed:
            return
        self._now = now
        self._tick = tick
        if len(self._jitter):
            for output in self._jitter.pop(now):
                self._on_jitter_output(output)
        ended = self._dtmf_rx.poll(now)
        if ended is not None:
            self._deliver_ended(ended)

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        """One datagram that arrived on the session's port at ``now``."""
        # Fast path for the usual packet: plain RTP v2 header (no padding, extension or
        # CSRC), G.711, from the latched source and SSRC, next in sequence with nothing
        # waiting in the jitter buffer. Everything else takes the general path below.
        if len(data) > RTP_HEADER_SIZE and data[0] == _PLAIN_RTP_V2 and source == self._latched:
            second, seq, timestamp, ssrc = _AFTER_FIRST_BYTE.unpack_from(data, 1)
            law = self._law_by_pt.get(second & 0x7F)  # never holds the telephone-event type
            if (
                law is not None
                and ssrc == self._rx_ssrc
                and self._params.receive
                and self._jitter.take_if_next(seq, timestamp, len(data) - RTP_HEADER_SIZE)
            ):
                self._received += 1
                self._latched_seen = now
                if len(data) == _FRAME_DATAGRAM and not self._framer.pending:
                    # One whole 20 ms frame (the framer would pass it through untouched).
                    if self._audio_listeners:
                        codes = np.frombuffer(data, dtype=np.uint8, offset=RTP_HEADER_SIZE)
                        self._deliver_frame(timestamp, codec_for(law).decode(codes), False)
                    elif self._anchor is None:
                        # Nobody listens (an IVR caller hearing a prompt): decoding would feed
                        # no one, but the timeline anchor is fixed as if a frame went out.
                        self._anchor = (timestamp, self._tick * FRAME_SAMPLES)
                    return
                codes = np.frombuffer(data, dtype=np.uint8, offset=RTP_HEADER_SIZE)
                pcm = codec_for(law).decode(codes)
                self._deliver(self._framer.push(timestamp, pcm, False))
                return
        self._now = now
        if len(data) >= 2 and (data[1] & 0x7F) in RTCP_MUX_PAYLOAD_TYPES:
            return  # RTCP sent over the RTP port; we do not implement RTCP yet
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            self._malformed += 1
            return
        params = self._params
        if not params.receive:
            return
        if packet.payload_type == params.dtmf_payload_type:
            samples = 0
        elif params.law_of(packet.payload_type) is not None:
            samples = len(packet.payload)
        else:
            self._unknown_pt += 1  # e.g. comfort noise (PT 13) we did not negotiate
            return
        if params.latch and source != self._latched:
            if self._latched is not None and now - self._latched_seen < RELATCH_AFTER_SILENCE:
                self._foreign += 1
                return
            if self._latched is not None:
                self._relatched += 1
            self._latched = source  # RFC 4961 practice: answer where the media comes from
        self._latched_seen = now
        self._received += 1
        if packet.ssrc != self._rx_ssrc:
            if self._rx_ssrc is not None:
                # A new source (re-INVITE, transfer): finish the old stream, start afresh.
                for output in self._jitter.flush():
                    self._on_jitter_output(output)
                self._jitter = JitterBuffer(max_wait=self._jitter_max_wait)
                self._framer.reset()
                self._anchor = None
            self._rx_ssrc = packet.ssrc
        self._jitter.put(packet, now, samples)
        for output in self._jitter.pop(now):
            self._on_jitter_output(output)

    def _on_jitter_output(self, output: ReceivedPayload | LostPayload) -> None:
        if isinstance(output, LostPayload):
            silence = np.zeros(output.samples, dtype=np.int16)
            self._deliver(self._framer.push(output.timestamp, silence, True))
            return
        packet = output.packet
        if packet.payload_type == self._params.dtmf_payload_type:
            try:
                events = self._dtmf_rx.receive(packet.timestamp, packet.payload, self._now)
            except DtmfParseError:
                self._malformed += 1
                return
            for event in events:
                if isinstance(event, DtmfEnded):
                    self._deliver_ended(event)
                else:
                    self.deliver_dtmf(event)
            return
        law = self._params.law_of(packet.payload_type)
        if law is None:
            return
        pcm = codec_for(law).decode(packet.payload)
        self._deliver(self._framer.push(packet.timestamp, pcm, False))

    def _deliver(self, frames: list[tuple[int, PcmArray, bool]]) -> None:
        for timestamp, pcm, concealed in frames:
            self._deliver_frame(timestamp, pcm, concealed)

    def _deliver_frame(self, timestamp: int, pcm: PcmArray, concealed: bool) -> None:
        if self._anchor is None:
            self._anchor = (timestamp, self._tick * FRAME_SAMPLES)
        anchor_ts, anchor_position = self._anchor
        position = anchor_position + uint32_diff(timestamp, anchor_ts)
        pcm.setflags(write=False)
        frame = AudioFrame(pcm, timestamp, position, concealed)
        for listener in list(self._audio_listeners):
            _call(listener, frame)

    # --- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop sending and receiving, free the port, finish every pending handle."""
        if self._closed:
            return
        self._closed = True
        while self._playbacks:
            self._playbacks.popleft()._resolve(PlaybackOutcome.CLOSED)
        pending = [f for _, _, f in self._dtmf_queue if f is not None]
        if self._dtmf_future is not None:
            pending.append(self._dtmf_future)
        for future in pending:
            if not future.done():
                future.set_result(False)
        self._dtmf_queue.clear()
        self._dtmf_frames.clear()
        if self._on_close is not None:
            self._on_close(self)  # before the socket closes: the engine unregisters its fd
        self._sock.close()


def _frame_of(pcm: PcmArray, start: int) -> PcmArray:
    frame = pcm[start : start + FRAME_SAMPLES]
    if frame.size < FRAME_SAMPLES:
        frame = np.concatenate([frame, np.zeros(FRAME_SAMPLES - frame.size, dtype=np.int16)])
    return frame


def _laws_by_payload_type(params: MediaParams) -> dict[int, G711Law]:
    laws = {law.payload_type: law for law in G711Law}
    laws[params.audio_payload_type] = params.law
    if params.dtmf_payload_type is not None:
        laws.pop(params.dtmf_payload_type, None)
    return laws


def _subscribe(listeners: list[Callable[[T], None]], listener: Callable[[T], None]) -> (
    Callable[[], None]
):
    listeners.append(listener)

    def unsubscribe() -> None:
        if listener in listeners:
            listeners.remove(listener)

    return unsubscribe


def _call(listener: Callable[[T], None], arg: T) -> None:
    # A consumer's bug must not take the call (or the engine's other calls) down with it.
    try:
        listener(arg)
    except Exception:
        logger.exception("media listener %r failed", listener)
