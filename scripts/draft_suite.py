"""Draft a data contract (GX suite JSON) from a reference sample, for review and editing before it is committed.

    bin/python scripts/draft_suite.py --problem employment --out data/contracts/employment.json

drafts it for a problem in params.yaml, reading its source as the ingest stage does (reader options, test file,
reference period) with the roles featurize gives its columns (guard rails applied). Or, from a file and roles:

    python scripts/draft_suite.py --data data/raw/acs_employment_ma.parquet --target employed --id id \\
        --time year --reference-period 2015 --numeric AGEP --ordinal SCHL \\
        --categorical MAR RELP DIS ESP CIT MIG MIL ANC NATIVITY DEAR DEYE DREM SEX RAC1P \\
        --out data/contracts/employment.json

Roles not given are inferred from dtypes (numbers numeric, anything else categorical); the target, id and time
columns take no feature role.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from anywhere in the repository


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problem", default=None, help="a problem in params.yaml: everything else from there")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--data", help="a problem source: Parquet or CSV file, or package:<name>")
    parser.add_argument("--target")
    parser.add_argument("--id", dest="id_column", default=None)
    parser.add_argument("--time", dest="time_column", default=None, help="period column")
    parser.add_argument("--reference-period", default=None,
                        help="draft from the rows of this period only (needs --time): a year, date or label")
    parser.add_argument("--numeric", nargs="*", default=None)
    parser.add_argument("--ordinal", nargs="*", default=[])
    parser.add_argument("--categorical", nargs="*", default=None)
    parser.add_argument("--problem-type", choices=["binary", "multiclass", "regression"], default="binary")
    parser.add_argument("--margin", type=float, default=0.1)
    parser.add_argument("--name", default=None, help="suite name (default: the output file's stem)")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    if args.problem is None and not (args.data and args.target):
        parser.error("give --problem NAME, or --data and --target")
    return args


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    from tasks.adapters.expectations import draft_suite
    from tasks.adapters.sources import load_source
    from tasks.core.errors import PipelineError
    from tasks.core.io import write_json
    from tasks.stages.ingest import period_value

    args = parse_args(argv)
    if args.problem is not None:
        from tasks.stages.scaffold import problem_contract

        try:
            suite = problem_contract(args.params, args.problem)
        except PipelineError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        write_json(args.out, suite)
        meta = suite["meta"]
        print(f"{args.out}: {len(suite['expectations'])} expectations drafted from {meta['drafted_from_rows']:,} "
              f"rows of problem {args.problem!r} (roles {meta['roles']})")
        return 0
    try:
        frame = load_source(args.data)
        if args.reference_period is not None:
            if not args.time_column:
                raise SystemExit("--reference-period needs --time")
            column = frame[args.time_column]
            frame = frame[column == period_value(args.reference_period, column)]
        reserved = {args.target, args.id_column, args.time_column, *args.ordinal}
        free = [c for c in frame.columns if c not in reserved]
        numeric = args.numeric if args.numeric is not None else [
            c for c in free if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
            and c not in (args.categorical or [])]
        categorical = args.categorical if args.categorical is not None else [c for c in free if c not in numeric]
        suite = draft_suite(
            frame, name=args.name or args.out.stem, target=args.target, id_column=args.id_column,
            categorical=categorical, numeric=numeric, ordinal=args.ordinal, time_column=args.time_column,
            problem_type=args.problem_type, margin=args.margin,
        )
    except (PipelineError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write_json(args.out, suite)
    print(f"{args.out}: {len(suite['expectations'])} expectations drafted from {len(frame):,} rows "
          f"(numeric {numeric}, ordinal {args.ordinal}, categorical {categorical})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
