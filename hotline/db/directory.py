"""The agent, queue and skill directory in the database, kept in step with the ACD config.

The configuration is the source of truth; the tables exist so that reports, QA and the agent
desktop can name and join what the event log refers to by id, and so a report uses each
queue's own service-level thresholds. Nothing is deleted: an agent who left the config is
marked inactive, because their calls stay in the history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select

from acd.config import AgentConfig, QueueConfig
from hotline.db.engine import Database
from hotline.db.models import AgentRow, AgentSkillRow, QueueRow, QueueSkillRow, SkillRow


class DirectoryError(ValueError):
    """The configuration contradicts what the directory must keep (say, a reused number)."""


@dataclass(frozen=True, slots=True)
class QueueThresholds:
    """A queue's SPEC-Q1 service-level and SPEC-Q2 short-abandon seconds, as configured."""

    service_level_seconds: float
    short_abandon_seconds: float | None


async def sync_directory(
    database: Database, queues: Iterable[QueueConfig], agents: Iterable[AgentConfig]
) -> None:
    """Make the directory tables say what ``queues`` and ``agents`` say, in one transaction."""
    queues, agents = list(queues), list(agents)
    async with database.sessions() as session, session.begin():
        skill_names = {s for q in queues for s in q.skills} | {s for a in agents for s in a.skills}
        skills = {row.name: row for row in await session.scalars(select(SkillRow))}
        for name in sorted(skill_names - set(skills)):
            skills[name] = SkillRow(name=name)
            session.add(skills[name])

        known_queues = {row.name: row for row in await session.scalars(select(QueueRow))}
        for queue in queues:
            queue_row = known_queues.get(queue.name) or QueueRow(name=queue.name)
            queue_row.strategy = queue.strategy.value
            queue_row.service_level_seconds = queue.service_level_seconds
            queue_row.short_abandon_seconds = queue.short_abandon_seconds
            session.add(queue_row)

        known_agents = {row.agent_id: row for row in await session.scalars(select(AgentRow))}
        configured = {agent.agent_id for agent in agents}
        for agent_id, agent_row in known_agents.items():
            if agent_id not in configured:
                agent_row.active = False
        former = {row.number: row.agent_id for row in known_agents.values()}
        for agent in agents:
            owner = former.get(agent.number)
            if owner is not None and owner != agent.agent_id:
                # SPEC-R3: nobody works under another agent's number, not even a former one,
                # or the history would credit one agent's calls to the other.
                raise DirectoryError(
                    f"agent {agent.agent_id!r}: number {agent.number} was agent {owner!r}'s"
                )
        for agent in agents:
            agent_row = known_agents.get(agent.agent_id) or AgentRow(agent_id=agent.agent_id)
            agent_row.number = agent.number
            agent_row.name = agent.name
            agent_row.team = agent.team
            agent_row.active = True
            session.add(agent_row)
            known_agents[agent.agent_id] = agent_row
        await session.flush()  # ids for the link tables below

        configured_queues = [q.name for q in queues]
        await session.execute(
            delete(QueueSkillRow).where(QueueSkillRow.queue_name.in_(configured_queues))
        )
        for queue in queues:
            for skill in queue.skills:
                session.add(QueueSkillRow(queue_name=queue.name, skill_id=skills[skill].id))
        agent_ids = [known_agents[a.agent_id].id for a in agents]
        await session.execute(delete(AgentSkillRow).where(AgentSkillRow.agent_id.in_(agent_ids)))
        for agent in agents:
            for skill, level in agent.skills.items():
                session.add(
                    AgentSkillRow(
                        agent_id=known_agents[agent.agent_id].id,
                        skill_id=skills[skill].id,
                        level=int(level),
                    )
                )


async def load_queue_thresholds(database: Database) -> dict[str, QueueThresholds]:
    """Each known queue's thresholds, for reports made without the service's config."""
    async with database.sessions() as session:
        rows = await session.scalars(select(QueueRow))
        return {
            row.name: QueueThresholds(row.service_level_seconds, row.short_abandon_seconds)
            for row in rows
        }
