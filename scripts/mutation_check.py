"""Mutation check: plant known bugs one at a time in a temporary copy of the working tree and see whether the fast
tests that cover the mutated code catch each one.

Each mutant is one exact text replacement in one file (it must match exactly once, so a refactor that moves the code
fails loudly instead of testing nothing). The unmutated copy runs every chosen test first: a mutant only counts as
caught when the same tests pass without it. Results: a table on stdout, and JSON with `--json`.

    python scripts/mutation_check.py                      # every mutant, the tests that cover its module
    python scripts/mutation_check.py --tier fast          # every mutant against tests/unit tests/data tests/model
    python scripts/mutation_check.py --only scaler_refit reseeded_chunks --json reports/mutation.json

Exit status: 0 every mutant caught, 1 a mutant survived (or the baseline failed), 2 a mutant no longer applies.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import copy_repo  # noqa: E402 - the same copy the end-to-end tests run in

FAST_TIER = ["tests/unit", "tests/data", "tests/model", "-m", "not slow"]


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


REFIT_SCALER = '''

class RefitScaler(StandardScaler):
    """Mutant: standardises every batch it scores with that batch's own mean and spread."""

    def transform(self, X, copy=None):
        return StandardScaler.transform(StandardScaler.fit(self, X), X, copy=copy)
'''

MUTANTS = [
    Mutant("scaler_refit", "a scaler re-fitted on the split it scores", "tasks/ml/preprocess.py",
           "        numeric_steps.append(StandardScaler())\n", "        numeric_steps.append(RefitScaler())\n",
           ("tests/unit/test_batch_invariance.py", "tests/unit/test_families_classic.py")),
    Mutant("verdict_ignores_below_zero", "paired-test verdict ignores intervals below 0", "tasks/stages/champion.py",
           'return "real" if row["low"] > 0 or row["high"] < 0 else "within noise"',
           'return "real" if row["low"] > 0 else "within noise"',
           ("tests/unit/test_champion.py", "tests/unit/test_champion_direction.py",
            "tests/unit/test_stats_oracle.py")),
    Mutant("reseeded_chunks", "every chunk of bootstrap resamples re-seeded (resamples repeat)", "tasks/ml/stats.py",
           "        yield rng.integers(0, n, size=(min(chunk, n_resamples - start), n))",
           "        yield np.random.default_rng(seed).integers(0, n, size=(min(chunk, n_resamples - start), n))",
           ("tests/unit/test_stats.py", "tests/unit/test_stats_oracle.py")),
    Mutant("non_atomic_write", "file writes go straight to the target", "tasks/core/io.py",
           '''    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
''', "    path.write_bytes(data)\n", ("tests/unit/test_io.py", "tests/unit/test_atomic_write.py")),
    Mutant("non_atomic_dir", "directory outputs written in place", "tasks/core/io.py",
           '''    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent))
    old = _old(target)
    try:
        yield tmp
        if old.exists():
            shutil.rmtree(old)
        if target.exists():
            target.rename(old)
        tmp.rename(target)
    except BaseException:
        if old.exists() and not target.exists():
            old.rename(target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
''', "    target.mkdir(exist_ok=True)\n    yield target\n",
           ("tests/unit/test_io.py", "tests/unit/test_atomic_write.py")),
    Mutant("champion_max_for_lower", "ranking picks the largest value whatever the metric", "tasks/stages/champion.py",
           "    sign = 1 if metric in LOWER_IS_BETTER else -1\n", "    sign = -1\n",
           ("tests/unit/test_champion.py", "tests/unit/test_champion_direction.py")),
    Mutant("drift_threshold_flipped", "drift gate fails below the drifted share instead of above",
           "tasks/adapters/drift.py",
           "    if summary.share_of_drifted_columns > max_share_drifted:",
           "    if summary.share_of_drifted_columns < max_share_drifted:", ("tests/unit/test_drift.py",)),
    Mutant("fairness_group_off_by_one", "groups of exactly min_group_size rows left out", "tasks/stages/fairness.py",
           '        kept = frame[frame["size"] >= min_group_size]',
           '        kept = frame[frame["size"] > min_group_size]',
           ("tests/unit/test_fairness.py", "tests/unit/test_fairness_boundary.py")),
    Mutant("holdout_leaks_into_train", "holdout rows stay in the training split", "tasks/stages/ingest.py",
           "        reference, holdout = train_test_split(reference, test_size=cfg.holdout_fraction",
           "        _, holdout = train_test_split(reference, test_size=cfg.holdout_fraction",
           ("tests/unit/test_ingest.py", "tests/data")),
    Mutant("quality_floor_flipped", "quality floor compares the wrong way", "tasks/stages/champion.py",
           '(value < limit if bound == "min" else value > limit)',
           '(value > limit if bound == "min" else value < limit)',
           ("tests/unit/test_champion.py", "tests/unit/test_gates.py")),
    Mutant("check_skips_types", "check accepts hyperparameters of any type", "tasks/stages/check.py",
           "    return type_errors(built, hyperparameters)\n", "    return []\n", ("tests/unit/test_check.py",)),
]


def apply(work: Path, mutant: Mutant) -> str:
    """Plant the mutant; returns the original text to restore."""
    path = work / mutant.path
    text = path.read_text()
    if text.count(mutant.old) != 1:
        raise LookupError(f"mutant {mutant.name}: the text to replace occurs {text.count(mutant.old)} times in "
                          f"{mutant.path}, expected once; update MUTANTS in scripts/mutation_check.py")
    mutated = text.replace(mutant.old, mutant.new)
    if mutant.name == "scaler_refit":
        mutated += REFIT_SCALER
    path.write_text(mutated)
    return text


def pytest(work: Path, args: list[str], timeout: int) -> dict:
    """Run pytest in `work`; returns passed (bool), the failing test ids and the seconds taken."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "DVC_NO_ANALYTICS": "1", "DO_NOT_TRACK": "1"}
    command = [sys.executable, "-m", "pytest", *args, "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=-ra"]
    start = time.monotonic()
    try:
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"passed": False, "failed": ["(timed out)"], "seconds": round(time.monotonic() - start, 1)}
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", done.stdout, flags=re.MULTILINE)
    return {"passed": done.returncode == 0, "failed": failed, "seconds": round(time.monotonic() - start, 1),
            "returncode": done.returncode, "tail": "" if done.returncode in (0, 1) else done.stdout[-2000:]}


def table(results: list[dict]) -> str:
    lines = [f"{'mutant':<28} {'result':<8} {'s':>6}  caught by"]
    for r in results:
        lines.append(f"{r['mutant']:<28} {r['result']:<8} {r['seconds']:>6.1f}  {', '.join(r['caught_by'][:2])}")
    caught = sum(r["result"] == "caught" for r in results)
    lines.append(f"{caught} of {len(results)} mutants caught")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=[m.name for m in MUTANTS], help="these mutants only")
    parser.add_argument("--tier", choices=["covering", "fast"], default="covering",
                        help="covering: the tests of the mutated module (default); fast: the whole fast tier")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per pytest run (default 600)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]

    def tests_of(mutant: Mutant) -> list[str]:
        return FAST_TIER if args.tier == "fast" else list(mutant.tests)

    results, status = [], 0
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        work = Path(tmp)
        copy_repo(work)
        chosen = sorted({t for m in mutants for t in tests_of(m) if t.startswith("tests")})
        baseline = pytest(work, chosen if args.tier == "covering" else FAST_TIER, args.timeout)
        print(f"baseline (no mutant): {'pass' if baseline['passed'] else 'FAIL'} in {baseline['seconds']} s",
              flush=True)
        if not baseline["passed"]:
            print(f"the unmutated tests fail: {baseline['failed'] or baseline.get('tail')}", file=sys.stderr)
            return 1
        for mutant in mutants:
            try:
                original = apply(work, mutant)
            except LookupError as exc:
                print(exc, file=sys.stderr)
                results.append({"mutant": mutant.name, "bug": mutant.bug, "file": mutant.path, "result": "stale",
                                "seconds": 0.0, "caught_by": [], "tests": tests_of(mutant)})
                status = 2
                continue
            try:
                run = pytest(work, tests_of(mutant), args.timeout)
            finally:
                (work / mutant.path).write_text(original)
            result = "missed" if run["passed"] else "caught"
            status = status or (1 if result == "missed" else 0)
            results.append({"mutant": mutant.name, "bug": mutant.bug, "file": mutant.path, "result": result,
                            "seconds": run["seconds"], "caught_by": run["failed"], "tests": tests_of(mutant)})
            print(f"{mutant.name}: {result} ({run['seconds']} s) {' '.join(run['failed'][:1])}", flush=True)
    print(table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"tier": args.tier, "baseline_seconds": baseline["seconds"],
                                         "mutants": results}, indent=2) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
