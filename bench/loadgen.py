"""The benchmark's callers: a cheap SIP/RTP load generator in its own process (raw asyncio UDP).

    python -m bench.loadgen        (driven by bench.call_bench over stdin/stdout)

It binds its SIP socket, prints ``BENCH-LOADGEN <port>``, reads one JSON plan line, runs it
and prints one JSON result line. Two plans:

* ``hold``: N calls set up at a steady rate, each hearing the service for the window; the
  service's CPU and memory are sampled from /proc around the window, every received packet is
  timed by the kernel (SO_TIMESTAMPNS), so the load generator's own scheduling does not show
  up as the service's jitter; then every caller sends BYE.
* ``setup``: bursts of short calls (INVITE, 200, ACK, a moment of prompt, BYE) at increasing
  rates until one step fails or the target rate passes.

The SIP socket also answers REGISTER with 200, so a phone-like service (pyVoIP) can use this
process as its registrar.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

from bench import procstat, sipwire
from bench.arrivals import StreamStats, in_seconds, late_per_second, summarize
from bench.loadplan import Call, CallPhase, HoldPlan, SetupPlan, parse_plan, setup_step_result

READY_PREFIX: Final = "BENCH-LOADGEN"
# Linux's SO_TIMESTAMPNS (asm-generic/socket.h); Python's socket module does not export it.
SO_TIMESTAMPNS: Final = 35
_TIMESPEC = struct.Struct("@qq")
T1: Final = 0.5  # RFC 3261 §17.1.1.1: first INVITE/BYE retransmission interval
T2: Final = 4.0  # RFC 3261 §17.1.2.2: the non-INVITE retransmission cap
BYE_TIMEOUT: Final = 8.0  # shorter than Timer F (32 s): a benchmark run must end
TICK: Final = 0.020
LATE_MS: Final = 2.0  # issue 3's target for the send-interval error
# A second of the window is "quiet" when all other processes together used less than this
# share of one CPU (the machine is shared with other work).
QUIET_PERCENT: Final = 25.0
SIP_BUFFER_BYTES: Final = 4 << 20
RTP_BUFFER_BYTES: Final = 256 << 10
# PCMU silence (0xFF) with RTP version 2 and payload type 0 (RFC 3551): what a quiet caller sends.
_SILENCE = b"\xff" * 160


class LoadGenerator:
    def __init__(self, sip_sock: socket.socket, target: tuple[str, int]) -> None:
        self._loop = asyncio.get_running_loop()
        self._sock = sip_sock
        self.host, self.port = sip_sock.getsockname()[:2]
        self._target = target
        self.calls: dict[str, Call] = {}
        self._by_fd: dict[int, Call] = {}
        self._epoll = select.epoll()
        self.intervals: array.array[float] = array.array("d")
        self.arrivals: array.array[int] = array.array("q")
        self.measuring = False
        self.send_audio = True
        self.unparsed = 0
        self._ticker: asyncio.Task[None] | None = None
        self._seq = 0

    # --- SIP in ----------------------------------------------------------------------------

    def datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            message = sipwire.parse(data)
            if message.method is not None:
                self._request(message, addr)
            else:
                self._response(message)
        except (sipwire.SipWireError, ValueError):
            self.unparsed += 1

    def _request(self, message: sipwire.SipMessage, addr: tuple[str, int]) -> None:
        if message.method == "REGISTER":
            contact = message.headers.get("contact", ["*"])[0]
            extra = [f"Contact: {contact};expires=3600", "Expires: 3600"]
            self._sock.sendto(sipwire.response_to(message, 200, "OK", extra), addr)
            return
        if message.method == "ACK":
            return
        call = self.calls.get(message.call_id)
        if message.method == "BYE" and call is not None:
            if call.phase is CallPhase.ANSWERED:
                call.phase = CallPhase.ENDED
                call.failure = "the service hung up first"
                call.ended_by_service = True
                self._close_rtp(call)
            self._sock.sendto(sipwire.response_to(message, 200, "OK", []), addr)
            call.done.set()
            return
        status, reason = (200, "OK") if message.method == "OPTIONS" else (481, "No Such Call")
        self._sock.sendto(sipwire.response_to(message, status, reason, []), addr)

    def _response(self, message: sipwire.SipMessage) -> None:
        call = self.calls.get(message.call_id)
        status = message.status or 0
        if call is None:
            return
        _cseq, method = message.cseq
        if method == "INVITE":
            call.any_response.set()
            if status < 200:
                call.provisional.set()
                return
            if status >= 300:
                # RFC 3261 §17.1.1.3: a non-2xx final is ACKed within the INVITE transaction.
                tag = message.to_tag or ""
                self._sock.sendto(call.dialog.ack(call.dialog.target_uri, tag), self._target)
                if call.phase is CallPhase.INVITING:
                    call.phase = CallPhase.FAILED
                    call.failure = f"INVITE answered {status}"
                    call.final.set()
                return
            call.to_tag = message.to_tag
            call.remote_uri = message.contact_uri or call.dialog.target_uri
            # Every 2xx (also a retransmitted one: our ACK was lost) gets an ACK.
            self._sock.sendto(call.dialog.ack(call.remote_uri, call.to_tag or ""), self._target)
            if call.phase is CallPhase.INVITING:
                media = sipwire.answer_media(message.body)
                if media is None:
                    call.phase = CallPhase.FAILED
                    call.failure = "200 OK without audio in its SDP"
                else:
                    call.phase = CallPhase.ANSWERED
                    call.answered_at = time.monotonic()
                    call.remote_rtp = (media[0], media[1])
                    call.payload_type = media[2]
                call.final.set()
        elif method == "BYE" and status >= 200:
            call.bye_status = status
            call.done.set()

    # --- calls -----------------------------------------------------------------------------

    def new_call(self, index: int) -> Call:
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RTP_BUFFER_BYTES)
        rtp.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        rtp.bind((self.host, 0))
        rtp.setblocking(False)
        target_uri = f"sip:1000@{self._target[0]}:{self._target[1]}"
        dialog = sipwire.Dialog(
            call_id=f"bench-{index}-{sipwire.new_tag()}",
            from_tag=sipwire.new_tag(),
            local_host=self.host,
            local_port=self.port,
            target_uri=target_uri,
        )
        call = Call(index=index, dialog=dialog, rtp=rtp)
        self.calls[dialog.call_id] = call
        self._by_fd[rtp.fileno()] = call
        self._epoll.register(rtp.fileno(), select.EPOLLIN)
        return call

    async def set_up(self, call: Call, limit: float) -> bool:
        """INVITE with retransmissions (Timer A) until a final answer or ``limit`` seconds."""
        sdp = sipwire.offer_sdp(self.host, call.rtp.getsockname()[1], call.index + 1)
        invite = call.dialog.invite(sipwire.new_branch(), sdp, f"1380000{call.index:04d}")
        call.invited_at = time.monotonic()
        deadline = call.invited_at + limit
        interval = T1
        while True:
            self._sock.sendto(invite, self._target)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(call.any_response.wait(), min(interval, remaining))
            if call.final.is_set():
                return call.phase is CallPhase.ANSWERED
            if call.provisional.is_set():
                # RFC 3261 §17.1.1.2: a provisional response stops the retransmissions.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        call.final.wait(), max(0.0, deadline - time.monotonic())
                    )
                if call.final.is_set():
                    return call.phase is CallPhase.ANSWERED
                break
            interval *= 2
        call.phase = CallPhase.FAILED
        call.failure = f"no final answer to INVITE within {limit:.0f} s"
        return False

    async def hang_up(self, call: Call) -> None:
        """BYE with retransmissions until its 200 (or the service had already hung up)."""
        if call.phase is not CallPhase.ANSWERED:
            self._close_rtp(call)
            return
        call.phase = CallPhase.BYE_SENT
        call.done.clear()
        self._close_rtp(call)
        bye = call.dialog.bye(call.remote_uri or "", call.to_tag or "", sipwire.new_branch())
        deadline = time.monotonic() + BYE_TIMEOUT
        interval = T1
        while time.monotonic() < deadline and not call.done.is_set():
            self._sock.sendto(bye, self._target)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(call.done.wait(), min(interval, deadline - time.monotonic()))
            interval = min(interval * 2, T2)
        call.phase = CallPhase.ENDED
        if call.bye_status is None or not 200 <= call.bye_status < 300:
            call.failure = f"BYE answered {call.bye_status or 'never'}"

    def _close_rtp(self, call: Call) -> None:
        if call.rtp.fileno() >= 0:
            fd = call.rtp.fileno()
            self._epoll.unregister(fd)
            del self._by_fd[fd]
            call.rtp.close()

    # --- RTP -------------------------------------------------------------------------------

    def start_ticker(self) -> None:
        self._ticker = asyncio.create_task(self._tick_loop())

    async def stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker

    async def _tick_loop(self) -> None:
        origin = time.monotonic()
        tick = 0
        while True:
            tick += 1
            await asyncio.sleep(max(0.0, origin + tick * TICK - time.monotonic()))
            self._drain()
            if self.send_audio:
                self._send_caller_audio(tick)

    def _drain(self) -> None:
        ancillary = socket.CMSG_SPACE(_TIMESPEC.size)
        for fd, _events in self._epoll.poll(0):
            call = self._by_fd.get(fd)
            if call is None:
                continue
            while True:
                try:
                    data, ancdata, _flags, _addr = call.rtp.recvmsg(2048, ancillary)
                except (BlockingIOError, InterruptedError):
                    break
                if len(data) < 12 or not self.measuring:
                    continue
                arrival_ns = time.time_ns()
                for level, kind, payload in ancdata:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                        seconds, nanos = _TIMESPEC.unpack(payload[: _TIMESPEC.size])
                        arrival_ns = seconds * 1_000_000_000 + nanos
                seq = (data[2] << 8) | data[3]
                call.stream.record(seq, arrival_ns, self.intervals, self.arrivals)

    def _send_caller_audio(self, tick: int) -> None:
        for call in self.calls.values():
            if call.phase is not CallPhase.ANSWERED or call.remote_rtp is None:
                continue
            header = struct.pack(
                "!BBHII",
                0x80,
                call.payload_type if call.payload_type in (0, 8) else 0,
                tick & 0xFFFF,
                (tick * 160) & 0xFFFFFFFF,
                call.index + 1,
            )
            with contextlib.suppress(OSError):
                call.rtp.sendto(header + _SILENCE, call.remote_rtp)

    def open_window(self) -> None:
        for call in self.calls.values():
            call.stream = StreamStats()
        self.intervals = array.array("d")
        self.arrivals = array.array("q")
        self.measuring = True


async def run_hold(gen: LoadGenerator, plan: HoldPlan) -> dict[str, Any]:
    gen.send_audio = plan.caller_audio
    gen.start_ticker()
    baseline = procstat.sample(plan.service_pid, time.monotonic())
    started = time.monotonic()
    calls = [gen.new_call(i) for i in range(plan.calls)]

    async def one(call: Call) -> bool:
        await asyncio.sleep(max(0.0, started + call.index / plan.ramp_rate - time.monotonic()))
        return await gen.set_up(call, plan.setup_timeout)

    outcomes = await asyncio.gather(*(one(call) for call in calls))
    set_up_seconds = time.monotonic() - started
    await asyncio.sleep(plan.warm_up)
    if plan.stats_signals:
        os.kill(plan.service_pid, signal.SIGUSR1)
    gen.open_window()
    window_start = procstat.sample(plan.service_pid, time.monotonic())
    self_start = procstat.sample(os.getpid(), time.monotonic())
    cpu_per_second = await _cpu_per_second(plan.service_pid, plan.seconds)
    window_end = procstat.sample(plan.service_pid, time.monotonic())
    self_end = procstat.sample(os.getpid(), time.monotonic())
    gen.measuring = False
    service_stats: dict[str, Any] | None = None
    if plan.stats_signals and plan.stats_path:
        os.kill(plan.service_pid, signal.SIGUSR2)
        service_stats = await _read_stats(plan.stats_path)
    streams = [call.stream for call in calls if call.phase is CallPhase.ANSWERED]
    heard = summarize(gen.intervals, streams)
    quiet_seconds = {
        i for i, row in enumerate(cpu_per_second) if row["others_cpu_percent"] < QUIET_PERCENT
    }
    quiet = summarize(in_seconds(gen.intervals, gen.arrivals, quiet_seconds), [])
    silent = sum(1 for s in streams if s.received == 0)
    teardown = time.monotonic()

    async def bye(call: Call) -> None:
        await asyncio.sleep(call.index / plan.teardown_rate)
        await gen.hang_up(call)

    await asyncio.gather(*(bye(call) for call in calls))
    await gen.stop_ticker()
    answered = sum(outcomes)
    failures = [call.failure for call in calls if call.failure is not None]
    return {
        "plan": "hold",
        "calls": plan.calls,
        "answered": answered,
        "failed": len(failures) + silent,
        "failures": _count(failures + ["no audio in the window"] * silent),
        "set_up_seconds": set_up_seconds,
        "window_seconds": window_end.wall - window_start.wall,
        "service_cpu_percent": procstat.cpu_percent(window_start, window_end),
        "service_rss_baseline": baseline.rss_bytes,
        "service_rss_loaded": window_end.rss_bytes,
        "service_threads": window_end.threads,
        "memory_per_call_bytes": (window_end.rss_bytes - baseline.rss_bytes) / max(answered, 1),
        "loadgen_cpu_percent": procstat.cpu_percent(self_start, self_end),
        "service_runqueue_wait_ms_per_s": procstat.runqueue_wait_ms_per_s(
            window_start, window_end
        ),
        "load_average": procstat.load_average(),
        "heard": asdict(heard) | {"loss_percent": heard.loss_percent},
        # Intervals more than 2 ms off, per second of the window: steady (the CPU is short)
        # or in bursts (something in the service stalls the loop now and then).
        "late_per_second": late_per_second(gen.intervals, gen.arrivals, LATE_MS),
        # Per second of the window: the service's CPU % and that of every other process
        # (the machine's busy time less the service's and this load generator's).
        "cpu_per_second": cpu_per_second,
        # The interval error over just the seconds when other processes used little CPU:
        # the service's own jitter, as far as a shared machine can show it.
        "quiet": {
            "seconds": len(quiet_seconds),
            "others_below_percent": QUIET_PERCENT,
            "intervals": quiet.intervals,
            "p50_ms": quiet.p50_ms,
            "p99_ms": quiet.p99_ms,
        },
        "service_stats": service_stats,
        "teardown_seconds": time.monotonic() - teardown,
        "unparsed_sip": gen.unparsed,
    }


async def _cpu_per_second(service_pid: int, seconds: float) -> list[dict[str, float]]:
    """Sleep through the window, sampling CPU use once a second (a few /proc reads)."""
    rows: list[dict[str, float]] = []
    end = time.monotonic() + seconds
    before = (
        procstat.sample(service_pid, time.monotonic()),
        procstat.sample(os.getpid(), time.monotonic()),
        procstat.machine_busy_seconds(),
    )
    while (remaining := end - time.monotonic()) > 0:
        await asyncio.sleep(min(1.0, remaining))
        now = time.monotonic()
        after = (
            procstat.sample(service_pid, now),
            procstat.sample(os.getpid(), now),
            procstat.machine_busy_seconds(),
        )
        elapsed = after[0].wall - before[0].wall
        service = after[0].cpu_seconds - before[0].cpu_seconds
        own = after[1].cpu_seconds - before[1].cpu_seconds
        machine = after[2] - before[2]
        rows.append({
            "service_cpu_percent": 100.0 * service / elapsed,
            "others_cpu_percent": 100.0 * max(0.0, machine - service - own) / elapsed,
            "service_wait_ms_per_s": procstat.runqueue_wait_ms_per_s(before[0], after[0]),
        })
        before = after
    return rows


async def run_setup(gen: LoadGenerator, plan: SetupPlan) -> dict[str, Any]:
    gen.send_audio = plan.caller_audio
    gen.start_ticker()
    steps: list[dict[str, Any]] = []
    index = 0
    for rate in plan.rates:
        count = max(2, round(rate * plan.step_seconds))
        calls = [gen.new_call(index + i) for i in range(count)]
        index += count
        before = procstat.sample(plan.service_pid, time.monotonic())
        drops_before = procstat.udp_socket_drops(plan.target[1])
        started = time.monotonic()

        await asyncio.gather(
            *(_short_call(gen, plan, call, started + i / rate) for i, call in enumerate(calls))
        )
        after = procstat.sample(plan.service_pid, time.monotonic())
        step = setup_step_result(rate, calls, started)
        step["service_cpu_percent"] = procstat.cpu_percent(before, after)
        step["service_runqueue_wait_ms_per_s"] = procstat.runqueue_wait_ms_per_s(before, after)
        drops_after = procstat.udp_socket_drops(plan.target[1])
        step["service_sip_socket_drops"] = (
            drops_after - drops_before
            if drops_after is not None and drops_before is not None
            else None
        )
        steps.append(step)
        for call in calls:
            gen.calls.pop(call.dialog.call_id, None)
        if not step["passed"]:
            break
        await asyncio.sleep(plan.pause)
    await gen.stop_ticker()
    passed = [s for s in steps if s["passed"]]
    return {
        "plan": "setup",
        "steps": steps,
        "best_offered_rate": max((s["offered_rate"] for s in passed), default=0.0),
        "best_achieved_rate": max((s["achieved_rate"] for s in passed), default=0.0),
        "unparsed_sip": gen.unparsed,
    }


async def _short_call(gen: LoadGenerator, plan: SetupPlan, call: Call, at: float) -> None:
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    if await gen.set_up(call, plan.setup_timeout):
        await asyncio.sleep(plan.hold)
    await gen.hang_up(call)


def _load_stats(path: Path) -> dict[str, Any] | None:
    # The service writes the file on SIGUSR2 atomically (by rename): a tiny local read.
    try:
        result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return result


async def _read_stats(path: str) -> dict[str, Any] | None:
    for _ in range(100):
        result = _load_stats(Path(path))
        if result is not None:
            return result
        await asyncio.sleep(0.05)
    return None


def _count(items: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


class _SipProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.generator: LoadGenerator | None = None

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.generator is not None:
            self.generator.datagram(data, addr)


async def _main() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one RTP socket per caller
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SIP_BUFFER_BYTES)
    sock.bind(("127.0.0.1", int(os.environ.get("BENCH_LOADGEN_PORT", "0"))))
    loop = asyncio.get_running_loop()
    protocol = _SipProtocol()
    transport, _ = await loop.create_datagram_endpoint(lambda: protocol, sock=sock)
    print(f"{READY_PREFIX} {sock.getsockname()[1]}", flush=True)
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if not line.strip():
        transport.close()
        return 1
    plan = parse_plan(json.loads(line))
    generator = LoadGenerator(sock, plan.target)
    protocol.generator = generator
    try:
        if isinstance(plan, HoldPlan):
            result = await asyncio.wait_for(run_hold(generator, plan), plan.deadline)
        else:
            result = await asyncio.wait_for(run_setup(generator, plan), plan.deadline)
    except TimeoutError:
        result = {"plan": "timeout", "error": f"the load generator ran past {plan.deadline:.0f} s"}
    print(json.dumps(result), flush=True)
    transport.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main()))
