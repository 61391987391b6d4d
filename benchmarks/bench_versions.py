"""Benchmark: compare two tree-model versions on 1,000,000 rows.

Times, in the same process, (1) scoring both versions once and (2) the full
comparison (scoring both, score deltas, flips, per-segment metrics with paired
intervals, calibration, slice finder, permutation attribution on a 2,000-row sample),
and reports the ratio. The issue's target is a ratio under 5.

Run: ``python benchmarks/bench_versions.py [--rows 1000000] [--trees 200]``
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd


def make_data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, n),
            "age": rng.integers(18, 80, n).astype(float),
            "tenure": rng.exponential(24, n),
            "score1": rng.normal(size=n),
            "score2": rng.normal(size=n),
            "score3": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "channel": pd.Categorical(rng.choice(["app", "web", "store"], n, p=[0.3, 0.5, 0.2])),
            "region": pd.Categorical(rng.choice(["north", "south", "east", "west"], n)),
        }
    )
    logit = (
        0.8 * df.score1
        + df.score2
        + 0.5 * np.log(df.amount)
        - 2.5
        + 0.02 * (df.age - 50)
        + 0.3 * df.score3 * (df.channel == "app")
        - 0.01 * df.tenure
    )
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


def main() -> None:
    import lightgbm as lgb

    from toolkit.scoring import predict_scores
    from toolkit.versions import compare_versions

    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--trees", type=int, default=200)
    args = p.parse_args()
    feats = ["amount", "age", "tenure", "score1", "score2", "score3", "noise", "channel", "region"]
    train, data = make_data(200_000, 1), make_data(args.rows, 2)
    kw = {
        "n_estimators": args.trees,
        "num_leaves": 31,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "verbose": -1,
        "n_jobs": 2,
    }
    a = lgb.LGBMClassifier(random_state=0, **kw).fit(train[feats], train["y"])
    b = lgb.LGBMClassifier(random_state=1, **kw).fit(train[feats], train["y"])

    def score_both() -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        predict_scores(a, data)
        predict_scores(b, data)
        return time.perf_counter() - t0, time.process_time() - c0

    before = score_both()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"rows {args.rows:,}, trees {args.trees}, features {len(feats)}")
    runs = []
    for attribution in ("permutation", "auto"):
        t0, c0 = time.perf_counter(), time.process_time()
        result = compare_versions(
            data,
            model_a=a,
            model_b=b,
            target="y",
            segment_columns=["channel", "region"],
            attribution=attribution,
            random_state=0,
        )
        runs.append((attribution, result, time.perf_counter() - t0, time.process_time() - c0))
    after = score_both()
    # The machine may be shared: scoring is timed before and after, the ratio uses the mean.
    # CPU time (all threads) is the steadier measure on a loaded machine.
    scoring, scoring_cpu = (before[0] + after[0]) / 2, (before[1] + after[1]) / 2
    print(
        f"scoring both versions once: wall {before[0]:.2f} s before, {after[0]:.2f} s after; "
        f"CPU {before[1]:.2f} s before, {after[1]:.2f} s after"
    )
    for attribution, result, full, cpu in runs:
        method = result.attribution["method"].iloc[0]
        print(
            f"full comparison, attribution={attribution} ({method}): wall {full:.2f} s "
            f"(ratio {full / scoring:.2f}x), CPU {cpu:.2f} s (ratio {cpu / scoring_cpu:.2f}x); "
            f"target < 5x"
        )
        print(
            f"  slices tested {result.slices.n_tested}, reported {len(result.slices.table)}; "
            f"findings: {[(f.severity, f.check) for f in result.findings]}"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
