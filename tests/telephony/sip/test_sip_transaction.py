"""Sans-IO transactions on a fake clock: every timer A-M, CANCEL, 482, 483 (issue 3)."""

from __future__ import annotations

import pytest

from telephony.sip.address import Peer, TransportKind
from telephony.sip.errors import LocalSipError
from telephony.sip.message import Headers, SipRequest, SipResponse, make_response, new_branch
from telephony.sip.parser import parse_message
from telephony.sip.timers import TimerConfig
from telephony.sip.transaction import (
    Ack2xxRetransmitter,
    FailureReason,
    InviteCancelled,
    Output,
    RequestReceived,
    ResponseReceived,
    Send,
    StrayResponse,
    TransactionFailed,
    TransactionTerminated,
    TxState,
    make_cancel,
    stamp_received,
)
from telephony.sip.txlayer import TransactionLayer
from telephony.sip.uri import SipUri

T = TimerConfig()  # the RFC defaults: T1 0.5, T2 4, T4 5
UAC = Peer(TransportKind.UDP, "192.0.2.1", 5062)
UAS = Peer(TransportKind.UDP, "192.0.2.2", 5060)


def make_request(
    method: str = "INVITE",
    *,
    branch: str | None = None,
    via_host: str = "192.0.2.1:5062",
    transport: str = "UDP",
    to_tag: str | None = None,
    max_forwards: int = 70,
    from_tag: str = "f1",
    call_id: str = "call-1",
    seq: int = 1,
) -> SipRequest:
    to = "<sip:svc@example.com>" + (f";tag={to_tag}" if to_tag else "")
    return SipRequest(
        method,
        SipUri.parse("sip:svc@192.0.2.2"),
        Headers(
            [
                ("Via", f"SIP/2.0/{transport} {via_host};branch={branch or new_branch()};rport"),
                ("Max-Forwards", str(max_forwards)),
                ("From", f"<sip:caller@example.com>;tag={from_tag}"),
                ("To", to),
                ("Call-ID", call_id),
                ("CSeq", f"{seq} {method}"),
            ]
        ),
    )


def sends(outputs: list[Output]) -> list[Send]:
    return [o for o in outputs if isinstance(o, Send)]


def statuses(outputs: list[Output]) -> list[int]:
    return [o.message.status for o in sends(outputs) if isinstance(o.message, SipResponse)]


def run_until(layer: TransactionLayer, end: float) -> list[tuple[float, Output]]:
    """Fire every deadline up to ``end``; returns (time, output) pairs."""
    seen: list[tuple[float, Output]] = []
    while (deadline := layer.next_deadline()) is not None and deadline <= end:
        seen += [(deadline, o) for o in layer.on_timeout(deadline)]
    return seen


def send_times(seen: list[tuple[float, Output]]) -> list[float]:
    return [round(t, 6) for t, o in seen if isinstance(o, Send)]


# --- INVITE client ------------------------------------------------------------------------------


def test_timer_a_doubles_without_cap_and_timer_b_times_out_at_64_t1() -> None:
    layer = TransactionLayer(T)
    key, out = layer.send_request(make_request(), UAS, 0.0)
    assert len(sends(out)) == 1
    seen = run_until(layer, 100.0)
    # RFC 3261 §17.1.1.2: retransmit at T1, then 2T1, 4T1...: 0.5, 1.5, 3.5, 7.5, 15.5, 31.5
    assert send_times(seen) == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    failures = [o for _, o in seen if isinstance(o, TransactionFailed)]
    assert failures == [TransactionFailed(key, FailureReason.TIMEOUT)]
    assert [t for t, o in seen if isinstance(o, TransactionFailed)] == [32.0]
    assert layer.state(key) is TxState.TERMINATED and len(layer) == 0


def test_reliable_transport_has_no_timer_a_but_still_timer_b() -> None:
    layer = TransactionLayer(T)
    tcp = Peer(TransportKind.TCP, "192.0.2.2", 5060)
    _key, _ = layer.send_request(make_request(transport="TCP"), tcp, 0.0)
    seen = run_until(layer, 100.0)
    assert send_times(seen) == []
    assert [t for t, o in seen if isinstance(o, TransactionFailed)] == [32.0]


def test_provisional_stops_retransmissions_and_timer_b() -> None:
    layer = TransactionLayer(T)
    request = make_request()
    key, _ = layer.send_request(request, UAS, 0.0)
    out = layer.receive(make_response(request, 180, to_tag="t"), UAS, 0.2)
    assert [type(o) for o in out] == [ResponseReceived]
    assert layer.state(key) is TxState.PROCEEDING
    assert layer.next_deadline() == pytest.approx(0.2 + T.timer_c)  # only Timer C is left


def test_timer_c_is_restarted_by_provisionals_and_ends_a_ring_that_never_stops() -> None:
    layer = TransactionLayer(T)
    request = make_request()
    key, _ = layer.send_request(request, UAS, 0.0)
    layer.receive(make_response(request, 180, to_tag="t"), UAS, 1.0)
    layer.receive(make_response(request, 183, to_tag="t"), UAS, 100.0)
    assert run_until(layer, 200.0) == []  # restarted at 100 s
    seen = run_until(layer, 1000.0)
    assert seen[0] == (100.0 + T.timer_c, TransactionFailed(key, FailureReason.TIMEOUT))
    assert len(layer) == 0


def test_non_2xx_is_acked_and_timer_d_absorbs_its_retransmissions() -> None:
    layer = TransactionLayer(T)
    request = make_request()
    key, _ = layer.send_request(request, UAS, 0.0)
    busy = make_response(request, 486, to_tag="t9")
    out = layer.receive(busy, UAS, 1.0)
    assert isinstance(out[0], ResponseReceived)
    ack = sends(out)[0].message
    assert isinstance(ack, SipRequest) and ack.method == "ACK"
    # §17.1.1.3: same branch, To with the response's tag, CSeq number with ACK
    assert ack.top_via.branch == request.top_via.branch
    assert ack.to.tag == "t9" and str(ack.cseq) == "1 ACK" and ack.uri == request.uri
    again = layer.receive(busy, UAS, 2.0)
    assert [type(o) for o in again] == [Send]  # ACK again, not reported to the TU
    seen = run_until(layer, 100.0)
    assert [(t, o) for t, o in seen] == [(33.0, TransactionTerminated(key))]  # Timer D: 32 s
    assert isinstance(layer.receive(busy, UAS, 40.0)[0], StrayResponse)


def test_timer_d_is_zero_on_reliable_transports() -> None:
    layer = TransactionLayer(T)
    tcp = Peer(TransportKind.TCP, "192.0.2.2", 5060)
    request = make_request(transport="TCP")
    key, _ = layer.send_request(request, tcp, 0.0)
    out = layer.receive(make_response(request, 603, to_tag="x"), tcp, 1.0)
    assert TransactionTerminated(key) in out


def test_2xx_enters_accepted_passes_retransmitted_2xx_and_timer_m_ends_it() -> None:
    layer = TransactionLayer(T)
    request = make_request()
    key, _ = layer.send_request(request, UAS, 0.0)
    ok = make_response(request, 200, to_tag="t")
    assert [type(o) for o in layer.receive(ok, UAS, 1.0)] == [ResponseReceived]
    assert layer.state(key) is TxState.ACCEPTED
    # RFC 6026 §7.2: retransmitted 2xx go to the TU (which repeats its ACK)
    assert [type(o) for o in layer.receive(ok, UAS, 1.5)] == [ResponseReceived]
    seen = run_until(layer, 100.0)
    assert seen == [(33.0, TransactionTerminated(key))]  # Timer M = 64*T1


# --- non-INVITE client --------------------------------------------------------------------------


def test_timer_e_doubles_up_to_t2_and_timer_f_times_out() -> None:
    layer = TransactionLayer(T)
    key, _ = layer.send_request(make_request("OPTIONS"), UAS, 0.0)
    seen = run_until(layer, 100.0)
    # §17.1.2.2: 0.5, 1, 2, 4, 4, 4 ... intervals
    times = send_times(seen)
    assert times[:6] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5]
    assert all(t < 32.0 for t in times)
    assert [t for t, o in seen if isinstance(o, TransactionFailed)] == [32.0]
    assert TransactionFailed(key, FailureReason.TIMEOUT) in [o for _, o in seen]


def test_timer_e_uses_t2_once_proceeding() -> None:
    layer = TransactionLayer(T)
    request = make_request("REGISTER")
    key, _ = layer.send_request(request, UAS, 0.0)
    layer.receive(make_response(request, 100), UAS, 0.1)
    assert layer.state(key) is TxState.PROCEEDING
    seen = run_until(layer, 10.0)
    # E keeps its first deadline (0.5), then is reset to T2 each time: 4.5, 8.5
    assert send_times(seen) == [0.5, 4.5, 8.5]


def test_final_response_stops_e_and_timer_k_absorbs_retransmissions() -> None:
    layer = TransactionLayer(T)
    request = make_request("BYE", to_tag="a")
    key, _ = layer.send_request(request, UAS, 0.0)
    ok = make_response(request, 200)
    assert [type(o) for o in layer.receive(ok, UAS, 0.7)] == [ResponseReceived]
    assert layer.receive(ok, UAS, 1.0) == []
    assert run_until(layer, 100.0) == [(5.7, TransactionTerminated(key))]  # Timer K = T4


# --- INVITE server ------------------------------------------------------------------------------


def receive_invite(
    layer: TransactionLayer, request: SipRequest | None = None, now: float = 0.0
) -> tuple[SipRequest, tuple[str, ...], list[Output]]:
    request = request or make_request()
    out = layer.receive(request, UAC, now)
    events = [o for o in out if isinstance(o, RequestReceived)]
    assert len(events) == 1 and events[0].key is not None
    return events[0].request, events[0].key, out


def test_100_trying_is_sent_at_once_and_repeated_for_retransmitted_invites() -> None:
    layer = TransactionLayer(T)
    request = make_request()
    _, _key, out = receive_invite(layer, request)
    assert statuses(out) == [100]
    assert sends(out)[0].destination == UAC  # received/rport (RFC 3581)
    assert statuses(layer.receive(request, UAC, 0.5)) == [100]


def test_retransmitted_invite_gets_the_latest_provisional() -> None:
    layer = TransactionLayer(T)
    request = make_request()
    stamped, key, _ = receive_invite(layer, request)
    layer.respond(key, make_response(stamped, 180, to_tag="u"), 0.1)
    assert statuses(layer.receive(request, UAC, 0.5)) == [180]


def test_timer_g_retransmits_final_capped_at_t2_and_timer_h_reports_missing_ack() -> None:
    layer = TransactionLayer(T)
    stamped, key, _ = receive_invite(layer)
    layer.respond(key, make_response(stamped, 486, to_tag="u"), 0.0)
    seen = run_until(layer, 100.0)
    assert send_times(seen) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    failed = [(t, o) for t, o in seen if isinstance(o, TransactionFailed)]
    assert failed == [(32.0, TransactionFailed(key, FailureReason.NO_ACK))]


def test_ack_stops_timer_g_and_timer_i_absorbs_ack_retransmissions() -> None:
    layer = TransactionLayer(T)
    request = make_request()
    stamped, key, _ = receive_invite(layer, request)
    busy = make_response(stamped, 486, to_tag="u")
    layer.respond(key, busy, 0.0)
    ack = parse_message(make_request("ACK", branch=request.top_via.branch, to_tag="u").serialize())
    assert layer.receive(ack, UAC, 0.2) == []  # absorbed, not given to the TU
    assert layer.state(key) is TxState.CONFIRMED
    assert layer.receive(ack, UAC, 0.3) == []
    assert run_until(layer, 100.0) == [(5.2, TransactionTerminated(key))]  # Timer I = T4


def test_2xx_enters_accepted_absorbs_invite_and_passes_ack_until_timer_l() -> None:
    layer = TransactionLayer(T)
    request = make_request()
    stamped, key, _ = receive_invite(layer, request)
    ok = make_response(stamped, 200, to_tag="u")
    assert statuses(layer.respond(key, ok, 0.0)) == [200]
    assert layer.state(key) is TxState.ACCEPTED
    assert layer.receive(request, UAC, 0.5) == []  # RFC 6026 §7.1: absorbed
    assert statuses(layer.respond(key, ok, 0.5)) == [200]  # TU's 2xx retransmission passes
    ack = make_request("ACK", to_tag="u")  # new branch: end-to-end ACK (§13.2.2.4)
    out = layer.receive(ack, UAC, 0.6)
    assert [type(o) for o in out] == [RequestReceived]
    assert out[0].key is None  # type: ignore[union-attr]
    assert run_until(layer, 100.0) == [(32.0, TransactionTerminated(key))]  # Timer L


def test_tu_cannot_answer_twice() -> None:
    layer = TransactionLayer(T)
    stamped, key, _ = receive_invite(layer)
    layer.respond(key, make_response(stamped, 486, to_tag="u"), 0.0)
    with pytest.raises(LocalSipError, match="can't handle TU_FINAL in COMPLETED"):
        layer.respond(key, make_response(stamped, 500, to_tag="u"), 0.1)


# --- non-INVITE server --------------------------------------------------------------------------


def test_non_invite_server_absorbs_then_repeats_final_and_timer_j_ends_it() -> None:
    layer = TransactionLayer(T)
    request = make_request("OPTIONS")
    out = layer.receive(request, UAC, 0.0)
    assert statuses(out) == []  # no 100 Trying for non-INVITE
    key = next(o.key for o in out if isinstance(o, RequestReceived))
    assert key is not None
    assert layer.receive(request, UAC, 0.3) == []  # Trying: absorbed
    stamped = layer.server_request(key)
    assert stamped is not None
    layer.respond(key, make_response(stamped, 200, to_tag="u"), 0.4)
    assert statuses(layer.receive(request, UAC, 1.0)) == [200]
    assert run_until(layer, 100.0) == [(32.4, TransactionTerminated(key))]  # Timer J


def test_timer_j_is_zero_on_reliable_transports() -> None:
    layer = TransactionLayer(T)
    tcp = Peer(TransportKind.TCP, "192.0.2.1", 40000)
    out = layer.receive(make_request("OPTIONS", transport="TCP"), tcp, 0.0)
    key = next(o.key for o in out if isinstance(o, RequestReceived))
    assert key is not None
    stamped = layer.server_request(key)
    assert stamped is not None
    out = layer.respond(key, make_response(stamped, 200, to_tag="u"), 0.0)
    assert sends(out)[0].destination == tcp  # same connection (§18.2.2)
    assert TransactionTerminated(key) in out


# --- CANCEL, merged requests, Max-Forwards ------------------------------------------------------


def test_cancel_gets_200_and_the_invite_487_with_the_same_to_tag() -> None:
    layer = TransactionLayer(T)
    invite = make_request()
    stamped, key, _ = receive_invite(layer, invite)
    layer.respond(key, make_response(stamped, 180, to_tag="ring"), 0.1)
    out = layer.receive(make_cancel(invite), UAC, 1.0)
    responses = [s.message for s in sends(out)]
    assert [(r.status, r.cseq.method) for r in responses if isinstance(r, SipResponse)] == [
        (200, "CANCEL"),
        (487, "INVITE"),
    ]
    assert {r.to.tag for r in responses} == {"ring"}
    assert next(o for o in out if isinstance(o, InviteCancelled)).key == key


def test_cancel_without_matching_invite_gets_481() -> None:
    layer = TransactionLayer(T)
    out = layer.receive(make_cancel(make_request()), UAC, 0.0)
    assert statuses(out) == [481]
    assert not any(isinstance(o, RequestReceived) for o in out)


def test_cancel_after_the_final_response_gets_200_only() -> None:
    layer = TransactionLayer(T)
    invite = make_request()
    stamped, key, _ = receive_invite(layer, invite)
    layer.respond(key, make_response(stamped, 200, to_tag="u"), 0.1)
    out = layer.receive(make_cancel(invite), UAC, 0.2)
    assert statuses(out) == [200]
    assert not any(isinstance(o, InviteCancelled) for o in out)


def test_merged_request_gets_482() -> None:
    layer = TransactionLayer(T)
    receive_invite(layer, make_request(via_host="192.0.2.1:5062"))
    # Same From tag, Call-ID and CSeq, arriving by another path (new branch): §8.2.2.2
    out = layer.receive(make_request(via_host="192.0.2.7:5060"), UAC, 0.1)
    assert statuses(out) == [482]
    assert not any(isinstance(o, RequestReceived) for o in out)


@pytest.mark.parametrize(("method", "expected"), [("INVITE", [483]), ("BYE", [483])])
def test_max_forwards_zero_gets_483(method: str, expected: list[int]) -> None:
    out = TransactionLayer(T).receive(make_request(method, max_forwards=0), UAC, 0.0)
    assert statuses(out) == expected
    assert not any(isinstance(o, RequestReceived) for o in out)


def test_options_with_max_forwards_zero_reaches_the_tu() -> None:
    out = TransactionLayer(T).receive(make_request("OPTIONS", max_forwards=0), UAC, 0.0)
    assert any(isinstance(o, RequestReceived) for o in out)


# --- helpers ------------------------------------------------------------------------------------


def test_stamp_received_adds_received_for_a_hostname_and_fills_rport() -> None:
    request = make_request(via_host="phone.example.com:5062")
    stamped = stamp_received(request, Peer(TransportKind.UDP, "198.51.100.7", 40000))
    assert stamped.top_via.received == "198.51.100.7"
    assert stamped.top_via.rport == 40000
    assert parse_message(stamped.serialize()).top_via == stamped.top_via


def test_ack_2xx_retransmitter_doubles_to_t2_gives_up_after_64_t1() -> None:
    send = Send(b"SIP/2.0 200 OK", UAC, make_response(make_request(), 200))
    rt = Ack2xxRetransmitter(send, 0.0, T)
    times = []
    while (deadline := rt.next_deadline()) is not None:
        if rt.on_timeout(deadline):
            times.append(deadline)
    assert times == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert rt.gave_up and not rt.acked


def test_ack_2xx_retransmitter_stops_on_ack() -> None:
    send = Send(b"SIP/2.0 200 OK", UAC, make_response(make_request(), 200))
    rt = Ack2xxRetransmitter(send, 0.0, T)
    assert rt.on_timeout(0.5) == [send]
    rt.ack_received()
    assert rt.next_deadline() is None and rt.on_timeout(10.0) == []
    assert rt.acked and not rt.gave_up


# --- the layer never crashes on input ----------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SEED = make_request().serialize()


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_layer_answers_or_drops_any_mutated_datagram(data: st.DataObject) -> None:
    raw = bytearray(SEED)
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos : pos + data.draw(st.integers(0, 3))] = data.draw(st.binary(max_size=4))
    layer = TransactionLayer(T)
    out = layer.receive_data(bytes(raw), UAC, 0.0)
    for o in out:
        if isinstance(o, Send):
            assert isinstance(o.message, SipResponse)
        if isinstance(o, RequestReceived) and o.key is not None:  # it was still valid: answer
            layer.respond(o.key, make_response(o.request, 500, to_tag="z"), 0.0)
    run_until(layer, 100.0)  # and its timers run out cleanly
    assert len(layer) == 0


def test_docs_show_the_tables_as_they_are() -> None:
    from pathlib import Path

    from telephony.sip.transaction import TxKind, transaction_diagram

    doc = (Path(__file__).parents[3] / "docs" / "sip.md").read_text()
    for kind in TxKind:
        assert f"```mermaid\n{transaction_diagram(kind)}\n```" in doc, kind


def test_a_received_param_written_by_the_client_is_not_trusted() -> None:
    request = make_request(via_host="192.0.2.1:5062")
    forged = SipRequest(
        request.method,
        request.uri,
        request.headers.with_replaced(
            "Via", "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKf;received=203.0.113.9"
        ),
    )
    out = TransactionLayer(T).receive(forged, UAC, 0.0)
    assert sends(out)[0].destination.host == UAC.host


SERVER_ACTIONS = st.sampled_from(
    ["invite", "ack_same_branch", "ack_new_branch", "cancel", "tu_180", "tu_200", "tu_486", "wait"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(SERVER_ACTIONS, st.floats(0, 3)), max_size=12))
def test_any_interleaving_on_an_invite_server_ends_cleanly(steps) -> None:
    layer = TransactionLayer(T)
    invite = make_request()
    branch = invite.top_via.branch
    now = 0.0
    key = None
    for action, delay in steps:
        now += delay
        layer.on_timeout(now)
        if action == "invite":
            for o in layer.receive(invite, UAC, now):
                if isinstance(o, RequestReceived) and o.key is not None:
                    key = o.key
        elif action == "ack_same_branch":
            layer.receive(make_request("ACK", branch=branch, to_tag="u"), UAC, now)
        elif action == "ack_new_branch":
            layer.receive(make_request("ACK", to_tag="u"), UAC, now)
        elif action == "cancel":
            layer.receive(make_cancel(invite), UAC, now)
        elif action.startswith("tu_") and key is not None:
            stamped = layer.server_request(key)
            if stamped is None:
                continue
            try:
                layer.respond(key, make_response(stamped, int(action[3:]), to_tag="u"), now)
            except LocalSipError:
                pass  # answering twice is the TU's bug, reported clearly
    if key is not None and layer.state(key) is TxState.PROCEEDING:
        stamped = layer.server_request(key)
        assert stamped is not None
        layer.respond(key, make_response(stamped, 486, to_tag="u"), now)
    run_until(layer, now + 1000.0)
    assert len(layer) == 0


CLIENT_ACTIONS = st.sampled_from(["r100", "r180", "r200", "r486", "wait"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(CLIENT_ACTIONS, st.floats(0, 5)), max_size=12))
def test_any_response_sequence_on_an_invite_client_ends_cleanly(steps) -> None:
    layer = TransactionLayer(T)
    invite = make_request()
    layer.send_request(invite, UAS, 0.0)
    now = 0.0
    finals = 0
    for action, delay in steps:
        now += delay
        for o in layer.on_timeout(now):
            assert not isinstance(o, ResponseReceived)
        if action != "wait":
            out = layer.receive(make_response(invite, int(action[1:]), to_tag="u"), UAS, now)
            finals += sum(
                1 for o in out if isinstance(o, ResponseReceived) and o.response.status >= 300
            )
    assert finals <= 1  # a non-2xx final reaches the TU once; retransmissions are ACKed
    run_until(layer, now + 1000.0)
    assert len(layer) == 0
