"""Frozen configuration of the ACD: queues, agents, routing strategies and skill levels.

Field names match ``hotline.config.QueueSettings`` / ``AgentSettings`` so the composition root
can build these from the validated settings with ``QueueConfig(**settings.model_dump())``-style
code; the values are checked again here because the simulator builds them without pydantic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

# SPEC-Q1 (003 第六十条): "three rings, 10 seconds".
DEFAULT_SERVICE_LEVEL_SECONDS = 10.0
# A caller who gives up within this many seconds is a "short abandon", counted apart from the
# service level (SPEC-Q2 asks to state how abandons count); 5 s is the common industry choice.
DEFAULT_SHORT_ABANDON_SECONDS = 5.0
# Asterisk's queues.conf default ring timeout per member is 15 s.
DEFAULT_RING_TIMEOUT = 15.0
DEFAULT_WRAPUP_SECONDS = 30.0
DEFAULT_MAX_CONSECUTIVE_MISSES = 2
DEFAULT_MUSIC_ON_HOLD = "default"


class ConfigError(ValueError):
    """A queue or agent definition that cannot work; names the object and the field."""

    def __init__(self, owner: str, field_name: str, problem: str) -> None:
        super().__init__(f"{owner}: field {field_name!r}: {problem}")
        self.owner = owner
        self.field_name = field_name
        self.problem = problem


class Strategy(StrEnum):
    """How a queue picks among its ready agents (values as written in the config file)."""

    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"  # with memory: continues after the last agent rung
    FEWEST_CALLS = "fewest_calls"
    RING_ALL = "ring_all"
    RANDOM = "random"
    LINEAR = "linear"  # always in member order, first ready member first
    SKILLS = "skills"  # lowest sufficient skill level first, then longest idle


class SkillLevel(IntEnum):
    """Ordered so that ``level >= required`` means "good enough"."""

    JUNIOR = 1
    SENIOR = 2


def _coerce_level(owner: str, skill: str, value: object) -> SkillLevel:
    if isinstance(value, SkillLevel):
        return value
    if isinstance(value, str):
        try:
            return SkillLevel[value.upper()]
        except KeyError:
            pass
    raise ConfigError(owner, "skills",
                      f"level of {skill!r} must be junior or senior, not {value!r}")


def _check_positive(owner: str, name: str, value: float | None, *, allow_zero: bool) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(owner, name, f"must be a {'non-negative' if allow_zero else 'positive'}"
                          f" number of seconds, not {value!r}")


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One ACD queue. Seconds are floats; ``None`` switches a feature off."""

    name: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    # Skills this queue's calls may ask for; a call naming another skill is refused.
    skills: tuple[str, ...] = ()
    ring_timeout: float = DEFAULT_RING_TIMEOUT
    wrapup_seconds: float = DEFAULT_WRAPUP_SECONDS
    max_wait: float | None = None
    # Another queue of this engine, or any other name the driver understands (an IVR node,
    # voicemail): then the call leaves the ACD as "overflowed".
    overflow_target: str | None = None
    announce_every: float | None = None
    music_on_hold: str = DEFAULT_MUSIC_ON_HOLD
    service_level_seconds: float = DEFAULT_SERVICE_LEVEL_SECONDS  # SPEC-Q1
    short_abandon_seconds: float = DEFAULT_SHORT_ABANDON_SECONDS  # SPEC-Q2
    callback_after: float | None = None
    play_agent_number: bool = True  # SPEC-P10 互报工号
    play_late_apology: bool = True  # SPEC-P4 after SPEC-Q1's threshold
    max_consecutive_misses: int = DEFAULT_MAX_CONSECUTIVE_MISSES

    def __post_init__(self) -> None:
        owner = f"queue {self.name!r}"
        if not self.name:
            raise ConfigError("queue", "name", "must not be empty")
        if not isinstance(self.strategy, Strategy):
            try:
                object.__setattr__(self, "strategy", Strategy(self.strategy))
            except ValueError:
                choices = ", ".join(s.value for s in Strategy)
                raise ConfigError(owner, "strategy",
                                  f"{self.strategy!r} is not one of {choices}") from None
        object.__setattr__(self, "skills", tuple(self.skills))
        _check_positive(owner, "ring_timeout", self.ring_timeout, allow_zero=False)
        _check_positive(owner, "wrapup_seconds", self.wrapup_seconds, allow_zero=True)
        _check_positive(owner, "max_wait", self.max_wait, allow_zero=False)
        _check_positive(owner, "announce_every", self.announce_every, allow_zero=False)
        _check_positive(owner, "service_level_seconds", self.service_level_seconds,
                        allow_zero=False)
        _check_positive(owner, "short_abandon_seconds", self.short_abandon_seconds,
                        allow_zero=True)
        _check_positive(owner, "callback_after", self.callback_after, allow_zero=False)
        if self.max_consecutive_misses < 1:
            raise ConfigError(owner, "max_consecutive_misses", "must be at least 1")
        if self.max_wait is not None and self.overflow_target is None:
            raise ConfigError(owner, "overflow_target", "is required when max_wait is set")
        if self.overflow_target == self.name:
            raise ConfigError(owner, "overflow_target", "must not be the queue itself")


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """One agent. ``number`` is the 工号 the caller hears (SPEC-P10), digits only."""

    agent_id: str
    number: str
    name: str = ""
    team: str = "default"
    skills: Mapping[str, SkillLevel] = field(default_factory=dict)
    queues: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        owner = f"agent {self.agent_id!r}"
        if not self.agent_id:
            raise ConfigError("agent", "agent_id", "must not be empty")
        if not self.number.isdigit():
            raise ConfigError(owner, "number",
                              f"{self.number!r} must be digits only, as callers hear it")
        skills = {s: _coerce_level(owner, s, lvl) for s, lvl in dict(self.skills).items()}
        object.__setattr__(self, "skills", skills)
        object.__setattr__(self, "queues", tuple(self.queues))

    def level(self, skill: str) -> SkillLevel | None:
        return self.skills.get(skill)

    @property
    def top_level(self) -> SkillLevel:
        """The agent's highest level; an agent without skills counts as junior."""
        return max(self.skills.values(), default=SkillLevel.JUNIOR)


def check_acd_config(queues: tuple[QueueConfig, ...], agents: tuple[AgentConfig, ...]) -> None:
    """Cross-object checks: unique names, agents name known queues, skills the queue lists."""
    names: set[str] = set()
    for q in queues:
        if q.name in names:
            raise ConfigError(f"queue {q.name!r}", "name", "is defined twice")
        names.add(q.name)
    by_name = {q.name: q for q in queues}
    ids: set[str] = set()
    numbers: set[str] = set()
    for a in agents:
        owner = f"agent {a.agent_id!r}"
        if a.agent_id in ids:
            raise ConfigError(owner, "agent_id", "is defined twice")
        if a.number in numbers:
            # SPEC-R3: nobody works under another agent's number.
            raise ConfigError(owner, "number", f"{a.number} is already another agent's number")
        ids.add(a.agent_id)
        numbers.add(a.number)
        for qn in a.queues:
            if qn not in by_name:
                raise ConfigError(owner, "queues", f"names unknown queue {qn!r}")
