"""``hotline prompts build``: regenerate the committed prompt audio and manifest, offline.

Only what changed is regenerated: a TTS prompt is re-synthesised when its rendered words (which
include the brand and hotline settings) or its voice changed, or its file is missing or does
not match the manifest's checksum.  Recorded prompts (``source: recorded``) are never touched;
if their words changed the build reports them as stale so a person can re-record them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from prompts import audio
from prompts.manifest import (
    MANIFEST_NAME,
    Manifest,
    ManifestEntry,
    file_sha256,
    load_manifest,
    replace_entries,
    save_manifest,
)
from prompts.texts import (
    ALL_PROMPTS,
    HOLD_MUSIC_ID,
    PROMPTS_BY_ID,
    Language,
    PromptSettings,
    PromptText,
    Source,
    iter_prompts,
    text_hash,
)
from prompts.tts import (
    SPEAKING_RATE_WPM,
    VOICES,
    Synthesised,
    espeak_version,
    synthesise,
)

DEFAULT_DIR = Path(__file__).resolve().parent
# Bump when the processing chain (resampler, trimming, level) changes: every TTS file is redone.
PROCESSING_VERSION = 1
HOLD_MUSIC_VOICE = f"generated:hold-music:v{PROCESSING_VERSION}"

Synthesiser = Callable[[str, Language], Synthesised]


@dataclass(slots=True)
class BuildReport:
    regenerated: list[tuple[str, Language]] = field(default_factory=list)
    unchanged: list[tuple[str, Language]] = field(default_factory=list)
    recorded_kept: list[tuple[str, Language]] = field(default_factory=list)
    stale_recorded: list[tuple[str, Language]] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"regenerated {len(self.regenerated)}, unchanged {len(self.unchanged)}, "
            f"recorded kept {len(self.recorded_kept)}"
        ]
        lines += [f"  new audio: {lang.value}/{pid}" for pid, lang in self.regenerated]
        lines += [
            f"  STALE recording (words changed, re-record it): {lang.value}/{pid}"
            for pid, lang in self.stale_recorded
        ]
        return "\n".join(lines)


def voice_label(language: Language) -> str:
    return f"espeak-ng:{VOICES[language]}:{SPEAKING_RATE_WPM[language]}wpm:v{PROCESSING_VERSION}"


def audio_path(prompt_id: str, language: Language) -> str:
    return f"audio/{language.value}/{prompt_id}.wav"


def process(raw: Synthesised) -> np.ndarray:
    """espeak output → 8 kHz, trimmed, -20 dBFS, no clipping (int16)."""
    x = audio.resample(raw.samples, raw.sample_rate)
    x = audio.trim_silence(x)
    return audio.to_int16(audio.normalise(x))


def build(
    out_dir: Path = DEFAULT_DIR,
    settings: PromptSettings | None = None,
    *,
    synthesiser: Synthesiser = synthesise,
    force: bool = False,
) -> BuildReport:
    """Bring ``out_dir``'s audio and manifest up to date with ``settings``; returns what it did."""
    settings = settings or PromptSettings()
    manifest_path = out_dir / MANIFEST_NAME
    old = load_manifest(manifest_path) if manifest_path.exists() else None
    previous = old.by_key() if old else {}
    report = BuildReport()
    entries: list[ManifestEntry] = []
    for prompt, language in iter_prompts():
        entry = _build_one(
            out_dir,
            prompt,
            language,
            settings,
            previous.get((prompt.prompt_id, language)),
            synthesiser=synthesiser,
            force=force,
            report=report,
        )
        entries.append(entry)
    engine = espeak_version() if report.regenerated else (old.engine if old else "")
    save_manifest(manifest_path, Manifest(settings=settings, engine=engine, entries=tuple(entries)))
    return report


def _build_one(
    out_dir: Path,
    prompt: PromptText,
    language: Language,
    settings: PromptSettings,
    previous: ManifestEntry | None,
    *,
    synthesiser: Synthesiser,
    force: bool,
    report: BuildReport,
) -> ManifestEntry:
    key = (prompt.prompt_id, language)
    text = prompt.render(language, settings)
    generated = prompt.prompt_id == HOLD_MUSIC_ID
    voice = HOLD_MUSIC_VOICE if generated else voice_label(language)
    wanted_hash = text_hash(text, voice)
    relative = audio_path(prompt.prompt_id, language)
    path = out_dir / relative

    if previous is not None and previous.source is Source.RECORDED and path.exists():
        report.recorded_kept.append(key)
        if previous.text != text:
            report.stale_recorded.append(key)
        samples = audio.read_wav(path)  # also checks a hand-placed file's format
        return _entry(
            prompt,
            language,
            text,
            relative,
            Source.RECORDED,
            path,
            previous.text_sha256,
            samples,
            previous.voice,
        )

    if (
        previous is not None
        and not force
        and previous.text_sha256 == wanted_hash
        and path.exists()
        and file_sha256(path) == previous.sha256
    ):
        report.unchanged.append(key)
        return previous

    if generated:
        samples = audio.to_int16(audio.normalise(audio.hold_music()))
        source = Source.GENERATED
    else:
        samples = process(synthesiser(text, language))
        source = Source.TTS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(audio.wav_bytes(samples))
    report.regenerated.append(key)
    return _entry(prompt, language, text, relative, source, path, wanted_hash, samples, voice)


def _entry(
    prompt: PromptText,
    language: Language,
    text: str,
    relative: str,
    source: Source,
    path: Path,
    wanted_hash: str,
    samples: np.ndarray,
    voice: str,
) -> ManifestEntry:
    return ManifestEntry(
        prompt_id=prompt.prompt_id,
        language=language,
        text=text,
        file=relative,
        source=source,
        sha256=file_sha256(path),
        text_sha256=wanted_hash,
        depends_on=prompt.depends_on(language),
        duration_s=samples.size / audio.SAMPLE_RATE,
        voice=voice,
    )


def register_recording(
    out_dir: Path,
    prompt_id: str,
    language: Language,
    wav_file: Path,
) -> ManifestEntry:
    """Replace a prompt's audio by a human recording (any rate, mono 16-bit WAV).

    The recording is resampled to 8 kHz and levelled like TTS audio, marked ``recorded`` and
    from then on kept by every build.
    """
    if prompt_id not in PROMPTS_BY_ID:
        raise KeyError(f"unknown prompt id {prompt_id!r}")
    import soundfile  # only this path reads arbitrary WAV rates

    data, rate = soundfile.read(str(wav_file), dtype="int16", always_2d=True)
    mono = data.mean(axis=1).astype(np.int16)
    samples = process(Synthesised(samples=mono, sample_rate=int(rate)))
    relative = audio_path(prompt_id, language)
    path = out_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(audio.wav_bytes(samples))
    manifest = load_manifest(out_dir / MANIFEST_NAME)
    prompt = PROMPTS_BY_ID[prompt_id]
    text = prompt.render(language, manifest.settings)
    entry = _entry(
        prompt,
        language,
        text,
        relative,
        Source.RECORDED,
        path,
        text_hash(text, "recorded"),
        samples,
        f"recorded:{wav_file.name}",
    )
    save_manifest(out_dir / MANIFEST_NAME, replace_entries(manifest, [entry]))
    return entry


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hotline prompts build", description=__doc__)
    defaults = PromptSettings()
    # `hotline prompts build ...` passes "build" on; `python -m prompts.build ...` need not.
    parser.add_argument("command", nargs="?", choices=["build"], default="build")
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR, help="catalogue folder")
    parser.add_argument("--brand-zh", default=defaults.brand_zh)
    parser.add_argument("--brand-en", default=defaults.brand_en)
    parser.add_argument("--hotline", default=defaults.hotline_number, help="hotline number")
    parser.add_argument("--force", action="store_true", help="re-synthesise every TTS prompt")
    parser.add_argument(
        "--record",
        nargs=3,
        metavar=("ID", "LANG", "WAV"),
        help="replace one prompt's audio with a human recording",
    )
    args = parser.parse_args(argv)
    try:
        if args.record:
            pid, lang, wav = args.record
            entry = register_recording(args.out, pid, Language(lang), Path(wav))
            print(f"recorded {lang}/{pid}: {entry.duration_s:.2f} s")
            return 0
        settings = PromptSettings(
            brand_zh=args.brand_zh,
            brand_en=args.brand_en,
            hotline_number=args.hotline,
        )
        report = build(args.out, settings, force=args.force)
    except (ValueError, KeyError, OSError, RuntimeError) as exc:
        print(f"prompts build failed: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    print(f"{len(ALL_PROMPTS) * len(Language)} prompts in {args.out / MANIFEST_NAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
