"""Per-feature figures of attribution drift, with stratified bootstrap intervals."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from toolkit._attribution_sample import Explained
    from toolkit.attribution import AttributionDriftResult


def _replicates(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap replicates of mean |SHAP| and mean SHAP, shape (B, features) each."""
    n = values.shape[0]
    return (weights @ abs(values)) / n, (weights @ values) / n


def _wasserstein(ex: Explained, w_ref: np.ndarray, w_cur: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per feature: distance between its SHAP-value distributions in both windows."""
    import numpy as np

    from toolkit._attribution_stats import wasserstein_replicates

    pairs = [wasserstein_replicates(ex.values_ref[:, j], ex.values_cur[:, j], w_ref, w_cur)
             for j in range(len(ex.groups))]
    return np.array([p[0] for p in pairs]), np.column_stack([p[1] for p in pairs])


def _shares(x: np.ndarray) -> np.ndarray:
    import numpy as np

    total = x.sum(axis=-1, keepdims=True)
    return np.divide(x, total, out=np.zeros_like(x, dtype=float), where=total > 0)


def compute_figures(ex: Explained, *, n_bootstrap: int, confidence: float, random_state: int,
                    segment: str | None) -> AttributionDriftResult:
    """Attribution table, NDCG, rank correlations and the prediction-shift split.

    Table columns, one row per feature (raw column or ``a+b`` group), sorted by
    ``attribution_shift``: the Wasserstein-1 distance between the feature's SHAP values
    in the two windows, in score units (how much its effect on scores changed: a
    collapse to one value, a loss of influence and a level shift all count, while a
    feature the model ignores stays near 0); then ``mean_abs_ref`` / ``mean_abs_cur``
    (mean |SHAP|) with ``_low``/``_high`` bounds, ``share_ref``/``share_cur`` (share
    of the total mean |SHAP|), ``share_change`` with bounds, ``mean_ref``/``mean_cur``
    (mean signed SHAP) with bounds, ``contribution`` (to the mean score change) with
    bounds, ``direction_ref``/``direction_cur`` (Spearman correlation of a numeric
    feature's values with its SHAP values) and ``direction_change`` (opposite signs,
    each at least 0.3 in size). Bounds are simultaneous over features.
    """
    import numpy as np

    from toolkit._attribution_stats import (
        bootstrap_weights,
        clarify_ndcg,
        percentile_interval,
        rank_correlations,
    )
    from toolkit.attribution import AttributionDriftResult

    rng = np.random.default_rng(random_state + 2)
    w_ref = bootstrap_weights(ex.strata_ref, n_bootstrap, rng)
    w_cur = bootstrap_weights(ex.strata_cur, n_bootstrap, rng)
    abs_r_b, mean_r_b = _replicates(ex.values_ref, w_ref)
    abs_c_b, mean_c_b = _replicates(ex.values_cur, w_cur)
    est = {
        "attribution_shift": _wasserstein(ex, w_ref, w_cur),
        "mean_abs_ref": (np.abs(ex.values_ref).mean(0), abs_r_b),
        "mean_abs_cur": (np.abs(ex.values_cur).mean(0), abs_c_b),
        "share_change": (_shares(np.abs(ex.values_cur).mean(0))
                         - _shares(np.abs(ex.values_ref).mean(0)),
                         _shares(abs_c_b) - _shares(abs_r_b)),
        "mean_ref": (ex.values_ref.mean(0), mean_r_b),
        "mean_cur": (ex.values_cur.mean(0), mean_c_b),
        "contribution": (ex.values_cur.mean(0) - ex.values_ref.mean(0), mean_c_b - mean_r_b),
    }
    table = _table(ex.groups, est, confidence=confidence)
    table = _directions(table, ex)
    ndcg_b = np.array([clarify_ndcg(a, b) for a, b in zip(abs_r_b, abs_c_b)])
    ndcg = clarify_ndcg(est["mean_abs_ref"][0], est["mean_abs_cur"][0])
    spearman, kendall = rank_correlations(est["mean_abs_ref"][0], est["mean_abs_cur"][0])
    shift = _shift(ex, table, mean_c_b.sum(1) - mean_r_b.sum(1), confidence, segment)
    sample = dict(ex.sample, confidence=confidence, n_bootstrap=n_bootstrap)
    return AttributionDriftResult(
        table=table, ndcg=ndcg, ndcg_interval=percentile_interval(ndcg_b, confidence=confidence),
        spearman=spearman, kendall=kendall, shift=shift, sample=sample, segment=segment,
        notes=list(ex.notes),
    )


def _table(groups: list[str], est: dict[str, tuple[np.ndarray, np.ndarray]], *,
           confidence: float) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    cols: dict[str, object] = {"feature": groups}
    for name, (value, reps) in est.items():
        lo, hi = simultaneous_bounds(value, reps, confidence=confidence,
                                     nonnegative=name.startswith(("mean_abs", "attribution")))
        cols[name], cols[f"{name}_low"], cols[f"{name}_high"] = value, lo, hi
        if name == "mean_abs_cur":
            cols["share_ref"] = _shares(est["mean_abs_ref"][0])
            cols["share_cur"] = _shares(value)
    table = pd.DataFrame(cols)
    order = np.argsort(-table["attribution_shift"].to_numpy(), kind="stable")
    return table.iloc[order].reset_index(drop=True)


#: Smallest |Spearman correlation| between a feature and its SHAP value, in both
#: windows, for a sign flip to count as a change of direction.
DIRECTION_RHO = 0.3


def _directions(table: pd.DataFrame, ex: Explained) -> pd.DataFrame:
    """Direction of each numeric feature's effect: Spearman(value, SHAP value) per window.

    A positive correlation means higher values push the score up. The mean signed
    SHAP cannot serve: with a reference background it is ~0 in the reference window up
    to background-sampling noise that the bootstrap over rows does not see.
    """
    import numpy as np
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    from toolkit._attribution_stats import pd_numeric, rank_correlations

    rho: dict[str, list[float]] = {"ref": [], "cur": []}
    for group in table["feature"]:
        j = ex.groups.index(group)
        for window, rows, values in (("ref", ex.rows_ref, ex.values_ref),
                                     ("cur", ex.rows_cur, ex.values_cur)):
            ok = (rows is not None and group in rows.columns
                  and is_numeric_dtype(rows[group].dtype) and not is_bool_dtype(rows[group].dtype))
            if not ok or rows is None:
                rho[window].append(np.nan)
                continue
            x = pd_numeric(rows[group])
            keep = np.isfinite(x)
            rho[window].append(rank_correlations(x[keep], values[keep, j])[0])
    out = table.assign(direction_ref=rho["ref"], direction_cur=rho["cur"])
    out["direction_change"] = ((out["direction_ref"] * out["direction_cur"] < 0)
                               & (out["direction_ref"].abs() >= DIRECTION_RHO)
                               & (out["direction_cur"].abs() >= DIRECTION_RHO))
    return out


def simultaneous_bounds(value: np.ndarray, reps: np.ndarray, *, confidence: float,
                        nonnegative: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Simultaneous bounds, clipped at zero for figures that cannot be negative."""
    import numpy as np

    from toolkit._attribution_stats import simultaneous_interval

    lo, hi = simultaneous_interval(value, reps, confidence=confidence)
    return (np.maximum(lo, 0.0), hi) if nonnegative else (lo, hi)


def _shift(ex: Explained, table: pd.DataFrame, total_b: np.ndarray, confidence: float,
           segment: str | None):  # -> PredictionShift
    import numpy as np

    from toolkit._attribution_stats import percentile_interval
    from toolkit.attribution import PredictionShift

    mean_ref, mean_cur = float(ex.output_ref.mean()), float(ex.output_cur.mean())
    total = mean_cur - mean_ref
    shift = table[["feature", "contribution", "contribution_low", "contribution_high",
                   "mean_ref", "mean_cur"]].rename(columns={
        "contribution_low": "ci_low", "contribution_high": "ci_high",
        "mean_ref": "mean_shap_ref", "mean_cur": "mean_shap_cur"})
    shift.insert(4, "share_of_shift", shift["contribution"] / total if total else np.nan)
    order = np.argsort(-np.abs(shift["contribution"].to_numpy()), kind="stable")
    return PredictionShift(
        table=shift.iloc[order].reset_index(drop=True), mean_ref=mean_ref, mean_cur=mean_cur,
        total=total, total_interval=percentile_interval(total_b, confidence=confidence),
        expected_value_change=0.0, full_mean_ref=float(ex.scores_ref.mean()),
        full_mean_cur=float(ex.scores_cur.mean()), sample=dict(ex.sample), segment=segment,
    )
