"""The prompt manifest (``prompts/catalogue.json``): one entry per prompt and language.

The manifest is the contract between the offline build and the running service: text,
audio file, where the audio came from, its checksum, and which settings the words depend on.
A malformed manifest raises ManifestError naming the file and the entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prompts.texts import Language, PromptSettings, Setting, Source

MANIFEST_NAME = "catalogue.json"
MANIFEST_FORMAT = 1


class ManifestError(ValueError):
    """The manifest is unreadable or an entry is malformed (message names file and entry)."""


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    prompt_id: str
    language: Language
    text: str
    file: str  # relative to the manifest's folder: "audio/<lang>/<id>.wav"
    source: Source
    sha256: str  # of the WAV file's bytes
    text_sha256: str  # of the words and the voice: decides whether TTS audio is current
    depends_on: tuple[Setting, ...]
    duration_s: float
    voice: str

    @property
    def key(self) -> tuple[str, Language]:
        return (self.prompt_id, self.language)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.prompt_id,
            "language": self.language.value,
            "text": self.text,
            "file": self.file,
            "source": self.source.value,
            "sha256": self.sha256,
            "text_sha256": self.text_sha256,
            "depends_on": [s.value for s in self.depends_on],
            "duration_s": round(self.duration_s, 3),
            "voice": self.voice,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], where: str) -> ManifestEntry:
        try:
            return cls(
                prompt_id=_str(raw, "id"),
                language=Language(_str(raw, "language")),
                text=_str(raw, "text"),
                file=_str(raw, "file"),
                source=Source(_str(raw, "source")),
                sha256=_str(raw, "sha256"),
                text_sha256=_str(raw, "text_sha256"),
                depends_on=tuple(Setting(s) for s in raw.get("depends_on", [])),
                duration_s=float(raw["duration_s"]),
                voice=_str(raw, "voice"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ManifestError(f"{where}: {exc}") from exc


def _str(raw: Mapping[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str):
        raise TypeError(f"field {key!r} must be a string, got {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class Manifest:
    settings: PromptSettings
    engine: str
    entries: tuple[ManifestEntry, ...] = field(default=())

    def by_key(self) -> dict[tuple[str, Language], ManifestEntry]:
        return {e.key: e for e in self.entries}

    def to_json(self) -> dict[str, Any]:
        ordered = sorted(self.entries, key=lambda e: (e.language.value, e.prompt_id))
        return {
            "format": MANIFEST_FORMAT,
            "settings": {
                "brand_zh": self.settings.brand_zh,
                "brand_en": self.settings.brand_en,
                "hotline_number": self.settings.hotline_number,
            },
            "engine": self.engine,
            "prompts": [e.to_json() for e in ordered],
        }


def load_manifest(path: Path) -> Manifest:
    """Read ``catalogue.json``; errors name the file and the entry index and id."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read manifest: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"{path}: not a format-{MANIFEST_FORMAT} prompt manifest")
    try:
        settings = PromptSettings(**raw["settings"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"{path}: bad settings: {exc}") from exc
    prompts = raw.get("prompts")
    if not isinstance(prompts, list):
        raise ManifestError(f"{path}: 'prompts' must be a list")
    entries = []
    for index, item in enumerate(prompts):
        label = item.get("id", "?") if isinstance(item, dict) else "?"
        if not isinstance(item, dict):
            raise ManifestError(f"{path}: prompts[{index}] must be a mapping")
        entries.append(ManifestEntry.from_json(item, f"{path}: prompts[{index}] ({label})"))
    return Manifest(settings=settings, engine=str(raw.get("engine", "")), entries=tuple(entries))


def save_manifest(path: Path, manifest: Manifest) -> None:
    text = json.dumps(manifest.to_json(), ensure_ascii=False, indent=1) + "\n"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # atomic: a running service never reads half a manifest


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def replace_entries(manifest: Manifest, updated: Iterable[ManifestEntry]) -> Manifest:
    entries = manifest.by_key()
    for entry in updated:
        entries[entry.key] = entry
    return Manifest(
        settings=manifest.settings, engine=manifest.engine, entries=tuple(entries.values())
    )
