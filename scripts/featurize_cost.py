"""Featurize's cost on a raw file shaped like the ones that made it unbounded: an id, a name, a date, numeric and
categorical columns, everything inferred (`features.infer: true`).

    .venv/bin/python scripts/featurize_cost.py --rows 50000 --out tmp/wide   # writes wide.csv, prints JSON

Reads the file as ingest does, splits it, runs featurize's two steps (the spec with its guard rails, then the
features report's preprocessing and VIF table) and prints wall seconds and this process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_raw(rows: int, seed: int = 0):
    """`rows` rows: id, name, date, 20 numeric columns, 5 categorical ones, a target and a copy that leaks it."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(rows, 20))
    target = (numeric[:, 0] + numeric[:, 1] + rng.normal(scale=1.0, size=rows) > 0).astype(int)
    frame = pd.DataFrame(numeric, columns=[f"num{i}" for i in range(20)])
    for i, levels in enumerate((3, 5, 8, 12, 30)):
        frame[f"cat{i}"] = rng.choice([f"c{i}_{j}" for j in range(levels)], size=rows)
    frame.insert(0, "id", np.arange(1, rows + 1))
    frame.insert(1, "name", [f"First{i} Last{i * 7 % 9973}" for i in range(rows)])
    frame.insert(2, "date", pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 730, rows), unit="D"))
    frame["outcome_code"] = np.where(target == 1, "Y", "N")  # the target written another way: leakage
    frame["target"] = target
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=Path("tmp/featurize-cost"))
    parser.add_argument("--no-guards", action="store_true", help="guard rails off: the VIF cap alone bounds it")
    args = parser.parse_args(argv)

    from tasks.core.config import FeaturizeConfig, IngestConfig
    from tasks.ml.preprocess import build_preprocessor, feature_summary
    from tasks.stages import featurize, ingest

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "wide.csv"
    make_raw(args.rows).to_csv(path, index=False)
    started = time.perf_counter()
    cfg = IngestConfig(source=str(path), target="target", id_column=None, holdout_fraction=0.2,
                       validation_fraction=0.2)
    features = FeaturizeConfig(infer=True, guards={"enabled": not args.no_guards})
    frame = ingest.load_raw(cfg)
    train = ingest.split(frame, cfg, seed=0)["train"]
    read_s = time.perf_counter() - started
    spec = featurize.build_spec(train, cfg, features, str(path), ingest.duplicated_headers(frame), seed=0)
    spec_s = time.perf_counter() - started - read_s
    preprocessor = build_preprocessor(spec, features.options, seed=0).fit(train.drop(columns=spec.target))
    summary = feature_summary(preprocessor, spec, features.options, train=train, seed=0)
    total = time.perf_counter() - started
    print(json.dumps({"rows": args.rows, "guards": not args.no_guards, "train_rows": len(train),
                      "read_and_split_s": round(read_s, 2),
                      "spec_and_guards_s": round(spec_s, 2), "featurize_total_s": round(total, 2),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "excluded": spec.excluded, "features": len(spec.features),
                      "model_features": summary["steps"][-1]["features"], "vif_rows": len(summary["vif"] or []),
                      "notes": spec.notes + summary["notes"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
