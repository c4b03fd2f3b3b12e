"""Write a problem's raw data replicated `factor` times with jitter, as partitioned Parquet (one part per copy).

    .venv/bin/python scripts/make_scaled_data.py --factor 16 --out data/scaled/x16 [--problem employment]

Point the problem at it with `problems.<problem>.data.source: data/scaled/x16` in params.yaml (a directory of
Parquet parts is read as one table). Numeric and ordinal/categorical columns are the ones
`problems.<problem>.features` declares.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, required=True, help="copies of the data (1 = the data itself)")
    parser.add_argument("--out", type=Path, required=True, help="directory for part-*.parquet")
    parser.add_argument("--problem", default="employment")
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--redraw", type=float, default=0.02, help="probability a categorical value is redrawn")
    args = parser.parse_args(argv)

    from tasks.core.config import load_params
    from tasks.ml.scale import Jitter, write_scaled
    from tasks.stages.ingest import load_raw

    params = load_params(args.params)
    if args.problem not in params.problems:
        parser.error(f"--problem {args.problem}: not under problems: in {args.params} ({', '.join(params.problems)})")
    ingest, roles = params.problems[args.problem].data, params.problems[args.problem].features
    started = time.perf_counter()
    frame = load_raw(ingest.model_copy(update={"source": str(ROOT / ingest.source)}))
    rows = write_scaled(frame, args.out, args.factor, seed=params.seed, id_column=ingest.id_column,
                        numeric=roles.numeric, categorical=[*roles.ordinal, *roles.categorical],
                        jitter=Jitter(redraw_probability=args.redraw))
    print(f"{args.out}: {rows:,} rows in {args.factor} part(s), {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
