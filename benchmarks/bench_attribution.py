"""Benchmark: sampled attribution drift vs exact TreeExplainer on every row.

A LightGBM classifier in a scikit-learn Pipeline (one-hot categoricals) on two windows
of ROWS rows × 30 raw features (22 numeric, 8 categorical); the current window has
planted drift (one important feature shifted, one collapsed, one ignored feature
shifted far). Compares, in the same run:

- ``attribution_drift`` with its defaults (stratified sample, bootstrap intervals);
- the same SHAP values (same explainer, same background) on every row of both
  windows, which is what the sample estimates.

Reports the speed-up, the feature-ranking NDCG of the sampled mean |SHAP| against
the full-data one (per window), and how often the simultaneous intervals cover the
full-data values. Also times shap's default path-dependent TreeExplainer (log-odds,
no background) on every row, the cheapest exact "explain everything" a user might run.

Run: ``python benchmarks/bench_attribution.py [--rows 100000] [--seed 0]``
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

N_NUM, N_CAT = 22, 8


def make_window(n: int, rng: np.random.Generator, *, drifted: bool = False) -> pd.DataFrame:
    cols = {f"x{i:02d}": rng.normal(size=n) for i in range(N_NUM)}
    for j in range(N_CAT):
        k = 3 + 2 * j
        p = np.arange(k, 0, -1, dtype=float)
        cols[f"c{j}"] = rng.choice([f"v{v}" for v in range(k)], size=n, p=p / p.sum())
    X = pd.DataFrame(cols)
    if drifted:
        X["x01"] = X["x01"] + 0.7  # a decisive feature shifts moderately
        X["x03"] = 0.0  # a feature collapses to a default value
        X["x20"] = X["x20"] * 3 + 4  # an ignored feature shifts far
    return X


def label(X: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    logit = (1.5 * X["x00"] + 1.0 * X["x01"] - 0.8 * X["x02"] + 0.6 * X["x03"] * X["x04"]
             + 0.4 * np.sin(2 * X["x05"]) + 0.8 * (X["c0"] == "v0") - 0.5 * (X["c1"] == "v2")
             + 0.3 * X["x06"] ** 2 - 0.3)
    return (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)


def build_model(X: pd.DataFrame, y: np.ndarray, seed: int):
    import lightgbm as lgb
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    cats = [c for c in X.columns if c.startswith("c")]
    nums = [c for c in X.columns if c.startswith("x")]
    pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                              cats), ("num", "passthrough", nums)])
    model = lgb.LGBMClassifier(n_estimators=200, num_leaves=31, learning_rate=0.05,
                               random_state=seed, verbose=-1)
    return Pipeline([("pre", pre), ("model", model)]).fit(X, y)


def full_figures(model, ref: pd.DataFrame, cur: pd.DataFrame, seed: int):
    """Mean |SHAP| and mean SHAP per feature on every row, same explainer as the sample."""
    from toolkit._attribution_explain import Explainer
    from toolkit._attribution_sample import explain_rows

    rng = np.random.default_rng(seed)  # the same background draw as attribution_drift
    background = ref.iloc[np.sort(rng.choice(len(ref), 100, replace=False))]
    probe = ref.iloc[np.sort(rng.choice(len(ref), 1000, replace=False))]
    explainer = Explainer(model, background, features=list(ref.columns), probe=probe,
                          random_state=seed)

    class _Bar:
        def update(self, n: int) -> None:
            pass

    v_ref, _, _ = explain_rows(explainer, ref, bar=_Bar())
    v_cur, _, _ = explain_rows(explainer, cur, bar=_Bar())
    return explainer.groups, v_ref, v_cur


def path_dependent_seconds(model, X: pd.DataFrame) -> float:
    from toolkit._attribution_explain import import_shap

    shap = import_shap()
    Z = model[:-1].transform(X)
    start = time.perf_counter()
    shap.TreeExplainer(model[-1]).shap_values(Z)
    return time.perf_counter() - start


def coverage(table: pd.DataFrame, name: str, full: dict[str, float]) -> float:
    low, high = table[f"{name}_low"].to_numpy(), table[f"{name}_high"].to_numpy()
    truth = table["feature"].map(full).to_numpy()
    return float(np.mean((low <= truth + 1e-12) & (truth <= high + 1e-12)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows per window")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sampled-only", action="store_true",
                        help="time only the sampled analysis (skip both full computations)")
    args = parser.parse_args()
    from toolkit import attribution

    rng = np.random.default_rng(args.seed)
    train = make_window(args.rows, rng)
    model = build_model(train, label(train, rng), args.seed)
    ref, cur = make_window(args.rows, rng), make_window(args.rows, rng, drifted=True)

    start = time.perf_counter()
    result = attribution.attribution_drift(ref, cur, model=model, random_state=args.seed,
                                           progress=False)
    sampled = time.perf_counter() - start
    if args.sampled_only:
        print(json.dumps({"rows_per_window": args.rows, "seconds_sampled_analysis":
                          round(sampled, 2), "sample": result.sample}, indent=2))
        return
    start = time.perf_counter()
    groups, v_ref, v_cur = full_figures(model, ref, cur, args.seed)
    exact = time.perf_counter() - start
    path_dep = path_dependent_seconds(model, pd.concat([ref, cur], ignore_index=True))

    full = {"mean_abs_ref": np.abs(v_ref).mean(0), "mean_abs_cur": np.abs(v_cur).mean(0),
            "contribution": v_cur.mean(0) - v_ref.mean(0)}
    t = result.table.set_index("feature").loc[groups]
    out = {
        "rows_per_window": args.rows, "features": len(groups),
        "explained_per_window": [result.sample["n_reference_explained"],
                                 result.sample["n_current_explained"]],
        "method": result.sample["method"],
        "seconds_sampled_analysis": round(sampled, 2),
        "seconds_exact_all_rows_same_explainer": round(exact, 2),
        "seconds_path_dependent_all_rows": round(path_dep, 2),
        "speedup_vs_exact": round(exact / sampled, 1),
        "speedup_vs_path_dependent": round(path_dep / sampled, 1),
        "ndcg_vs_full_ref": attribution.clarify_ndcg(full["mean_abs_ref"], t["mean_abs_ref"]),
        "ndcg_vs_full_cur": attribution.clarify_ndcg(full["mean_abs_cur"], t["mean_abs_cur"]),
        "ndcg_drift_sampled": result.ndcg,
        "ndcg_drift_full": attribution.clarify_ndcg(full["mean_abs_ref"], full["mean_abs_cur"]),
    }
    for name, values in full.items():
        out[f"coverage_{name}"] = coverage(result.table, name, dict(zip(groups, values)))
    out["top_findings"] = [f"{f.severity} {f.check} {list(f.features)}"
                           for f in result.findings[:5]]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
