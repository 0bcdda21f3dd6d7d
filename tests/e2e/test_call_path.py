"""End to end over 127.0.0.1: PJSIP phones call the running service (issues 3, 4, 5).

Callers and agents are pjsua2 softphones, an independently written SIP stack.
"""

from __future__ import annotations

import asyncio

import pytest
from conftest import sip_port
from pjsua_phones import Phone, PjsuaLibrary, hang_up, wait_for

from acd.events import CallQueued
from hotline.app import Service
from prompts.catalogue import PromptCatalogue
from prompts.texts import Language

pytestmark = pytest.mark.interop

CATALOGUE = PromptCatalogue()
P1_SECONDS = CATALOGUE.get("p1", Language.ZH).samples.size / 8000


def hotline_uri(service: Service) -> str:
    return f"sip:1000@127.0.0.1:{sip_port(service)}"


def queued_calls(service: Service) -> list[CallQueued]:
    seen: list[CallQueued] = []
    service.notifier.subscribe(CallQueued, seen.append)
    return seen


@pytest.mark.parametrize("info", [False, True], ids=["rfc4733", "sip-info"])
async def test_digits_walk_the_menu_to_the_chosen_queue(
    service: Service, pjsua: PjsuaLibrary, info: bool
) -> None:
    queued = queued_calls(service)
    caller = Phone(pjsua, "13800000002")
    call = caller.call(hotline_uri(service))
    await wait_for(lambda: call.confirmed, what="200 OK and ACK")
    await asyncio.sleep(P1_SECONDS + 0.3)  # P1 is not interruptible; the menus are
    call.send_digits("2", info=info)  # English
    await asyncio.sleep(0.5)
    call.send_digits("1", info=info)  # billing
    await wait_for(lambda: bool(queued), what="the call to reach the ACD")
    assert queued[0].queue == "billing"
    assert queued[0].menu_path[-1] == "1"
    assert queued[0].caller == "13800000002"
    hang_up(call)
    await wait_for(lambda: call.disconnected, what="BYE done")
