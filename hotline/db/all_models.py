"""Imports every module that declares tables, so ``Base.metadata`` is complete.

Alembic's env.py and the schema test import this module; a new models module is added here
in the same commit that adds its migration.
"""

from __future__ import annotations

from agent_desktop import models as desktop_models
from hotline.accounts import models as account_models
from hotline.db import models as call_models
from hotline.db.base import Base
from recordings import models as recording_models

metadata = Base.metadata

__all__ = [
    "Base",
    "account_models",
    "call_models",
    "desktop_models",
    "metadata",
    "recording_models",
]
