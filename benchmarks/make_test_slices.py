"""Cut the small real-data slices in ``tests/data/real/`` from the benchmark datasets.

    python benchmarks/make_test_slices.py [--out tests/data/real]

Two slices, each two consecutive windows of one dataset of :mod:`real_data`, in the
form its loader gives (timestamp, features with the calendar columns, target); no
prediction column and no model: tests train their own. Only datasets whose licence
allows redistribution are cut (see ``tests/data/real/README.md``). The cut is
deterministic: the same packages give byte-identical files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_data

ROOT = Path(__file__).resolve().parents[1]

#: name -> (dataset, first day, end day (exclusive), rows sampled per window or None)
SLICES = {
    # Two weeks of departures around the July 4th holiday, 600 a week (CC0).
    "flights_2013-06-24_2wk.csv": ("flights", "2013-06-24", "2013-07-08", 600),
    # Two months of hourly rentals across the start of summer (season 2 -> 3 on
    # June 21), every hour (CC BY 4.0: attribute Fanaee-T & Gama, UCI).
    "bikeshare_2011-05_2mo.csv": ("bikeshare", "2011-05-01", "2011-07-01", None),
}


def cut(dataset: str, start: str, end: str, per_week: int | None) -> pd.DataFrame:
    spec = real_data.DATASETS[dataset]
    df = real_data.load(dataset)
    t = df[spec.time]
    df = df[(t >= pd.Timestamp(start)) & (t < pd.Timestamp(end))]
    if per_week:
        week = df[spec.time].dt.to_period("W")
        df = df.groupby(week, group_keys=False).sample(per_week, random_state=0)
    return df.sort_values(spec.time, kind="stable").reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "real"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, (dataset, start, end, per_week) in SLICES.items():
        df = cut(dataset, start, end, per_week)
        path = out / name
        df.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S", lineterminator="\n")
        total += path.stat().st_size
        print(f"{path}: {len(df)} rows, {path.stat().st_size / 1024:.0f} KB")
    print(f"total {total / 1024:.0f} KB")


if __name__ == "__main__":
    main()
