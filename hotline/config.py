"""The one frozen, typed configuration object and how it is layered and validated.

Layers, later wins: built-in defaults → YAML file → environment (``HOTLINE_…``) → CLI overrides.
Every error names where the bad value came from: the file and line for the YAML layer, the
variable for the environment, the option for the CLI (guide: "a bad config file names the
file, line and field").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "HOTLINE_"
# Nested keys in environment variables are separated by a double underscore, as in
# HOTLINE_SIP__PORT=5070 (single underscores occur inside field names).
ENV_NESTING = "__"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SipTimers(_Frozen):
    """RFC 3261 §17.1.1.1 timer bases; smaller values make tests fast."""

    t1: float = Field(0.5, gt=0)
    t2: float = Field(4.0, gt=0)
    t4: float = Field(5.0, gt=0)


class SipSettings(_Frozen):
    # Loopback by default so a first `hotline serve` exposes nothing (issue 3).
    host: str = "127.0.0.1"
    port: int = Field(5060, ge=0, le=65535)
    transports: tuple[Literal["udp", "tcp"], ...] = ("udp", "tcp")
    realm: str = "hotline"
    # The address written into Contact/SDP when bound to a wildcard address.
    advertised_host: str | None = None
    timers: SipTimers = SipTimers()
    min_register_expires: int = Field(60, ge=1)
    max_register_expires: int = Field(3600, ge=1)
    # Digest challenges sent, most preferred first (RFC 7616 §3.7). Phones built on libre
    # < 2.x (Debian's baresip 1.0.0) give up on the first challenge that is not MD5 instead
    # of taking the next one, so a site with such phones lists only "MD5".
    digest_algorithms: tuple[Literal["SHA-256", "MD5"], ...] = Field(
        ("SHA-256", "MD5"), min_length=1
    )

    @field_validator("host")
    @classmethod
    def _host_is_ip(cls, value: str) -> str:
        ipaddress.ip_address(value)
        return value


class MediaSettings(_Frozen):
    rtp_port_min: int = Field(20000, ge=1024, le=65534)
    rtp_port_max: int = Field(29999, ge=1025, le=65535)
    ptime_ms: Literal[20] = 20

    @model_validator(mode="after")
    def _range_ordered(self) -> MediaSettings:
        if self.rtp_port_max <= self.rtp_port_min:
            raise ValueError("rtp_port_max must be above rtp_port_min")
        return self


class DatabaseSettings(_Frozen):
    # SQLite in the working directory is the embedded default; PostgreSQL via
    # postgresql+asyncpg://user:pass@host/db.
    url: str = "sqlite+aiosqlite:///var/hotline.db"


class PromptSettings(_Frozen):
    directory: Path | None = None  # None: the catalogue bundled with the package
    brand_zh: str = "中国电信"
    brand_en: str = "China Telecom"
    hotline_number: str = "1000"
    default_language: Literal["zh", "en"] = "zh"


class ListenerSettings(_Frozen):
    """Thresholds for the caller-speech checks of SPEC-P2 and SPEC-P3."""

    silence_seconds: float = Field(5.0, gt=0)
    quiet_speech_dbfs: float = Field(-40.0, lt=0)


class IvrSettings(_Frozen):
    flow: Path | None = None  # None: the bundled ivr/flows/default.yaml
    listener: ListenerSettings = ListenerSettings()
    emergency: bool = False  # SPEC-O1 surge switch; can be flipped at run time too


class QueueSettings(_Frozen):
    name: str
    strategy: Literal[
        "longest_idle", "round_robin", "fewest_calls", "ring_all", "random", "linear", "skills"
    ] = "longest_idle"
    skills: tuple[str, ...] = ()
    ring_timeout: float = Field(15.0, gt=0)
    wrapup_seconds: float = Field(30.0, ge=0)
    max_wait: float | None = Field(None, gt=0)
    overflow_target: str | None = None
    announce_every: float | None = Field(60.0, gt=0)
    service_level_seconds: float = Field(10.0, gt=0)  # SPEC-Q1
    short_abandon_seconds: float = Field(5.0, ge=0)
    callback_after: float | None = Field(None, gt=0)
    play_agent_number: bool = True  # SPEC-P10
    play_late_apology: bool = True  # SPEC-P4
    max_consecutive_misses: int = Field(2, ge=1)
    record_percent: float = Field(100.0, ge=0, le=100)
    retention_days: int = Field(180, ge=1)


class AgentSettings(_Frozen):
    number: str  # 工号, also the SIP user name
    name: str = ""
    team: str = "default"
    queues: tuple[str, ...] = ()
    skills: Mapping[str, Literal["junior", "senior"]] = Field(default_factory=dict)

    @field_validator("number")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not value.isdigit():
            raise ValueError("an agent number is digits only, as callers hear it (SPEC-P10)")
        return value


# The demo centre matches the bundled flow (ivr/flows/default.yaml): one queue per menu
# option, "general" for "0 agent", "overflow" for the surge switch (SPEC-O1).
_DEMO_QUEUES = ("general", "billing", "faults", "complaints", "overflow")
_DEMO_SKILLS = {"billing": "senior", "faults": "senior", "complaints": "senior"}


def _demo_queue(name: str) -> QueueSettings:
    return QueueSettings(name=name, skills=(name,) if name in _DEMO_SKILLS else ())


class AcdSettings(_Frozen):
    queues: tuple[QueueSettings, ...] = tuple(_demo_queue(name) for name in _DEMO_QUEUES)
    agents: tuple[AgentSettings, ...] = (
        AgentSettings(number="1001", name="Demo Agent 1", queues=_DEMO_QUEUES, skills=_DEMO_SKILLS),
        AgentSettings(number="1002", name="Demo Agent 2", queues=_DEMO_QUEUES, skills=_DEMO_SKILLS),
    )
    default_queue: str = "general"  # where a flow's unknown queue name sends the caller

    @model_validator(mode="after")
    def _agents_name_known_queues(self) -> AcdSettings:
        names = {q.name for q in self.queues}
        for agent in self.agents:
            unknown = [q for q in agent.queues if q not in names]
            if unknown:
                raise ValueError(f"agent {agent.number} names unknown queue(s) {unknown}")
        return self


class RecordingSettings(_Frozen):
    root: Path = Path("var/recordings")
    record_ivr: bool = False
    archive_format: Literal["wav", "flac"] = "wav"


class WebSettings(_Frozen):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class HotlineConfig(_Frozen):
    sip: SipSettings = SipSettings()
    media: MediaSettings = MediaSettings()
    database: DatabaseSettings = DatabaseSettings()
    prompts: PromptSettings = PromptSettings()
    ivr: IvrSettings = IvrSettings()
    acd: AcdSettings = AcdSettings()
    recordings: RecordingSettings = RecordingSettings()
    web: WebSettings = WebSettings()


class ConfigError(Exception):
    """A configuration value is wrong; the message says where it came from."""


@dataclass(frozen=True, slots=True)
class _Origin:
    source: str  # file path, "environment" or "command line"
    line: int | None = None

    def describe(self) -> str:
        return f"{self.source}:{self.line}" if self.line is not None else self.source


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> HotlineConfig:
    """Build the config from the layers; the environment is a parameter, never read implicitly."""
    merged: dict[str, Any] = {}
    origins: dict[tuple[str, ...], _Origin] = {}
    if path is not None:
        _merge(merged, _read_yaml(path, origins), ())
    for key, value in _from_environment(environ or {}).items():
        _set_path(merged, key, value)
        origins[key] = _Origin(f"environment {ENV_PREFIX}{ENV_NESTING.join(key).upper()}")
    for dotted, value in (overrides or {}).items():
        key = tuple(dotted.split("."))
        _set_path(merged, key, value)
        origins[key] = _Origin(f"command line --{dotted}")
    try:
        return HotlineConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe_errors(exc, origins, path)) from None


def _read_yaml(path: Path, origins: dict[tuple[str, ...], _Origin]) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the config file must be a mapping of sections")
    _record_marks(node, (), str(path), origins)
    return data


def _record_marks(
    node: yaml.Node | None,
    key: tuple[str, ...],
    source: str,
    origins: dict[tuple[str, ...], _Origin],
) -> None:
    if node is None:
        return
    origins[key] = _Origin(source, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*key, str(key_node.value))
            _record_marks(value_node, child, source, origins)
            # A wrong key is best reported at the key itself.
            origins.setdefault(child, _Origin(source, key_node.start_mark.line + 1))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_marks(item, (*key, str(index)), source, origins)


def _describe_errors(
    exc: ValidationError, origins: Mapping[tuple[str, ...], _Origin], path: Path | None
) -> str:
    lines = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        origin = _closest_origin(loc, origins) or _Origin(str(path) if path else "defaults")
        field = ".".join(loc) or "(top level)"
        lines.append(f"{origin.describe()}: {field}: {error['msg']}")
    return "\n".join(lines)


def _closest_origin(
    loc: tuple[str, ...], origins: Mapping[tuple[str, ...], _Origin]
) -> _Origin | None:
    for end in range(len(loc), -1, -1):
        found = origins.get(loc[:end])
        if found is not None:
            return found
    return None


def _from_environment(environ: Mapping[str, str]) -> dict[tuple[str, ...], Any]:
    found: dict[tuple[str, ...], Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in ("HOTLINE_TEST_PG_DSN",):
            continue
        key = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split(ENV_NESTING))
        if key[0] not in HotlineConfig.model_fields:
            continue
        # YAML scalars so that "5070", "true" and "[udp]" mean what they look like.
        found[key] = yaml.safe_load(raw) if raw else raw
    return found


def _set_path(target: dict[str, Any], key: Sequence[str], value: Any) -> None:
    for part in key[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = {}
            target[part] = child
        target = child
    target[key[-1]] = value


def _merge(target: dict[str, Any], source: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
    for name, value in source.items():
        if isinstance(value, Mapping) and isinstance(target.get(name), dict):
            _merge(target[name], value, (*prefix, name))
        else:
            target[name] = value
