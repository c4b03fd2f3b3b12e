"""Draft a data contract (GX suite JSON) for a problem in params.yaml, for review and editing before it is committed.

    bin/python scripts/draft_suite.py --problem employment --out data/contracts/employment.json

The problem's params block is its one declaration: the source is read as the ingest stage reads it (reader options,
test file, reference period) and the columns take the roles featurize gives them (guard rails applied). A new
problem from a file gets its params block and contract from the scaffold (`bin/python -m flows scaffold`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from anywhere in the repository


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problem", required=True, help="a problem in params.yaml: everything else from there")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", required=True, type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from tasks.core.errors import PipelineError
    from tasks.core.io import write_json
    from tasks.stages.scaffold import problem_contract

    args = parse_args(argv)
    try:
        suite = problem_contract(args.params, args.problem)
    except (PipelineError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write_json(args.out, suite)
    meta = suite["meta"]
    print(f"{args.out}: {len(suite['expectations'])} expectations drafted from {meta['drafted_from_rows']:,} "
          f"rows of problem {args.problem!r} (roles {meta['roles']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
