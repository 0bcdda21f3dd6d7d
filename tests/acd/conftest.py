"""Fixtures of the ACD tests (the harness itself is in acd_harness.py)."""

from __future__ import annotations

import pytest
from acd_harness import Harness, agents_in, make_harness

from acd.config import QueueConfig


@pytest.fixture
def general() -> Harness:
    """One queue "general" (longest idle, 15 s ring, 30 s wrap-up) with agents a1..a3."""
    return make_harness([QueueConfig("general")], agents_in("general", 3))
