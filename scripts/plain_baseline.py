"""The benchmark's baseline: the pipeline's training and scoring as one plain Python script (no Prefect, no DVC).

    .venv/bin/python scripts/plain_baseline.py [--params params.yaml] [--out metrics.json]

Reads each problem's raw data (`problems.<problem>.data`), splits it, builds the feature spec, fits every
supervised model of the problem (`problems.<problem>.models`) with its hyperparameters, feature options and seed,
and scores every evaluation batch, one model after another in one process. BLAS runs on one thread, as in the
train stage, so the models are the same. It writes nothing but `--out` (each model's metrics per batch, by model
key `<problem>-<name>`), which must equal the pipeline's evaluate metrics: the same work on the same data, so the
benchmark can compare wall times honestly.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run(params_path: Path) -> dict[str, dict]:
    from threadpoolctl import threadpool_limits

    from tasks.core.artefacts import TRAIN
    from tasks.core.config import load_params
    from tasks.core.feature_options import FeatureOptions
    from tasks.families import BuildContext, build_estimator, explicit_features, get_family
    from tasks.ml.metrics import score
    from tasks.ml.resample import resample
    from tasks.stages import ingest
    from tasks.stages.featurize import build_spec
    from tasks.stages.train import split_xy

    params = load_params(params_path)
    results: dict[str, dict] = {}
    for problem, block in params.problems.items():
        cfg = block.data
        models = {m.key: m for m in params.models(problem) if get_family(m.family).kind == "supervised"}
        if not models:
            continue
        parts = ingest.split(ingest.load_raw(cfg), cfg, params.seed)
        spec = build_spec(parts[TRAIN], cfg, block.features, cfg.source)
        for name, model in models.items():
            family = get_family(model.family)
            chosen = explicit_features(block.features.options, model.features)
            options = FeatureOptions().merged(chosen)
            estimator = build_estimator(family, BuildContext(spec=spec, seed=params.seed, features=chosen),
                                        model.hyperparameters)
            sampled = resample(parts[TRAIN], spec.target, options.resampling, seed=params.seed)
            weights = {} if sampled.sample_weight is None else {
                f"{estimator.steps[-1][0]}__sample_weight": sampled.sample_weight}
            started = time.perf_counter()
            with threadpool_limits(limits=1, user_api="blas"):
                estimator.fit(*split_xy(sampled.frame, spec), **weights)
            fit_seconds = time.perf_counter() - started
            metrics = {}
            for batch in ingest.evaluation_batches(cfg):
                x, y = split_xy(parts[batch], spec)
                metrics[batch] = {"rows": len(x), **score(estimator, x, y, spec)}
            results[name] = {"fit_seconds": round(fit_seconds, 3),
                             "score_seconds": round(time.perf_counter() - started - fit_seconds, 3), "metrics": metrics}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, help="write each model's metrics per batch here (JSON)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = run(args.params)
    seconds = time.perf_counter() - started
    if args.out:
        args.out.write_text(json.dumps({"seconds": round(seconds, 3), "models": results}, indent=1))
    print(f"plain baseline: {len(results)} model(s) trained and scored in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
