"""The agent / queue / skill directory follows the ACD config, and reports use each queue's
configured thresholds."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from acd.config import AgentConfig, QueueConfig, SkillLevel
from hotline.db.directory import (
    DirectoryError,
    QueueThresholds,
    load_queue_thresholds,
    sync_directory,
)
from hotline.db.engine import Database
from hotline.db.models import AgentRow, AgentSkillRow, QueueSkillRow, SkillRow

QUEUES = [
    QueueConfig("general", skills=("billing", "network")),
    QueueConfig("vip", service_level_seconds=5.0, short_abandon_seconds=2.0),
]


async def directory(database: Database) -> dict[str, tuple[str, str, bool, dict[str, int]]]:
    async with database.sessions() as session:
        skills = {row.id: row.name for row in await session.scalars(select(SkillRow))}
        links = list(await session.scalars(select(AgentSkillRow)))
        return {
            row.agent_id: (
                row.number,
                row.name,
                row.active,
                {skills[link.skill_id]: link.level for link in links if link.agent_id == row.id},
            )
            for row in await session.scalars(select(AgentRow))
        }


async def test_sync_follows_the_config_and_keeps_former_agents(database: Database) -> None:
    first = [
        AgentConfig("a1", "1001", "王芳", skills={"billing": SkillLevel.SENIOR}),
        AgentConfig("a2", "1002", "李伟", skills={"network": SkillLevel.JUNIOR}),
    ]
    await sync_directory(database, QUEUES, first)
    assert await directory(database) == {
        "a1": ("1001", "王芳", True, {"billing": 2}),
        "a2": ("1002", "李伟", True, {"network": 1}),
    }

    # a2 leaves, a1 is promoted in network too, a3 joins.
    second = [
        AgentConfig(
            "a1",
            "1001",
            "王芳",
            skills={"billing": SkillLevel.SENIOR, "network": SkillLevel.SENIOR},
        ),
        AgentConfig("a3", "1003", "张敏"),
    ]
    await sync_directory(database, QUEUES, second)
    assert await directory(database) == {
        "a1": ("1001", "王芳", True, {"billing": 2, "network": 2}),
        "a2": ("1002", "李伟", False, {"network": 1}),
        "a3": ("1003", "张敏", True, {}),
    }
    async with database.sessions() as session:
        queue_skills = {
            (r.queue_name, r.skill_id) for r in await session.scalars(select(QueueSkillRow))
        }
    assert len(queue_skills) == 2


async def test_a_former_agents_number_is_not_given_to_someone_else(database: Database) -> None:
    await sync_directory(database, QUEUES, [AgentConfig("a2", "1002", "李伟")])
    with pytest.raises(DirectoryError, match="number 1002 was agent 'a2'"):
        await sync_directory(database, QUEUES, [AgentConfig("a9", "1002", "赵磊")])


async def test_queue_thresholds_are_kept_for_reports(database: Database) -> None:
    await sync_directory(database, QUEUES, [])
    assert await load_queue_thresholds(database) == {
        "general": QueueThresholds(10.0, 5.0),
        "vip": QueueThresholds(5.0, 2.0),
    }
