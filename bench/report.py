"""The call benchmark's printed report: one table of figures per service and count, targets
next to them (issue 3's targets, printed, never asserted), then the set-up steps."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Figure = Callable[[dict[str, Any]], float | None]

TARGET_CALLS_PER_CORE = 500
TARGET_P99_MS = 2.0
TARGET_SETUPS_PER_SECOND = 200.0


def _heard(key: str) -> Figure:
    return lambda r: r["heard"][key]


def _service(key: str) -> Figure:
    return lambda r: r["service_stats"][key] if r.get("service_stats") else None


def _per_call_second(r: dict[str, Any]) -> float | None:
    answered = r["answered"]
    return r["service_cpu_percent"] / 100.0 * 1e6 / answered if answered else None


def _per_core(r: dict[str, Any]) -> float | None:
    cpu = r["service_cpu_percent"]
    return r["answered"] * 100.0 / cpu if cpu > 0 else None


# (label, figure, format, target text)
ROWS: list[tuple[str, Figure, str, str]] = [
    ("calls attempted", lambda r: r["calls"], "{:.0f}", ""),
    ("calls answered", lambda r: r["answered"], "{:.0f}", ""),
    ("calls failed", lambda r: r["failed"], "{:.0f}", "0"),
    ("service CPU % (100 = one core)", lambda r: r["service_cpu_percent"], "{:.1f}", ""),
    ("CPU µs per call-second", _per_call_second, "{:.0f}", ""),
    ("calls per core (linear extrapolation)", _per_core, "{:.0f}", f">= {TARGET_CALLS_PER_CORE}"),
    ("memory per call (KB, RSS growth)", lambda r: r["memory_per_call_bytes"] / 1024, "{:.1f}", ""),
    ("service threads under load", lambda r: r["service_threads"], "{:.0f}", ""),
    ("RTP interval error p50, receiver (ms)", _heard("p50_ms"), "{:.3f}", ""),
    ("RTP interval error p99, receiver (ms)", _heard("p99_ms"), "{:.3f}", f"<= {TARGET_P99_MS:g}"),
    ("RTP interval error max, receiver (ms)", _heard("max_ms"), "{:.1f}", ""),
    ("  p99 in quiet seconds, receiver (ms)", lambda r: r["quiet"]["p99_ms"], "{:.3f}",
     f"<= {TARGET_P99_MS:g}"),
    ("  quiet seconds (others < 25 % CPU)", lambda r: r["quiet"]["seconds"], "{:.0f}", ""),
    ("RTP loss, receiver (%)", _heard("loss_percent"), "{:.3f}", ""),
    ("send-interval error p50, service (ms)", _service("interval_error_p50_ms"), "{:.3f}", ""),
    ("send-interval error p99, service (ms)", _service("interval_error_p99_ms"), "{:.3f}",
     f"<= {TARGET_P99_MS:g}"),
    ("send-time error p99 vs grid, service (ms)", _service("grid_error_p99_ms"), "{:.3f}", ""),
    ("GC pause max, service (ms)", _service("gc_pause_max_ms"), "{:.1f}", ""),
    ("GC full (gen 2) runs in the window", _service("gc_full_runs"), "{:.0f}", ""),
    ("GC full (gen 2) pause max (ms)", _service("gc_full_pause_max_ms"), "{:.1f}", ""),
    ("GC total pause in the window (ms)", _service("gc_pause_total_ms"), "{:.0f}", ""),
    ("objects tracked by the GC, service", _service("gc_tracked_objects"), "{:.0f}", ""),
    ("one full GC after the window (ms)", _service("gc_full_collect_ms"), "{:.1f}", ""),
    ("load generator CPU %", lambda r: r["loadgen_cpu_percent"], "{:.1f}", ""),
    ("service threads waited for a CPU (ms/s)", lambda r: r["service_runqueue_wait_ms_per_s"],
     "{:.1f}", ""),
    ("machine load average (1 min)", lambda r: r["load_average"], "{:.2f}", ""),
]


def _value(figure: Figure, result: dict[str, Any] | None) -> float | None:
    if result is None or "error" in result:
        return None
    try:
        value = figure(result)
    except (KeyError, TypeError, ZeroDivisionError):
        return None
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _fmt(value: float | None, pattern: str) -> str:
    return "—" if value is None else pattern.format(value)


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.3g}"


def render(results: dict[str, Any]) -> str:
    options = results["options"]
    n, m = options["calls"], options["pyvoip_calls"]
    columns: list[tuple[str, dict[str, Any] | None]] = [
        (f"Hotline@{n}", results.get(f"hotline-hold-{n}"))
    ]
    comparison = not options["hotline_only"]
    if comparison:
        if m != n:
            columns.append((f"Hotline@{m}", results.get(f"hotline-hold-{m}")))
        columns.append((f"pyVoIP@{m}", results.get(f"pyvoip-hold-{m}")))
    hotline_m = results.get(f"hotline-hold-{m}")
    pyvoip_m = results.get(f"pyvoip-hold-{m}")
    header = [f"{'figure':42}"] + [f"{name:>13}" for name, _ in columns]
    if comparison:
        header.append(f"{f'H/P@{m}':>9}")
    header.append("  target")
    lines = [
        f"Call benchmark: {options['cpus']} CPUs, loopback UDP, every service in its own process;"
        f" each caller hears the service for {options['seconds']:g} s after set-up at"
        f" {options['ramp_rate']:g} calls/s"
        + ("" if options["caller_audio"] else " (callers silent)")
        + (f"; services at nice {options['service_nice']}" if options.get("service_nice") else ""),
        "",
        "".join(header),
    ]
    for label, figure, pattern, target in ROWS:
        row = [f"{label:42}"]
        row += [f"{_fmt(_value(figure, result), pattern):>13}" for _, result in columns]
        if comparison:
            ratio = _ratio(_value(figure, hotline_m), _value(figure, pyvoip_m))
            row.append(f"{ratio:>9}")
        row.append(f"  {target}" if target else "")
        lines.append("".join(row).rstrip())
    setups = [("Hotline", results.get("hotline-setup"))]
    if comparison:
        setups.append(("pyVoIP", results.get("pyvoip-setup")))
    best: dict[str, float | None] = {}
    for name, result in setups:
        best[name] = _value(lambda r: r["best_offered_rate"], result)
        text = f"{'set-ups/s sustained, ' + name:42}{_fmt(best[name], '{:.0f}'):>13}"
        lines.append(text + f"  >= {TARGET_SETUPS_PER_SECOND:g}")
    if comparison:
        ratio = _ratio(best["Hotline"], best["pyVoIP"])
        lines.append(f"{'set-ups/s ratio Hotline/pyVoIP':42}{ratio:>13}")
    lines += ["", "Set-up steps (INVITE → 200 → ACK → 0.5 s of prompt → BYE):"]
    for name, result in setups:
        lines += _setup_lines(name, result)
    lines += _notes(results, [c for c in columns] + setups)
    return "\n".join(lines)


def _setup_lines(name: str, result: dict[str, Any] | None) -> list[str]:
    if result is None or "error" in result:
        return [f"  {name}: {'not run' if result is None else result['error']}"]
    lines = []
    for step in result["steps"]:
        lines.append(
            f"  {name:8} offered {step['offered_rate']:6.1f}/s: {step['answered']}/{step['calls']}"
            f" answered, {step['failed']} failed, achieved {step['achieved_rate']:6.1f}/s,"
            f" set-up p50 {step['setup_p50_ms']:.0f} ms p99 {step['setup_p99_ms']:.0f} ms,"
            f" service CPU {step['service_cpu_percent']:.0f} %"
            f" (waited {step.get('service_runqueue_wait_ms_per_s', math.nan):.0f} ms/s),"
            f" SIP datagrams dropped {step.get('service_sip_socket_drops', '?')}"
            f" -> {'pass' if step['passed'] else 'FAIL'}"
        )
    return lines


def _pearson(xs: list[float], ys: list[float]) -> float | None:
    n = min(len(xs), len(ys))
    if n < 3:
        return None
    xs, ys = xs[:n], ys[:n]
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else None


def _lateness_line(result: dict[str, Any]) -> str:
    """Whether late packets come with other processes' CPU use, second by second."""
    late = [float(v) for v in result["late_per_second"]]
    rows = result.get("cpu_per_second", [])
    others = [row["others_cpu_percent"] for row in rows]
    waits = [row["service_wait_ms_per_s"] for row in rows]
    with_others = _pearson(late, others)
    with_waits = _pearson(late, waits)
    return (
        f"intervals > 2 ms per second of the window {[int(v) for v in late]}; correlation"
        f" with other processes' CPU {_fmt(with_others, '{:+.2f}')}, with the service's"
        f" run-queue wait {_fmt(with_waits, '{:+.2f}')}"
    )


def _notes(results: dict[str, Any], columns: list[tuple[str, dict[str, Any] | None]]) -> list[str]:
    lines = ["", "Notes:"]
    for name, result in columns:
        if result is None:
            continue
        if "error" in result:
            lines.append(f"  {name}: did not run: {result['error']}")
            continue
        failures = dict(result.get("failures", {}))
        for step in result.get("steps", []):
            for reason, count in step.get("failures", {}).items():
                failures[reason] = failures.get(reason, 0) + count
        for reason, count in failures.items():
            lines.append(f"  {name}: {count} x {reason}")
    for name, result in columns:
        if result is not None and "late_per_second" in result:
            lines.append(f"  {name}: {_lateness_line(result)}")
    lines += [
        "  Receiver figures use kernel arrival times (SO_TIMESTAMPNS) of consecutive packets;",
        "  service figures are the media engine's own send times (last 10 s of each call).",
        "  Calls per core divides calls by the CPU share; PERFORMANCE.md: jitter degrades",
        "  from about 50-60 % CPU, so the extrapolation is an upper bound.",
    ]
    return lines
