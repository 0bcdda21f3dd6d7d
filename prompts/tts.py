"""Offline speech synthesis for the prompt build: Mandarin text to pinyin, espeak-ng to samples.

Choice of engine (issue 4): Debian's espeak-ng 1.51 is what the machines have through apt, and
its ``cmn`` voice mispronounces Chinese characters; its ``cmn-latn-pinyin`` voice reads
tone-numbered pinyin correctly.  So Mandarin text is converted to pinyin with ``pypinyin``
(MIT licence) and spoken by ``cmn-latn-pinyin``; English uses ``en-gb``.  This keeps one
engine from one Debian package, used through its command line (no ctypes binding), and only
the build needs it: the service plays the committed WAV files.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass

import numpy as np
from pypinyin import Style, lazy_pinyin

from prompts.texts import Language

ESPEAK_BINARY = "espeak-ng"
VOICES: dict[Language, str] = {Language.ZH: "cmn-latn-pinyin", Language.EN: "en-gb"}
# Words per minute: espeak's default 175 is brisk for a telephone line; 150 is calmer.
SPEAKING_RATE_WPM = {Language.ZH: 150, Language.EN: 150}
ESPEAK_TIMEOUT_S = 30.0

# pypinyin reads these phrases wrongly in our prompts; corrected readings (checked by ear).
_PINYIN_OVERRIDES: dict[str, str] = {
    "重拨": "chong2 bo1",
}
# Keys in running text ("请按1") are counted: 一 (yi1); telephone numbers arrive already
# written with 幺 (yao1) from PromptSettings, as operators say them.
_ZH_DIGITS = "零一二三四五六七八九"
# Chinese punctuation becomes ASCII punctuation, which espeak turns into pauses.
_PUNCTUATION = {
    "，": ",",
    ",": ",",
    "、": ",",
    "；": ",",
    ";": ",",
    "：": ",",
    ":": ",",
    "。": ".",
    ".": ".",
    "！": "!",
    "!": "!",
    "？": "?",
    "?": "?",
}


class SynthesisError(RuntimeError):
    """espeak-ng is missing or failed; the message says which prompt and why."""


@dataclass(frozen=True, slots=True)
class Synthesised:
    samples: np.ndarray  # int16, mono
    sample_rate: int


def to_pinyin(text: str) -> str:
    """Tone-numbered pinyin of Mandarin ``text``; ASCII digits are said one by one."""
    text = "".join(_ZH_DIGITS[int(c)] if c.isascii() and c.isdigit() else c for c in text)
    pattern = "|".join(re.escape(k) for k in _PINYIN_OVERRIDES)
    words: list[str] = []
    for piece in re.split(f"({pattern})", text):
        if not piece:
            continue
        if piece in _PINYIN_OVERRIDES:
            words.append(_PINYIN_OVERRIDES[piece])
            continue
        for syllable in lazy_pinyin(piece, style=Style.TONE3, neutral_tone_with_five=True):
            words.append(_clean_chunk(syllable))
    return re.sub(r"\s+([,.!?])", r"\1", " ".join(w for w in words if w)).strip()


def _clean_chunk(chunk: str) -> str:
    # Non-Chinese runs come back unchanged from pypinyin: keep letters, map punctuation.
    out = []
    for ch in chunk:
        if ch in _PUNCTUATION:
            out.append(_PUNCTUATION[ch])
        elif ch.isascii() and (ch.isalnum() or ch.isspace()):
            out.append(ch)
        elif ch in "()（）":
            continue
        else:
            out.append(" ")
    return "".join(out).strip()


def espeak_input(text: str, language: Language) -> str:
    """The exact string espeak-ng is given for ``text`` (pinyin for Mandarin)."""
    return to_pinyin(text) if language is Language.ZH else text


def espeak_available() -> bool:
    return shutil.which(ESPEAK_BINARY) is not None


def espeak_version() -> str:
    """First line of ``espeak-ng --version``, recorded in the manifest for reproducibility."""
    binary = shutil.which(ESPEAK_BINARY)
    if binary is None:
        raise SynthesisError(f"{ESPEAK_BINARY} is not installed (apt-get install espeak-ng)")
    done = subprocess.run(
        [binary, "--version"],
        capture_output=True,
        text=True,
        timeout=ESPEAK_TIMEOUT_S,
        check=False,
    )
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "unknown"


def synthesise(text: str, language: Language) -> Synthesised:
    """Speak ``text`` with espeak-ng; the result is at espeak's own rate (22 050 Hz)."""
    binary = shutil.which(ESPEAK_BINARY)
    if binary is None:
        raise SynthesisError(f"{ESPEAK_BINARY} is not installed (apt-get install espeak-ng)")
    spoken = espeak_input(text, language)
    command = [
        binary,
        "-v",
        VOICES[language],
        "-s",
        str(SPEAKING_RATE_WPM[language]),
        "--stdout",
        spoken,
    ]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=ESPEAK_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SynthesisError(f"espeak-ng timed out on {text!r}") from exc
    if done.returncode != 0 or not done.stdout:
        reason = done.stderr.decode(errors="replace")
        raise SynthesisError(f"espeak-ng failed ({done.returncode}) on {text!r}: {reason}")
    return _read_wav_bytes(done.stdout, text)


def _read_wav_bytes(data: bytes, text: str) -> Synthesised:
    # espeak-ng writes streaming WAV headers with a bogus data size when piping; wave copes
    # with a short read, so read frames until EOF instead of trusting nframes.
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            if reader.getsampwidth() != 2 or reader.getnchannels() != 1:
                raise SynthesisError(f"espeak-ng gave unexpected WAV format for {text!r}")
            rate = reader.getframerate()
            frames = reader.readframes(len(data))
    except (wave.Error, EOFError) as exc:
        raise SynthesisError(f"espeak-ng output unreadable for {text!r}: {exc}") from exc
    samples = np.frombuffer(frames[: len(frames) // 2 * 2], dtype="<i2").astype(np.int16)
    if samples.size == 0:
        raise SynthesisError(f"espeak-ng produced no audio for {text!r}")
    return Synthesised(samples=samples, sample_rate=rate)
