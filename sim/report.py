"""Writes an experiment's figures as JSON, CSV and a PNG of the day, and prints a summary table.

Per-interval figures pool the counts of every replication (sums of calls, waits and busy
time), which is the right way to average ratios; the totals come with confidence intervals
from ``sim.experiment``. Plots use matplotlib's object API on the Agg canvas, so no display
and no global pyplot state are involved.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from sim.experiment import Experiment
from sim.stats import HISTOGRAM_BIN, Figures, IntervalCounters, pool

FIGURE_FIELDS = tuple(f.name for f in fields(Figures))
PERCENT_FIGURES = frozenset(
    {"service_level", "service_level_abandons", "answer_rate", "abandon_rate", "occupancy"}
)


def clock_label(seconds: float) -> str:
    """08:15, or "d2 08:15" from the second simulated day on."""
    day, rest = divmod(round(seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    label = f"{hours:02d}:{rest // 60:02d}"
    return f"d{day + 1} {label}" if day else label


def pooled_intervals(experiment: Experiment) -> list[Figures]:
    """Each interval's figures over all runs of the experiment together."""
    by_start: dict[float, list[IntervalCounters]] = {}
    for run in experiment.runs:
        for counters in run.counters:
            by_start.setdefault(counters.start, []).append(counters)
    return [pool(group).figures() for _, group in sorted(by_start.items())]


def pooled_total(experiment: Experiment) -> Figures:
    return pool([run.total_counters for run in experiment.runs]).figures()


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _figures_dict(figures: Figures) -> dict[str, Any]:
    out = {name: _clean(value) for name, value in asdict(figures).items()}
    out["start_label"] = clock_label(figures.start)
    out["end_label"] = clock_label(figures.end)
    return out


def to_json(experiment: Experiment, description: dict[str, Any]) -> dict[str, Any]:
    """A JSON-ready document: model, method, totals with CIs, intervals, wait histogram."""
    return {
        "model": description,
        "method": experiment.method,
        "confidence": experiment.confidence,
        "runs": len(experiment.runs),
        "seeds": [run.seed for run in experiment.runs],
        "calls": experiment.calls,
        "unfinished": sum(run.unfinished for run in experiment.runs),
        "wall_seconds": experiment.wall_seconds,
        "total": _figures_dict(pooled_total(experiment)),
        "estimates": {
            name: {
                "mean": _clean(e.mean),
                "half_width": _clean(e.half_width),
                "low": _clean(e.low),
                "high": _clean(e.high),
                "sd": _clean(e.sd),
                "n": e.n,
            }
            for name, e in experiment.estimates.items()
        },
        "intervals": [_figures_dict(f) for f in pooled_intervals(experiment)],
        "wait_histogram": {
            "bin_seconds": HISTOGRAM_BIN,
            "answered": experiment.histogram.answered,
            "abandoned": experiment.histogram.abandoned,
        },
    }


def write_json(path: Path, experiment: Experiment, description: dict[str, Any]) -> None:
    path.write_text(
        json.dumps(to_json(experiment, description), ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )


def write_csv(path: Path, experiment: Experiment) -> None:
    """One row per interval, then a "total" row; empty cells where a ratio has no calls."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["interval", *FIGURE_FIELDS])
        rows: Sequence[tuple[str, Figures]] = [
            *((clock_label(f.start), f) for f in pooled_intervals(experiment)),
            ("total", pooled_total(experiment)),
        ]
        for label, figures in rows:
            values = [_clean(getattr(figures, name)) for name in FIGURE_FIELDS]
            writer.writerow([label, *("" if v is None else v for v in values)])


def write_plot(
    path: Path, experiment: Experiment, *, target: float | None = None, threshold: float = 10.0
) -> None:
    """Service level and queue over the day, and the distribution of waits, as one PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    intervals = pooled_intervals(experiment)
    if not intervals:
        raise ValueError("nothing to plot: the run reported no intervals")
    # A step plot needs the end of the last interval too, or the last interval vanishes.
    hours = [f.start / 3600.0 for f in intervals] + [intervals[-1].end / 3600.0]

    def steps(values: list[float]) -> list[float]:
        return [*values, values[-1]]

    hour_labels = FuncFormatter(lambda x, _pos: clock_label(x * 3600.0))
    figure = Figure(figsize=(10, 10), dpi=100)
    FigureCanvasAgg(figure)
    level_ax, queue_ax, wait_ax = figure.subplots(3, 1)

    level_ax.step(
        hours,
        steps([f.service_level for f in intervals]),
        where="post",
        label="answered within X ÷ answered",
    )
    level_ax.step(
        hours,
        steps([f.service_level_abandons for f in intervals]),
        where="post",
        label="÷ answered + abandoned after short threshold",
    )
    if target is not None:
        level_ax.axhline(target, color="grey", linestyle="--", label=f"target {target:.0%}")
    level_ax.set_ylim(0.0, 1.02)
    level_ax.set_ylabel(f"service level ({threshold:g} s)")
    level_ax.set_title("Service level by interval (SPEC-Q1/Q2)")
    level_ax.legend(loc="lower left", fontsize="small")

    queue_ax.step(
        hours, steps([f.mean_queue for f in intervals]), where="post", label="mean waiting"
    )
    queue_ax.step(
        hours, steps([float(f.max_queue) for f in intervals]), where="post", label="most waiting"
    )
    queue_ax.step(
        hours,
        steps([f.agents_on_duty for f in intervals]),
        where="post",
        linestyle=":",
        label="agents on duty",
    )
    offered_ax = queue_ax.twinx()
    offered_ax.step(
        hours,
        steps([float(f.offered) for f in intervals]),
        where="post",
        color="grey",
        alpha=0.5,
        label="calls offered",
    )
    offered_ax.set_ylabel("calls offered per interval (grey)")
    queue_ax.set_xlabel("time of the simulated day")
    queue_ax.xaxis.set_major_formatter(hour_labels)
    level_ax.xaxis.set_major_formatter(hour_labels)
    queue_ax.set_ylabel("callers waiting, agents")
    queue_ax.set_title("Queue over the day")
    queue_ax.legend(loc="upper left", fontsize="small")

    histogram = experiment.histogram
    last = max((i for i, n in enumerate(histogram.answered) if n), default=0)
    last = max(last, max((i for i, n in enumerate(histogram.abandoned) if n), default=0))
    edges = [i * HISTOGRAM_BIN for i in range(last + 1)]
    wait_ax.bar(
        edges,
        histogram.answered[: last + 1],
        width=HISTOGRAM_BIN,
        align="edge",
        label="answered",
        alpha=0.7,
    )
    wait_ax.bar(
        edges,
        histogram.abandoned[: last + 1],
        width=HISTOGRAM_BIN,
        align="edge",
        label="abandoned",
        alpha=0.7,
    )
    wait_ax.axvline(threshold, color="grey", linestyle="--", label=f"{threshold:g} s")
    wait_ax.set_yscale("symlog")
    wait_ax.set_xlabel("wait in queue, seconds (last bin: longer)")
    wait_ax.set_ylabel("calls")
    wait_ax.set_title("Distribution of waits")
    wait_ax.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(str(path))


def summary_rows(experiment: Experiment) -> list[tuple[str, str]]:
    """(figure, "mean ± half-width") for the terminal table."""
    rows = []
    for name, e in experiment.estimates.items():
        if math.isnan(e.mean):
            text = "-"
        elif name in PERCENT_FIGURES:
            text = f"{e.mean:.2%}"
            if math.isfinite(e.half_width):
                text += f" ± {e.half_width:.2%}"
        else:
            text = f"{e.mean:.2f}"
            if math.isfinite(e.half_width):
                text += f" ± {e.half_width:.2f}"
        rows.append((name, text))
    return rows
