"""Queue and agent config: defaults from SPEC-Q1 and clear errors naming object and field."""

from __future__ import annotations

import pytest

from acd.config import AgentConfig, ConfigError, QueueConfig, SkillLevel, Strategy, check_acd_config


def test_defaults_follow_spec_q1_and_issue_5() -> None:
    q = QueueConfig("general")
    assert (q.strategy, q.service_level_seconds, q.ring_timeout) == (Strategy.LONGEST_IDLE,
                                                                     10.0, 15.0)
    assert q.play_agent_number and q.play_late_apology


def test_strategy_and_levels_accept_the_config_file_spelling() -> None:
    assert QueueConfig("q", strategy="ring_all").strategy is Strategy.RING_ALL  # type: ignore[arg-type]
    agent = AgentConfig("a", "1024", skills={"billing": "senior"})  # type: ignore[dict-item]
    assert agent.level("billing") is SkillLevel.SENIOR
    assert agent.top_level is SkillLevel.SENIOR


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"strategy": "fastest"}, "strategy"),
    ({"ring_timeout": 0}, "ring_timeout"),
    ({"wrapup_seconds": -1}, "wrapup_seconds"),
    ({"max_wait": 60}, "overflow_target"),
    ({"max_wait": 60, "overflow_target": "q"}, "overflow_target"),
    ({"service_level_seconds": float("nan")}, "service_level_seconds"),
    ({"max_consecutive_misses": 0}, "max_consecutive_misses"),
])
def test_bad_queue_values_name_the_queue_and_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        QueueConfig("q", **kwargs)  # type: ignore[arg-type]
    assert err.value.field_name == field
    assert str(err.value).startswith("queue 'q': field")


def test_bad_agents_are_refused() -> None:
    with pytest.raises(ConfigError, match="digits only"):
        AgentConfig("a", "10x4")
    with pytest.raises(ConfigError, match="junior or senior"):
        AgentConfig("a", "1", skills={"x": "guru"})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="unknown queue 'nope'"):
        check_acd_config((QueueConfig("q"),), (AgentConfig("a", "1", queues=("nope",)),))
    with pytest.raises(ConfigError, match="another agent's number"):  # SPEC-R3
        check_acd_config((), (AgentConfig("a", "1"), AgentConfig("b", "1")))
    with pytest.raises(ConfigError, match="defined twice"):
        check_acd_config((QueueConfig("q"), QueueConfig("q")), ())
