"""Pure statistics behind :mod:`toolkit.drift`: divergences, tests, intervals.

Everything here works on histogram *counts* (a reference and a current count per
bin, same bins), so it runs the same on counts from any profile engine.

Smoothing
---------
PSI is infinite when a bin is empty in one window and not in the other, and the
out-of-range bins are empty in the reference by construction. :func:`psi` mixes
each window's proportions with a uniform floor of ``smoothing / min(n_ref, n_cur)``
per bin (half a count of the smaller window by default)::

    p_i = (r_i / n_ref + d) / (1 + k d),   q_i = (c_i / n_cur + d) / (1 + k d)

The same ``d`` for both windows means proportional histograms keep a PSI of
exactly 0, and the floor shrinks as samples grow, so large samples are barely
smoothed. Jensen-Shannon needs no smoothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit._exceptions import InputError

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.profile import ColumnProfile

__all__ = [
    "benjamini_hochberg",
    "bootstrap_psi",
    "chi2_counts_test",
    "delong_auc",
    "js_divergence",
    "ks_statistic",
    "noise_floor",
    "psi",
]


def _counts_pair(ref_counts: Any, cur_counts: Any) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(ref_counts, dtype=np.float64)
    c = np.asarray(cur_counts, dtype=np.float64)
    if r.ndim != 1 or r.shape != c.shape:
        raise InputError(
            "ref_counts and cur_counts must be 1-d arrays of the same length (one count "
            f"per bin, same bins); got shapes {r.shape} and {c.shape}."
        )
    if r.size == 0 or not (np.isfinite(r).all() and np.isfinite(c).all()):
        raise InputError("Counts must be a non-empty array of finite numbers.")
    if (r < 0).any() or (c < 0).any():
        raise InputError("Counts must be non-negative; got a negative bin count.")
    if r.sum() <= 0 or c.sum() <= 0:
        raise InputError(
            "Each window needs at least one counted value; got a histogram that sums "
            "to 0. Check that the window is not empty."
        )
    return r, c


def _smoothed(r: np.ndarray, c: np.ndarray, smoothing: float) -> tuple[np.ndarray, np.ndarray]:
    """Proportions with the shared uniform floor; works row-wise on 2-d arrays."""
    n_r = r.sum(axis=-1, keepdims=True)
    n_c = c.sum(axis=-1, keepdims=True)
    k = r.shape[-1]
    d = smoothing / np.minimum(n_r, n_c)
    return (r / n_r + d) / (1 + k * d), (c / n_c + d) / (1 + k * d)


def _psi_rows(r: np.ndarray, c: np.ndarray, smoothing: float) -> np.ndarray:
    p, q = _smoothed(r, c, smoothing)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (q - p) * np.log(q / p)
    terms = np.where((p == 0) & (q == 0), 0.0, terms)
    return terms.sum(axis=-1)


def psi(ref_counts: Any, cur_counts: Any, *, smoothing: float = 0.5) -> float:
    """Population stability index between two histograms on the same bins.

    ``PSI = sum_i (q_i - p_i) ln(q_i / p_i)``, the symmetrised Kullback-Leibler
    divergence, with ``p`` the reference and ``q`` the current proportions.
    Common readings: below 0.1 stable, 0.1 to 0.25 moderate, above 0.25 major.

    Parameters
    ----------
    ref_counts, cur_counts : array-like of shape (k,)
        Counts per bin (not proportions).
    smoothing : float, default=0.5
        Pseudo-count floor, in counts of the smaller window (module docstring);
        0 gives the raw PSI, infinite when a bin is empty in one window only.

    Returns
    -------
    float
        PSI >= 0; 0 when the two histograms are proportional.

    Examples
    --------
    >>> round(psi([50, 50], [50, 50]), 12)
    0.0
    >>> round(psi([60, 40], [40, 60], smoothing=0), 4)
    0.1622
    """
    r, c = _counts_pair(ref_counts, cur_counts)
    if smoothing < 0:
        raise InputError(f"smoothing must be >= 0; got {smoothing!r}.")
    return max(float(_psi_rows(r, c, smoothing)), 0.0)


def js_divergence(ref_counts: Any, cur_counts: Any, *, base: float = 2.0) -> float:
    """Jensen-Shannon divergence between two histograms on the same bins.

    Parameters
    ----------
    ref_counts, cur_counts : array-like of shape (k,)
        Counts (or proportions) per bin.
    base : float, default=2.0
        Logarithm base; with base 2 the divergence lies in [0, 1], with base e in
        [0, ln 2].

    Returns
    -------
    float
        The divergence (the square of ``scipy.spatial.distance.jensenshannon``).
    """
    r, c = _counts_pair(ref_counts, cur_counts)
    p, q = r / r.sum(), c / c.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log(a[mask] / m[mask])))

    value = (kl(p) + kl(q)) / 2 / np.log(base)
    return float(min(max(value, 0.0), np.log(2) / np.log(base)))


def ks_statistic(reference: Any, current: Any) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the ECDFs.

    Missing values are dropped. Equals ``scipy.stats.ks_2samp(...).statistic``.

    Parameters
    ----------
    reference, current : array-like of numbers

    Returns
    -------
    float
        In [0, 1].
    """
    a = np.asarray(reference, dtype=np.float64).ravel()
    b = np.asarray(current, dtype=np.float64).ravel()
    a, b = np.sort(a[~np.isnan(a)]), np.sort(b[~np.isnan(b)])
    if a.size == 0 or b.size == 0:
        raise InputError(
            "ks_statistic needs at least one non-missing value in each sample; got "
            f"{a.size} and {b.size}."
        )
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def binned_ks(ref_counts: Any, cur_counts: Any) -> float:
    """KS statistic evaluated at the bin boundaries (a lower bound of the exact one)."""
    r, c = _counts_pair(ref_counts, cur_counts)
    return float(np.max(np.abs(np.cumsum(r) / r.sum() - np.cumsum(c) / c.sum())))


def noise_floor(k: int, n_ref: float, n_cur: float) -> float:
    """Expected PSI between two samples of one population: ``(k - 1)(1/n_ref + 1/n_cur)``.

    Under no change, ``PSI / (1/n_ref + 1/n_cur)`` is approximately chi-square with
    ``k - 1`` degrees of freedom, so this is the PSI noise alone produces.
    """
    if n_ref <= 0 or n_cur <= 0:
        return float("inf")
    return float(max(k - 1, 0) * (1.0 / n_ref + 1.0 / n_cur))


def chi2_counts_test(ref_counts: Any, cur_counts: Any) -> tuple[float, int, float]:
    """Pearson chi-square test of homogeneity on a 2 x k table of counts.

    Bins empty in both windows are dropped. Returns ``(statistic, dof, p_value)``;
    with a single non-empty bin there is nothing to test and the p-value is 1.
    """
    from scipy import stats

    r, c = _counts_pair(ref_counts, cur_counts)
    keep = (r + c) > 0
    r, c = r[keep], c[keep]
    dof = int(r.size - 1)
    if dof < 1:
        return 0.0, 0, 1.0
    total = r + c
    n_r, n_c = r.sum(), c.sum()
    n = n_r + n_c
    e_r, e_c = total * n_r / n, total * n_c / n
    stat = float(np.sum((r - e_r) ** 2 / e_r) + np.sum((c - e_c) ** 2 / e_c))
    return stat, dof, float(stats.chi2.sf(stat, dof))


def bootstrap_psi(
    ref_counts: Any,
    cur_counts: Any,
    *,
    n_boot: int = 200,
    confidence: float = 0.95,
    smoothing: float = 0.5,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[float, float, float]:
    """Bias-corrected PSI with a basic-bootstrap interval, resampling counts only.

    Each window's histogram is redrawn from a multinomial with its observed
    proportions (the same as resampling its rows, at the cost of ``k`` numbers).
    PSI is biased upwards by about :func:`noise_floor`, a lot for small samples;
    the bootstrap measures that bias, and the estimate and the interval are the
    basic (reverse-percentile) ones, ``2 psi - mean(psi*)`` and
    ``[2 psi - q_hi*, 2 psi - q_lo*]``, clipped at 0; the upper bound is never
    closer to the estimate than the bootstrap's own upper spread.

    Parameters
    ----------
    ref_counts, cur_counts : array-like of shape (k,)
    n_boot : int, default=200
    confidence : float, default=0.95
    smoothing : float, default=0.5
    random_state : int, Generator or None, default=0

    Returns
    -------
    (effect, low, high) : tuple of float
    """
    r, c = _counts_pair(ref_counts, cur_counts)
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1); got {confidence!r}.")
    rng = np.random.default_rng(random_state)
    plug_in = float(_psi_rows(r, c, smoothing))
    n_r, n_c = round(float(r.sum())), round(float(c.sum()))
    rb = rng.multinomial(n_r, r / r.sum(), size=n_boot).astype(np.float64)
    cb = rng.multinomial(n_c, c / c.sum(), size=n_boot).astype(np.float64)
    boots = _psi_rows(rb, cb, smoothing)
    tail = (1 - confidence) / 2
    q_lo, q_hi = np.quantile(boots, [tail, 1 - tail])
    centre = float(boots.mean())
    effect = max(2 * plug_in - centre, 0.0)
    low = max(2 * plug_in - float(q_hi), 0.0)
    # Clipping at 0 can collapse the upper bound (identical histograms give
    # [0, 0]); keep at least the bootstrap's upper spread above the estimate.
    high = max(2 * plug_in - float(q_lo), effect + float(q_hi) - centre)
    return effect, low, high


def benjamini_hochberg(p_values: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN entries stay NaN.

    A feature is a discovery at false-discovery rate ``alpha`` when its q-value is
    at most ``alpha``. Matches ``scipy.stats.false_discovery_control(p, method="bh")``.
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv)
    scaled = pv[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(q, 1.0)
    out[ok] = adjusted
    return out


def delong_auc(y: Any, scores: Any, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """ROC AUC with DeLong's interval.

    Parameters
    ----------
    y : array-like of {0, 1}
    scores : array-like of float
    confidence : float, default=0.95

    Returns
    -------
    (auc, low, high) : tuple of float
        The interval is clipped to [0, 1].
    """
    from scipy import stats

    y = np.asarray(y).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    pos, neg = s[y], s[~y]
    m, n = pos.size, neg.size
    if m == 0 or n == 0:
        raise InputError("AUC needs both classes in y; got only one.")
    ranks = stats.rankdata(s)
    r_pos = stats.rankdata(pos)
    r_neg = stats.rankdata(neg)
    v10 = (ranks[y] - r_pos) / n  # share of negatives below each positive
    v01 = 1.0 - (ranks[~y] - r_neg) / m  # share of positives above each negative
    auc = float(v10.mean())
    var = (v10.var(ddof=1) if m > 1 else 0.0) / m + (v01.var(ddof=1) if n > 1 else 0.0) / n
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    half = z * float(np.sqrt(max(var, 0.0)))
    return auc, max(auc - half, 0.0), min(auc + half, 1.0)


def validate_settings(threshold: float, critical: float, alpha: float, confidence: float) -> None:
    if not threshold > 0:
        raise InputError(f"threshold must be a positive PSI value such as 0.1; got {threshold!r}.")
    if not critical >= threshold:
        raise InputError(f"critical must be at least threshold ({threshold}); got {critical!r}.")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be in (0, 1), such as 0.05; got {alpha!r}.")
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1), such as 0.95; got {confidence!r}.")


def bin_table(ref: ColumnProfile, cur: ColumnProfile, smoothing: float) -> pd.DataFrame:
    """Reference and current shares per bin, and each bin's term of the PSI."""
    import pandas as pd

    r = np.asarray(ref.counts, dtype=float)
    c = np.asarray(cur.counts, dtype=float)
    d = smoothing / min(r.sum(), c.sum())
    p = (r / r.sum() + d) / (1 + r.size * d)
    q = (c / c.sum() + d) / (1 + r.size * d)
    return pd.DataFrame(
        {
            "bin": ref.labels(),
            "reference_share": r / r.sum(),
            "current_share": c / c.sum(),
            "contribution": (q - p) * np.log(q / p),
        }
    )


def severity_of(low: float, threshold: float, critical: float) -> str:
    return "critical" if low >= critical else "warning" if low > threshold else "info"
