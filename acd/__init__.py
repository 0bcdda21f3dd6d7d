"""Automatic call distribution: queues, agents, routing, call records and SPEC-Q2 metrics.

Pure, sans-IO logic on an injected clock (``now`` arguments): the SIP/IVR glue and the
simulator drive the same ``AcdEngine`` (issue 5, issue 8).
"""

from acd.config import AgentConfig, ConfigError, QueueConfig, SkillLevel, Strategy
from acd.engine import AcdEngine, AgentStatus, QueueStatus
from acd.events import CallbackOutcome, OfferOutcome, Party
from acd.states import AcdError, AgentState, CallState, NotReadyReason

__all__ = [
    "AcdEngine",
    "AcdError",
    "AgentConfig",
    "AgentState",
    "AgentStatus",
    "CallState",
    "CallbackOutcome",
    "ConfigError",
    "NotReadyReason",
    "OfferOutcome",
    "Party",
    "QueueConfig",
    "QueueStatus",
    "SkillLevel",
    "Strategy",
]
