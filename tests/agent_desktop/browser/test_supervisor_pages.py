"""Complaints, the wallboard and recordings in chromium against the running service (issue 7).

- a complaint registered on the desktop gets its due date in working days (SPEC-C2) and its
  complainant is masked for a supervisor who is not a complaint handler (SPEC-R4);
- the wallboard follows ACD events pushed over the WebSocket: agent states, callers waiting,
  the 10-second alert, abandoned calls and the callback action;
- a team lead cannot open another team's recording (SPEC-R2), and the refusal is audited.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import wave
from pathlib import Path
from typing import Any

import pytest
from conftest import log_in, new_page, screenshot, sip_port
from pjsua_phones import Phone, PhoneCall, PjsuaLibrary, hang_up, wait_for
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from acd.states import NotReadyReason
from agent_desktop.settings import load_desktop_settings
from hotline.accounts.models import AuditRecord
from hotline.accounts.permissions import Role
from hotline.app import Service
from prompts.catalogue import PromptCatalogue
from prompts.texts import Language
from recordings.models import QaScore, QaWorkItem, Recording

pytestmark = [pytest.mark.browser, pytest.mark.interop]

P1_SECONDS = PromptCatalogue().get("p1", Language.ZH).samples.size / 8000
WAIT = 10_000
CST = dt.timezone(dt.timedelta(hours=8))
BOSS_INITIAL = "Tidal-Orchard-Spire-9"
LEAD_INITIAL = "Amber-Falcon-Meadow-7"
NIGHT_INITIAL = "Velvet-Glacier-Orbit-25"
QA_INITIAL = "Saffron-Pebble-Canopy-63"


def base(service: Service) -> str:
    return f"http://127.0.0.1:{service.web_port}"


async def add_account(
    service: Service, username: str, role: Role, initial: str, teams: tuple[str, ...]
) -> None:
    await service.accounts.create_account(
        None, username=username, role=role, initial_password=initial, teams=teams
    )


def third_working_day_end(registered_at: float) -> str:
    """SPEC-C2 restated: skip the registration day, count Mon–Fri that are not holidays plus
    make-up working days; due at the end (24:00) of the third."""
    settings = load_desktop_settings()
    day = dt.datetime.fromtimestamp(registered_at, CST).date()
    counted = 0
    while counted < 3:
        day += dt.timedelta(days=1)
        if day in settings.makeup_workdays or (day.weekday() < 5 and day not in settings.holidays):
            counted += 1
    return f"{day.isoformat()} 24:00"


async def register_complaint(page: Page, kind: str, klass: str, number: str, text: str) -> None:
    await page.locator("#btn-complaint").click()
    await page.locator("#c-kind").select_option(kind)
    await page.locator("#c-class").select_option(klass)
    await page.locator("#c-number").fill(number)
    await page.locator("#c-desc").fill(text)
    await page.locator("#c-submit").click()
    await expect(page.locator("#toast")).to_contain_text("已登记", timeout=WAIT)


async def test_a_complaint_gets_its_due_date_and_the_complainant_is_masked(
    service: Service, browser: Browser
) -> None:
    page = await new_page(browser, base(service))
    await log_in(page, "1001", service.initial_passwords["1001"])
    await expect(page.locator("#desk")).to_be_visible(timeout=WAIT)
    await register_complaint(page, "complaint", "important", "13800000031", "宽带多次断线,要求赔偿")
    await register_complaint(page, "fault", "major", "13800000032", "整栋楼无信号")
    await page.goto("/complaints")
    rows = page.get_by_test_id("complaints").locator("tr")
    await expect(rows).to_have_count(2, timeout=WAIT)
    listed = await page.evaluate("fetch('/api/complaints').then(r => r.json())")
    by_kind: dict[str, Any] = {c["kind"]: c for c in listed}
    complaint, fault = by_kind["complaint"], by_kind["fault"]
    assert complaint["owner"] == fault["owner"] == "1001"  # 首问负责制 (SPEC-C1)
    # A fault is due in calendar hours: 72 h for a major one.
    assert fault["due_at"] == pytest.approx(fault["registered_at"] + 72 * 3600)
    await rows.filter(has_text="投诉").first.click()
    await expect(page.get_by_test_id("due")).to_have_text(
        third_working_day_end(complaint["registered_at"])
    )
    await screenshot(page, "05-complaints-owner")
    # SPEC-C3: the callback, then the result, are logged on the work order.
    await page.locator("#c-note").fill("已回电说明排查进度")
    await page.get_by_role("button", name="回访已联系上").click()
    await expect(page.get_by_test_id("complaint-detail")).to_contain_text("已答复", timeout=WAIT)
    await page.locator("#c-note").fill("已减免当月宽带费,客户满意")
    await page.get_by_role("button", name="结案").click()
    await expect(page.get_by_test_id("complaint-detail")).to_contain_text("已结案", timeout=WAIT)
    await expect(page.get_by_test_id("complaint-detail")).to_contain_text("已减免当月宽带费")

    # A supervisor who is not a complaint handler sees the work orders, not who complained.
    await add_account(service, "boss", Role.SUPERVISOR, BOSS_INITIAL, ("default",))
    boss = await new_page(browser, base(service))
    await log_in(boss, "boss", BOSS_INITIAL)
    await boss.wait_for_url("**/wallboard")
    await boss.goto("/complaints")
    await boss.locator("#open-only").uncheck()  # the closed one too
    boss_rows = boss.get_by_test_id("complaints").locator("tr")
    await expect(boss_rows).to_have_count(2, timeout=WAIT)
    for index in range(2):
        await expect(boss_rows.nth(index).locator("td").nth(3)).to_have_text("***")
    assert "13800000031" not in await boss.content()


async def caller_into_queue(service: Service, pjsua: PjsuaLibrary, user: str) -> PhoneCall:
    caller = Phone(pjsua, user)
    call = caller.call(f"sip:1000@127.0.0.1:{sip_port(service)}")
    await wait_for(lambda: call.confirmed, what="the hotline to answer")
    await asyncio.sleep(P1_SECONDS + 1.0)
    call.send_digits("1")
    await asyncio.sleep(0.5)
    call.send_digits("0")
    return call


class Watch:
    """WebSocket frames and wallboard fetches the page made, with their times."""

    def __init__(self, page: Page) -> None:
        self.frames: list[tuple[float, str]] = []
        self.fetches: list[float] = []
        page.on(
            "websocket",
            lambda ws: ws.on(
                "framereceived", lambda p: self.frames.append((time.monotonic(), str(p)))
            ),
        )
        page.on(
            "request",
            lambda r: (
                self.fetches.append(time.monotonic()) if r.url.endswith("/api/wallboard") else None
            ),
        )

    def mark(self) -> float:
        return time.monotonic()

    def driven_by_socket(self, since: float, event_type: str) -> None:
        """After ``since`` the page got ``event_type`` over the socket and then fetched."""
        frames = [at for at, text in self.frames if at >= since and f'"{event_type}"' in text]
        assert frames, f"no {event_type} frame arrived"
        assert any(at >= frames[0] for at in self.fetches), "the board did not refresh"


async def test_the_wallboard_follows_events_over_the_websocket(
    service: Service, pjsua: PjsuaLibrary, browser: Browser
) -> None:
    await add_account(service, "boss", Role.SUPERVISOR, BOSS_INITIAL, ("default",))
    page = await new_page(browser, base(service))
    watch = Watch(page)
    await log_in(page, "boss", BOSS_INITIAL)
    await page.wait_for_url("**/wallboard")
    agent_state = page.get_by_test_id("agents").locator("tr[data-agent='1001'] [data-field=state]")
    await expect(agent_state).to_have_text("未签入", timeout=WAIT)
    engine = service.acd.engine

    since = watch.mark()
    service.acd.command(lambda now: engine.agent_login("1001", now, ready=True))
    await expect(agent_state).to_have_text("示闲", timeout=WAIT)
    watch.driven_by_socket(since, "AgentStateChanged")

    since = watch.mark()
    service.acd.command(lambda now: engine.agent_not_ready("1001", NotReadyReason.LUNCH, now))
    await expect(agent_state).to_have_text("示忙 · 用餐", timeout=WAIT)
    watch.driven_by_socket(since, "AgentStateChanged")

    since = watch.mark()
    call = await caller_into_queue(service, pjsua, "13800000041")
    waiting = page.get_by_test_id("queues").locator("tr[data-queue=general] [data-field=waiting]")
    await expect(waiting).to_have_text("1", timeout=WAIT)
    watch.driven_by_socket(since, "CallQueued")
    # Nobody answers: after 10 s (SPEC-Q1) the board raises the alert.
    await expect(page.get_by_test_id("alerts")).to_contain_text("general", timeout=20_000)
    await screenshot(page, "06-wallboard-waiting-alert")

    since = watch.mark()
    hang_up(call)
    abandoned = page.get_by_test_id("abandoned").locator("tr")
    await expect(abandoned).to_have_count(1, timeout=WAIT)
    await expect(abandoned.first).to_contain_text("13800000041")
    await expect(waiting).to_have_text("0")
    watch.driven_by_socket(since, "CallAbandoned")
    await expect(page.get_by_test_id("sl-today")).to_contain_text("—")  # nothing answered

    since = watch.mark()
    await abandoned.first.get_by_role("button").click()
    await expect(abandoned.first).to_contain_text("已安排", timeout=WAIT)
    watch.driven_by_socket(since, "CallbackTaskChanged")
    tasks = await page.evaluate("fetch('/api/callbacks').then(r => r.json())")
    assert [(t["number"], t["queue"], t["status"]) for t in tasks] == [
        ("13800000041", "general", "open")
    ]
    await screenshot(page, "07-wallboard-abandoned-callback")

    # The agent's desktop lists the callback; the agent dials it and logs the outcome.
    agent = await new_page(browser, base(service))
    await log_in(agent, "1001", service.initial_passwords["1001"])
    await expect(agent.locator("#cb-count")).to_have_text("1", timeout=WAIT)
    await expect(agent.locator("#callbacks")).to_contain_text("13800000041")
    await agent.locator("#callbacks select").select_option("reached")
    await agent.locator("#callbacks button").click()
    await expect(agent.locator("#cb-count")).to_have_text("0", timeout=WAIT)
    assert await page.evaluate("fetch('/api/callbacks').then(r => r.json())") == []


def write_wav(path: Path, seconds: float = 1.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = int(8000 * seconds)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(4 * frames))


async def test_a_team_lead_cannot_open_another_teams_recording(
    service: Service, browser: Browser, tmp_path: Path
) -> None:
    now = time.time()
    async with service.database.sessions() as session, session.begin():
        for call_id, agent, team in (("rec-a", "1001", "team-a"), ("rec-b", "1002", "team-b")):
            path = tmp_path / "recordings" / f"{call_id}.wav"
            write_wav(path)
            session.add(
                Recording(
                    call_id=call_id,
                    queue="general",
                    agent_number=agent,
                    team=team,
                    caller_number="13800000051",
                    is_complaint=False,
                    includes_ivr=False,
                    started_at=now - 60,
                    ended_at=now - 59,
                    path=str(path),
                    format="wav",
                    state="complete",
                    sha256=None,
                    samples=8000,
                    sample_rate=8000,
                    markers=[],
                )
            )
    await add_account(service, "lead-a", Role.TEAM_LEAD, LEAD_INITIAL, ("team-a",))
    page = await new_page(browser, base(service))
    await log_in(page, "lead-a", LEAD_INITIAL)
    await page.wait_for_url("**/wallboard")
    await page.goto("/recordings")
    rows = page.get_by_test_id("recordings").locator("tr")
    await expect(rows).to_have_count(1, timeout=WAIT)
    await expect(rows.first).to_contain_text("rec-a")

    await page.locator("#r-call").fill("rec-b")
    await page.locator("#r-reason").fill("coaching review")
    await page.locator("#listen-form button[type=submit]").click()
    await expect(page.get_by_test_id("recording-error")).to_contain_text("403", timeout=WAIT)
    await screenshot(page, "08-recordings-refused")

    await page.locator("#r-call").fill("rec-a")
    await page.locator("#listen-form button[type=submit]").click()
    await page.wait_for_function("document.getElementById('player').duration > 0.9", timeout=WAIT)
    await expect(page.get_by_test_id("recording-error")).to_have_text("")

    async with service.database.sessions() as session:
        audit = (
            await session.scalars(
                select(AuditRecord).where(
                    AuditRecord.actor == "lead-a", AuditRecord.action == "recording.listen"
                )
            )
        ).all()
    outcomes = {(a.target, a.outcome) for a in audit}
    assert ("recording:rec-b", "denied") in outcomes
    assert ("recording:rec-a", "allowed") in outcomes


async def test_shift_handover_is_acknowledged_by_the_next_shift(
    service: Service, browser: Browser
) -> None:
    await add_account(service, "boss", Role.SUPERVISOR, BOSS_INITIAL, ("default",))
    await add_account(service, "night", Role.SUPERVISOR, NIGHT_INITIAL, ("default",))
    day = await new_page(browser, base(service))
    await log_in(day, "boss", BOSS_INITIAL)
    await day.wait_for_url("**/wallboard")
    await day.goto("/handover")
    await day.locator("#h-shift").fill("白班 08:00–16:00")
    await day.locator("#h-body").fill("下午宽带故障已恢复,话务量回落。")
    await day.locator("#h-items").fill("回拨 13800000041\n跟进投诉 TS20261128-00001\n")
    await day.locator("#handover-form button[type=submit]").click()
    note = day.get_by_test_id("handover-notes").locator(".note").first
    await expect(note).to_contain_text("回拨 13800000041", timeout=WAIT)
    await expect(note.get_by_role("button")).to_have_count(0)  # nobody signs their own

    night = await new_page(browser, base(service))
    await log_in(night, "night", NIGHT_INITIAL)
    await night.wait_for_url("**/wallboard")
    await night.goto("/handover")
    pending = night.get_by_test_id("handover-notes").locator(".note.pending")
    await expect(pending).to_have_count(1, timeout=WAIT)
    await screenshot(night, "09-handover-pending")
    await pending.get_by_role("button").click()
    await expect(night.get_by_test_id("acked")).to_contain_text("night", timeout=WAIT)
    # The author's page follows over the WebSocket.
    await expect(day.get_by_test_id("acked")).to_contain_text("night", timeout=WAIT)
    notes = await night.evaluate("fetch('/api/handover').then(r => r.json())")
    assert [(n["author"], n["acknowledged_by"], len(n["open_items"])) for n in notes] == [
        ("boss", "night", 2)
    ]


async def test_the_desktop_speaks_english_too(service: Service, browser: Browser) -> None:
    page = await new_page(browser, base(service))
    await log_in(page, "1001", service.initial_passwords["1001"])
    await expect(page.locator("#desk")).to_be_visible(timeout=WAIT)
    await page.locator("#lang").select_option("en")
    await expect(page.locator("#btn-ready")).to_have_text("Ready")
    await expect(page.locator("#script li[data-phrase=P10]")).to_contain_text(
        "Agent 1001 is glad to serve you"
    )
    await expect(page.locator("button.phrase[data-phrase=P8]")).to_contain_text("Wrong number")
    await page.locator("#nr-reason").select_option("lunch")
    await page.locator("#btn-not-ready").click()
    await expect(page.get_by_test_id("agent-state")).to_have_text("Not ready · Lunch", timeout=WAIT)
    assert service.acd.engine.agent_status("1001").reason == "lunch"
    await screenshot(page, "10-desktop-english")


def write_tone(path: Path, seconds: float = 4.0) -> None:
    """Caller speaks a 440 Hz tone for the first half, the agent the second half."""
    import math

    path.parent.mkdir(parents=True, exist_ok=True)
    samples = bytearray()
    total = int(8000 * seconds)
    for n in range(total):
        value = int(12000 * math.sin(2 * math.pi * 440 * n / 8000))
        left, right = (value, 0) if n < total // 2 else (0, value)
        samples += left.to_bytes(2, "little", signed=True) + right.to_bytes(
            2, "little", signed=True
        )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(samples))


async def test_qa_reviews_a_call_with_waveform_seeking_notes_and_scorecard(
    service: Service, browser: Browser, tmp_path: Path
) -> None:
    now = time.time()
    path = tmp_path / "recordings" / "qa-1.wav"
    write_tone(path)
    async with service.database.sessions() as session, session.begin():
        session.add(
            Recording(
                call_id="qa-1",
                queue="general",
                agent_number="1001",
                team="default",
                caller_number="13800000091",
                is_complaint=False,
                includes_ivr=False,
                started_at=now - 60,
                ended_at=now - 56,
                path=str(path),
                format="wav",
                state="complete",
                sha256=None,
                samples=32000,
                sample_rate=8000,
                markers=[],
            )
        )
        session.add(
            QaWorkItem(
                call_id="qa-1",
                agent_number="1001",
                team="default",
                queue="general",
                reasons=["answered_late"],
                created_at=now,
                status="open",
            )
        )
    await add_account(service, "qa-lin", Role.QA, QA_INITIAL, ("default",))
    page = await new_page(browser, base(service))
    await log_in(page, "qa-lin", QA_INITIAL)
    await page.wait_for_url("**/qa")
    work = page.get_by_test_id("qa-work").locator("tr")
    await expect(work).to_have_count(1, timeout=WAIT)
    await expect(work.first).to_contain_text("超时接听")
    await work.first.click()
    await page.wait_for_function(
        "Number(document.getElementById('wave').dataset.duration) > 3.9", timeout=WAIT
    )
    # Clicking the waveform three quarters along seeks the player there.
    box = await page.get_by_test_id("waveform").bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    position = await page.evaluate("document.getElementById('player').currentTime")
    assert position == pytest.approx(3.0, abs=0.1)
    await page.locator("#note-text").fill("坐席未致歉 P4")
    await page.locator("#add-note").click()
    await expect(page.get_by_test_id("qa-notes")).to_contain_text("00:03")
    for criterion in await page.locator(".criterion").all():
        await criterion.locator("input[value=met]").check()
    await page.locator("#comments").fill("整体良好")
    await screenshot(page, "12-qa-review")
    await page.locator("#score-form button[type=submit]").click()
    await expect(page.get_by_test_id("qa-result")).to_contain_text("100.0", timeout=WAIT)
    await expect(work).to_have_count(0)  # done: off the work list
    async with service.database.sessions() as session:
        [score] = (await session.scalars(select(QaScore))).all()
    assert (score.call_id, score.reviewer, score.total) == ("qa-1", "qa-lin", 100.0)
    assert [(n["offset_s"], n["text"]) for n in score.notes] == [(3.0, "坐席未致歉 P4")]
