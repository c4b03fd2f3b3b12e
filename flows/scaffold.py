"""`python -m flows scaffold`: a new problem from one delimited-text or Parquet file and a target, in one command.

Writes `problems.<name>` into params.yaml (every other line unchanged) and its draft contract
data/contracts/<name>.json, prints what the guard rails keep out of the features, and the next command. Not a
pipeline stage: it runs no Prefect flow and needs no server.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

RAW = Path("data/raw")


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="the problem's name (letters, digits, '_', '.', '-')")
    parser.add_argument("--source", required=True, type=Path, help="a Parquet or delimited-text file (.csv, "
                        ".data, .txt, .gz, ...); copied into data/raw/ unless it is there already")
    parser.add_argument("--target", required=True, help="the column to predict")
    parser.add_argument("--split-column", default=None, help="labels such as train/valid/test, or periods "
                        "(years, dates): the later ones become evaluation and drift batches")
    parser.add_argument("--test-source", type=Path, default=None, help="a separate test file, read like --source")
    parser.add_argument("--target-map", default=None, metavar="FROM=TO,...",
                        help="target values rewritten on reading, e.g. '>50K.=>50K,<=50K.=<=50K'")
    parser.add_argument("--sensitive", default="", help="comma-separated columns for the fairness audit")
    parser.add_argument("--problem-type", choices=["binary", "multiclass", "regression"], default=None,
                        help="default: from the target (two values: binary; many numbers: regression)")
    parser.add_argument("--id-column", default=None, help="default: a unique column named like an id")
    parser.add_argument("--sep", default=",", help="field separator, e.g. ', ' or ' ' (several characters: a regex)")
    parser.add_argument("--no-header", action="store_true", help="the file has no header row (give --names)")
    parser.add_argument("--names", nargs="+", default=None, help="column names in file order")
    parser.add_argument("--na-values", nargs="+", default=[], help="extra missing-value markers, e.g. '?' NA")
    parser.add_argument("--skip-rows", type=int, default=0, help="lines to skip before the header/first row")
    parser.add_argument("--comment", default=None, help="skip lines starting with this character, e.g. '|'")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--contracts", type=Path, default=Path("data/contracts"))


def into_raw(path: Path, copied: list[Path]) -> str:
    """The file's path under data/raw/ (the ingest stage depends on that directory), copying it there if needed
    (appended to `copied`, so a failed scaffold can take it back)."""
    if not path.exists():
        from tasks.core.errors import DataError

        raise DataError(f"{path}: no such file")
    if path.resolve().is_relative_to(RAW.resolve()):
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    target = RAW / path.name
    if target.exists() and target.read_bytes() != path.read_bytes():
        from tasks.core.errors import DataError

        raise DataError(f"{target} exists and differs from {path}; rename one of them")
    shutil.copy2(path, target)
    copied.append(target)
    print(f"copied {path} to {target} (data/raw/ holds every raw input; commit it)")
    return str(target)


def run(args: argparse.Namespace) -> None:
    from tasks.core.config import ReadOptions
    from tasks.core.io import write_json
    from tasks.stages.scaffold import insert_problem, scaffold

    read = ReadOptions(sep=args.sep, header=not args.no_header, names=args.names, na_values=args.na_values,
                       skip_rows=args.skip_rows, comment=args.comment)
    copied: list[Path] = []
    try:
        source = into_raw(args.source, copied)
        test_source = into_raw(args.test_source, copied) if args.test_source else None
        result = scaffold(args.name, source, args.target, read, split_column=args.split_column,
                          test_source=test_source, sensitive=[c for c in args.sensitive.split(",") if c],
                          problem_type=args.problem_type, id_column=args.id_column, target_map=args.target_map)
        text = insert_problem(args.params.read_text(), args.name, result.block,
                              f"scaffolded from {source} by `python -m flows scaffold`; review and edit")
    except BaseException:  # a failed scaffold leaves data/raw/ as it found it
        for path in copied:
            path.unlink(missing_ok=True)
            print(f"removed {path} again (nothing was scaffolded)", file=sys.stderr)
        raise
    contract = args.contracts / f"{args.name}.json"
    write_json(contract, result.suite)
    args.params.write_text(text)
    spec, data = result.spec, result.block["data"]
    print(f"{args.params}: added problems.{args.name} ({data['problem_type']}, target {args.target!r}, "
          f"{len(result.block['models'])} starter models: {', '.join(result.block['models'])})")
    print(f"  split: {result.split}")
    print(f"  features: {len(spec.numeric)} numeric, {len(spec.categorical)} categorical"
          + (f"; id column {data['id_column']!r}" if data.get("id_column") else ""))
    for column, reason in spec.excluded.items():
        print(f"  excluded {column!r}: {reason}")
    for column, reason in spec.warnings.items():
        print(f"  warning {column!r}: {reason}")
    for note in spec.notes:
        print(f"  note: {note}")
    if spec.excluded:
        print(f"  (to use an excluded column anyway: problems.{args.name}.features.keep: [column])")
    print(f"{contract}: {len(result.suite['expectations'])} expectations drafted; review it")
    print(f"next: git add {args.params} {contract} {source}{' ' + test_source if test_source else ''}"
          f" && .venv/bin/dvc repro champion@{args.name}", file=sys.stdout)


def main(argv: list[str]) -> int:
    from tasks.core.errors import PipelineError

    parser = argparse.ArgumentParser(prog="python -m flows scaffold", description=__doc__.split("\n\n")[0])
    arguments(parser)
    args = parser.parse_args(argv)
    try:
        run(args)
    except PipelineError as exc:
        print(f"error: scaffold: {exc}", file=sys.stderr)
        return 2
    return 0
