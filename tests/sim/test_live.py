"""`hotline sim --live` against a whole Hotline service in the test's event loop (issue 8).

Callers and agents use Hotline's own SIP/RTP stack over 127.0.0.1; the service is the real
composition root (hotline.app.build_service) with its database, ACD, IVR and web API.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hotline.acd_service import engine_config
from hotline.app import Service, build_service
from hotline.config import load_config
from sim.live import AGREEMENT_SECONDS, AgentLogin, LiveConfig, report_json, run_live
from sim.live_parties import CallerOutcome
from sim.model import Exponential, Fixed


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    low = random.randrange(30000, 50000, 2)
    config = load_config(
        overrides={
            "sip.port": 0,
            "sip.transports": ["udp"],
            "web.port": 0,
            "database.url": f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}",
            "media.rtp_port_min": low,
            "media.rtp_port_max": low + 200,
            "recordings.root": str(tmp_path / "recordings"),
        }
    )
    async with build_service(config, announce=lambda line: None) as running:
        yield running


def live_config(service: Service, **changes: object) -> LiveConfig:
    sip = service.telephony.ua.endpoint.local_address("udp")
    low = random.randrange(50000, 60000, 2)
    queues, _ = engine_config(service.config.acd)
    values: dict[str, object] = {
        "sip_host": "127.0.0.1",
        "sip_port": sip.port,
        "web_url": f"http://127.0.0.1:{service.web_port}",
        "agents": tuple(
            AgentLogin(n, service.initial_passwords[n]) for n in ("1001", "1002")
        ),
        "supervisor": AgentLogin("admin", service.initial_passwords["admin"]),
        "queues": tuple(queues),
        "calls": 6,
        "rate_per_hour": 3600.0 / 1.5,  # one call every 1.5 s on average
        "duration": 30.0,
        "talk": Exponential(2.0),
        "patience": None,
        "ring_delay": Fixed(0.5),
        "wrapup_time": Fixed(0.2),
        "rtp_ports": (low, low + 100),
        "seed": 7,
    }
    values.update(changes)
    return LiveConfig(**values)  # type: ignore[arg-type]


async def test_a_bounded_live_run_completes_and_both_sides_agree(service: Service) -> None:
    report = await run_live(live_config(service))
    doc = report_json(report)
    print(doc)
    assert [c.outcome for c in report.callers] == [CallerOutcome.ANSWERED] * 6
    assert len(report.records) == 6
    assert report.service.answered == report.measured.answered == 6
    assert report.agree, doc
    assert abs(report.measured.asa - report.service.asa) <= AGREEMENT_SECONDS
