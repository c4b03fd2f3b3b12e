"""Pure parts of the benchmark: goals, summaries of timed runs, the printed table and the HTML page.

`scripts/benchmark.py` measures; this module only turns its measurements (plain dicts, the JSON written to
reports/benchmarks.json) into verdicts and text.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

# Goals for the problem-as-unit layout (issue #13), on an idle 2-core machine.
GOALS = {
    "same_work_ratio": 1.0,         # the pipeline doing the plain script's work / the plain single-process script
    "noop_seconds": 1.5,            # `dvc repro` of the whole default pipeline (every problem) with nothing to do
    "stage_overhead_seconds": 1.0,  # what one stage adds beyond its own work
    "scale_slope": 1.1,             # log-log slope of a stage's wall time against rows
    "peak_memory_gib": 8.0,         # largest stage's peak RSS at the biggest scale: a third of a 24 GiB machine
}


@dataclass(frozen=True)
class Figure:
    """One line of the summary: a measured value against its goal (`goal` None: reported, no goal)."""

    name: str
    value: float | None
    unit: str
    goal: float | None = None
    note: str = ""

    @property
    def status(self) -> str:
        if self.value is None:
            return "not run"
        if self.goal is None:
            return "-"
        return "ok" if self.value <= self.goal else "MISSED"

    def text(self, digits: int = 2) -> tuple[str, str]:
        value = "-" if self.value is None else f"{self.value:.{digits}f} {self.unit}".strip()
        goal = "-" if self.goal is None else f"<= {self.goal:g} {self.unit}".strip()
        return value, goal


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def loglog_slope(rows: Sequence[float], seconds: Sequence[float]) -> float | None:
    """Least-squares slope of log(seconds) on log(rows): 1 is linear growth; None with fewer than two sizes."""
    if len(set(rows)) < 2 or not np.all(np.isfinite(seconds)):
        return None
    return float(np.polyfit(np.log(rows), np.log(np.maximum(seconds, 1e-6)), 1)[0])


def stage_seconds(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Stage name (with its DVC foreach key, e.g. train@employment) -> seconds, from MLP_STAGE_STATS lines."""
    return {stage_label(r): float(r["seconds"]) for r in records}


def stage_label(record: Mapping[str, Any]) -> str:
    """`train --problem employment ...` -> train@employment (every foreach stage is keyed by its problem); check,
    recommend and report by their name."""
    argv = list(record["argv"])
    if "--problem" in argv:
        return f"{record['stage']}@{argv[argv.index('--problem') + 1]}"
    return str(record["stage"])


# Stages doing work the plain script does not: the data contract, feature report, evaluation beyond the headline
# metrics (intervals, curves, threshold sweep), fairness, drift, the champion and the report hub.
ANALYSIS_STAGES = ("validate", "featurize", "evaluate", "fairness", "drift", "champion", "report")


def overhead_summary(pipeline: Sequence[float], plain: Sequence[float], stages: Sequence[Mapping[str, float]],
                     gpu_wait: Sequence[float] = (), plain_scoring: Sequence[float] = ()) -> dict[str, Any]:
    """Medians of the paired runs and their ratio; the median time of each stage; where the pipeline's extra time
    goes: DVC and process launch between stages (wall minus the stages' own times), analysis stages, waiting for a
    GPU worker. `same_work_ratio` estimates the ratio on the plain script's work alone: the pipeline without its
    analysis stages and GPU wait, plus the plain script's own scoring time (which evaluate holds), over the plain
    script."""
    per_stage = {name: median([run[name] for run in stages if name in run]) for name in stages[0]} if stages else {}
    between = [wall - sum(run.values()) for wall, run in zip(pipeline, stages, strict=True)]
    analysis = [sum(v for k, v in run.items() if k.split("@")[0] in ANALYSIS_STAGES) for run in stages]
    waits = list(gpu_wait) or [0.0] * len(pipeline)
    scoring = list(plain_scoring) or [0.0] * len(pipeline)
    same = [(wall - a - w + sc) / p for wall, a, w, sc, p in zip(pipeline, analysis, waits, scoring, plain,
                                                                  strict=True)]
    return {"pipeline_seconds": list(pipeline), "plain_seconds": list(plain), "pipeline_median": median(pipeline),
            "plain_median": median(plain), "ratio": median(pipeline) / median(plain), "stages": per_stage,
            "between_stages_seconds": median(between) if between else None,
            "analysis_seconds": median(analysis) if analysis else None, "gpu_wait_seconds": median(waits),
            "same_work_ratio": median(same) if same else None}


def scale_summary(factors: Sequence[int], rows: Sequence[int], runs: Sequence[Sequence[Mapping[str, Any]]],
                  walls: Sequence[float]) -> dict[str, Any]:
    """Per stage: seconds and peak RSS at each scale and the log-log slope of seconds against rows."""
    stages: dict[str, dict[str, list]] = {}
    for run in runs:
        for record in run:
            entry = stages.setdefault(stage_label(record), {"seconds": [], "cpu_seconds": [], "peak_rss_mb": [],
                                                            "rss_start_mb": []})
            entry["seconds"].append(float(record["seconds"]))
            entry["cpu_seconds"].append(float(record.get("cpu_seconds", "nan")))
            entry["peak_rss_mb"].append(float(record["peak_rss_mb"]))
            entry["rss_start_mb"].append(float(record["rss_start_mb"]))
    for entry in stages.values():
        entry["slope"] = loglog_slope(rows[:len(entry["seconds"])], entry["seconds"])
        entry["cpu_slope"] = loglog_slope(rows[:len(entry["cpu_seconds"])], entry["cpu_seconds"])
    peak = max((max(e["peak_rss_mb"]) for e in stages.values() if len(e["peak_rss_mb"]) == len(factors)),
               default=None)
    last = {name: e["peak_rss_mb"][-1] for name, e in stages.items() if len(e["peak_rss_mb"]) == len(factors)}
    return {"factors": list(factors), "rows": list(rows), "pipeline_seconds": list(walls),
            "pipeline_slope": loglog_slope(rows, walls), "stages": stages,
            "peak_rss_mb_at_largest": peak, "peak_stage_at_largest": max(last, key=last.get) if last else None}


def figures(result: Mapping[str, Any]) -> list[Figure]:
    """Every headline figure with its goal, in the order the issue lists them."""
    out: list[Figure] = []
    overhead = result.get("overhead")
    if overhead:
        if overhead.get("same_work_ratio") is not None:
            out.append(Figure("orchestration overhead: the plain script's work / plain script (estimate)",
                              overhead["same_work_ratio"], "x", GOALS["same_work_ratio"],
                              f"the pipeline without the analysis stages ({overhead['analysis_seconds']:.0f} s) and "
                              f"the wait for a GPU worker ({overhead['gpu_wait_seconds']:.0f} s); DVC and launch "
                              f"between stages {overhead['between_stages_seconds']:.0f} s"))
        out.append(Figure("  whole pipeline / plain script (medians)", overhead["ratio"], "x", None,
                          f"{overhead['pipeline_median']:.1f} s / {overhead['plain_median']:.1f} s, "
                          f"{len(overhead['pipeline_seconds'])} runs each; the pipeline also validates, reports "
                          "intervals, fairness, drift, the champion and the hub"))
        if "cpu_ratio" in overhead:
            out.append(Figure("CPU time: pipeline / plain script (medians)", overhead["cpu_ratio"], "x", None,
                              "less sensitive than wall time to other load on the machine; includes the "
                              "Prefect server and the warm runner"))
    noop = result.get("noop")
    if noop:
        out.append(Figure("no-op dvc repro, whole default pipeline (median)", noop["median"], "s",
                          GOALS["noop_seconds"], noop.get("note", "")))
        if noop.get("problem_dag"):
            scoped = noop["problem_dag"]
            out.append(Figure("  no-op dvc repro, the timed problem's DAG only (median)", scoped["median"], "s", None,
                              f"{scoped['stages']} stages"))
        if noop.get("lock_rewrite"):
            lock = noop["lock_rewrite"]
            out.append(Figure("  DVC rewriting the full default dvc.lock (each stage)", lock["median"], "s",
                              GOALS["stage_overhead_seconds"], f"{lock['lines']:,} lines, {lock['stages']} stages "
                              f"({lock.get('origin', 'the committed dvc.lock')}): paid after every stage of the full "
                              "pipeline, on top of the per-stage overhead below (measured on this problem's own "
                              "lock)"))
    for name, stage in (result.get("stage_overhead") or {}).items():
        out.append(Figure(f"per-stage overhead: {name}", stage["overhead"], "s", GOALS["stage_overhead_seconds"],
                          f"dvc repro -s {stage['dvc']:.2f} s, of which the stage's own work {stage['work']:.2f} s"))
    check = (result.get("stage_overhead") or {}).get("check")
    if overhead and check and overhead["stages"]:
        between = overhead["between_stages_seconds"] / len(overhead["stages"])
        out.append(Figure("  per-stage overhead inside a full repro (amortised)", between + check["command"]
                          - check["work"], "s", GOALS["stage_overhead_seconds"],
                          f"DVC and launch between stages {between:.2f} s + a stage command beyond its work "
                          f"{check['command'] - check['work']:.2f} s (check, warm runner)"))
    scale = result.get("scale")
    if scale:
        for name, stage in scale["stages"].items():
            if stage["slope"] is not None:
                cpu = stage.get("cpu_slope")
                out.append(Figure(f"scale slope: {name}", stage["slope"], "", GOALS["scale_slope"],
                                  f"{stage['seconds'][0]:.1f} s -> {stage['seconds'][-1]:.1f} s"
                                  + ("" if cpu is None else f"; CPU-time slope {cpu:.2f}")))
        if scale["pipeline_slope"] is not None:
            out.append(Figure("scale slope: whole pipeline", scale["pipeline_slope"], "", GOALS["scale_slope"],
                              f"{scale['pipeline_seconds'][0]:.0f} s -> {scale['pipeline_seconds'][-1]:.0f} s"))
        same = scale.get("same_work_ratio") or []
        for i, (factor, wall, plain) in enumerate(zip(scale["factors"], scale["pipeline_seconds"],
                                                      scale.get("plain_seconds", []), strict=False)):
            models = ", ".join(scale["models"])
            if i < len(same) and same[i] is not None:
                out.append(Figure(f"orchestration overhead at x{factor} ({models}): the plain script's work",
                                  same[i], "x", GOALS["same_work_ratio"], "estimate, as above; one run each"))
            out.append(Figure(f"  whole pipeline / plain script at x{factor}", wall / plain, "x", None,
                              f"{wall:.0f} s / {plain:.0f} s, one run each"))
        if scale["peak_rss_mb_at_largest"] is not None:
            out.append(Figure(f"peak memory at x{scale['factors'][-1]}", scale["peak_rss_mb_at_largest"] / 1024,
                              "GiB", GOALS["peak_memory_gib"], f"largest: {scale['peak_stage_at_largest']}"))
    for family in result.get("families") or []:
        out.append(Figure(f"{family['model']}: fit", family["fit_seconds"], "s", None,
                          f"{family['train_rows']:,} training rows"))
        out.append(Figure(f"{family['model']}: prediction throughput", family["rows_per_second"], "rows/s", None,
                          f"{family['scored_rows']:,} rows, preprocessing included"))
    gpu = result.get("gpu") or {}
    if not gpu.get("available"):
        out.append(Figure("GPU vs CPU (XGBoost, Keras CNN)", None, "", None, gpu.get("reason", "not measured")))
    for row in gpu.get("runs", []):
        out.append(Figure(f"GPU speed-up: {row['model']}", row["speedup"], "x", None,
                          f"cpu {row['cpu_seconds']:.1f} s, {row['device_used']} {row['gpu_seconds']:.1f} s"))
    return out


def text_table(rows: Sequence[Figure]) -> str:
    """The summary as aligned plain text, one figure per line."""
    cells = [("figure", "value", "goal", "status", "note")]
    for fig in rows:
        value, goal = fig.text(0 if fig.unit == "rows/s" else 2)
        cells.append((fig.name, value, goal, fig.status, fig.note))
    widths = [max(len(r[i]) for r in cells) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in cells)


def figures_frame(rows: Sequence[Figure]) -> pd.DataFrame:
    records = []
    for fig in rows:
        value, goal = fig.text(0 if fig.unit == "rows/s" else 2)
        records.append({"figure": fig.name, "value": value, "goal": goal, "status": fig.status, "note": fig.note})
    return pd.DataFrame(records)


def figure_records(rows: Sequence[Figure]) -> list[dict[str, Any]]:
    return [{**asdict(fig), "status": fig.status} for fig in rows]


def html_page(result: Mapping[str, Any], lineage: Mapping[str, Any]) -> str:
    """reports/benchmarks.html: the summary table, the machine, the stage breakdown, the scale curve and the
    per-family table; offline (inline SVG)."""
    from tasks.ml.figures import figure
    from tasks.present.html import badge, page, svg, table

    summary = figures_frame(figures(result))
    summary["status"] = [badge({"ok": "pass", "MISSED": "fail"}.get(s, s)) for s in summary["status"]]
    overhead, scale, families = result.get("overhead"), result.get("scale"), result.get("families")
    overhead_context = None
    if overhead:
        stages = pd.DataFrame([{"stage": k, "seconds (median)": v} for k, v in overhead["stages"].items()])
        overhead_context = {"pipeline": _seconds(overhead["pipeline_seconds"]),
                            "plain": _seconds(overhead["plain_seconds"]),
                            "metrics_match": overhead.get("metrics_match"),
                            "between": overhead["between_stages_seconds"], "table": table(stages, "{:.2f}")}
    scale_context = None
    if scale:
        rows = []
        for name, stage in scale["stages"].items():
            for factor, seconds, cpu, peak in zip(scale["factors"], stage["seconds"], stage["cpu_seconds"],
                                                  stage["peak_rss_mb"], strict=False):
                rows.append({"stage": name, "scale": f"x{factor}", "seconds": seconds, "CPU seconds": cpu,
                             "peak RSS (MiB)": peak})
        fig, ax = figure(6, 4)
        for name, stage in scale["stages"].items():
            ax.loglog(scale["rows"][:len(stage["seconds"])], stage["seconds"], marker="o", label=name)
        ax.loglog(scale["rows"], scale["pipeline_seconds"], marker="s", color="black", label="whole pipeline")
        ax.set(xlabel="rows", ylabel="wall seconds")
        ax.legend(fontsize=7)
        scale_context = {"figure": svg(fig), "table": table(pd.DataFrame(rows), "{:.1f}")}
    gpu = result.get("gpu") or {}
    return page("benchmarks.html", title="Benchmarks", lineage=dict(lineage), crumbs=[("reports", "index.html")],
                  mode=result.get("mode", ""), summary=table(summary),
                  machine=table(pd.DataFrame([{"": k, "value": str(v)} for k, v in result["machine"].items()])),
                  overhead=overhead_context, scale=scale_context,
                  families=table(pd.DataFrame(families), "{:.3f}") if families else None,
                  gpu=table(pd.DataFrame(gpu["runs"])) if gpu.get("runs") else None, gpu_reason=gpu.get("reason", ""))


def _seconds(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.1f} s" for v in values)
