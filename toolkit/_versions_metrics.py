"""Metric deltas between two versions, with paired intervals (used by :mod:`toolkit.versions`).

Split from :mod:`toolkit.versions` to keep modules small; the method is described in
that module's docstring.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

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
Z95 = 1.959963984540054
_N_BINS = 64


def row_loss(score: np.ndarray, y: np.ndarray, task: str) -> np.ndarray:
    import numpy as np

    if task == "regression":
        return np.abs(score - y)
    p = np.clip(score, 1e-15, 1 - 1e-15)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def auc_binned(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """AUC from per-bin counts along the last axis (ties within a bin count half)."""
    import numpy as np

    below = np.cumsum(neg, axis=-1) - neg
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (below + 0.5 * neg)).sum(-1) / (pos.sum(-1) * neg.sum(-1))


def count_metrics(pos: np.ndarray, neg: np.ndarray, tbin: int) -> dict[str, np.ndarray]:
    import numpy as np

    tp, fp = pos[..., tbin:].sum(-1), neg[..., tbin:].sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "auc": auc_binned(pos, neg),
            "precision": tp / (tp + fp),
            "recall": tp / pos.sum(-1),
        }


@dataclasses.dataclass(frozen=True)
class Scored:
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


def scored(s_a: np.ndarray, s_b: np.ndarray, y: np.ndarray, thr: float | None, task: str) -> Scored:
    import numpy as np

    if task != "classification" or thr is None:
        return Scored(s_a, s_b, y, thr)
    qs = np.quantile(
        np.concatenate([s_a[:100_000], s_b[:100_000]]), np.linspace(0, 1, _N_BINS + 1)[1:-1]
    )
    edges = np.unique(np.append(qs, thr))
    return Scored(
        s_a,
        s_b,
        y,
        thr,
        np.searchsorted(edges, s_a, side="right"),
        np.searchsorted(edges, s_b, side="right"),
        len(edges) + 1,
        int(np.searchsorted(edges, thr, side="right")),
        np.argsort(s_a),
        np.argsort(s_b),
    )


def count_intervals(g: Any, G: int, sc: Scored, n_bootstrap: int, rng: Any) -> dict[str, Any]:
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
    W = np.vstack([cells[nz][None, :], rng.poisson(cells[nz], size=(n_bootstrap, len(nz)))]).astype(
        np.float64
    )
    out = {}
    for name, bins in (("a", ca), ("b", cb)):
        S = sparse.csr_matrix(
            (np.ones(len(nz)), (np.arange(len(nz)), (cg * K + bins) * 2 + cy)),
            shape=(len(nz), G * K * 2),
        )
        agg = np.asarray((S.T @ W.T).T).reshape(-1, G, K, 2)
        out[name] = count_metrics(agg[..., 1], agg[..., 0], tbin)
    return out  # index 0 of the first axis is the point estimate on the binned data


def group_metrics(
    column: str,
    codes: np.ndarray,
    exprs: list[Any],
    sc: Scored,
    task: str,
    n_bootstrap: int,
    min_n: int,
    rng: Any,
) -> list[dict[str, Any]]:
    import numpy as np

    s_a, s_b, y, G = sc.s_a, sc.s_b, sc.y, len(exprs)
    n = np.bincount(codes, minlength=G)
    rows: list[dict[str, Any]] = []
    sums = {}
    if task == "classification":
        ll_a, ll_b = row_loss(s_a, y, task), row_loss(s_b, y, task)
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
            rows.append(
                metric_row(
                    column,
                    exprs[k],
                    int(n[k]),
                    metric,
                    ma[k],
                    mb[k],
                    d - Z95 * se[k],
                    d + Z95 * se[k],
                )
            )
    if sc.order_a is not None and n_bootstrap > 0:
        rows += bootstrapped_rows(column, codes, exprs, n, sc, n_bootstrap, min_n, rng)
    return rows


def auc_by_group(
    codes: np.ndarray, G: int, s: np.ndarray, y: np.ndarray, by_score: np.ndarray
) -> np.ndarray:
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
    start = np.r_[
        0.0, np.bincount(bg, weights=neg, minlength=G).cumsum()[:-1]
    ]  # negatives before the group
    below = cneg - neg - start[bg]
    num = np.bincount(bg, weights=pos * (below + 0.5 * neg), minlength=G)
    P, N = np.bincount(bg, weights=pos, minlength=G), np.bincount(bg, weights=neg, minlength=G)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / (P * N)


def bootstrapped_rows(
    column: str,
    codes: Any,
    exprs: list[Any],
    n: Any,
    sc: Scored,
    n_bootstrap: int,
    min_n: int,
    rng: Any,
) -> list[dict[str, Any]]:
    import numpy as np

    G = len(exprs)
    if sc.order_a is None or sc.order_b is None:
        return []
    boot = count_intervals(codes, G, sc, n_bootstrap, rng)
    exact = {
        "auc": (
            auc_by_group(codes, G, sc.s_a, sc.y, sc.order_a),
            auc_by_group(codes, G, sc.s_b, sc.y, sc.order_b),
        )
    }
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
            rows.append(
                metric_row(column, exprs[k], int(n[k]), metric, a, b, b - a + lo, b - a + hi)
            )
    return rows


def metric_row(
    column: str, segment: Any, n: int, metric: str, a: float, b: float, lo: float, hi: float
) -> dict[str, Any]:
    better, practical, relative = METRICS[metric]
    cut = practical * abs(a) if relative else practical
    sign = 1.0 if better == "lower" else -1.0  # positive "regression" = B worse
    reg, reg_lo = sign * (b - a), min(sign * lo, sign * hi)
    status = "same"
    if reg_lo > 0 and reg >= cut:
        status = "worse"
    elif max(sign * lo, sign * hi) < 0 and -reg >= cut:
        status = "better"
    return {
        "column": column,
        "segment": segment or "all rows",
        "n": n,
        "metric": metric,
        "a": float(a),
        "b": float(b),
        "delta": float(b - a),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "practical": cut,
        "status": status,
        "critical": bool(status == "worse" and reg_lo >= cut),
    }


def calibration(
    s_a: Any, s_b: Any, y: Any, n_bins: int = 10
) -> tuple[pd.DataFrame, dict[str, float]]:
    import numpy as np
    import pandas as pd

    parts, ece = [], {}
    for version, s in (("A", s_a), ("B", s_b)):
        b = np.clip((s * n_bins).astype(int), 0, n_bins - 1)
        cnt = np.bincount(b, minlength=n_bins)
        ms = np.bincount(b, weights=s, minlength=n_bins) / np.maximum(cnt, 1)
        obs = np.bincount(b, weights=y, minlength=n_bins) / np.maximum(cnt, 1)
        ece[version] = float(np.sum(cnt * np.abs(ms - obs)) / max(cnt.sum(), 1))
        parts.append(
            pd.DataFrame(
                {
                    "version": version,
                    "bin": np.arange(n_bins),
                    "mean_score": ms,
                    "observed": obs,
                    "count": cnt,
                }
            ).loc[cnt > 0]
        )
    return pd.concat(parts, ignore_index=True), ece


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p, z2 = k / n, Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


# Same inputs through both versions: score deltas and decision flips.


def deltas(s_a: Any, s_b: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    import numpy as np
    import pandas as pd
    from scipy import stats

    delta = s_b - s_a
    qs = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
    summary = {
        "mean": float(delta.mean()),
        "mean_abs": float(np.abs(delta).mean()),
        "sd_a": float(s_a.std()),
        "quantiles": dict(zip(map(str, qs), np.quantile(delta, qs).tolist())),
        "spearman": float(stats.spearmanr(s_a, s_b).statistic) if len(s_a) > 2 else float("nan"),
    }
    lo, hi = np.quantile(delta, [0.001, 0.999])
    if hi <= lo:
        lo, hi = lo - 1e-9, hi + 1e-9
    counts, edges = np.histogram(np.clip(delta, lo, hi), bins=40, range=(lo, hi))
    return summary, pd.DataFrame({"left": edges[:-1], "right": edges[1:], "count": counts})


def flips(
    data: pd.DataFrame, s_a: Any, s_b: Any, y: Any, thr: float | None, features: list[str], top: int
) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
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
    lo, hi = wilson(k, n)
    up, down = int((~da & db).sum()), int((da & ~db).sum())
    net = (up - down) / n if n else float("nan")
    se = math.sqrt(max((up + down) / n - net * net, 0.0) / n) if n else float("nan")
    rate = {
        "rate": k / n if n else float("nan"),
        "ci_low": lo,
        "ci_high": hi,
        "n_flips": k,
        "up": up,
        "down": down,
        # paired (McNemar) change of the decision rate, B minus A, with a 95% interval
        "net_change": net,
        "net_ci_low": net - Z95 * se,
        "net_ci_high": net + Z95 * se,
        "decision_rate_a": float(da.mean()) if n else float("nan"),
    }
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
