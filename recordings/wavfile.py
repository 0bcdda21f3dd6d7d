"""The bytes of a recording file: the 44-byte PCM WAV header, its repair after a crash,
streamed sha256, and conversion to FLAC for the archive.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import soundfile

# Canonical RIFF/WAVE header for PCM (Microsoft "Multimedia Programming Interface and Data
# Specifications 1.0", 1991): RIFF(4) size(4) WAVE(4) fmt (4) 16(4) fmt-body(16) data(4) size(4).
WAV_HEADER_BYTES = 44
WAVE_FORMAT_PCM = 1
BITS_PER_SAMPLE = 16
SAMPLE_BYTES = BITS_PER_SAMPLE // 8
# RIFF sizes are 32-bit; 4 GiB of 8 kHz stereo 16-bit is ~37 hours, far beyond any call.
MAX_RIFF_SIZE = 0xFFFFFFFF
HASH_CHUNK_BYTES = 1 << 20
FLAC_BLOCK_FRAMES = 1 << 16


class WavFileError(Exception):
    """A file that should be one of our recordings is not (wrong magic, unknown layout)."""


def wav_header(sample_rate: int, channels: int, data_bytes: int) -> bytes:
    """The header for ``data_bytes`` of PCM; 0 is the placeholder written before any data."""
    block_align = channels * SAMPLE_BYTES
    riff_size = min(36 + data_bytes, MAX_RIFF_SIZE)
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        riff_size,
        b"WAVE",
        b"fmt ",
        16,
        WAVE_FORMAT_PCM,
        channels,
        sample_rate,
        sample_rate * block_align,
        block_align,
        BITS_PER_SAMPLE,
        b"data",
        min(data_bytes, MAX_RIFF_SIZE),
    )


def read_layout(path: Path) -> tuple[int, int]:
    """(sample_rate, channels) from the header of one of our WAV files."""
    with path.open("rb") as handle:
        header = handle.read(WAV_HEADER_BYTES)
    if len(header) < WAV_HEADER_BYTES:
        raise WavFileError(f"{path}: shorter than a WAV header ({len(header)} bytes)")
    fields = struct.unpack("<4sI4s4sIHHIIHH4sI", header)
    if (
        fields[0] != b"RIFF"
        or fields[2] != b"WAVE"
        or fields[3] != b"fmt "
        or fields[11] != b"data"
    ):
        raise WavFileError(f"{path}: not a canonical PCM WAV file")
    if fields[5] != WAVE_FORMAT_PCM or fields[10] != BITS_PER_SAMPLE:
        raise WavFileError(f"{path}: not 16-bit PCM")
    return int(fields[7]), int(fields[6])


def repair_header(path: Path, sample_rate: int, channels: int) -> int:
    """Make the header match the data actually on disk; return the number of sample frames.

    A process killed mid-write leaves the header's sizes stale and possibly half a sample
    frame at the end; the half frame is cut off (it would swap the channels of what follows).
    """
    frame_bytes = channels * SAMPLE_BYTES
    with path.open("r+b") as handle:
        size = os.fstat(handle.fileno()).st_size
        data_bytes = max(0, size - WAV_HEADER_BYTES) // frame_bytes * frame_bytes
        handle.truncate(WAV_HEADER_BYTES + data_bytes)
        handle.seek(0)
        handle.write(wav_header(sample_rate, channels, data_bytes))
        handle.flush()
        os.fsync(handle.fileno())
    return data_bytes // frame_bytes


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def convert_to_flac(wav_path: Path) -> Path:
    """Write ``<name>.flac`` next to ``wav_path`` (lossless, 16-bit) and remove the WAV."""
    flac_path = wav_path.with_suffix(".flac")
    partial = flac_path.with_suffix(".flac.partial")
    with (
        soundfile.SoundFile(wav_path) as source,
        soundfile.SoundFile(
            partial,
            "w",
            samplerate=source.samplerate,
            channels=source.channels,
            subtype="PCM_16",
            format="FLAC",
        ) as target,
    ):
        for block in source.blocks(blocksize=FLAC_BLOCK_FRAMES, dtype="int16"):
            target.write(block)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, flac_path)
    wav_path.unlink()
    return flac_path
