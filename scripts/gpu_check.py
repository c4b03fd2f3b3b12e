"""GPU check: XGBoost and the Keras CNN trained on CUDA and on CPU with the same data and seed, through the
project's own train path (`tasks.stages.train.train_model`, which records the device actually used in `meta["device"]`).

    .venv/bin/python scripts/gpu_check.py                  # a CUDA host after `GPU=1 make setup`: a few minutes
    .venv/bin/python scripts/gpu_check.py --cpu-only       # any host: the CPU side only
    .venv/bin/python scripts/gpu_check.py --json out.json  # also write the result as JSON

Per family it prints the fit seconds on each device (the GPU's first fit, which pays CUDA start-up, and a second
one), the speed-up (CPU fit over the GPU's second fit), `meta["device"]` of each model, and compares the GPU model
with the CPU model on the same held-out rows:

- XGBoost (hist): `--rows` rows of `make_classification` (40 features, binary, seeded). Same rows: ROC AUC within
  0.005 of the CPU model's, predicted labels agree on >= 99% of rows.
- Keras CNN: the digits problem's 5,000 MNIST images with its `params.yaml` hyperparameters, `--cnn-epochs` epochs.
  Same rows: accuracy within 0.02, predicted labels agree on >= 97% of rows.

CPU and GPU sum floating-point numbers in different orders, so the two models are close, not equal (hence the
tolerances; a GPU XGBoost model also bins features on the GPU). Two more checks: a second GPU fit predicts exactly
what the first did (deterministic ops, TF32 off), and each GPU model scores the same (within 1e-5) in a process
that sees no GPU (`CUDA_VISIBLE_DEVICES=""`), as on a CPU host that loads a model a GPU worker trained.

Exit status: 0 every check passed; 1 a check failed; 3 no GPU visible, so nothing was compared (`--cpu-only` runs
the CPU side and exits 0 when it works).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.datasets import make_classification  # noqa: E402
from sklearn.metrics import accuracy_score, roc_auc_score  # noqa: E402

from tasks.adapters.sources import load_source  # noqa: E402
from tasks.core.artefacts import HOLDOUT, TRAIN, VALID, FeatureSpec  # noqa: E402
from tasks.core.config import ModelConfig, load_params  # noqa: E402
from tasks.stages import ingest  # noqa: E402
from tasks.stages.featurize import build_spec  # noqa: E402
from tasks.stages.train import TrainedModel, save_model, split_xy, train_model  # noqa: E402

NO_GPU = 3
SEED = 0
XGB_HYPERPARAMETERS = {"n_estimators": 400, "max_depth": 8, "learning_rate": 0.05, "max_bin": 256}


@dataclass(frozen=True)
class Tolerance:
    metric: str
    max_metric_gap: float
    min_agreement: float


TOLERANCES = {"xgboost": Tolerance("roc_auc", 0.005, 0.99), "keras_cnn": Tolerance("accuracy", 0.02, 0.97)}


@dataclass
class Case:
    """One family's data: what it trains on and the held-out rows both models score."""

    family: str
    cfg: ModelConfig
    spec: FeatureSpec
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame


@dataclass
class Side:
    """What one device's model did on the held-out rows."""

    device_requested: str
    device_meta: str
    fit_seconds: list[float]
    metric: float
    labels: np.ndarray = field(repr=False)
    proba: np.ndarray = field(repr=False)


def nvidia_gpus() -> list[str]:
    if not shutil.which("nvidia-smi"):
        return []
    try:
        found = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line for line in found.stdout.splitlines() if line.startswith("GPU ")] if found.returncode == 0 else []


def tensorflow_gpus() -> list[str]:
    """GPUs TensorFlow sees (none with tensorflow-cpu); memory growth on, so XGBoost keeps room beside it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    return [gpu.name for gpu in gpus]


def xgboost_case(rows: int) -> Case:
    x, y = make_classification(n_samples=rows, n_features=40, n_informative=20, n_redundant=10, flip_y=0.05,
                               class_sep=0.8, random_state=SEED)
    frame = pd.DataFrame(x.astype(np.float32), columns=[f"x{i}" for i in range(x.shape[1])]).assign(y=y)
    spec = FeatureSpec(problem_type="binary", target="y", numeric=[c for c in frame if c != "y"], ordinal=[],
                       categorical=[], classes=[0, 1])
    cfg = ModelConfig(problem="gpu-check", name="xgboost", family="xgboost", hyperparameters=XGB_HYPERPARAMETERS)
    n_test, n_valid = rows // 5, rows // 10
    test, valid, train = frame.iloc[:n_test], frame.iloc[n_test:n_test + n_valid], frame.iloc[n_test + n_valid:]
    return Case("xgboost", cfg, spec, train.reset_index(drop=True), valid.reset_index(drop=True),
                test.reset_index(drop=True))


def cnn_case(images: int | None, epochs: int) -> Case:
    """The digits problem as its ingest and featurize stages see it, cut to `images` rows when given."""
    params = load_params(ROOT / "params.yaml")
    data, features = params.ingest["digits"], params.featurize["digits"]
    frame = load_source(data.source)
    if images is not None and images < len(frame):
        frame = frame.groupby(data.target, group_keys=False).sample(frac=images / len(frame), random_state=SEED)
    parts = ingest.split(frame.reset_index(drop=True), data, seed=params.seed)
    spec = build_spec(parts[TRAIN], data, features, "train")
    cfg = params.train["digits-cnn"]
    cfg = cfg.model_copy(update={"hyperparameters": {**cfg.hyperparameters, "epochs": epochs}})
    return Case("keras_cnn", cfg, spec, parts[TRAIN], parts[VALID], parts[HOLDOUT])


def fit(case: Case, device: str) -> TrainedModel:
    return train_model(case.cfg.key, case.cfg, case.spec, case.train, case.valid, seed=SEED, device=device)


def predictions(model: Any, x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(model.predict(x)), np.asarray(model.predict_proba(x))


def metric(case: Case, labels: np.ndarray, proba: np.ndarray) -> float:
    y = split_xy(case.test, case.spec)[1].to_numpy()
    if TOLERANCES[case.family].metric == "roc_auc":
        return float(roc_auc_score(y, proba[:, 1]))
    return float(accuracy_score(y, labels))


def side(case: Case, device: str, fits: int) -> tuple[Side, list[TrainedModel]]:
    """Fit `fits` times on `device`; the first model's predictions on the held-out rows."""
    models = [fit(case, device) for _ in range(fits)]
    labels, proba = predictions(models[0].pipeline, split_xy(case.test, case.spec)[0])
    meta_device = {m.meta["device"] for m in models}
    return Side(device, "/".join(sorted(meta_device)), [m.run["fit_seconds"] for m in models],
                metric(case, labels, proba), labels, proba), models


LOAD_AND_SCORE = """
import sys
import numpy as np, pandas as pd
sys.path.insert(0, sys.argv[1])
from tasks.stages.train import load_model
model = load_model(__import__("pathlib").Path(sys.argv[2])).pipeline
x = pd.read_parquet(sys.argv[3])
np.save(sys.argv[4], np.asarray(model.predict_proba(x)))
"""


def scored_without_gpu(model: TrainedModel, case: Case, work: Path) -> np.ndarray:
    """The model saved as the train stage saves it, loaded and scored in a process that sees no GPU."""
    save_model(model, work / "model")
    split_xy(case.test, case.spec)[0].to_parquet(work / "test.parquet")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, "-c", LOAD_AND_SCORE, str(ROOT), str(work / "model"), str(work / "test.parquet"),
                    str(work / "proba.npy")], check=True, env=env, capture_output=True, text=True)
    return np.load(work / "proba.npy")


def check_family(case: Case, gpu: bool) -> dict[str, Any]:
    """CPU side, and with `gpu` the GPU side and every comparison. `checks` maps each check to passed or not."""
    tol = TOLERANCES[case.family]
    cpu, cpu_models = side(case, "cpu", 1)
    checks = {"cpu model records device cpu": cpu.device_meta == "cpu"}
    result: dict[str, Any] = {"family": case.family, "train_rows": len(case.train), "test_rows": len(case.test),
                              "metric": tol.metric, "cpu": {"fit_seconds": cpu.fit_seconds, "meta_device":
                                                            cpu.device_meta, tol.metric: round(cpu.metric, 5)}}
    loaded_model, loaded_proba = cpu_models[0], cpu.proba
    if gpu:
        cuda, cuda_models = side(case, "cuda", 2)
        again = predictions(cuda_models[1].pipeline, split_xy(case.test, case.spec)[0])[1]
        agreement = float(np.mean(cuda.labels == cpu.labels))
        gap = abs(cuda.metric - cpu.metric)
        result["gpu"] = {"fit_seconds": cuda.fit_seconds, "meta_device": cuda.device_meta,
                         tol.metric: round(cuda.metric, 5)}
        result["speedup"] = round(cpu.fit_seconds[0] / cuda.fit_seconds[-1], 2)
        result["compare"] = {f"{tol.metric}_gap": round(gap, 5), "label_agreement": round(agreement, 5),
                             "max_proba_difference": round(float(np.abs(cuda.proba - cpu.proba).max()), 5),
                             "gpu_refit_max_difference": float(np.abs(again - cuda.proba).max())}
        checks.update({
            "gpu model records device cuda": cuda.device_meta == "cuda",
            f"{tol.metric} within {tol.max_metric_gap} of the cpu model": gap <= tol.max_metric_gap,
            f"labels agree on >= {tol.min_agreement:.0%} of rows": agreement >= tol.min_agreement,
            "a second gpu fit predicts the same (deterministic)": bool(np.array_equal(again, cuda.proba)),
        })
        loaded_model, loaded_proba = cuda_models[0], cuda.proba
    with tempfile.TemporaryDirectory() as work:
        elsewhere = scored_without_gpu(loaded_model, case, Path(work))
    result["compare"] = {**result.get("compare", {}),
                         "scored_without_gpu_max_difference": float(np.abs(elsewhere - loaded_proba).max())}
    checks[f"the {'gpu' if gpu else 'cpu'} model scores the same where no gpu is visible"] = bool(
        np.allclose(elsewhere, loaded_proba, rtol=0, atol=1e-5))
    result["checks"] = checks
    return result


def table(results: list[dict[str, Any]]) -> str:
    lines = [f"{'family':<10} {'device':<6} {'meta':<6} {'fit s':>14} {'metric':>16}  speed-up"]
    for r in results:
        for device in ("cpu", "gpu"):
            if device in r:
                s = r[device]
                fits = " / ".join(f"{t:.1f}" for t in s["fit_seconds"])
                speedup = f"{r['speedup']}x" if device == "gpu" else ""
                lines.append(f"{r['family']:<10} {device:<6} {s['meta_device']:<6} {fits:>14} "
                             f"{r['metric']} {s[r['metric']]:.4f}  {speedup}")
        for name, passed in r["checks"].items():
            lines.append(f"  {'ok  ' if passed else 'FAIL'} {r['family']}: {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu-only", action="store_true", help="train and check the CPU side only")
    parser.add_argument("--rows", type=int, default=200_000, help="XGBoost: synthetic rows (default 200,000)")
    parser.add_argument("--images", type=int, default=None, help="Keras CNN: digits images (default all 5,000)")
    parser.add_argument("--cnn-epochs", type=int, default=8, help="Keras CNN: epochs (default 8)")
    parser.add_argument("--families", nargs="+", default=["xgboost", "keras_cnn"], choices=sorted(TOLERANCES))
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)

    seen = {"nvidia-smi": nvidia_gpus(), "tensorflow": tensorflow_gpus() if "keras_cnn" in args.families else []}
    gpu = not args.cpu_only
    if gpu and not any(seen.values()):
        print("gpu_check: no GPU visible (nvidia-smi lists none, TensorFlow sees none): nothing to compare. "
              "Run it on a CUDA host after `GPU=1 make setup`, or with --cpu-only for the CPU side.", file=sys.stderr)
        return NO_GPU
    results, problems = [], []
    for family in args.families:
        if gpu and family == "keras_cnn" and not seen["tensorflow"]:
            problems.append("keras_cnn: TensorFlow sees no GPU although nvidia-smi lists one; is requirements-gpu.lock "
                            "installed (GPU=1 make setup)?")
            continue
        case = xgboost_case(args.rows) if family == "xgboost" else cnn_case(args.images, args.cnn_epochs)
        results.append(check_family(case, gpu))
    report = {"gpus": seen, "cpu_only": args.cpu_only, "tolerances": {k: vars(v) for k, v in TOLERANCES.items()},
              "families": results, "problems": problems}
    report["passed"] = not problems and all(all(r["checks"].values()) for r in results)
    print(table(results))
    for problem in problems:
        print(f"  FAIL {problem}")
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
