"""`hotline sim --live` against a whole Hotline service in the test's event loop (issue 8).

Callers and agents use Hotline's own SIP/RTP stack over 127.0.0.1; the service is the real
composition root (hotline.app.build_service) with its database, ACD, IVR and web API.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hotline.acd_service import engine_config
from hotline.app import Service, build_service
from hotline.config import load_config
from sim.cli import sim_main
from sim.live import AgentLogin, LiveConfig, report_json, run_live
from sim.live_compare import AGREEMENT_SECONDS
from sim.live_parties import CallerOutcome
from sim.live_web import LiveError
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
        "agents": tuple(AgentLogin(n, service.initial_passwords[n]) for n in ("1001", "1002")),
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
    # 6 calls, 2 agents, talk of ~2 s: some callers wait past 10 s (late, P4), all answered.
    report = await run_live(live_config(service, database_url=service.config.database.url))
    doc = report_json(report)
    assert [c.outcome for c in report.callers] == [CallerOutcome.ANSWERED] * 6, doc
    assert not report.problems, doc
    assert len(report.records) == 6
    assert report.service.answered == report.measured.answered == 6
    # Both sides time the same interval; AGREEMENT_SECONDS (sim/live.py) derives the bound
    # from the 20 ms pacing of each side and the event loop's turn.
    assert report.agree, doc
    assert report.service.asa is not None and report.measured.asa is not None
    assert abs(report.measured.asa - report.service.asa) <= AGREEMENT_SECONDS
    # Service levels agree unless a wait lies within the tolerance of the 10 s threshold.
    if all(abs(r.wait - 10.0) > AGREEMENT_SECONDS for r in report.records):
        assert report.measured.service_level == report.service.service_level
    # Afterwards the service is idle again (GET /metrics): nobody waits, nobody is talking.
    assert report.gauges_after["hotline_queue_calls_waiting"] == 0
    # The wallboard (supervisor view) counts this run exactly as the records do.
    assert report.wallboard is not None
    assert report.wallboard["answered"] == 6
    assert report.wallboard["asa"] == pytest.approx(report.service.asa)
    # ... and so does the stored event log, as `hotline report` reads it.
    assert report.database == report.service
    # Every agent left first (SPEC-Q7), the caller stayed for the survey and its key counted.
    by_caller = {r.caller: r for r in report.records}
    for caller in report.callers:
        record = by_caller[caller.number]
        assert record.agent_hung_up_first
        assert caller.survey_key is not None and record.survey_score == int(caller.survey_key)
        assert record.call_type == "consultation"  # the wrap-up went through the web API
    # The two sides heard each other: the callers the agents' tone, the agents speech.
    assert all(c.agent_heard_at is not None for c in report.callers)
    assert all(a["heard_caller_frames"] > 0 for a in report.agents)
    assert set(report.password_changes) == {"1001", "1002", "admin"}  # forced first change


async def test_cli_run_with_impatient_callers_counts_the_same_abandons_on_both_sides(
    service: Service,
) -> None:
    # One agent talking 6 s (after P10's 4.7 s): the callers behind the first give up after
    # 2 s in the queue. The CLI runs in its own thread and event loop, as from a shell; the
    # callers take the flow's "0 agent" path, whose transfer prompt plays before the queue.
    sip = service.telephony.ua.endpoint.local_address("udp")
    low = random.randrange(50000, 60000, 2)
    argv = [
        "--live",
        "--target", f"127.0.0.1:{sip.port}",
        "--web", f"http://127.0.0.1:{service.web_port}",
        "--agents", f"1001:{service.initial_passwords['1001']}",
        "--calls", "3", "--rate", "7200", "--duration", "5", "--time-scale", "1",
        "--aht", "fixed:6", "--patience", "fixed:2",
        "--digits", "1,0",  # 中文, agent: the "general" queue, after the transfer prompt
        "--ring-delay", "fixed:0.3", "--wrapup-time", "fixed:0.2",
        "--rtp-ports", f"{low}-{low + 60}", "--seed", "3", "--json",
    ]  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(sim_main, argv, out=out, err=err)
    doc = json.loads(out.getvalue())
    assert code == 0, (err.getvalue(), doc)
    assert [c["outcome"] for c in doc["calls"]] == ["answered", "abandoned", "abandoned"]
    for side in ("service", "callers"):
        assert (doc[side]["answered"], doc[side]["abandoned"]) == (1, 2)
    assert doc["agree"] and doc["verdicts"] == {"agree": 3}
    assert doc["difference"]["per_call_max_abs"] <= doc["agreement_tolerance_seconds"]


def test_bad_live_options_are_named() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = sim_main(["--live", "--agents", "1001"], out=out, err=err)
    assert code == 2 and "--agents" in err.getvalue() and "user:password" in err.getvalue()
    err = io.StringIO()
    code = sim_main(["--live", "--agents", "1001:x", "--digits", "1,9"], out=out, err=err)
    assert code == 2 and "no option '9'" in err.getvalue()


async def test_a_wrong_agent_password_stops_the_run_before_any_call(service: Service) -> None:
    config = live_config(service, agents=(AgentLogin("1001", "not-the-password"),))
    with pytest.raises(LiveError, match="/api/session"):
        await run_live(config)
    # Nothing was left behind: the right password still logs in (one session per agent).
    report = await run_live(live_config(service, calls=1, supervisor=None))
    assert [c.outcome for c in report.callers] == [CallerOutcome.ANSWERED]


async def test_the_cli_drives_a_separate_hotline_serve_process(tmp_path: Path) -> None:
    # As an operator would: `hotline serve` in one process, `hotline sim --live` in another.
    low = random.randrange(30000, 50000, 2)
    config = tmp_path / "hotline.yaml"
    config.write_text(
        "sip:\n  port: 0\n  transports: [udp]\nweb:\n  port: 0\n"
        f"database:\n  url: sqlite+aiosqlite:///{tmp_path / 'hotline.db'}\n"
        f"media:\n  rtp_port_min: {low}\n  rtp_port_max: {low + 200}\n"
        f"recordings:\n  root: {tmp_path / 'recordings'}\n"
    )
    hotline = [sys.executable, "-m", "hotline.cli", "--config", str(config)]
    server = await asyncio.create_subprocess_exec(
        *hotline, "serve", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        passwords, sip_port, web_url = await read_service_banner(server)
        rtp = random.randrange(50000, 60000, 2)
        sim = await asyncio.create_subprocess_exec(
            *hotline, "sim", "--live",
            "--target", f"127.0.0.1:{sip_port}", "--web", web_url,
            "--agents", f"1001:{passwords['1001']},1002:{passwords['1002']}",
            "--supervisor", f"admin:{passwords['admin']}",
            "--calls", "4", "--rate", "3600", "--duration", "10", "--time-scale", "0.02",
            "--aht", "exp:100", "--patience", "none", "--ring-delay", "fixed:25",
            "--wrapup-time", "fixed:10", "--rtp-ports", f"{rtp}-{rtp + 60}", "--json",
            "--database", f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(sim.communicate(), timeout=180)
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)
    assert sim.returncode == 0, err.decode()
    doc = json.loads(out)
    assert doc["service"]["answered"] == doc["callers"]["answered"] == 4
    assert doc["wallboard_delta"]["answered"] == 4
    assert doc["database"] == doc["service"]
    assert doc["agree"]


async def read_service_banner(
    server: asyncio.subprocess.Process,
) -> tuple[dict[str, str], int, str]:
    """Initial passwords and the bound ports, from what `hotline serve` prints at start."""
    assert server.stdout is not None
    passwords: dict[str, str] = {}
    while True:
        line = (await asyncio.wait_for(server.stdout.readline(), timeout=60)).decode()
        assert line, "hotline serve ended before it was ready"
        created = re.match(r"created account '(\w+)' with initial password (\S+)", line)
        if created:
            passwords[created[1]] = created[2]
        ready = re.match(r"hotline: SIP on udp [\d.]+:(\d+), web on (http://[\d.:]+)/", line)
        if ready:
            return passwords, int(ready[1]), ready[2]
