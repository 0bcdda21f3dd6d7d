"""Writing a call to a stereo WAV file as its RTP arrives, and recovering files a crash left.

Layout: 8 kHz, 16-bit, caller on the left channel, agent on the right (issue 6). Each frame is
placed at the sample position its RTP timestamp gives, so a lost packet leaves silence and
never shifts what follows in time.

Durability policy (kill -9 loses at most one second):

- Frames are collected in memory for ``holdback_s`` (0.2 s) so late and reordered packets
  still land in place, then every ``flush_interval_s`` (0.5 s) everything older than the
  holdback is appended with ``write()`` and the header's sizes are rewritten. Once written,
  the bytes are in the kernel's page cache and survive the *process* being killed; at most
  flush interval + holdback = 0.7 s of audio is only in our memory.
- ``fsync`` runs every ``fsync_interval_s`` (5 s) and at close: that bounds the loss on a
  power cut or kernel crash, where the page cache itself is lost, without an fsync per call
  twice a second on a busy disk.
- A sidecar ``<call-id>.json`` says "recording" until close; ``recover(root)`` at start-up
  repairs the header of every file still marked so and marks it "recovered".
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from recordings.metadata import (
    Marker,
    MarkerKind,
    RecordingMetadata,
    RecordingState,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)
from recordings.wavfile import (
    WAV_HEADER_BYTES,
    WavFileError,
    convert_to_flac,
    read_layout,
    repair_header,
    sha256_file,
    wav_header,
)

# G.711 clock rate (RFC 3551 §4.5.14): RTP timestamps count 8000 per second.
SAMPLE_RATE = 8000
CHANNELS = 2
# RTP timestamps are 32-bit and wrap (RFC 3550 §5.1).
RTP_TIMESTAMP_MODULO = 1 << 32
# A jump this far from where the arrival time says a frame belongs is a new timeline (a
# re-INVITE, a new SSRC that kept the old one's, a broken sender), not jitter: re-anchor.
RESYNC_THRESHOLD_S = 2.0
# Frames positioned further ahead of the arrival clock than this are dropped rather than
# grow the buffer without bound.
MAX_AHEAD_S = 10.0

PcmArray = npt.NDArray[np.int16]


class Channel(enum.IntEnum):
    """Stereo channel index: caller left (0), agent right (1)."""

    CALLER = 0
    AGENT = 1


class ArchiveFormat(enum.Enum):
    WAV = "wav"
    FLAC = "flac"


@dataclass(frozen=True, slots=True)
class WriterSettings:
    sample_rate: int = SAMPLE_RATE
    flush_interval_s: float = 0.5
    holdback_s: float = 0.2
    fsync_interval_s: float = 5.0
    archive_format: ArchiveFormat = ArchiveFormat.WAV


@dataclass(frozen=True, slots=True)
class RecordingSummary:
    """What close() or recover() leaves behind; the store writes it to the database."""

    call_id: str
    path: Path
    state: RecordingState
    samples: int
    sample_rate: int
    sha256: str
    markers: tuple[Marker, ...]
    late_samples: int = 0

    @property
    def duration_s(self) -> float:
        return self.samples / self.sample_rate


class RtpTimeline:
    """Maps one direction's RTP timestamps to sample positions in the recording.

    The first packet is anchored where its arrival time puts it; later packets are placed by
    the difference of their (unwrapped) timestamps from the anchor, never by arrival time.
    """

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        self._rate = sample_rate
        self._ssrc: int | None = None
        self._anchor_position = 0
        self._anchor_ts = 0  # extended (unwrapped) timestamp of the anchor
        self._last_ts = 0  # last extended timestamp seen

    def position(self, rtp_timestamp: int, ssrc: int, arrival_position: int) -> int:
        if not 0 <= rtp_timestamp < RTP_TIMESTAMP_MODULO:
            raise ValueError(f"RTP timestamp {rtp_timestamp} is not a 32-bit unsigned value")
        if self._ssrc != ssrc:
            return self._anchor(rtp_timestamp, ssrc, arrival_position)
        delta = (rtp_timestamp - self._last_ts) % RTP_TIMESTAMP_MODULO
        if delta >= RTP_TIMESTAMP_MODULO // 2:
            delta -= RTP_TIMESTAMP_MODULO  # an older (reordered) packet
        extended = self._last_ts + delta
        position = self._anchor_position + (extended - self._anchor_ts)
        if abs(position - arrival_position) > RESYNC_THRESHOLD_S * self._rate:
            return self._anchor(rtp_timestamp, ssrc, arrival_position)
        self._last_ts = max(self._last_ts, extended)
        return position

    def _anchor(self, rtp_timestamp: int, ssrc: int, arrival_position: int) -> int:
        self._ssrc = ssrc
        self._anchor_position = arrival_position
        self._anchor_ts = self._last_ts = rtp_timestamp
        return arrival_position


class StereoWavWriter:
    """One call's recording file, written incrementally; time always comes in as ``now``.

    ``now`` is a monotonic clock (the event loop's); ``started_at`` is the wall-clock time of
    the start, used for the file's date folder and the metadata.
    """

    def __init__(
        self,
        path: Path,
        *,
        call_id: str,
        started_at: float,
        now: float,
        settings: WriterSettings | None = None,
        on_marker: Callable[[Marker], None] | None = None,
    ) -> None:
        self.settings = settings or WriterSettings()
        self.path = path
        self._rate = self.settings.sample_rate
        self._t0 = now
        self._holdback = round(self.settings.holdback_s * self._rate)
        self._max_ahead = round(MAX_AHEAD_S * self._rate)
        self._buffer: PcmArray = np.zeros((self._rate, CHANNELS), dtype=np.int16)
        self._committed = 0  # sample frames already written to the file
        self._received_end = 0  # one past the last sample position any frame filled
        self._late_samples = 0
        self._paused: list[list[int | None]] = []  # [start, end) spans, end None while paused
        self._markers: list[Marker] = []
        self._timelines = {channel: RtpTimeline(self._rate) for channel in Channel}
        self._last_flush = now
        self._last_fsync = now
        self._on_marker = on_marker
        self._closed = False
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or sidecar_path(path).exists():
            # Never overwrite a recording: it may be the only copy of a call (SPEC-R1).
            raise FileExistsError(f"{path}: a recording of this call already exists")
        self._metadata = RecordingMetadata(
            call_id=call_id,
            state=RecordingState.RECORDING,
            sample_rate=self._rate,
            channels=CHANNELS,
            started_at=started_at,
            file_name=path.name,
        )
        # Sidecar first: a crash between the two leaves a sidecar whose WAV recover() skips.
        write_sidecar(sidecar_path(path), self._metadata)
        self._file: BinaryIO = path.open("xb")
        self._file.write(wav_header(self._rate, CHANNELS, 0))
        self._file.flush()

    # --- input -------------------------------------------------------------------------------

    def position_at(self, now: float) -> int:
        """The sample position that ``now`` corresponds to on the arrival clock."""
        return round((now - self._t0) * self._rate)

    @property
    def paused(self) -> bool:
        return bool(self._paused) and self._paused[-1][1] is None

    def add_rtp(
        self, channel: Channel, rtp_timestamp: int, ssrc: int, pcm: bytes | PcmArray, now: float
    ) -> None:
        """Add one decoded RTP frame (16-bit little-endian PCM) that arrived at ``now``."""
        position = self._timelines[channel].position(rtp_timestamp, ssrc, self.position_at(now))
        if self.paused:
            # While paused nothing that arrives is kept, whatever its timestamp: sensitive
            # speech must never reach the disk (issue 6, card numbers).
            return
        self.add_frame(channel, position, pcm)
        self.tick(now)

    def add_frame(self, channel: Channel, position: int, pcm: bytes | PcmArray) -> None:
        """Place ``pcm`` at sample ``position`` of ``channel`` (positions from the adapter)."""
        self._require_open()
        samples = _as_pcm(pcm)
        start, end = position, position + len(samples)
        if end <= self._committed:
            self._late_samples += len(samples)
            return
        if start < self._committed:
            self._late_samples += self._committed - start
            samples = samples[self._committed - start :]
            start = self._committed
        if end - self._committed > self._max_ahead:
            return
        self._ensure_capacity(end - self._committed)
        offset = start - self._committed
        self._buffer[offset : offset + len(samples), int(channel)] = samples
        self._received_end = max(self._received_end, end)

    def pause(self, now: float, reason: str | None = None) -> Marker:
        """Stop keeping audio from ``now`` on; the span stays in the file as silence."""
        self._require_open()
        if self.paused:
            raise RuntimeError("recording is already paused")
        position = max(self.position_at(now), self._committed)
        self._paused.append([position, None])
        return self._mark(Marker(MarkerKind.PAUSE, position, self._wall(now), reason))

    def resume(self, now: float) -> Marker:
        self._require_open()
        if not self.paused:
            raise RuntimeError("recording is not paused")
        start = self._paused[-1][0]
        assert start is not None
        position = max(self.position_at(now), start)
        self._paused[-1][1] = position
        return self._mark(Marker(MarkerKind.RESUME, position, self._wall(now)))

    # --- output ------------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Flush if due; the adapter calls this at least every flush interval."""
        if self._closed or now - self._last_flush < self.settings.flush_interval_s:
            return
        self._commit(self.position_at(now) - self._holdback)
        self._write_header()
        self._last_flush = now
        if now - self._last_fsync >= self.settings.fsync_interval_s:
            os.fsync(self._file.fileno())
            self._last_fsync = now

    def close(self, now: float) -> RecordingSummary:
        """Write everything, finish the header, fsync, hash; convert to FLAC if so configured."""
        self._require_open()
        if self.paused:
            self.resume(now)
        self._commit(max(self._received_end, self.position_at(now)))
        self._write_header()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._closed = True
        path = self.path
        if self.settings.archive_format is ArchiveFormat.FLAC:
            path = convert_to_flac(path)
        digest = sha256_file(path)
        self._metadata = self._metadata.with_state(
            RecordingState.COMPLETE,
            samples=self._committed,
            sha256=digest,
            file_name=path.name,
            markers=tuple(self._markers),
        )
        write_sidecar(sidecar_path(self.path), self._metadata)
        return RecordingSummary(
            call_id=self._metadata.call_id,
            path=path,
            state=RecordingState.COMPLETE,
            samples=self._committed,
            sample_rate=self._rate,
            sha256=digest,
            markers=tuple(self._markers),
            late_samples=self._late_samples,
        )

    def abort(self) -> None:
        """Close the file without finishing it (the next start-up recovers it)."""
        if not self._closed:
            self._file.close()
            self._closed = True

    # --- internals ---------------------------------------------------------------------------

    def _commit(self, upto: int) -> None:
        count = upto - self._committed
        if count <= 0:
            return
        capacity = len(self._buffer)
        while count > 0:
            step = min(count, capacity)
            chunk = self._buffer[:step].copy()
            self._silence_paused(chunk, self._committed)
            self._file.write(chunk.tobytes())
            self._buffer[: capacity - step] = self._buffer[step:]
            self._buffer[capacity - step :] = 0
            self._committed += step
            count -= step
        self._file.flush()

    def _silence_paused(self, chunk: PcmArray, start: int) -> None:
        end = start + len(chunk)
        for span_start, span_end in self._paused:
            assert span_start is not None
            low = max(span_start, start)
            high = end if span_end is None else min(span_end, end)
            if low < high:
                chunk[low - start : high - start] = 0

    def _write_header(self) -> None:
        data_bytes = self._committed * CHANNELS * 2
        self._file.seek(0)
        self._file.write(wav_header(self._rate, CHANNELS, data_bytes))
        self._file.seek(0, os.SEEK_END)
        self._file.flush()

    def _ensure_capacity(self, needed: int) -> None:
        if needed <= len(self._buffer):
            return
        size = len(self._buffer)
        while size < needed:
            size *= 2
        grown = np.zeros((size, CHANNELS), dtype=np.int16)
        grown[: len(self._buffer)] = self._buffer
        self._buffer = grown

    def _mark(self, marker: Marker) -> Marker:
        self._markers.append(marker)
        # Persist at once: the markers of a crashed recording must survive with it.
        self._metadata = self._metadata.with_state(
            RecordingState.RECORDING, markers=tuple(self._markers)
        )
        write_sidecar(sidecar_path(self.path), self._metadata)
        if self._on_marker is not None:
            self._on_marker(marker)
        return marker

    def _wall(self, now: float) -> float:
        return self._metadata.started_at + (now - self._t0)

    def _require_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"recording {self._metadata.call_id} is closed")


def _as_pcm(pcm: bytes | PcmArray) -> PcmArray:
    if isinstance(pcm, bytes | bytearray | memoryview):
        if len(pcm) % 2:
            raise ValueError("16-bit PCM needs an even number of bytes")
        return np.frombuffer(pcm, dtype="<i2").astype(np.int16)
    if pcm.dtype != np.int16 or pcm.ndim != 1:
        raise ValueError("PCM must be a one-dimensional int16 array")
    return pcm


def recover(root: Path) -> list[RecordingSummary]:
    """Repair every recording under ``root`` that a crash left marked "recording".

    Call once at start-up, before any writer opens. Each repaired file plays up to its last
    flushed sample, and its sidecar says "recovered"; the store copies that to the database.
    """
    recovered = []
    for sidecar in sorted(root.glob("*/*/*/*.json")):
        metadata = read_sidecar(sidecar)
        if metadata.state is not RecordingState.RECORDING:
            continue
        audio = sidecar.with_name(metadata.file_name or sidecar.with_suffix(".wav").name)
        if not audio.exists():
            continue
        try:
            rate, channels = read_layout(audio)
        except WavFileError:
            if audio.stat().st_size >= WAV_HEADER_BYTES:
                raise
            rate, channels = metadata.sample_rate, metadata.channels  # killed inside the header
        samples = repair_header(audio, rate, channels)
        digest = sha256_file(audio)
        metadata = metadata.with_state(RecordingState.RECOVERED, samples=samples, sha256=digest)
        write_sidecar(sidecar, metadata)
        recovered.append(
            RecordingSummary(
                call_id=metadata.call_id,
                path=audio,
                state=RecordingState.RECOVERED,
                samples=samples,
                sample_rate=rate,
                sha256=digest,
                markers=metadata.markers,
            )
        )
    return recovered
