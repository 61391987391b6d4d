"""Statistics for attribution drift: NDCG, stratified samples, bootstrap intervals.

Intervals on per-feature figures are *simultaneous* over features (bootstrap max-t,
"sup-t" bands): with 95% confidence every feature's interval covers its full-data
value at once, which is the multiple-testing correction of the statistics policy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def clarify_ndcg(baseline: Any, live: Any) -> float:
    """NDCG of live attributions against baseline ones, as SageMaker Clarify defines it.

    Features are ranked by baseline attribution (F) and by live attribution (F'); with
    ``a(f)`` the *baseline* attribution of feature ``f``::

        DCG  = sum_i a(F'_i) / log2(i + 1)
        iDCG = sum_i a(F_i)  / log2(i + 1)
        NDCG = DCG / iDCG

    1 means the live ranking matches the baseline one; Clarify raises an alarm below
    0.9. Ties in the live ranking keep the baseline order (a stable sort).

    Parameters
    ----------
    baseline, live : array-like of float, shape (n_features,)
        Global attributions (mean |SHAP|) per feature in the same feature order.

    Returns
    -------
    float
        NDCG in [0, 1]; 1.0 when the baseline has no attribution at all.

    Examples
    --------
    >>> round(clarify_ndcg([0.70, 0.50, 0.05], [0.10, 0.20, 0.70]), 2)
    0.69
    """
    import numpy as np

    a = np.asarray(baseline, dtype=float)
    b = np.asarray(live, dtype=float)
    discount = 1.0 / np.log2(np.arange(2, a.size + 2))
    ideal_order = np.argsort(-a, kind="stable")
    idcg = float(np.sum(a[ideal_order] * discount))
    if idcg <= 0:
        return 1.0
    live_order = np.argsort(-b[ideal_order], kind="stable")  # ties keep baseline order
    dcg = float(np.sum(a[ideal_order][live_order] * discount))
    return dcg / idcg


def stratified_sample(strata: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices of a proportional stratified sample without replacement.

    Each stratum gets ``size * share`` rows (largest-remainder rounding), so the
    sample mean is an unbiased estimate of the window mean without weights.
    """
    import numpy as np

    n = strata.size
    if size >= n:
        return np.arange(n)
    labels, counts = np.unique(strata, return_counts=True)
    quota = counts * size / n
    take = np.floor(quota).astype(int)
    extra = size - take.sum()
    take[np.argsort(-(quota - take), kind="stable")[:extra]] += 1
    picks = [rng.choice(np.flatnonzero(strata == lab), size=k, replace=False)
             for lab, k in zip(labels, take) if k > 0]
    return np.sort(np.concatenate(picks))


def score_strata(scores: np.ndarray, edges: np.ndarray, target: np.ndarray | None) -> np.ndarray:
    """Stratum label per row: score decile on reference edges, crossed with the target."""
    import numpy as np

    labels = np.searchsorted(edges, scores, side="right")
    if target is None:
        return labels
    _, codes = np.unique(np.asarray(target, dtype=str), return_inverse=True)
    return labels + 100 * codes


def bootstrap_weights(strata: np.ndarray, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """(n_bootstrap, n_rows) resampling counts, resampled within strata.

    ``weights @ values / n_rows`` gives bootstrap replicates of column means.
    """
    import numpy as np

    n = strata.size
    out = np.zeros((n_bootstrap, n), dtype=np.float32)
    for lab in np.unique(strata):
        idx = np.flatnonzero(strata == lab)
        draws = rng.integers(0, idx.size, size=(n_bootstrap, idx.size))
        for b in range(n_bootstrap):
            out[b, idx] = np.bincount(draws[b], minlength=idx.size)
    return out


def simultaneous_interval(estimate: np.ndarray, replicates: np.ndarray, *, confidence: float
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Max-t bootstrap band: ``estimate +/- c * se`` covering all features at once.

    Parameters
    ----------
    estimate : ndarray, shape (p,)
    replicates : ndarray, shape (B, p)
        Bootstrap replicates of ``estimate``.
    confidence : float
        Joint coverage, such as 0.95.
    """
    import numpy as np

    se = replicates.std(axis=0, ddof=1)
    ok = se > 0
    if not ok.any():
        return estimate.copy(), estimate.copy()
    t = np.abs(replicates[:, ok] - estimate[ok]) / se[ok]
    crit = float(np.quantile(t.max(axis=1), confidence))
    half = crit * se
    return estimate - half, estimate + half


def wasserstein_replicates(ref: np.ndarray, cur: np.ndarray, w_ref: np.ndarray,
                           w_cur: np.ndarray) -> tuple[float, np.ndarray]:
    """Wasserstein-1 distance between two samples, and its bootstrap replicates.

    ``w_ref`` (B, n_ref) and ``w_cur`` (B, n_cur) are resampling counts; the distance
    is the area between the two (weighted) empirical distribution functions.
    """
    import numpy as np

    values = np.concatenate([ref, cur])
    order = np.argsort(values, kind="stable")
    gaps = np.diff(values[order])
    is_ref = order < ref.size
    # Row 0 is the sample itself (all weights 1), rows 1.. the bootstrap replicates.
    weights = np.vstack([np.ones((1, values.size)),
                         np.concatenate([w_ref, w_cur], axis=1)[:, order]])
    cdf_ref = np.cumsum(np.where(is_ref, weights, 0.0), axis=1)[:, :-1] / ref.size
    cdf_cur = np.cumsum(np.where(is_ref, 0.0, weights), axis=1)[:, :-1] / cur.size
    dist = np.abs(cdf_ref - cdf_cur) @ gaps
    return float(dist[0]), dist[1:]


def percentile_interval(replicates: np.ndarray, *, confidence: float) -> tuple[float, float]:
    """Plain percentile interval of one bootstrapped figure."""
    import numpy as np

    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(replicates, [alpha, 1 - alpha])
    return float(lo), float(hi)


def rank_correlations(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Spearman and Kendall correlation; NaN when either side is constant."""
    import numpy as np

    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan"), float("nan")
    from scipy import stats

    return float(stats.spearmanr(a, b)[0]), float(stats.kendalltau(a, b)[0])


def population_shift(reference: pd.Series, current: pd.Series, *, rng: np.random.Generator,
                     n_null: int = 200, max_categories: int = 20) -> tuple[float, float]:
    """Total-variation distance of one column between windows, and its noise floor.

    Numbers are binned on reference deciles, plus explicit bins below and above the
    reference range and for missing values; other columns use the reference's top
    categories, an "other" bin and a missing bin. The noise floor is the 99th
    percentile of the distance between two samples of the pooled distribution with
    the same sizes (a parametric bootstrap of "no shift").

    Returns
    -------
    (distance, floor) : tuple of float
        Both in [0, 1].
    """
    import numpy as np

    c_ref, c_cur = _binned_counts(reference, current, max_categories=max_categories)
    if c_ref.sum() == 0 or c_cur.sum() == 0:
        return 0.0, 1.0
    p, q = c_ref / c_ref.sum(), c_cur / c_cur.sum()
    distance = 0.5 * float(np.abs(p - q).sum())
    pooled = (c_ref + c_cur) / (c_ref.sum() + c_cur.sum())
    a = rng.multinomial(int(c_ref.sum()), pooled, size=n_null) / c_ref.sum()
    b = rng.multinomial(int(c_cur.sum()), pooled, size=n_null) / c_cur.sum()
    floor = float(np.quantile(0.5 * np.abs(a - b).sum(axis=1), 0.99))
    return distance, floor


def _binned_counts(reference: pd.Series, current: pd.Series, *, max_categories: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if is_numeric_dtype(reference.dtype) and not is_bool_dtype(reference.dtype):
        r = reference.to_numpy(dtype=float, na_value=np.nan)
        c = pd_numeric(current)
        finite = r[np.isfinite(r)]
        if finite.size == 0:
            edges = np.array([0.0])
        else:
            edges = np.unique(np.quantile(finite, np.linspace(0, 1, 11)))
        if edges.size == 1:  # a constant reference: one bin for exactly that value
            edges = np.repeat(edges, 2)
        return _numeric_counts(r, edges), _numeric_counts(c, edges)
    top = reference.dropna().astype(str).value_counts().index[:max_categories]
    return _category_counts(reference, top), _category_counts(current, top)


def pd_numeric(s: pd.Series) -> np.ndarray:
    import numpy as np
    import pandas as pd

    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _numeric_counts(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts in: below range, reference bins (edges inclusive), above range, missing."""
    import numpy as np

    missing = ~np.isfinite(x)
    v = x[~missing]
    inner = np.searchsorted(edges, v, side="left")  # 0 = below min (or == min)
    inner[v == edges[0]] = 1
    counts = np.bincount(inner, minlength=edges.size + 1).astype(float)  # last = above
    return np.append(counts, missing.sum())


def _category_counts(s: pd.Series, top: pd.Index) -> np.ndarray:
    import numpy as np

    missing = s.isna().to_numpy()
    text = s[~missing].astype(str)
    codes = top.get_indexer(text)
    codes[codes < 0] = top.size  # "other"
    counts = np.bincount(codes, minlength=top.size + 1).astype(float)
    return np.append(counts, missing.sum())
