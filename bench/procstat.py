"""CPU time and resident memory of one process, read from /proc (Linux), for bench/.

CPU is utime + stime of every thread of the process (fields 14 and 15 of /proc/<pid>/stat,
in clock ticks), so a service's helper threads (aiosqlite, pyVoIP's per-call threads) are
counted with it. Memory is the resident set from /proc/<pid>/statm; the time the threads
waited on a run queue comes from /proc/<pid>/task/*/schedstat (field 2, ns).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class ProcSample:
    """CPU seconds used so far and resident bytes now, taken at ``wall`` (monotonic)."""

    wall: float
    cpu_seconds: float
    rss_bytes: int
    threads: int
    # Time the threads (for Hotline essentially the event loop's) were runnable but waited
    # for a CPU: on a machine shared with other work, a cause of late packets that is not the
    # service's own doing.
    runqueue_wait_seconds: float


def sample(pid: int, wall: float) -> ProcSample:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        text = stat.read()
    # The command name (field 2) may contain spaces and parentheses: split after its last ")".
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): utime is field 14, stime 15, num_threads 20.
    utime, stime, threads = int(fields[11]), int(fields[12]), int(fields[17])
    with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
        resident_pages = int(statm.read().split()[1])
    waited_ns = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as schedstat:
                waited_ns += int(schedstat.read().split()[1])
        except FileNotFoundError:
            continue  # a thread that ended between the listing and the read
    return ProcSample(
        wall, (utime + stime) / CLOCK_TICKS, resident_pages * PAGE_SIZE, threads, waited_ns / 1e9
    )


def runqueue_wait_ms_per_s(start: ProcSample, end: ProcSample) -> float:
    """Milliseconds per second the threads waited for a CPU (summed) between two samples."""
    elapsed = end.wall - start.wall
    if elapsed <= 0:
        return 0.0
    return 1000.0 * (end.runqueue_wait_seconds - start.runqueue_wait_seconds) / elapsed


def load_average() -> float:
    """The machine's one-minute load average (runnable tasks, all processes)."""
    with open("/proc/loadavg", encoding="ascii") as loadavg:
        return float(loadavg.read().split()[0])


def cpu_percent(start: ProcSample, end: ProcSample) -> float:
    """Percent of one core used between two samples (100 = one core busy all the time)."""
    elapsed = end.wall - start.wall
    if elapsed <= 0:
        return 0.0
    return 100.0 * (end.cpu_seconds - start.cpu_seconds) / elapsed


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs have spent busy since boot (from /proc/stat's first line)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle, iowait = fields[3], fields[4]
    # user nice system idle iowait irq softirq steal (guest time is already in user).
    return (sum(fields[:8]) - idle - iowait) / CLOCK_TICKS


def udp_socket_drops(port: int) -> int | None:
    """Datagrams the kernel dropped for the IPv4 UDP socket bound to ``port`` (its receive
    buffer was full: the service did not read fast enough), from /proc/net/udp."""
    wanted = f":{port:04X}"
    with open("/proc/net/udp", encoding="ascii") as table:
        next(table)  # the header line
        for line in table:
            fields = line.split()
            if fields[1].endswith(wanted):
                return int(fields[-1])
    return None
