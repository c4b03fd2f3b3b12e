"""Measure orchestration overhead per stage: the stage command's wall time minus the same work done in-process.

Usage: .venv/bin/python scripts/benchmark_overhead.py [--repeats 5]
Runs the featurize stage of the default problem (small work, so overhead dominates) through
`python -m flows featurize` with the warm runner on and off, against a Prefect server, and prints medians.
Needs `dvc repro` to have produced data/interim/employment first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def in_process_seconds(data: Path, out: Path, repeats: int) -> float:
    """The stage's own work (read, build the spec, write it) in an already warm process."""
    import pandas as pd

    from tasks.config import load_params
    from tasks.featurize import build_spec
    from tasks.io import atomic_dir, write_json

    params = load_params(ROOT / "params.yaml")
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        train = pd.read_parquet(data / "train.parquet")
        spec = build_spec(train, params.ingest["employment"], params.featurize["employment"], "train")
        with atomic_dir(out) as tmp:
            write_json(tmp / "spec.json", spec.to_dict())
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def command_seconds(data: Path, out: Path, repeats: int, warm: bool) -> float:
    env = {**os.environ, "MLP_WARM_RUNNER": "1" if warm else "0"}
    cmd = [sys.executable, "-m", "flows", "featurize", "--problem", "employment", "--data", str(data),
           "--out", str(out)]
    times = []
    for _ in range(repeats + 1):  # the first call starts the server/runner if needed
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
        if warm and len(times) == 1:
            time.sleep(12)  # let the runner finish its imports
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = ROOT / "data/interim/employment"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "features"
        work = in_process_seconds(data, out, args.repeats)
        cold = command_seconds(data, out, args.repeats, warm=False)
        warm = command_seconds(data, out, args.repeats, warm=True)
    print(f"stage work in-process          {work:6.2f} s")
    print(f"stage command, no warm runner  {cold:6.2f} s  -> overhead {cold - work:5.2f} s")
    print(f"stage command, warm runner     {warm:6.2f} s  -> overhead {warm - work:5.2f} s  (goal <= 1.5 s)")


if __name__ == "__main__":
    main()
