"""report flow: the offline HTML hub over every problem, model and gate."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd
from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.common import log, read_meta, stage_task
from flows.gates import link_files
from tasks.adapters import registry
from tasks.adapters.expectations import ValidationOutcome
from tasks.core.artefacts import (
    DETAILS_FILE,
    EXAMPLES_FILE,
    GROUPS_FILE,
    IMPORTANCES_FILE,
    INSIGHTS_FILE,
    LINEAGE_FILE,
    META_FILE,
    METRICS_FILE,
    OUTCOMES_FILE,
    SIMPSON_FILE,
    SIMPSON_SEGMENTS_FILE,
    SPEC_FILE,
    SUMMARY_FILE,
    TUNE_FILE,
    FeatureSpec,
    curves_file,
)
from tasks.core.config import Params, load_params
from tasks.core.io import atomic_dir, atomic_write_text, read_json, read_parquet, stable_hash, write_json
from tasks.core.lineage import lineage
from tasks.ml import missing
from tasks.ml.metrics import nan_to_null
from tasks.present import report
from tasks.present.features_report import render_features_report
from tasks.present.recommend_report import render_report
from tasks.present.validation_report import render_validation_report


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", type=Path, required=True, help="directory of trained models and champions")
    parser.add_argument("--evaluations", type=Path, required=True, help="directory of evaluate outputs")
    parser.add_argument("--fairness", type=Path, required=True, help="directory of fairness outputs")
    parser.add_argument("--drift", type=Path, required=True, help="directory of drift outputs")
    parser.add_argument("--data", type=Path, required=True, help="directory of validated problems")
    parser.add_argument("--features", type=Path, required=True, help="directory of feature specifications")
    parser.add_argument("--validations", type=Path, required=True, help="directory of validation reports")
    parser.add_argument("--curves", type=Path, required=True, help="directory of evaluation curves (per problem)")
    parser.add_argument("--trainings", type=Path, required=True, help="directory of train records (per problem)")
    parser.add_argument("--others", type=Path, nargs="*", default=[],
                        help="directories of reports from stages outside the problems, linked from the index")
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--pages", type=Path, required=True)
    parser.add_argument("--featurize", type=Path, required=True,
                        help="directory for each problem's features report (<problem>/index.html)")
    parser.add_argument("--leaderboard", type=Path, required=True)


def champion_file(models: Path, problem: str) -> Path:
    return models / f"{problem}-champion.json"


def load_model(name: str, problem: str, sources: dict[str, Path], run: dict) -> report.ModelRecord:
    """A model's records; `insights.json` and `*.svg` in its directory are optional."""
    directory, evaluated = sources["models"] / problem / name, sources["evaluations"] / problem / name
    audited = sources["fairness"] / problem / name
    insights = directory / INSIGHTS_FILE
    return report.ModelRecord(
        name=name, meta=read_json(directory / META_FILE), metrics=read_json(evaluated / METRICS_FILE),
        details=read_json(evaluated / DETAILS_FILE),
        curves=pd.read_csv(sources["curves"] / problem / curves_file(name)),
        fairness=read_json(audited / METRICS_FILE), groups=pd.read_csv(audited / GROUPS_FILE),
        insights=read_json(insights) if insights.exists() else {},
        tuning=read_json(directory / TUNE_FILE) if (directory / TUNE_FILE).exists() else {},
        figures={p.stem: (text := p.read_text())[text.index("<svg"):] for p in sorted(directory.glob("*.svg"))},
        run=run, simpson=optional_csv(audited / SIMPSON_FILE), simpson_segments=optional_csv(
            audited / SIMPSON_SEGMENTS_FILE))


def optional_csv(path: Path) -> pd.DataFrame:
    """A table an older stage run did not write: empty when absent; group and segment labels read as text."""
    if not path.exists():
        return pd.DataFrame()
    return pd.read_csv(path, dtype={"group": str, "reference": str, "segment": str})


def html_links(directory: Path, start: Path) -> list[tuple[str, str]]:
    """Every HTML file under `directory` (reports other stages wrote), as (label, link relative to `start`)."""
    return [(str(p.relative_to(directory).with_suffix("")).removesuffix("index") or "report",
             os.path.relpath(p, start)) for p in sorted(directory.rglob("*.html"))]


def validation_page_html(folder: Path, problem: str) -> str:
    """The data-validation page of a problem, from what the validate stage wrote (its outcomes and lineage)."""
    outcomes = [ValidationOutcome.from_dict(o) for o in read_json(folder / OUTCOMES_FILE)]
    return render_validation_report(outcomes, title=f"Data validation: {problem}",
                                    lineage=read_json(folder / LINEAGE_FILE), crumbs=[("reports", "../index.html")])


def recommend_page_html(folder: Path) -> str:
    """The recommendation page, from what the recommend stage wrote."""
    return render_report(read_json(folder / METRICS_FILE), pd.read_csv(folder / EXAMPLES_FILE, keep_default_na=False),
                         pd.read_csv(folder / IMPORTANCES_FILE), read_json(folder / LINEAGE_FILE),
                         crumbs=[("reports", "../index.html")])


def features_report_page(featurize: Path, problem: str) -> Path:
    return featurize / problem / "index.html"


def load_problem(problem: str, params: Params, sources: dict[str, Path], pages: Path,
                 featurize: Path) -> report.ProblemRecord:
    """Everything the stages wrote about a problem; `sources` are the directories named by the arguments."""
    spec = read_json(sources["features"] / problem / SPEC_FILE)
    drift = read_json(sources["drift"] / f"{problem}.json")
    runs = read_json(sources["trainings"] / f"{problem}.json")["models"]
    return report.ProblemRecord(
        name=problem, problem_type=spec["problem_type"], data=read_meta(sources["data"] / problem), spec=spec,
        champion=read_json(champion_file(sources["models"], problem)), drift=drift,
        drift_pages={batch: os.path.relpath(sources["drift"] / problem / f"{batch}.html", pages)
                     for batch in drift.get("batches", {})},
        models=[load_model(cfg.key, problem, sources, runs.get(cfg.key, {})) for cfg in params.models(problem)],
        other_reports={"data docs": [("validation", report.validation_page(problem)),
                                     *html_links(sources["validations"] / problem, pages)],
                       "features": [("report", os.path.relpath(features_report_page(featurize, problem), pages))]},
        registry=[a.to_dict() for a in registry.history(Path("."), problem)] if Path(".git").exists() else [],
        missing=split_missing(sources["data"] / problem, FeatureSpec.from_dict(spec)))


def split_missing(data: Path, spec: FeatureSpec) -> dict[str, dict]:
    """Missing values among the feature columns of every split of a problem's validated data."""
    return {path.stem: missing.missing_counts(read_parquet(path), spec.features)
            for path in sorted(data.glob("*.parquet"))}


@flow(name="report", flow_run_name="report")
def report_flow(sources: dict[str, Path], others: list[Path], index: Path, pages: Path, featurize: Path,
                leaderboard: Path, params_path: Path = Path("params.yaml")) -> str:
    params = load_params(params_path)
    problems = [stage_task(load_problem)(problem, params, sources, pages, featurize) for problem in params.problems]
    hashes = {p: read_meta(sources["data"] / p)["sha256"] for p in params.problems}
    everything = params.model_dump(by_alias=True)
    stamp = lineage(stable_hash(hashes), everything)
    written = stage_task(report.build_pages)(problems, {p: {**stamp, "data": h[:12]} for p, h in hashes.items()},
                                             params.evaluate.confidence)
    written |= {report.validation_page(p): validation_page_html(sources["validations"] / p, p) for p in params.problems}
    recommend = [d for d in others if (d / METRICS_FILE).exists()]  # absent where MovieLens is not configured
    written |= {report.other_page(d.name): recommend_page_html(d) for d in recommend}
    with atomic_dir(pages) as tmp:
        for name, text in written.items():
            atomic_write_text(tmp / name, text)
    with atomic_dir(featurize) as tmp:
        for problem in params.problems:
            summary = read_json(sources["features"] / problem / SUMMARY_FILE)
            atomic_write_text(features_report_page(tmp, problem), render_features_report(
                {f"{problem}: problem-level options": summary}, title=f"Features: {problem}",
                lineage={"commit": stamp["commit"], **summary["provenance"], "time": stamp["time"]},
                crumbs=[("reports", "../../index.html")]))
    write_json(leaderboard, nan_to_null(report.leaderboard_metrics(problems)))
    standalone = [(f"{d.name}: report", f"{pages.name}/{report.other_page(d.name)}") for d in recommend]
    atomic_write_text(index, report.index_page_html(params.report.title, problems, stamp, pages.name, standalone))
    link_files("report", "hub", [index, *(pages / report.problem_page(p.name) for p in problems)])
    gates = pd.DataFrame(report.gate_rows(problems))
    create_markdown_artifact(key="gate-status", markdown=gates.to_markdown(index=False) if not gates.empty else "",
                             description=f"Gates and champions; hub at {index.resolve().as_uri()}")
    log.info("report: %d problems, %d pages; champions %s; hub at %s", len(problems), len(written) + 1,
             {p.name: p.champion.get("champion") for p in problems}, index)
    return str(index)


def run(args: argparse.Namespace) -> None:
    sources = {name: getattr(args, name) for name in ("models", "evaluations", "fairness", "drift", "data",
                                                      "features", "validations", "trainings", "curves")}
    report_flow(sources, args.others, args.index, args.pages, args.featurize, args.leaderboard, args.params)
