"""Model and data version comparison: what changed between v1 and v2, row by row.

:func:`compare_versions` puts the same rows through version A (earlier) and version B
(later) and reports score deltas, decision flips at the operating threshold, rank
agreement, the rows that moved most, and with labels the metric deltas overall and
per segment with paired intervals, calibration of both, the slices where B is worse
(:func:`toolkit.segments.find_slices`), and attribution deltas (which features B
gained, lost or ignores). :func:`compare_data_versions` compares two snapshots of a
table with the data checks.

Intervals, and why they are cheap on a million rows:

- Count-based metrics (AUC, precision and recall at the threshold) use a paired
  Poisson bootstrap on aggregated cells (segment x score bin of A x score bin of B x
  label). A cell of ``n`` rows resampled row by row with Poisson(1) weights holds
  Poisson(``n``) rows, so drawing cell counts is the row bootstrap, exactly, for any
  statistic of the binned counts. The threshold is a bin edge, so precision and recall
  are exact; the binned AUC only sets the width of the interval, centred on the exact
  AUC.
- Mean metrics (log loss, Brier score, MAE, RMSE) use the paired normal interval of
  the per-row difference (RMSE by the delta method): the limit the bootstrap reaches,
  in closed form.

Operating threshold when none is given: the score at which version A flags the share
``decision_rate`` of the rows; without ``decision_rate``, the label prevalence (with a
target), else 0.5. Version B is judged at the same threshold, as in production.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from toolkit._exceptions import InputError, ModelError
from toolkit.findings import Finding, rank_findings

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from toolkit.segments import SliceReport

__all__ = ["VersionComparison", "compare_data_versions", "compare_versions"]

#: Metric -> (better direction, practical threshold, relative to version A's value?).
METRICS: dict[str, tuple[str, float, bool]] = {
    "auc": ("higher", 0.01, False),
    "log_loss": ("lower", 0.02, True),
    "brier": ("lower", 0.02, True),
    "precision": ("higher", 0.02, False),
    "recall": ("higher", 0.02, False),
    "mae": ("lower", 0.02, True),
    "rmse": ("lower", 0.02, True),
}
#: Metrics that judge a regression; precision and recall trade off against each other.
PRIMARY = {"classification": ("auc", "log_loss"), "regression": ("mae", "rmse")}
_Z95 = 1.959963984540054
_N_BINS = 64


@dataclasses.dataclass(frozen=True)
class VersionComparison:
    """Everything :func:`compare_versions` measured; plots and templates read it.

    Attributes
    ----------
    task : {"classification", "regression"}
    threshold : float or None
        Operating threshold (decisions are ``score >= threshold``).
    threshold_rule : str
        How the threshold was chosen.
    n_rows, n_labeled : int
    delta_summary : dict
        Mean, mean absolute and quantiles of ``score_b - score_a``; Spearman rank
        agreement; decision rates.
    delta_hist : DataFrame
        ``left``, ``right``, ``count`` of the score deltas.
    flips : DataFrame
        2 x 2 flip matrix: ``a_decision``, ``b_decision``, ``rows`` (and ``positives``
        with labels).
    flip_rate : dict
        ``rate``, ``ci_low``, ``ci_high`` (Wilson 95%), ``n_flips``, ``up``, ``down``.
    top_flips : DataFrame
        Rows that flipped (or moved) most, with their inputs.
    metrics : DataFrame
        One row per segment and metric: ``column``, ``segment``, ``n``, ``metric``,
        ``a``, ``b``, ``delta`` (b - a), ``ci_low``, ``ci_high``, ``status``.
    calibration : DataFrame
        Reliability table of both versions: ``version``, ``bin``, ``mean_score``,
        ``observed``, ``count``; ``ece`` holds the expected calibration errors.
    ece : dict
    slices : SliceReport or None
        Where B's per-row loss exceeds A's more than elsewhere.
    attribution : DataFrame
        ``feature``, ``importance_a``, ``importance_b``, ``share_a``, ``share_b``,
        ``delta_share``, ``method``.
    findings : list of Finding
    """

    task: str
    threshold: float | None
    threshold_rule: str
    n_rows: int
    n_labeled: int
    delta_summary: dict[str, Any]
    delta_hist: pd.DataFrame
    flips: pd.DataFrame
    flip_rate: dict[str, Any]
    top_flips: pd.DataFrame
    metrics: pd.DataFrame
    calibration: pd.DataFrame
    ece: dict[str, float]
    slices: SliceReport | None
    attribution: pd.DataFrame
    findings: list[Finding]


# ----------------------------------------------------------------------------- inputs


def _labels(data: pd.DataFrame, target: str | None, model: Any, task: str) -> np.ndarray | None:
    import numpy as np
    import pandas as pd

    if target is None:
        return None
    if target not in data.columns:
        raise InputError(
            f"The target column {target!r} is not in the data; columns are "
            f"{list(data.columns)[:20]}. Pass --target with an existing column, or omit it."
        )
    y = data[target]
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y):
            raise InputError(f"The target {target!r} must be numeric for a regressor; got {y.dtype}.")
        return y.to_numpy(dtype=float, na_value=np.nan)
    classes = getattr(model, "classes_", None)
    values = set(y.dropna().unique().tolist())
    positive = classes[1] if classes is not None and len(classes) == 2 else 1
    if hasattr(positive, "item"):
        positive = positive.item()
    if len(values) > 2 or (values and positive not in values and values - {0, 1, True, False}):
        raise InputError(
            f"The target {target!r} must hold the two classes of the model "
            f"(positive class {positive!r}); found values {sorted(map(str, values))[:10]}."
        )
    out = (y == positive).to_numpy(dtype=float, na_value=np.nan)
    out[y.isna().to_numpy()] = np.nan
    return out


def _threshold(s_a: Any, y: Any, task: str, threshold: float | None, decision_rate: float | None) -> tuple[float | None, str]:
    import numpy as np

    if threshold is not None:
        return float(threshold), "given"
    if task == "regression" and decision_rate is None:
        return None, "no threshold given: decisions not compared"
    if decision_rate is None and y is not None and np.isfinite(y).any():
        rate = float(np.nanmean(y))
        return float(np.quantile(s_a, 1 - rate)), f"version A flags the label prevalence ({rate:.3g}) of rows"
    if decision_rate is not None:
        if not 0 < decision_rate < 1:
            raise InputError(f"decision_rate must be in (0, 1); got {decision_rate!r}.")
        return float(np.quantile(s_a, 1 - decision_rate)), f"version A flags {decision_rate:.3g} of rows"
    return 0.5, "default 0.5 (no threshold, decision rate or target given)"


def _feature_columns(data: pd.DataFrame, models: list[Any], target: str | None) -> list[str]:
    from toolkit.scoring import model_features

    names: list[str] = []
    for m in models:
        for f in model_features(m) or []:
            if f not in names:
                names.append(f)
    return names or [c for c in data.columns if c != target]


# ---------------------------------------------------------------------------- metrics


def _row_loss(score: np.ndarray, y: np.ndarray, task: str) -> np.ndarray:
    import numpy as np

    if task == "regression":
        return np.abs(score - y)
    p = np.clip(score, 1e-15, 1 - 1e-15)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def _auc_binned(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """AUC from per-bin counts along the last axis (ties within a bin count half)."""
    import numpy as np

    below = np.cumsum(neg, axis=-1) - neg
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (below + 0.5 * neg)).sum(-1) / (pos.sum(-1) * neg.sum(-1))


def _count_metrics(pos: np.ndarray, neg: np.ndarray, tbin: int) -> dict[str, np.ndarray]:
    import numpy as np

    tp, fp = pos[..., tbin:].sum(-1), neg[..., tbin:].sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"auc": _auc_binned(pos, neg), "precision": tp / (tp + fp), "recall": tp / pos.sum(-1)}


@dataclasses.dataclass(frozen=True)
class _Scored:
    """Scores of both versions with what every grouping reuses: bins and sort orders."""

    s_a: np.ndarray
    s_b: np.ndarray
    y: np.ndarray
    thr: float | None
    ia: np.ndarray | None = None
    ib: np.ndarray | None = None
    K: int = 0
    tbin: int = 0
    order_a: np.ndarray | None = None
    order_b: np.ndarray | None = None


def _scored(s_a: np.ndarray, s_b: np.ndarray, y: np.ndarray, thr: float | None, task: str) -> _Scored:
    import numpy as np

    if task != "classification" or thr is None:
        return _Scored(s_a, s_b, y, thr)
    qs = np.quantile(np.concatenate([s_a[:100_000], s_b[:100_000]]), np.linspace(0, 1, _N_BINS + 1)[1:-1])
    edges = np.unique(np.append(qs, thr))
    return _Scored(s_a, s_b, y, thr, np.searchsorted(edges, s_a, side="right"),
                   np.searchsorted(edges, s_b, side="right"), len(edges) + 1,
                   int(np.searchsorted(edges, thr, side="right")), np.argsort(s_a), np.argsort(s_b))


def _count_intervals(g: Any, G: int, sc: _Scored, n_bootstrap: int, rng: Any) -> dict[str, Any]:
    """Paired Poisson bootstrap of count metrics per group, on aggregated cells."""
    import numpy as np
    from scipy import sparse

    y, ia, ib, K, tbin = sc.y, sc.ia, sc.ib, sc.K, sc.tbin
    key = ((g * K + ia) * K + ib) * 2 + y.astype(np.int64)
    cells = np.bincount(key, minlength=G * K * K * 2)
    nz = np.flatnonzero(cells)
    cg, rem = np.divmod(nz, K * K * 2)
    ca, rem = np.divmod(rem, K * 2)
    cb, cy = np.divmod(rem, 2)
    W = np.vstack([cells[nz][None, :], rng.poisson(cells[nz], size=(n_bootstrap, len(nz)))]).astype(np.float64)
    out = {}
    for name, bins in (("a", ca), ("b", cb)):
        S = sparse.csr_matrix((np.ones(len(nz)), (np.arange(len(nz)), (cg * K + bins) * 2 + cy)), shape=(len(nz), G * K * 2))
        agg = np.asarray((S.T @ W.T).T).reshape(-1, G, K, 2)
        out[name] = _count_metrics(agg[..., 1], agg[..., 0], tbin)
    return out  # index 0 of the first axis is the point estimate on the binned data


def _group_metrics(column: str, codes: np.ndarray, exprs: list[Any], sc: _Scored, task: str,
                   n_bootstrap: int, min_n: int, rng: Any) -> list[dict[str, Any]]:
    import numpy as np

    s_a, s_b, y, G = sc.s_a, sc.s_b, sc.y, len(exprs)
    n = np.bincount(codes, minlength=G)
    rows: list[dict[str, Any]] = []
    sums = {}
    if task == "classification":
        ll_a, ll_b = _row_loss(s_a, y, task), _row_loss(s_b, y, task)
        sums["log_loss"] = (ll_a, ll_b)
        sums["brier"] = ((s_a - y) ** 2, (s_b - y) ** 2)
    else:
        sums["mae"] = (np.abs(s_a - y), np.abs(s_b - y))
        sums["rmse"] = ((s_a - y) ** 2, (s_b - y) ** 2)
    for metric, (la, lb) in sums.items():
        ma, mb = (np.bincount(codes, weights=v, minlength=G) / np.maximum(n, 1) for v in (la, lb))
        dd = lb - la
        var = np.bincount(codes, weights=dd * dd, minlength=G) / np.maximum(n, 1) - (mb - ma) ** 2
        se = np.sqrt(np.maximum(var, 0) / np.maximum(n - 1, 1))
        if metric == "rmse":  # delta method on the two mean squared errors
            ra, rb = np.sqrt(ma), np.sqrt(mb)
            va = np.bincount(codes, weights=la * la, minlength=G) / np.maximum(n, 1) - ma**2
            vb = np.bincount(codes, weights=lb * lb, minlength=G) / np.maximum(n, 1) - mb**2
            cab = np.bincount(codes, weights=la * lb, minlength=G) / np.maximum(n, 1) - ma * mb
            with np.errstate(invalid="ignore", divide="ignore"):
                v = vb / (4 * mb) + va / (4 * ma) - 2 * cab / (4 * ra * rb)
            ma, mb, se = ra, rb, np.sqrt(np.maximum(v, 0) / np.maximum(n - 1, 1))
        for k in np.flatnonzero(n >= min_n):
            d = mb[k] - ma[k]
            rows.append(_metric_row(column, exprs[k], int(n[k]), metric, ma[k], mb[k], d - _Z95 * se[k], d + _Z95 * se[k]))
    if sc.order_a is not None and n_bootstrap > 0:
        rows += _bootstrapped_rows(column, codes, exprs, n, sc, n_bootstrap, min_n, rng)
    return rows


def _auc_by_group(codes: np.ndarray, G: int, s: np.ndarray, y: np.ndarray, by_score: np.ndarray) -> np.ndarray:
    """Exact AUC of ``s`` per group (ties count half); ``by_score`` is ``argsort(s)``."""
    import numpy as np

    small = codes.astype(np.int16) if G < 32_000 else codes  # radix sort for small codes
    order = by_score[np.argsort(small[by_score], kind="stable")]
    g, sv, yv = codes[order], s[order], y[order]
    new_block = np.r_[True, (g[1:] != g[:-1]) | (sv[1:] != sv[:-1])]
    block = np.cumsum(new_block) - 1
    pos = np.bincount(block, weights=yv)
    neg = np.bincount(block, weights=1 - yv)
    bg = g[new_block]
    cneg = np.cumsum(neg)
    start = np.r_[0.0, np.bincount(bg, weights=neg, minlength=G).cumsum()[:-1]]  # negatives before the group
    below = cneg - neg - start[bg]
    num = np.bincount(bg, weights=pos * (below + 0.5 * neg), minlength=G)
    P, N = np.bincount(bg, weights=pos, minlength=G), np.bincount(bg, weights=neg, minlength=G)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / (P * N)


def _bootstrapped_rows(column: str, codes: Any, exprs: list[Any], n: Any, sc: _Scored,
                       n_bootstrap: int, min_n: int, rng: Any) -> list[dict[str, Any]]:
    import numpy as np

    G = len(exprs)
    boot = _count_intervals(codes, G, sc, n_bootstrap, rng)
    exact = {"auc": (_auc_by_group(codes, G, sc.s_a, sc.y, sc.order_a),
                     _auc_by_group(codes, G, sc.s_b, sc.y, sc.order_b))}
    rows = []
    for k in np.flatnonzero(n >= min_n):
        for metric in ("auc", "precision", "recall"):
            ra, rb = boot["a"][metric][:, k], boot["b"][metric][:, k]
            a, b = (exact[metric][0][k], exact[metric][1][k]) if metric in exact else (ra[0], rb[0])
            shift = (rb[1:] - ra[1:]) - (rb[0] - ra[0])
            shift = shift[np.isfinite(shift)]
            if not (np.isfinite(a) and np.isfinite(b)) or shift.size < 0.9 * n_bootstrap:
                continue
            lo, hi = np.quantile(shift, [0.025, 0.975])
            rows.append(_metric_row(column, exprs[k], int(n[k]), metric, a, b, b - a + lo, b - a + hi))
    return rows


def _metric_row(column: str, segment: Any, n: int, metric: str, a: float, b: float, lo: float, hi: float) -> dict[str, Any]:
    better, practical, relative = METRICS[metric]
    cut = practical * abs(a) if relative else practical
    sign = 1.0 if better == "lower" else -1.0  # positive "regression" = B worse
    reg, reg_lo = sign * (b - a), min(sign * lo, sign * hi)
    status = "same"
    if reg_lo > 0 and reg >= cut:
        status = "worse"
    elif max(sign * lo, sign * hi) < 0 and -reg >= cut:
        status = "better"
    return {"column": column, "segment": segment or "all rows", "n": n, "metric": metric, "a": float(a),
            "b": float(b), "delta": float(b - a), "ci_low": float(lo), "ci_high": float(hi),
            "practical": cut, "status": status, "critical": bool(status == "worse" and reg_lo >= cut)}


def _calibration(s_a: Any, s_b: Any, y: Any, n_bins: int = 10) -> tuple[pd.DataFrame, dict[str, float]]:
    import numpy as np
    import pandas as pd

    parts, ece = [], {}
    for version, s in (("A", s_a), ("B", s_b)):
        b = np.clip((s * n_bins).astype(int), 0, n_bins - 1)
        cnt = np.bincount(b, minlength=n_bins)
        ms = np.bincount(b, weights=s, minlength=n_bins) / np.maximum(cnt, 1)
        obs = np.bincount(b, weights=y, minlength=n_bins) / np.maximum(cnt, 1)
        ece[version] = float(np.sum(cnt * np.abs(ms - obs)) / max(cnt.sum(), 1))
        parts.append(pd.DataFrame({"version": version, "bin": np.arange(n_bins), "mean_score": ms,
                                   "observed": obs, "count": cnt}).loc[cnt > 0])
    return pd.concat(parts, ignore_index=True), ece


# ------------------------------------------------------------------- same inputs, flips


def _wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p, z2 = k / n, _Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _deltas(s_a: Any, s_b: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    import numpy as np
    import pandas as pd
    from scipy import stats

    delta = s_b - s_a
    qs = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
    summary = {"mean": float(delta.mean()), "mean_abs": float(np.abs(delta).mean()),
               "sd_a": float(s_a.std()), "quantiles": dict(zip(map(str, qs), np.quantile(delta, qs).tolist())),
               "spearman": float(stats.spearmanr(s_a, s_b).statistic) if len(s_a) > 2 else float("nan")}
    lo, hi = np.quantile(delta, [0.001, 0.999])
    if hi <= lo:
        lo, hi = lo - 1e-9, hi + 1e-9
    counts, edges = np.histogram(np.clip(delta, lo, hi), bins=40, range=(lo, hi))
    return summary, pd.DataFrame({"left": edges[:-1], "right": edges[1:], "count": counts})


def _flips(data: pd.DataFrame, s_a: Any, s_b: Any, y: Any, thr: float | None, features: list[str],
           top: int) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    import numpy as np
    import pandas as pd

    delta = s_b - s_a
    if thr is None:
        order = np.argsort(-np.abs(delta), kind="stable")[:top]
        table = data.iloc[order][features].copy()
        table.insert(0, "row", data.index[order])
        table.insert(1, "score_a", s_a[order])
        table.insert(2, "score_b", s_b[order])
        return pd.DataFrame(), {}, table.reset_index(drop=True)
    da, db = s_a >= thr, s_b >= thr
    rows = []
    for a in (False, True):
        for b in (False, True):
            m = (da == a) & (db == b)
            rec = {"a_decision": int(a), "b_decision": int(b), "rows": int(m.sum())}
            if y is not None:
                rec["positives"] = int(np.nansum(y[m]))
            rows.append(rec)
    flipped = da != db
    k, n = int(flipped.sum()), len(da)
    lo, hi = _wilson(k, n)
    rate = {"rate": k / n if n else float("nan"), "ci_low": lo, "ci_high": hi, "n_flips": k,
            "up": int((~da & db).sum()), "down": int((da & ~db).sum())}
    if y is not None:
        ok = flipped & np.isfinite(y)
        rate["b_right"] = int(np.sum(ok & (db == (y == 1))))
        rate["a_right"] = int(np.sum(ok & (da == (y == 1))))
    idx = np.flatnonzero(flipped)
    idx = idx[np.argsort(-np.abs(delta[idx]), kind="stable")[:top]]
    table = data.iloc[idx][features].copy()
    table.insert(0, "row", data.index[idx])
    table.insert(1, "score_a", s_a[idx])
    table.insert(2, "score_b", s_b[idx])
    table.insert(3, "delta", delta[idx])
    if y is not None:
        table.insert(4, "label", y[idx])
    return pd.DataFrame(rows), rate, table.reset_index(drop=True)


# ------------------------------------------------------------------------ attribution


def permutation_importance(data: pd.DataFrame, models: dict[str, Any], *, features: list[str],
                           sample_size: int = 2000, n_repeats: int = 3, random_state: int = 0) -> pd.DataFrame:
    """Label-free permutation importance of each version on the same sample.

    The importance of a feature is the mean absolute change of a version's score when
    that column is shuffled: it needs no labels, and it is zero for a feature a
    version does not read, which is how "B lost feature f" shows.

    Parameters
    ----------
    data : DataFrame
    models : dict of str to model
        Version name (``"a"``, ``"b"``) to model.
    features : list of str
        Columns to permute.
    sample_size, n_repeats, random_state : int
        Rows explained (a uniform sample), shuffles per feature, and the seed.

    Returns
    -------
    DataFrame
        ``feature`` and ``importance_<name>`` per version.
    """
    import numpy as np
    import pandas as pd

    from toolkit.scoring import predict_scores

    rng = np.random.default_rng(random_state)
    idx = rng.choice(len(data), min(sample_size, len(data)), replace=False)
    X = data.iloc[np.sort(idx)].reset_index(drop=True)
    base = {k: predict_scores(m, X, name=f"version {k.upper()}") for k, m in models.items()}
    out: dict[str, list[float]] = {f"importance_{k}": [] for k in models}
    for f in features:
        acc = dict.fromkeys(models, 0.0)
        for _ in range(n_repeats):
            Xp = X.copy()
            Xp[f] = X[f].iloc[rng.permutation(len(X))].reset_index(drop=True)  # keeps the dtype
            for k, m in models.items():
                acc[k] += float(np.mean(np.abs(predict_scores(m, Xp, name=f"version {k.upper()}") - base[k])))
        for k in models:
            out[f"importance_{k}"].append(acc[k] / n_repeats)
    return pd.DataFrame({"feature": features, **out})


#: Attribution method name -> function(data, models, features=..., random_state=...).
#: SHAP (toolkit.attribution) plugs in here when it lands; permutation needs no labels.
ATTRIBUTION_METHODS: dict[str, Any] = {"permutation": permutation_importance}


def _attribution(data: pd.DataFrame, model_a: Any, model_b: Any, features: list[str], method: str,
                 sample_size: int, random_state: int) -> pd.DataFrame:
    import numpy as np

    if method not in ATTRIBUTION_METHODS:
        raise InputError(f"Unknown attribution method {method!r}; expected one of {list(ATTRIBUTION_METHODS)}.")
    table = ATTRIBUTION_METHODS[method](data, {"a": model_a, "b": model_b}, features=features,
                                        sample_size=sample_size, random_state=random_state)
    for k in ("a", "b"):
        total = table[f"importance_{k}"].sum()
        table[f"share_{k}"] = table[f"importance_{k}"] / total if total > 0 else np.nan
    table["delta_share"] = table["share_b"] - table["share_a"]
    table["method"] = method
    return table.sort_values("share_a", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- findings


def _metric_finding(metrics: pd.DataFrame, task: str) -> Finding:
    overall = metrics[(metrics["column"] == "all rows") & metrics["metric"].isin(PRIMARY[task])]
    worse = overall[overall["status"] == "worse"]
    table = overall[["metric", "a", "b", "delta", "ci_low", "ci_high", "status"]]
    if worse.empty:
        better = overall[overall["status"] == "better"]
        word = "improves" if not better.empty else "matches"
        return Finding(check="versions.metric_comparison", layer="model", severity="info", score=0.1,
                       summary=f"Version B {word} version A on {', '.join(PRIMARY[task])} overall "
                               f"(no regression beyond the practical threshold).",
                       evidence={"metrics": table}, next_step="No action on overall quality; check the "
                       "segment and flip findings before promoting version B.")
    severity = "critical" if worse["critical"].any() else "warning"
    parts = [f"{r.metric} {r.a:.4g} -> {r.b:.4g} (95% CI of change {r.ci_low:+.3g} to {r.ci_high:+.3g})"
             for r in worse.itertuples()]
    strength = max(abs(r.delta) / max(r.practical, 1e-12) for r in worse.itertuples())
    return Finding(check="versions.metric_regression", layer="model", severity=severity,
                   score=min(0.5, 0.1 * strength),  # the symptom: causes and localisations rank above it
                   summary=f"Version B is worse than version A overall: {'; '.join(parts)}.",
                   evidence={"metrics": table, "practical": worse[["metric", "practical"]]},
                   next_step="Look at the feature and segment findings below for where and why; keep "
                             "version A serving until the regression is explained.")


def _segment_findings(report: SliceReport | None, regressed: bool, task: str) -> list[Finding]:
    if report is None:
        return []
    loss = "absolute error" if task == "regression" else "log loss"
    out = []
    for r in report.table.itertuples():
        severity = "critical" if r.ci_low >= report.threshold else "warning"
        if regressed and r.explained >= 0.5:
            severity = "critical"
        out.append(Finding(
            check="versions.segment_regression", layer="model", severity=severity,
            score=min(0.9, 0.5 + 0.4 * r.explained), features=tuple(r.columns), segment=r.segment,
            summary=f"Version B is worse in {r.segment} ({r.support} rows, {r.share:.1%}): per-row {loss} "
                    f"rises {r.mean:+.3g} there vs {r.rest_mean:+.3g} elsewhere (excess {r.effect:.3g}, "
                    f"adjusted CI {r.ci_low:.3g} to {r.ci_high:.3g}).",
            evidence={"segment": r.segment, "columns": list(r.columns), "support": r.support, "share": r.share,
                      "effect": r.effect, "ci_low": r.ci_low, "ci_high": r.ci_high, "q_value": r.q_value,
                      "explained": r.explained, "loss_a": r.baseline_mean, "loss_b": r.loss_mean,
                      "slices_tested": report.n_tested, "threshold": report.threshold},
            next_step=f"Compare the training data of both versions for rows with {r.segment} (coverage, "
                      f"labels, preprocessing); gate promotion on this segment's metrics."))
    return out


def _feature_findings(attr: pd.DataFrame, regressed: bool, min_share: float = 0.05) -> list[Finding]:
    out = []
    for r in attr.itertuples():
        lost = r.share_a >= min_share and r.share_b <= 0.2 * r.share_a
        gained = r.share_b >= min_share and r.share_a <= 0.2 * r.share_b
        if not (lost or gained):
            continue
        evidence = {"feature": r.feature, "share_a": r.share_a, "share_b": r.share_b,
                    "importance_a": r.importance_a, "importance_b": r.importance_b, "method": r.method}
        if lost:
            out.append(Finding(
                check="versions.feature_dropped", layer="model", severity="critical" if regressed else "warning",
                score=min(1.0, 0.9 + 0.1 * r.share_a), features=(r.feature,), evidence=evidence,
                summary=f"Version B no longer uses {r.feature!r}: {r.share_a:.0%} of version A's "
                        f"attribution, {r.share_b:.0%} of version B's ({r.method}).",
                next_step=f"Check version B's training pipeline for {r.feature!r} (dropped from the feature "
                          f"list, all-null or constant in its training data, renamed upstream)."))
        else:
            out.append(Finding(
                check="versions.feature_gained", layer="model", severity="info", score=0.3 * r.share_b,
                features=(r.feature,), evidence=evidence,
                summary=f"Version B relies on {r.feature!r} ({r.share_b:.0%} of its attribution) that version A "
                        f"barely used ({r.share_a:.0%}).",
                next_step=f"Confirm {r.feature!r} is available and reliable at serving time, without leakage."))
    return out


def _flip_finding(rate: dict[str, Any], summary: dict[str, Any], thr: float | None, labeled: bool,
                  max_flip_rate: float) -> Finding:
    evidence = {"flip_rate": rate, "threshold": thr, "score_delta": summary}
    if not rate:
        return Finding(check="versions.score_deltas", layer="model", severity="info", score=0.05,
                       summary=f"Scores moved by {summary['mean_abs']:.3g} on average (Spearman "
                               f"{summary['spearman']:.3f}); no threshold, so no decisions compared.",
                       evidence=evidence, next_step="Pass the operating threshold to compare decisions.")
    severity = "warning" if not labeled and rate["ci_low"] >= max_flip_rate else "info"
    right = f"; B is right on {rate['b_right']} of them, A on {rate['a_right']}" if "b_right" in rate else ""
    return Finding(
        check="versions.decision_flips", layer="model", severity=severity, score=min(1.0, rate["rate"] * 2),
        summary=f"{rate['n_flips']} rows ({rate['rate']:.2%}, 95% CI {rate['ci_low']:.2%} to "
                f"{rate['ci_high']:.2%}) change decision at threshold {thr:.4g} ({rate['up']} newly flagged, "
                f"{rate['down']} no longer){right}; rank agreement (Spearman) {summary['spearman']:.3f}.",
        evidence=evidence,
        next_step="Review the rows that flipped most" + ("" if labeled else " and label a sample of them")
                  + " before promoting version B.")


def _calibration_finding(ece: dict[str, float]) -> Finding:
    worse = ece["B"] - ece["A"] >= 0.05
    return Finding(check="versions.calibration", layer="model", severity="warning" if worse else "info",
                   score=min(1.0, max(0.0, ece["B"] - ece["A"]) * 5),
                   summary=f"Expected calibration error: version A {ece['A']:.3f}, version B {ece['B']:.3f}.",
                   evidence={"ece": ece}, next_step="Recalibrate version B (isotonic or Platt on recent labels) "
                   "before comparing decisions at a fixed threshold." if worse else
                   "No action: calibration is comparable.")


# ----------------------------------------------------------------------------- public


def _segment_codes(data: pd.DataFrame, columns: list[str], random_state: int) -> list[tuple[str, Any, list[Any]]]:
    import numpy as np

    from toolkit.segments import _encode

    rng = np.random.default_rng(random_state)
    groups: list[tuple[str, Any, list[Any]]] = [("all rows", np.zeros(len(data), dtype=np.int64), [None])]
    for c in columns:
        enc = _encode(data, c, 5, 30, rng)
        if enc is not None:
            groups.append((c, enc.codes, enc.exprs))
    return groups


def _default_segments(data: pd.DataFrame, candidates: list[str]) -> list[str]:
    import pandas as pd

    out = []
    for c in candidates:
        s = data[c]
        if (pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s)) and 2 <= s.nunique() <= 20:
            out.append(c)
    return out


def compare_versions(
    data: pd.DataFrame,
    *,
    model_a: Any,
    model_b: Any,
    target: str | None = None,
    threshold: float | None = None,
    decision_rate: float | None = None,
    segment_columns: list[str] | None = None,
    slice_columns: list[str] | None = None,
    n_bootstrap: int = 200,
    min_support: float = 0.01,
    alpha: float = 0.05,
    min_effect: float = 0.1,
    max_flip_rate: float = 0.05,
    attribution: str = "permutation",
    attribution_sample: int = 2000,
    top: int = 20,
    random_state: int = 0,
) -> VersionComparison:
    """Compare two versions of a model on the same rows.

    Parameters
    ----------
    data : DataFrame
        Rows scored by both versions, with their feature columns (and the target).
    model_a, model_b : model, path or MLflow URI
        Version A (earlier) and version B (later); see :func:`toolkit.io.load_model`.
    target : str, optional
        Label column; enables metrics, calibration, segment regressions.
    threshold : float, optional
        Operating threshold (decision = ``score >= threshold``).
    decision_rate : float, optional
        Without ``threshold``: the share of rows version A flags (see module notes).
    segment_columns : list of str, optional
        Columns for the per-segment metric table; default low-cardinality text columns.
    slice_columns : list of str, optional
        Columns the slice finder searches; default the models' feature columns.
    n_bootstrap : int, default=200
        Paired bootstrap replicates for AUC, precision and recall.
    min_support, alpha, min_effect : float
        Slice finder settings (:func:`toolkit.segments.find_slices`); ``min_effect`` is
        the excess per-row loss relative to version A's mean loss.
    max_flip_rate : float, default=0.05
        Without labels, a flip rate whose interval lies above this is a warning.
    attribution : str, default="permutation"
        A key of :data:`ATTRIBUTION_METHODS`.
    attribution_sample : int, default=2000
        Rows explained.
    top : int, default=20
        Rows in the table of largest flips.
    random_state : int, default=0

    Returns
    -------
    VersionComparison
    """
    import numpy as np
    import pandas as pd

    from toolkit.io import load_model
    from toolkit.scoring import model_task, predict_scores
    from toolkit.segments import find_slices

    if not isinstance(data, pd.DataFrame) or data.empty:
        raise InputError("compare_versions needs a non-empty DataFrame of rows to score with both versions.")
    a, _ = load_model(model_a, name="version A (model_a)")
    b, _ = load_model(model_b, name="version B (model_b)")
    task = model_task(a)
    if model_task(b) != task:
        raise ModelError(f"Version A is a {task} model but version B is a {model_task(b)} model; compare "
                         f"versions of the same task.")
    features = _feature_columns(data, [a, b], target)
    s_a, s_b = predict_scores(a, data, name="version A"), predict_scores(b, data, name="version B")
    y = _labels(data, target, a, task)
    rng = np.random.default_rng(random_state)
    thr, rule = _threshold(s_a, y, task, threshold, decision_rate)
    summary, hist = _deltas(s_a, s_b)
    if thr is not None:
        summary |= {"decision_rate_a": float(np.mean(s_a >= thr)), "decision_rate_b": float(np.mean(s_b >= thr))}
    flips, rate, top_flips = _flips(data, s_a, s_b, y, thr, features[:8], top)
    attr = _attribution(data, a, b, features, attribution, attribution_sample, random_state)
    metrics, calib, ece, slices = pd.DataFrame(), pd.DataFrame(), {}, None
    lab = np.flatnonzero(np.isfinite(y)) if y is not None else np.array([], dtype=int)
    if len(lab):
        d_lab, ya, sa, sb = data.iloc[lab], y[lab], s_a[lab], s_b[lab]
        seg_cols = segment_columns if segment_columns is not None else _default_segments(data, [c for c in features if c != target])
        rows, sc = [], _scored(sa, sb, ya, thr, task)
        for col, codes, exprs in _segment_codes(d_lab, seg_cols, random_state):
            rows += _group_metrics(col, codes, exprs, sc, task, n_bootstrap, 30, rng)
        metrics = pd.DataFrame(rows)
        if task == "classification":
            calib, ece = _calibration(sa, sb, ya)
        slices = find_slices(d_lab, _row_loss(sb, ya, task), _row_loss(sa, ya, task),
                             columns=slice_columns or [c for c in features if c in data.columns],
                             min_support=min_support, alpha=alpha, min_effect=min_effect, random_state=random_state)
    findings = _findings(metrics, task, slices, attr, rate, summary, thr, bool(len(lab)), max_flip_rate, ece)
    return VersionComparison(task=task, threshold=thr, threshold_rule=rule, n_rows=len(data), n_labeled=len(lab),
                             delta_summary=summary, delta_hist=hist, flips=flips, flip_rate=rate,
                             top_flips=top_flips, metrics=metrics, calibration=calib, ece=ece, slices=slices,
                             attribution=attr, findings=findings)


def _findings(metrics: Any, task: str, slices: Any, attr: Any, rate: Any, summary: Any, thr: Any,
              labeled: bool, max_flip_rate: float, ece: dict[str, float]) -> list[Finding]:
    out = []
    regressed = False
    if labeled and not metrics.empty:
        metric = _metric_finding(metrics, task)
        regressed = metric.severity != "info"
        out.append(metric)
    out += _segment_findings(slices, regressed, task)
    out += _feature_findings(attr, regressed)
    out.append(_flip_finding(rate, summary, thr, labeled, max_flip_rate))
    if ece:
        out.append(_calibration_finding(ece))
    return rank_findings(out)


def compare_data_versions(
    old: pd.DataFrame,
    new: pd.DataFrame,
    *,
    key: str | list[str] | None = None,
    timestamp: str | None = None,
    target: str | None = None,
    segment_columns: list[str] | None = None,
    min_changed: float = 0.01,
    random_state: int = 0,
) -> list[Finding]:
    """Compare two snapshots of the same table with the data checks.

    Runs :func:`toolkit.checks.run_checks` with ``old`` as the reference; with a
    ``key``, also matches records across snapshots and reports, per column, the share
    of matched records whose value changed (restatements, backfills).

    Parameters
    ----------
    old, new : DataFrame
        The earlier and later snapshot. Neither is modified.
    key : str or list of str, optional
        Columns that identify a record.
    timestamp, target, segment_columns : optional
        Passed to the data checks.
    min_changed : float, default=0.01
        Share of matched records with a changed value above which a column is a warning.
    random_state : int, default=0

    Returns
    -------
    list of Finding
        Ranked.
    """
    from toolkit.checks import run_checks

    findings = list(run_checks(old, new, timestamp=timestamp, target=target, key=key,
                               segment_columns=segment_columns, random_state=random_state))
    if key is not None:
        findings += _changed_values(old, new, [key] if isinstance(key, str) else list(key), min_changed)
    return rank_findings(findings)


def _changed_values(old: pd.DataFrame, new: pd.DataFrame, keys: list[str], min_changed: float) -> list[Finding]:
    missing = [k for k in keys if k not in old.columns or k not in new.columns]
    if missing:
        raise InputError(f"Key columns {missing} must be in both snapshots; check the key or the column names.")
    a, b = old.drop_duplicates(keys), new.drop_duplicates(keys)
    merged = a.merge(b, on=keys, how="inner", suffixes=("__old", "__new"))
    out = []
    common = [c for c in old.columns if c in new.columns and c not in keys]
    for c in common:
        x, z = merged[f"{c}__old"], merged[f"{c}__new"]
        try:
            changed = ~((x == z).fillna(False) | (x.isna() & z.isna()))
        except TypeError:  # types changed between snapshots; the type checks report it
            continue
        share = float(changed.mean()) if len(merged) else 0.0
        if share == 0:
            continue
        example = merged.loc[changed, [*keys, f"{c}__old", f"{c}__new"]].head(5)
        out.append(Finding(
            check="versions.data_changed_values", layer="data", features=(c,),
            severity="warning" if share >= min_changed else "info", score=min(1.0, share),
            summary=f"{int(changed.sum())} of {len(merged)} records present in both snapshots "
                    f"({share:.2%}) changed their {c!r} value.",
            evidence={"column": c, "changed": int(changed.sum()), "matched": len(merged), "share": share,
                      "examples": example.astype(str)},
            next_step=f"Ask the owner of the source table whether {c!r} was restated or backfilled; "
                      f"retrain or re-score only once the snapshot is final."))
    return out
