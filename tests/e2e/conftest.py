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


@pytest.fixture(scope="session")
def pjsua() -> Iterator[PjsuaLibrary]:
    library = PjsuaLibrary()
    yield library
    library.close()


def service_config(tmp_path: Path, **overrides: object) -> HotlineConfig:
    # A random RTP range so parallel runs on one machine do not fight over ports.
    low = random.randrange(30000, 58000, 2)
    values: dict[str, object] = {
        "sip.port": 0,
        "sip.transports": ["udp"],
        "web.port": 0,
        "database.url": f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}",
        "media.rtp_port_min": low,
        "media.rtp_port_max": low + 400,
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
