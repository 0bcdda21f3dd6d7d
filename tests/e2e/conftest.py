"""A whole Hotline service in the test's event loop, and PJSIP phones to call it."""

from __future__ import annotations

import contextlib
import random
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pjsua_phones import PjsuaLibrary

from hotline.app import Service, build_service
from hotline.config import HotlineConfig, load_config
from hotline.ivr_session import MenuPromptStarted

# Call-ID → the prompt groups the menu started playing to that caller, in order.
PROMPTS_STARTED: dict[str, list[tuple[str, ...]]] = {}


# Below Linux's ephemeral range (32768+), where other programs' sockets come and go.
_RTP_FIRST = random.randrange(20000, 30000, 2)
_RTP_SPAN = 400
_rtp_ranges_used = 0


def _next_rtp_range() -> int:
    global _rtp_ranges_used
    low = 20000 + (_RTP_FIRST - 20000 + _rtp_ranges_used * _RTP_SPAN) % 12000
    _rtp_ranges_used += 1
    return low


@pytest.fixture(scope="session")
def pjsua() -> Iterator[PjsuaLibrary]:
    library = PjsuaLibrary()
    yield library
    library.close()


def service_config(tmp_path: Path, **overrides: object) -> HotlineConfig:
    # Each service of the session gets RTP ports no earlier test used, so a stray stream
    # from an earlier call can never be latched as a new caller's; the random start keeps
    # parallel runs on one machine apart.
    low = _next_rtp_range()
    values: dict[str, object] = {
        "sip.port": 0,
        "sip.transports": ["udp"],
        "web.port": 0,
        "database.url": f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}",
        "media.rtp_port_min": low,
        "media.rtp_port_max": low + _RTP_SPAN - 2,
        "recordings.root": str(tmp_path / "recordings"),
    }
    values.update(overrides)
    return load_config(overrides=values)


@pytest.fixture(autouse=True)
def _shutdown_phones(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "pjsua" in request.fixturenames:
        request.getfixturevalue("pjsua").shutdown_phones()


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    async with running_service(service_config(tmp_path)) as running:
        yield running


@contextlib.asynccontextmanager
async def running_service(config: HotlineConfig) -> AsyncIterator[Service]:
    """The service, plus each call's menu prompts as they start (tests wait on menu steps)."""
    async with build_service(config, announce=lambda line: None) as running:

        def remember(event: MenuPromptStarted) -> None:
            PROMPTS_STARTED.setdefault(event.call_id, []).append(event.prompt_ids)

        running.notifier.subscribe(MenuPromptStarted, remember)
        yield running


def sip_port(service: Service) -> int:
    return service.telephony.ua.endpoint.local_address("udp").port
