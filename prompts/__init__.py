"""The prompt catalogue: scripted phrases (SPEC-P1 … P12) and system prompts as 8 kHz audio."""

from prompts.catalogue import (
    Prompt,
    PromptCatalogue,
    PromptFileError,
    PromptNotFound,
    agent_greeting,
)
from prompts.texts import Language, PromptSettings, Setting, Source

__all__ = [
    "Language",
    "Prompt",
    "PromptCatalogue",
    "PromptFileError",
    "PromptNotFound",
    "PromptSettings",
    "Setting",
    "Source",
    "agent_greeting",
]
