"""What we know about a recording besides its audio: state, pause markers, and the sidecar
JSON file beside it that survives a crash; also where a call's file lives on disk.
"""

from __future__ import annotations

import enum
import json
import os
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SIDECAR_SUFFIX = ".json"
# A call id becomes a file name: keep it to characters safe on every filesystem and in URLs
# (SIP Call-IDs are word@host, RFC 3261 §25.1 "word"; '@' is kept, '/' and '..' never pass).
CALL_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+=-]{0,127}$")


class RecordingState(enum.Enum):
    RECORDING = "recording"  # being written, or interrupted if no writer is alive
    COMPLETE = "complete"
    RECOVERED = "recovered"  # interrupted, header repaired at start-up
    DELETED = "deleted"


class MarkerKind(enum.Enum):
    PAUSE = "pause"
    RESUME = "resume"


@dataclass(frozen=True, slots=True)
class Marker:
    """A pause or resume at ``position`` samples from the start of the file."""

    kind: MarkerKind
    position: int
    at: float  # wall-clock UNIX time it happened
    reason: str | None = None

    def offset_seconds(self, sample_rate: int) -> float:
        return self.position / sample_rate

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "position": self.position,
            "at": self.at,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Marker:
        return cls(
            MarkerKind(data["kind"]), int(data["position"]), float(data["at"]), data.get("reason")
        )


@dataclass(frozen=True, slots=True)
class RecordingMetadata:
    call_id: str
    state: RecordingState
    sample_rate: int
    channels: int
    started_at: float
    markers: tuple[Marker, ...] = ()
    samples: int | None = None
    sha256: str | None = None
    file_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def with_state(self, state: RecordingState, **changes: Any) -> RecordingMetadata:
        return replace(self, state=state, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "state": self.state.value,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "started_at": self.started_at,
            "markers": [marker.to_json() for marker in self.markers],
            "samples": self.samples,
            "sha256": self.sha256,
            "file_name": self.file_name,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordingMetadata:
        return cls(
            call_id=str(data["call_id"]),
            state=RecordingState(data["state"]),
            sample_rate=int(data["sample_rate"]),
            channels=int(data["channels"]),
            started_at=float(data["started_at"]),
            markers=tuple(Marker.from_json(item) for item in data.get("markers", ())),
            samples=data.get("samples"),
            sha256=data.get("sha256"),
            file_name=data.get("file_name"),
            extra=dict(data.get("extra") or {}),
        )


def validate_call_id(call_id: str) -> str:
    if not CALL_ID_PATTERN.match(call_id) or ".." in call_id:
        raise ValueError(f"call id {call_id!r} cannot name a recording file")
    return call_id


def recording_path(root: Path, call_id: str, started_at: float, suffix: str = ".wav") -> Path:
    """``<root>/YYYY/MM/DD/<call-id>.wav``, the date in UTC so it never jumps with DST."""
    day = datetime.fromtimestamp(started_at, tz=UTC)
    return root / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / f"{validate_call_id(call_id)}{suffix}"


def sidecar_path(audio_path: Path) -> Path:
    return audio_path.with_suffix(SIDECAR_SUFFIX)


def write_sidecar(path: Path, metadata: RecordingMetadata) -> None:
    """Replace the sidecar atomically (write, fsync, rename) so a crash leaves old or new."""
    partial = path.with_suffix(".json.partial")
    with partial.open("w", encoding="utf-8") as handle:
        json.dump(metadata.to_json(), handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def read_sidecar(path: Path) -> RecordingMetadata:
    with path.open(encoding="utf-8") as handle:
        return RecordingMetadata.from_json(json.load(handle))
