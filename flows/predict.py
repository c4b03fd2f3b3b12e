"""predict flow (the `predict` deployment): score a new file with the problem's promoted model.

The file is validated against data/contracts/<problem>.json (without the label's expectations when it has no
labels): a blocking failure stops it with the contract's summary and nothing written; with `validate.quarantine` on,
failing rows go to <out>/quarantine.parquet. The promoted version (`dvc artifacts get` of GTO's `prod`) scores the
rest: <out>/predictions.parquet has the row ids, the predictions and the model version. The drift report compares
the batch with the reference holdout; a binary problem gets a CBPE estimate of accuracy (tasks/stages/predict.py),
compared with the truth when the file has labels. <out>/summary.json holds it all; the flow run shows it as a table.

`python -m flows predict --problem employment --input new.parquet --out predictions/new`
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from flows.common import log, read_spec, read_split, stage_task
from tasks.adapters import drift, registry
from tasks.adapters.expectations import quarantine, validate_frame
from tasks.core.config import load_params
from tasks.core.errors import DataError
from tasks.core.io import atomic_dir, read_json, read_parquet, write_json
from tasks.ml.metrics import encode, model_output
from tasks.stages import predict
from tasks.stages.train import load_model


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True)
    parser.add_argument("--input", type=Path, required=True, help="the new rows (Parquet or CSV)")
    parser.add_argument("--out", type=Path, required=True, help="directory for predictions, drift report, summary")
    parser.add_argument("--repo", type=Path, default=Path("."), help="the git repository of the registry")


def read_batch(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise DataError(f"predict: {path} does not exist; pass a Parquet or CSV file of new rows")
    return pd.read_csv(path) if path.suffix.lower() in (".csv", ".gz") else read_parquet(path)


def checked(frame: pd.DataFrame, suite: dict, problem: str, name: str, mode: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows to score, quarantined rows) after the contract; a blocking failure is a DataError (its summary)."""
    outcome = validate_frame(frame, suite, dataset_name=f"{problem}/{name}")
    severities = {"errors": ("error",), "all": ("error", "warning")}.get(mode, ())
    if outcome.errors and not (severities and all(r.rows for r in outcome.errors)):
        raise DataError(f"the data contract failed for {name} (nothing written):\n{outcome.summary()}")
    if not severities:
        return frame, frame.iloc[:0]
    return quarantine(frame, outcome, severities=severities)


def run_name() -> str:
    """'predict employment v1.2.0 (employment-xgboost)': the flow run is named after the version that scores."""
    parameters = flow_run.parameters
    current = registry.promoted(Path(parameters.get("repo", ".")), parameters["problem"])
    return f"predict {parameters['problem']} " + (f"{current.version} ({current.model})" if current else "(none)")


@flow(name="predict", flow_run_name=run_name)
def predict_flow(problem: str, input: Path, out: Path, repo: Path = Path("."),
                 params_path: Path = Path("params.yaml")) -> dict:
    params, repo, input, out = load_params(params_path), Path(repo), Path(input), Path(out)
    ingest = params.ingest[problem]
    spec = read_spec(repo / f"data/features/{problem}")
    current = registry.promoted(repo, problem)
    if current is None:
        raise registry.RegistryError(f"predict: no promoted version of {problem!r}; run "
                                     f"`python -m flows promote --problem {problem}` first")
    frame = read_batch(input)
    labelled = spec.target in frame.columns
    suite = read_json(repo / f"data/contracts/{problem}.json")
    suite = suite if labelled else predict.unlabeled_contract(suite, spec.target)
    rows, quarantined = checked(frame, suite, problem, input.name, params.validate_[problem].quarantine)
    cached = repo / registry.CACHE / problem / current.version
    model_dir = stage_task(registry.download)(repo, problem, cached) / current.model
    model = load_model(model_dir)
    output = model_output(model.pipeline, rows[model.meta["features"]], spec)
    ids = rows[ingest.id_column] if ingest.id_column else pd.Series(rows.index, name="row")
    scored = predict.predictions_frame(ids, output, spec.problem_type, spec.classes, current.threshold,
                                       current.version, current.model)
    reference = read_split(repo / f"data/validated/{problem}", params.ingest[problem].selection_batch)
    ref_output = model_output(model.pipeline, reference[model.meta["features"]], spec)
    summary = {"problem": problem, "input": str(input), "model": current.model, "model_version": current.version,
               "commit": current.commit, "rows": len(frame), "scored": len(rows), "quarantined": len(quarantined),
               "labelled": labelled}
    with atomic_dir(out) as tmp:
        scored.to_parquet(tmp / "predictions.parquet", index=False)
        if len(quarantined):
            quarantined.to_parquet(tmp / "quarantine.parquet", index=False)
        value = output[:, 1] if spec.problem_type == "binary" else output if spec.problem_type == "regression" \
            else output.argmax(axis=1)
        ref_value = ref_output[:, 1] if spec.problem_type == "binary" else ref_output \
            if spec.problem_type == "regression" else ref_output.argmax(axis=1)
        report = stage_task(drift.drift_report)(
            reference.assign(**{predict.PREDICTION: ref_value}), rows.assign(**{predict.PREDICTION: value}),
            columns=spec.features, target=spec.target if labelled else None, predictions=[predict.PREDICTION],
            max_rows=params.drift.max_rows, seed=params.seed, html_path=tmp / "drift.html")
        summary["drift"] = {"share_of_drifted_columns": report.share_of_drifted_columns,
                            "drifted_features": report.drifted_features}
        if spec.problem_type == "binary":
            ref_scored = encode("binary", spec.classes, reference[spec.target], ref_output, current.threshold)
            estimate = predict.cbpe(output[:, 1], current.threshold, ref_scored,
                                    n_resamples=params.evaluate.bootstrap_resamples,
                                    confidence=params.evaluate.confidence, seed=params.seed)
            if labelled:
                truth = encode("binary", spec.classes, rows[spec.target], output, current.threshold)
                estimate.update(predict.compare_with_truth(estimate, truth))
            summary["cbpe_accuracy"] = estimate
        write_json(tmp / "summary.json", summary)
    table = [{"key": k, "value": str(v)} for k, v in summary.items()]
    create_table_artifact(table=table, key=f"predict-{problem}", description=f"predict {problem} with "
                          f"{current.version} ({current.model})")
    log.info("predict %s: %s scored by %s %s (%s)", problem, input, problem, current.version, current.model)
    return summary


def run(args: argparse.Namespace) -> None:
    summary = predict_flow(args.problem, args.input, args.out, args.repo, args.params)
    estimate = summary.get("cbpe_accuracy")
    print(f"{args.problem}: {summary['scored']} of {summary['rows']} rows scored by {summary['model_version']} "
          f"({summary['model']}), {summary['quarantined']} quarantined -> {args.out}/predictions.parquet"
          + (f"; estimated accuracy {estimate['value']:.4f} +- {estimate['stated_error']:.4f}" if estimate else ""))
