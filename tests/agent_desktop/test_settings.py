"""The desktop settings file: the bundled one loads; a bad one names file, line and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from agent_desktop.settings import DesktopSettingsError, load_desktop_settings


def test_bundled_settings_load_with_the_2026_calendar() -> None:
    settings = load_desktop_settings()
    calendar = settings.calendar()
    assert not calendar.is_working_day(dt.date(2026, 10, 1))  # National Day
    assert calendar.is_working_day(dt.date(2026, 10, 10))  # make-up Saturday
    assert "enquiry" in settings.call_type_ids()
    assert "没有办法" in settings.banned_phrases  # SPEC-Q8's own example


def test_a_bad_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "desktop.yaml"
    path.write_text(
        "call_types:\n"
        "  - {id: enquiry, zh: 咨询, en: Enquiry}\n"
        "  - {id: Bad Id, zh: 坏, en: Bad}\n"
        "hold_reasons:\n"
        "  - {id: lookup, zh: 查询, en: Lookup}\n",
        encoding="utf-8",
    )
    with pytest.raises(DesktopSettingsError) as caught:
        load_desktop_settings(path)
    message = str(caught.value)
    assert str(path) in message and "line 3" in message and "call_types.1.id" in message


def test_a_date_that_is_holiday_and_workday_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "desktop.yaml"
    path.write_text(
        "call_types: [{id: a, zh: 甲, en: A}]\nhold_reasons: [{id: b, zh: 乙, en: B}]\n"
        "holidays: [2026-10-10]\nmakeup_workdays: [2026-10-10]\n",
        encoding="utf-8",
    )
    with pytest.raises(DesktopSettingsError, match="2026-10-10"):
        load_desktop_settings(path)
