"""The agent desktop's own settings (taxonomy, hold reasons, banned phrases, holiday calendar),
read from a YAML file whose errors name the file, line and field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_desktop.complaints import CalendarError, WorkingCalendar

DEFAULT_SETTINGS_FILE = Path(__file__).resolve().parent / "desktop.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Label(_Frozen):
    """A choice shown in both languages; ``id`` is what is stored."""

    id: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class DesktopSettings(_Frozen):
    service_level_target: float = Field(0.8, gt=0, le=1)
    call_types: tuple[Label, ...] = Field(min_length=1)
    hold_reasons: tuple[Label, ...] = Field(min_length=1)
    banned_phrases: tuple[str, ...] = ()
    holidays: tuple[dt.date, ...] = ()
    makeup_workdays: tuple[dt.date, ...] = ()

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar.of(self.holidays, self.makeup_workdays)

    def call_type_ids(self) -> frozenset[str]:
        return frozenset(label.id for label in self.call_types)


class DesktopSettingsError(Exception):
    """A bad settings file: the message names file, line and field."""


@dataclass(frozen=True, slots=True)
class _Where:
    file: Path
    root: yaml.Node | None

    def line_of(self, location: tuple[int | str, ...]) -> int | None:
        node = self.root
        line = None if node is None else node.start_mark.line + 1
        for step in location:
            child = None
            if isinstance(node, yaml.MappingNode):
                child = next((v for k, v in node.value if k.value == step), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                child = node.value[step] if step < len(node.value) else None
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line


def load_desktop_settings(path: Path = DEFAULT_SETTINGS_FILE) -> DesktopSettings:
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
        data: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise DesktopSettingsError(f"{path}: not valid YAML: {exc}") from None
    where = _Where(path, root)
    if not isinstance(data, dict):
        raise DesktopSettingsError(f"{path}, line 1: the settings must be a mapping")
    try:
        settings = DesktopSettings.model_validate(data)
        settings.calendar()
    except ValidationError as exc:
        first = exc.errors()[0]
        location = tuple(first["loc"])
        field = ".".join(str(part) for part in location)
        raise DesktopSettingsError(
            f"{path}, line {where.line_of(location)}, field {field}: {first['msg']}"
        ) from None
    except CalendarError as exc:
        raise DesktopSettingsError(f"{path}, field holidays/makeup_workdays: {exc}") from None
    return settings
