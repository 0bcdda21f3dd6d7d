"""What a simulation run assumes about callers and agents: distributions, arrivals, rosters.

Every random draw takes the run's own ``random.Random`` (never the global one), so the same
seed gives the same run. Files (a per-15-minute arrival profile, a roster of shifts and
breaks, samples of handle times) are parsed here; a bad value is reported with the file, the
line and the field (``ModelError``).
"""

from __future__ import annotations

import csv
import itertools
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from acd.config import QueueConfig
from acd.records import CallRecord

# Contact-centre reporting interval: arrival profiles are "calls per 15 minutes".
INTERVAL_SECONDS = 900.0
DAY_SECONDS = 86_400.0


class ModelError(ValueError):
    """A model parameter or input file that cannot be used; names file, line and field."""

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        where = [
            part
            for part in (
                file,
                f"line {line}" if line is not None else None,
                f"field {field!r}" if field is not None else None,
            )
            if part
        ]
        super().__init__(f"{', '.join(where)}: {problem}" if where else problem)
        self.file, self.line, self.field, self.problem = file, line, field, problem


class Distribution(Protocol):
    @property
    def mean(self) -> float: ...

    def sample(self, rng: random.Random) -> float: ...


@dataclass(frozen=True, slots=True)
class Fixed:
    value: float

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng: random.Random) -> float:
        return self.value


@dataclass(frozen=True, slots=True)
class Exponential:
    mean: float

    def __post_init__(self) -> None:
        if not (self.mean > 0.0 and math.isfinite(self.mean)):
            raise ModelError(f"exponential mean must be > 0, got {self.mean!r}")

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean)


@dataclass(frozen=True, slots=True)
class Lognormal:
    """Parametrised by its own mean and standard deviation, as call records report them."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        if not (self.mean > 0.0 and self.sd > 0.0):
            raise ModelError(f"lognormal needs mean > 0 and sd > 0, got {self.mean}, {self.sd}")

    def sample(self, rng: random.Random) -> float:
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return rng.lognormvariate(math.log(self.mean) - sigma2 / 2.0, math.sqrt(sigma2))


@dataclass(frozen=True, slots=True)
class Empirical:
    """Resamples observed values (e.g. handle times from call records) with replacement."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ModelError("an empirical distribution needs at least one value")

    @property
    def mean(self) -> float:
        return math.fsum(self.values) / len(self.values)

    def sample(self, rng: random.Random) -> float:
        return self.values[int(rng.random() * len(self.values))]


def load_samples(path: Path, column: str | None = None) -> Empirical:
    """Seconds from one CSV column (the first, or the one named), e.g. exported call records."""
    name = str(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"cannot read samples: {exc.strerror}", file=name) from None
    with handle:
        reader = csv.DictReader(handle)
        fields = _csv_header(reader, name)
        if not fields:
            raise ModelError("empty file: expected a header line", file=name, line=1)
        wanted = column or fields[0]
        if wanted not in fields:
            raise ModelError(
                f"no such column; the header has {fields}", file=name, line=1, field=wanted
            )
        values = []
        for line, row in _csv_rows(reader, name):
            raw = row.get(wanted, "")
            if raw == "":
                continue
            value = _number(raw, file=name, line=line, field=wanted)
            if value < 0.0:
                raise ModelError(f"{raw!r} is negative", file=name, line=line, field=wanted)
            values.append(value)
    if not values:
        raise ModelError("no values in the column", file=name, field=wanted)
    return Empirical(tuple(values))


def talk_times_from_records(records: Iterable[CallRecord]) -> Empirical:
    """Talk + hold seconds of every agent handling in ``acd.records`` call records (e.g. read
    back from the database with ``hotline.db.history``), as an empirical distribution."""
    values = tuple(h.talk_seconds + h.hold_seconds for record in records for h in record.handlings)
    if not values:
        raise ModelError("the call records hold no answered calls to sample talk times from")
    return Empirical(values)


def parse_distribution(text: str, *, option: str) -> Distribution | None:
    """``180`` or ``exp:180`` exponential mean; ``lognormal:180,90``; ``fixed:30``;
    ``empirical:path.csv[:column]``; ``none`` (no draw: e.g. callers who never hang up)."""
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    try:
        if kind == "none":
            return None
        if not rest:
            return Exponential(float(kind))
        if kind in ("exp", "exponential"):
            return Exponential(float(rest))
        if kind == "fixed":
            return Fixed(float(rest))
        if kind == "lognormal":
            mean, _, sd = rest.partition(",")
            return Lognormal(float(mean), float(sd))
        if kind == "empirical":
            file, _, column = rest.partition(":")
            return load_samples(Path(file), column or None)
    except ValueError as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"{text!r}: {exc}", field=option) from None
    raise ModelError(
        f"{text!r}: expected a number of seconds, exp:, lognormal:mean,sd, fixed:, "
        "empirical:file.csv[:column] or none",
        field=option,
    )


class Arrivals(Protocol):
    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...

    def next_after(self, t: float, rng: random.Random) -> float | None: ...

    def mean_rate(self, start: float, end: float) -> float: ...


@dataclass(frozen=True, slots=True)
class ConstantRate:
    """Poisson arrivals at ``rate`` calls per second from ``start`` until ``end``."""

    rate: float
    end: float
    start: float = 0.0

    def __post_init__(self) -> None:
        if not (self.rate >= 0.0 and math.isfinite(self.rate)):
            raise ModelError(f"arrival rate must be >= 0, got {self.rate!r}")

    def next_after(self, t: float, rng: random.Random) -> float | None:
        if self.rate == 0.0:
            return None
        nxt = max(t, self.start) + rng.expovariate(self.rate)
        return nxt if nxt < self.end else None

    def mean_rate(self, start: float, end: float) -> float:
        return self.rate


@dataclass(frozen=True, slots=True)
class Profile:
    """Poisson arrivals whose rate is constant within each interval: calls[i] per interval."""

    start: float
    calls: tuple[float, ...]
    interval: float = INTERVAL_SECONDS

    @property
    def end(self) -> float:
        return self.start + self.interval * len(self.calls)

    def next_after(self, t: float, rng: random.Random) -> float | None:
        # Piecewise-constant rate: draw with the current rate; if the draw crosses the
        # interval's end, restart at the boundary (memorylessness makes this exact).
        t = max(t, self.start)
        while True:
            i = int((t - self.start) // self.interval)
            if i >= len(self.calls):
                return None
            boundary = self.start + (i + 1) * self.interval
            rate = self.calls[i] / self.interval
            if rate > 0.0:
                nxt = t + rng.expovariate(rate)
                if nxt < boundary:
                    return nxt
            t = boundary

    def mean_rate(self, start: float, end: float) -> float:
        first = max(0, int((start - self.start) // self.interval))
        last = min(len(self.calls), math.ceil((end - self.start) / self.interval))
        chosen = self.calls[first:last]
        return sum(chosen) / (len(chosen) * self.interval) if chosen else 0.0


def parse_clock_time(text: str, *, file: str, line: int, field: str) -> float:
    """``HH:MM`` or ``HH:MM:SS`` → seconds after midnight (``24:00`` is allowed as an end)."""
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ModelError(
            f"{text!r} is not a time of day like 08:30", file=file, line=line, field=field
        )
    hours, minutes = int(parts[0]), int(parts[1])
    seconds = int(parts[2]) if len(parts) == 3 else 0
    if minutes > 59 or seconds > 59 or hours * 3600 + minutes * 60 + seconds > DAY_SECONDS:
        raise ModelError(f"{text!r} is not a time of day", file=file, line=line, field=field)
    return float(hours * 3600 + minutes * 60 + seconds)


def _number(raw: str, *, file: str, line: int, field: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ModelError(f"{raw!r} is not a number", file=file, line=line, field=field) from None
    if not math.isfinite(value):
        raise ModelError(f"{raw!r} is not a finite number", file=file, line=line, field=field)
    return value


def _csv_rows(reader: csv.DictReader[str], name: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row with stripped keys and values); CSV damage becomes a ModelError."""
    try:
        for row in reader:
            if None in row:
                raise ModelError(
                    "the row has more cells than the header", file=name, line=reader.line_num
                )
            yield reader.line_num, {(k or "").strip(): (v or "").strip() for k, v in row.items()}
    except csv.Error as exc:
        raise ModelError(f"not valid CSV: {exc}", file=name, line=reader.line_num) from None


def _csv_header(reader: csv.DictReader[str], name: str) -> list[str]:
    try:
        return [f.strip() for f in reader.fieldnames or []]
    except csv.Error as exc:
        raise ModelError(f"not valid CSV: {exc}", file=name, line=1) from None


def load_profile(path: Path) -> Profile:
    """CSV with header ``start,calls``: the start of each 15-minute interval (HH:MM) and the
    calls expected in it. Intervals left out have no calls; the profile spans first to last."""
    name = str(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"cannot read the profile: {exc.strerror}", file=name) from None
    counts: dict[int, float] = {}
    with handle:
        reader = csv.DictReader(handle)
        header = _csv_header(reader, name)
        for required in ("start", "calls"):
            if required not in header:
                raise ModelError(
                    f"missing column; the header must name start,calls, has {header}",
                    file=name,
                    line=1,
                    field=required,
                )
        for line, row in _csv_rows(reader, name):
            start = parse_clock_time(row["start"], file=name, line=line, field="start")
            if start % INTERVAL_SECONDS:
                raise ModelError(
                    f"{row['start']!r} does not start a 15-minute interval",
                    file=name,
                    line=line,
                    field="start",
                )
            calls = _number(row["calls"], file=name, line=line, field="calls")
            if calls < 0.0:
                raise ModelError(
                    f"{row['calls']!r} is negative", file=name, line=line, field="calls"
                )
            index = int(start // INTERVAL_SECONDS)
            if index in counts:
                raise ModelError(
                    f"interval {row['start']} is listed twice", file=name, line=line, field="start"
                )
            counts[index] = calls
    if not counts:
        raise ModelError("the profile lists no intervals", file=name)
    first, last = min(counts), max(counts)
    return Profile(
        start=first * INTERVAL_SECONDS,
        calls=tuple(counts.get(i, 0.0) for i in range(first, last + 1)),
    )


@dataclass(frozen=True, slots=True)
class Shift:
    """One agent's working time: logged in from ``start`` to ``end``, not ready in breaks."""

    agent_id: str
    start: float
    end: float
    breaks: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Roster:
    shifts: tuple[Shift, ...]

    @property
    def agent_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.agent_id for s in self.shifts))


def fixed_staff(agents: int, start: float = 0.0, end: float = math.inf) -> Roster:
    """``agents`` identical agents on duty for the whole run, without breaks."""
    if agents < 1:
        raise ModelError(f"at least one agent is needed, got {agents}", field="agents")
    return Roster(tuple(Shift(f"a{i + 1:04d}", start, end) for i in range(agents)))


def _span(text: str, *, file: str, line: int, field: str) -> tuple[float, float]:
    first, sep, second = text.partition("-")
    if not sep:
        raise ModelError(
            f"{text!r} is not a span like 08:00-17:00", file=file, line=line, field=field
        )
    start = parse_clock_time(first, file=file, line=line, field=field)
    end = parse_clock_time(second, file=file, line=line, field=field)
    if end <= start:
        end += DAY_SECONDS  # a night shift ends the next day
    return start, end


def _shifts_from_row(row: dict[str, str], *, file: str, line: int, taken: set[str]) -> list[Shift]:
    shift = row.get("shift", "").strip()
    if not shift:
        raise ModelError(
            "a shift like 08:00-17:00 is required", file=file, line=line, field="shift"
        )
    start, end = _span(shift, file=file, line=line, field="shift")
    breaks = []
    for part in (p.strip() for p in row.get("breaks", "").split(";")):
        if not part:
            continue
        b_start, b_end = _span(part, file=file, line=line, field="breaks")
        if b_start < start:
            b_start, b_end = b_start + DAY_SECONDS, b_end + DAY_SECONDS
        if not (start <= b_start and b_end <= end):
            raise ModelError(
                f"break {part} lies outside the shift {shift}", file=file, line=line, field="breaks"
            )
        breaks.append((b_start, b_end))
    breaks.sort()
    for (_, e1), (s2, _) in itertools.pairwise(breaks):
        if s2 < e1:
            raise ModelError("breaks overlap", file=file, line=line, field="breaks")
    count_text = row.get("count", "").strip() or "1"
    if not count_text.isdigit() or int(count_text) < 1:
        raise ModelError(
            f"{count_text!r} is not a positive whole number", file=file, line=line, field="count"
        )
    count = int(count_text)
    base = row.get("agent", "").strip() or f"line{line}"
    ids = [base] if count == 1 else [f"{base}-{i + 1}" for i in range(count)]
    for agent_id in ids:
        if agent_id in taken:
            raise ModelError(
                f"agent {agent_id!r} is listed twice", file=file, line=line, field="agent"
            )
        taken.add(agent_id)
    return [Shift(agent_id, start, end, tuple(breaks)) for agent_id in ids]


def load_roster(path: Path) -> Roster:
    """A roster as CSV (header ``agent,count,shift,breaks``; breaks ``10:00-10:15;12:00-12:30``)
    or YAML (``agents:`` a list of mappings with the same keys, breaks as a list)."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"cannot read the roster: {exc.strerror}", file=name) from None
    rows = _yaml_rows(text, name) if path.suffix in (".yaml", ".yml") else _roster_rows(text, name)
    taken: set[str] = set()
    shifts = [
        s for line, row in rows for s in _shifts_from_row(row, file=name, line=line, taken=taken)
    ]
    if not shifts:
        raise ModelError("the roster lists no agents", file=name)
    return Roster(tuple(shifts))


def _roster_rows(text: str, name: str) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(text.splitlines())
    header = _csv_header(reader, name)
    if "shift" not in header:
        raise ModelError(
            f"missing column; the header must name agent,count,shift,breaks, has {header}",
            file=name,
            line=1,
            field="shift",
        )
    return list(_csv_rows(reader, name))


def _yaml_rows(text: str, name: str) -> list[tuple[int, dict[str, str]]]:
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ModelError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            file=name,
            line=mark.line + 1 if mark else None,
        ) from None
    entries = None
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "agents" and isinstance(value, yaml.SequenceNode):
                entries = value.value
    if entries is None:
        raise ModelError("expected a top-level 'agents:' list", file=name, line=1, field="agents")
    rows = []
    for node in entries:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode):
            raise ModelError("each agent entry must be a mapping", file=name, line=line)
        row: dict[str, str] = {}
        for key, value in node.value:
            if key.value not in ("agent", "count", "shift", "breaks"):
                raise ModelError(
                    "unknown key; expected agent, count, shift, breaks",
                    file=name,
                    line=key.start_mark.line + 1,
                    field=str(key.value),
                )
            if isinstance(value, yaml.SequenceNode):
                row[key.value] = ";".join(str(item.value) for item in value.value)
            else:
                row[key.value] = str(value.value)
        rows.append((line, row))
    return rows


def on_duty_seconds(roster: Roster, start: float, end: float) -> float:
    """Agent-seconds on duty (breaks excluded) within [start, end): the occupancy denominator."""
    total = 0.0
    for shift in roster.shifts:
        total += max(0.0, min(shift.end, end) - max(shift.start, start))
        for b_start, b_end in shift.breaks:
            total -= max(0.0, min(b_end, end) - max(b_start, start))
    return total


def default_queue(name: str = "sim") -> QueueConfig:
    """A queue shaped like the Erlang models: no wrap-up, no announcements, a long ring."""
    return QueueConfig(name=name, wrapup_seconds=0.0, ring_timeout=RING_TIMEOUT_NEVER)


# Agents in the Erlang models always answer; a ring timeout this long never fires.
RING_TIMEOUT_NEVER = 1e9


@dataclass(frozen=True, slots=True)
class SimModel:
    """Everything one run assumes. Times are seconds of virtual time (0 = midnight)."""

    arrivals: Arrivals
    talk_time: Distribution
    staff: Roster
    patience: Distribution | None = None  # None: callers never hang up while waiting
    menu_time: Distribution | None = None  # time in the voice menu before joining the queue
    ring_delay: Distribution | None = None  # None: agents answer the moment they are rung
    wrapup_time: Distribution | None = None  # None: wrap-up runs its queue's full time
    queue: QueueConfig = field(default_factory=default_queue)
    callback_accept: float = 0.0  # chance a caller offered a callback takes it
    callback_reach: float = 1.0  # chance the callback reaches the caller
    callback_dial_time: float = 10.0  # seconds from DialCallback to the caller answering
    missed_pause: float = 60.0  # an agent paused for missed calls is ready again after this
    interval: float = INTERVAL_SECONDS
    warmup: float = 0.0  # calls joining before this are left out of the figures

    def __post_init__(self) -> None:
        for name in ("callback_accept", "callback_reach"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ModelError(f"{value!r} is not a probability", field=name)
        if not self.interval > 0.0:
            raise ModelError(f"{self.interval!r} must be > 0", field="interval")
