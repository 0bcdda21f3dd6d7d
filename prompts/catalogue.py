"""The running service's view of the prompts: load the manifest, serve samples, compose numbers.

SPEC-P10 design choice: the agent's number is composed at call time from committed pieces
("您好!" + digits + "号很高兴为您服务!") joined with tight gaps and 10 ms crossfades, rather
than synthesised per agent at build time.  Agent numbers are created at run time by the agent
administration, the service must run with no TTS installed, and a recorded human voice can
replace each piece (prefix, ten digits, suffix) once instead of once per agent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from prompts import audio
from prompts.manifest import MANIFEST_NAME, Manifest, ManifestEntry, file_sha256, load_manifest
from prompts.texts import Language, count_word_ids, digit_ids

DEFAULT_DIR = Path(__file__).resolve().parent


class PromptNotFound(KeyError):
    """No prompt with this id and language in the manifest."""


class PromptFileError(ValueError):
    """A prompt's audio file is missing, malformed or does not match its checksum."""


@dataclass(frozen=True, slots=True)
class Prompt:
    prompt_id: str
    language: Language
    text: str
    samples: np.ndarray  # int16, 8 kHz mono

    @property
    def duration_s(self) -> float:
        return self.samples.size / audio.SAMPLE_RATE


class PromptCatalogue:
    """Prompts by id and language, with audio loaded on first use and cached.

    Thread-safe for reads; samples arrays are marked read-only so callers cannot change a
    cached prompt by accident.
    """

    def __init__(self, directory: Path = DEFAULT_DIR, *, verify_checksums: bool = True) -> None:
        self.directory = directory
        self.manifest: Manifest = load_manifest(directory / MANIFEST_NAME)
        self._entries = self.manifest.by_key()
        self._verify = verify_checksums
        self._cache: dict[tuple[str, Language], Prompt] = {}
        self._lock = threading.Lock()

    def ids(self, language: Language | None = None) -> frozenset[str]:
        """Prompt ids present (in ``language``, or in every language when None)."""
        if language is not None:
            return frozenset(pid for pid, lang in self._entries if lang is language)
        per_language = [self.ids(lang) for lang in Language]
        return frozenset.intersection(*per_language)

    def entry(self, prompt_id: str, language: Language) -> ManifestEntry:
        try:
            return self._entries[(prompt_id, language)]
        except KeyError:
            raise PromptNotFound(f"no prompt {prompt_id!r} in {language.value}") from None

    def get(self, prompt_id: str, language: Language) -> Prompt:
        key = (prompt_id, language)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        entry = self.entry(prompt_id, language)
        path = self.directory / entry.file
        if not path.exists():
            raise PromptFileError(f"{path}: audio for {language.value}/{prompt_id} is missing")
        if self._verify and file_sha256(path) != entry.sha256:
            raise PromptFileError(
                f"{path}: checksum differs from {MANIFEST_NAME}; run `hotline prompts build`"
            )
        try:
            samples = audio.read_wav(path)
        except audio.AudioFormatError as exc:
            raise PromptFileError(str(exc)) from exc
        samples.setflags(write=False)
        prompt = Prompt(prompt_id=prompt_id, language=language, text=entry.text, samples=samples)
        with self._lock:
            self._cache.setdefault(key, prompt)
        return prompt

    def samples(self, prompt_ids: Iterable[str], language: Language) -> np.ndarray:
        """The prompts one after another, as recorded (no joining: separate sentences)."""
        parts = [self.get(pid, language).samples for pid in prompt_ids]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def sentence(self, prompt_ids: Iterable[str], language: Language) -> np.ndarray:
        """The prompts joined as one sentence: tight gaps and short crossfades."""
        return audio.join([self.get(pid, language).samples for pid in prompt_ids])

    def compose(self, kind: str, value: int | str, language: Language) -> np.ndarray:
        """A sentence with a number in it.

        ``kind``: "queue_position" ("you are caller number 3"), "wait" ("about 2 minutes"),
        "agent_greeting" (SPEC-P10, ``value`` the agent number) or "agent_outbound" (P11).
        """
        ids = composition_ids(kind, value)
        return self.sentence(ids, language)

    def agent_greeting(self, number: str, language: Language) -> np.ndarray:
        """SPEC-P10 "您好!1024号很高兴为您服务!" with the agent's number, as one sentence."""
        return self.compose("agent_greeting", number, language)


def composition_ids(kind: str, value: int | str) -> tuple[str, ...]:
    """Prompt ids of a composed sentence (see PromptCatalogue.compose)."""
    if kind in ("queue_position", "wait"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{kind} needs a count >= 0, got {value!r}")
        counted = count_word_ids(value, before_measure_word=kind == "wait")
        return (f"{kind}_prefix", *counted, f"{kind}_suffix")
    if kind in ("agent_greeting", "agent_outbound"):
        piece = "p10" if kind == "agent_greeting" else "p11"
        return (f"{piece}_prefix", *digit_ids(str(value)), f"{piece}_suffix")
    raise ValueError(f"unknown composition {kind!r}")


def agent_greeting(
    number: str,
    language: Language,
    catalogue: PromptCatalogue | None = None,
) -> np.ndarray:
    """SPEC-P10 with the agent's number (int16, 8 kHz); uses the shipped catalogue by default."""
    return (catalogue or PromptCatalogue()).agent_greeting(number, language)
