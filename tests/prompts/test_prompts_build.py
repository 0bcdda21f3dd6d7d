"""`hotline prompts build`: offline regeneration, only what the settings change, recordings kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from prompts import audio
from prompts.build import build, main, register_recording
from prompts.catalogue import PromptCatalogue
from prompts.manifest import file_sha256, load_manifest
from prompts.texts import ALL_PROMPTS, Language, PromptSettings, Setting, Source
from prompts.tts import to_pinyin


@pytest.fixture(scope="module")
def built_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("catalogue")
    report = build(out, PromptSettings())
    assert len(report.regenerated) == 2 * len(ALL_PROMPTS)
    return out


@pytest.fixture
def built(built_once: Path, tmp_path: Path) -> Path:
    out = tmp_path / "catalogue"
    shutil.copytree(built_once, out)
    return out


def _checksums(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): file_sha256(p) for p in directory.rglob("*.wav")}


def _depending_on(setting: Setting) -> set[tuple[str, Language]]:
    return {
        (p.prompt_id, lang)
        for p in ALL_PROMPTS
        for lang in Language
        if setting in p.depends_on(lang)
    }


def test_build_from_nothing_makes_a_loadable_catalogue(built: Path) -> None:
    catalogue = PromptCatalogue(built)
    assert catalogue.ids() == {p.prompt_id for p in ALL_PROMPTS}
    p2 = catalogue.get("p2", Language.ZH)
    assert p2.text == "您好,这里是中国电信客服中心,请讲。"
    assert abs(audio.active_level_dbfs(p2.samples) - audio.TARGET_LEVEL_DBFS) < 1.0


def test_rebuild_with_same_settings_changes_nothing(built: Path) -> None:
    before = _checksums(built)
    report = build(built, PromptSettings())
    assert report.regenerated == []
    assert _checksums(built) == before


def test_brand_change_regenerates_only_prompts_that_say_the_brand(built: Path) -> None:
    before = _checksums(built)
    report = build(built, PromptSettings(brand_zh="中国联通", brand_en="China Unicom"))
    expected = _depending_on(Setting.BRAND)
    assert set(report.regenerated) == expected
    assert ("p1", Language.ZH) in expected and ("p3", Language.ZH) not in expected
    after = _checksums(built)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {f"audio/{lang.value}/{pid}.wav" for pid, lang in expected}
    catalogue = PromptCatalogue(built)
    assert catalogue.get("p1", Language.ZH).text == "您好!中国联通。"
    assert (
        catalogue.get("p5", Language.EN).text == "Thank you for supporting China Unicom; goodbye."
    )
    assert catalogue.manifest.settings.brand_en == "China Unicom"


def test_hotline_number_change_regenerates_only_prompts_that_say_it(built: Path) -> None:
    report = build(built, PromptSettings(hotline_number="10000"))
    assert set(report.regenerated) == _depending_on(Setting.HOTLINE)
    assert {pid for pid, _ in report.regenerated} == {"emergency", "closed"}
    assert "1 0 0 0 0" in PromptCatalogue(built).get("closed", Language.EN).text


def test_missing_or_tampered_file_is_regenerated(built: Path) -> None:
    (built / "audio" / "en" / "p4.wav").unlink()
    (built / "audio" / "zh" / "p4.wav").write_bytes(audio.wav_bytes(np.zeros(800, np.int16)))
    report = build(built, PromptSettings())
    assert set(report.regenerated) == {("p4", Language.EN), ("p4", Language.ZH)}
    PromptCatalogue(built).get("p4", Language.ZH)  # checksum verified on load


def test_recording_replaces_tts_and_survives_rebuilds(built: Path, tmp_path: Path) -> None:
    import soundfile

    # a "human" recording at 44.1 kHz, stereo, far too loud
    t = np.arange(44100) / 44100
    voice = (0.9 * np.sin(2 * np.pi * 220 * t) * np.sin(np.pi * t)).astype(np.float32)
    wav = tmp_path / "p1-human.wav"
    soundfile.write(str(wav), np.stack([voice, voice], axis=1), 44100, subtype="PCM_16")
    entry = register_recording(built, "p1", Language.ZH, wav)
    assert entry.source is Source.RECORDED
    recorded = (built / entry.file).read_bytes()

    report = build(built, PromptSettings(brand_zh="中国联通"))
    assert ("p1", Language.ZH) in report.recorded_kept
    assert ("p1", Language.ZH) in report.stale_recorded  # its words mention the brand
    assert (built / entry.file).read_bytes() == recorded
    manifest = load_manifest(built / "catalogue.json")
    assert manifest.by_key()[("p1", Language.ZH)].source is Source.RECORDED
    samples = PromptCatalogue(built).get("p1", Language.ZH).samples
    assert abs(audio.active_level_dbfs(samples) - audio.TARGET_LEVEL_DBFS) < 1.0
    assert int(np.abs(samples.astype(np.int32)).max()) < 32767


def test_main_builds_into_a_folder_and_reports(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--out", str(built), "--brand-en", "Hotline Co"]) == 0
    out = capsys.readouterr().out
    assert "en/p1" in out and "zh/p1" not in out
    assert main(["--out", str(built), "--hotline", "12a"]) == 1
    # as `hotline prompts build` passes it on
    assert main(["build", "--out", str(built), "--brand-en", "Hotline Co"]) == 0
    assert "regenerated 0" in capsys.readouterr().out


def test_mandarin_text_becomes_tone_numbered_pinyin() -> None:
    assert to_pinyin("您好!中国电信。") == "nin2 hao3! zhong1 guo2 dian4 xin4."
    # pypinyin alone says zhong4 bo1 for 重拨 (SPEC-P8); the override corrects it
    assert "chong2 bo1" in to_pinyin("请挂机后重拨好吗,再见。")
    assert to_pinyin("请按1") == "qing3 an4 yi1"
