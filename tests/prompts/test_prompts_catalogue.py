"""The shipped catalogue: every file is 8 kHz mono 16-bit, levelled, unclipped and checksummed."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from prompts import audio
from prompts.catalogue import DEFAULT_DIR, PromptCatalogue, PromptFileError, composition_ids
from prompts.manifest import file_sha256
from prompts.texts import ALL_PROMPTS, HOLD_MUSIC_ID, Language, Setting, Source

CATALOGUE = PromptCatalogue()
ENTRIES = list(CATALOGUE.manifest.entries)
SPEC_IDS = ["p1", "p2", "p3", "p4", "p5", "p6", "p7a", "p7b", "p8", "p9", "p12"]


def _active_dbfs(samples: np.ndarray) -> float:
    # Measured independently of prompts.audio: RMS over the 20 ms frames above -50 dBFS.
    x = samples.astype(np.float64) / 32768.0
    n = x.size // 160
    frames = x[: n * 160].reshape(n, 160)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    active = frames[20 * np.log10(np.maximum(rms, 1e-10)) > -50]
    return float(20 * np.log10(np.sqrt(np.mean(active**2))))


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.language.value}/{e.prompt_id}")
def test_every_file_is_8khz_mono_16bit_levelled_unclipped(entry) -> None:
    path = DEFAULT_DIR / entry.file
    with wave.open(str(path), "rb") as reader:
        assert reader.getframerate() == 8000
        assert reader.getnchannels() == 1
        assert reader.getsampwidth() == 2
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    duration = samples.size / 8000
    assert 0.25 <= duration <= 15.0, f"{entry.file}: {duration:.2f} s"
    assert abs(duration - entry.duration_s) < 0.01
    assert -23.0 <= _active_dbfs(samples) <= -17.0
    assert int(np.max(np.abs(samples.astype(np.int32)))) < 32767, "clipped"
    # trimmed: no more than a quarter second of near-silence at either end
    levels = audio.frame_levels_dbfs(samples)
    loud = np.flatnonzero(levels > levels.max() - 40)
    assert loud[0] * 0.02 <= 0.25 and (levels.size - 1 - loud[-1]) * 0.02 <= 0.25


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.language.value}/{e.prompt_id}")
def test_checksum_matches_manifest(entry) -> None:
    assert file_sha256(DEFAULT_DIR / entry.file) == entry.sha256


def test_every_language_has_every_prompt_id() -> None:
    expected = {p.prompt_id for p in ALL_PROMPTS}
    for language in Language:
        assert CATALOGUE.ids(language) == expected
    assert set(SPEC_IDS) <= CATALOGUE.ids()


def test_mandarin_spec_phrases_are_verbatim_with_default_brand() -> None:
    # SPEC-P1, P2, P8: the document's words, brand 中国电信.
    assert CATALOGUE.get("p1", Language.ZH).text == "您好!中国电信。"
    assert CATALOGUE.get("p2", Language.ZH).text == "您好,这里是中国电信客服中心,请讲。"
    assert CATALOGUE.get("p7b", Language.ZH).text == "您的投诉已被受理,我们会尽快予以答复,再见!"
    assert (
        CATALOGUE.get("p8", Language.ZH).text
        == "您好,这里是中国电信客服中心,您拨错了,请挂机后重拨好吗,再见。"
    )
    assert CATALOGUE.get("p12", Language.ZH).text == "还有什么可以帮您?"


def test_manifest_records_sources_and_settings_dependencies() -> None:
    p1 = CATALOGUE.entry("p1", Language.EN)
    assert p1.source is Source.TTS and p1.depends_on == (Setting.BRAND,)
    assert CATALOGUE.entry("p3", Language.ZH).depends_on == ()
    assert Setting.HOTLINE in CATALOGUE.entry("emergency", Language.ZH).depends_on
    assert CATALOGUE.entry(HOLD_MUSIC_ID, Language.ZH).source is Source.GENERATED


def test_get_returns_cached_read_only_samples() -> None:
    first = CATALOGUE.get("p3", Language.EN)
    assert first is CATALOGUE.get("p3", Language.EN)
    assert first.samples.dtype == np.int16
    with pytest.raises(ValueError):
        first.samples[0] = 1


def test_agent_greeting_composes_prefix_digits_suffix_as_one_sentence() -> None:
    # SPEC-P10: "您好!1024号很高兴为您服务!"
    greeting = CATALOGUE.agent_greeting("1024", Language.ZH)
    assert composition_ids("agent_greeting", "1024") == (
        "p10_prefix",
        "digit_1",
        "digit_0",
        "digit_2",
        "digit_4",
        "p10_suffix",
    )
    pieces = [
        CATALOGUE.get(i, Language.ZH).samples for i in composition_ids("agent_greeting", "1024")
    ]
    loose = sum(p.size for p in pieces)
    assert greeting.dtype == np.int16
    # tighter than the pieces back to back, and no pause inside longer than 150 ms
    assert 0.6 * loose < greeting.size < loose
    levels = audio.frame_levels_dbfs(greeting)
    quiet = levels < levels.max() - 40
    longest = max(
        (len(run) for run in "".join("q" if q else "." for q in quiet).split(".")), default=0
    )
    assert longest * 0.02 <= 0.15
    assert int(np.max(np.abs(greeting.astype(np.int32)))) < 32767


def test_agent_greeting_differs_by_number_and_rejects_non_digits() -> None:
    a = CATALOGUE.agent_greeting("1024", Language.EN)
    b = CATALOGUE.agent_greeting("1025", Language.EN)
    assert a.size != b.size or not np.array_equal(a, b)
    with pytest.raises(ValueError):
        CATALOGUE.agent_greeting("10a4", Language.EN)


def test_compose_counts_for_queue_position_and_wait() -> None:
    assert composition_ids("queue_position", 3) == (
        "queue_position_prefix",
        "number_3",
        "queue_position_suffix",
    )
    # "约两分钟" but "第二位": a lone 2 before a measure word is 两 in Mandarin
    assert composition_ids("wait", 2)[1:-1] == ("number_2_counted",)
    assert composition_ids("queue_position", 2)[1:-1] == ("number_2",)
    assert CATALOGUE.get("number_2_counted", Language.ZH).text == "两"
    assert composition_ids("wait", 25) == ("wait_prefix", "number_20", "number_5", "wait_suffix")
    assert composition_ids("wait", 250)[1:-1] == ("number_90", "number_9")
    assert CATALOGUE.compose("wait", 2, Language.ZH).size > 8000
    with pytest.raises(ValueError):
        composition_ids("wait", -1)


def test_tampered_file_is_refused_with_its_path(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(DEFAULT_DIR / "audio", tmp_path / "audio")
    shutil.copy(DEFAULT_DIR / "catalogue.json", tmp_path / "catalogue.json")
    target = tmp_path / "audio" / "en" / "p1.wav"
    target.write_bytes(audio.wav_bytes(np.zeros(8000, dtype=np.int16)))
    catalogue = PromptCatalogue(tmp_path)
    with pytest.raises(PromptFileError, match=r"p1\.wav"):
        catalogue.get("p1", Language.EN)
    assert catalogue.get("p2", Language.EN).text.startswith("Hello")
