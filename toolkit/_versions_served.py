"""Are the logged scores this model's? Served scores against the model, row by row.

When a window carries the scores production logged and the model is at hand, the two
must agree on the same rows, up to the rounding of the log. Where they agreed in the
reference and stop agreeing in the current window, either the logging changed (the
scores arrive multiplied by a factor, or stuck on one value) or another model is
serving. Either is a fault upstream of any drift: the scores users see are not the
ones the model computes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit.findings import Finding

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["served_scores"]

#: Rows of each window scored (seeded sample).
SAMPLE = 20_000
#: Share of reference rows that must agree for the model to be the served one.
MIN_AGREEMENT = 0.9


def served_scores(reference: pd.DataFrame, current: pd.DataFrame, *, model: Any,
                  prediction: str, timestamp: str | None = None,
                  reference_model: Any = None, sample_size: int = SAMPLE,
                  random_state: int = 0) -> list[Finding]:
    """Compare logged scores with ``model``'s outputs on the same rows, in both windows.

    A logged score agrees with the model when they differ by at most 1% of the range
    of the model's reference scores (logs round). The reference must agree on at
    least 90% of its rows, else the model given is not the one that served the
    reference and nothing is judged (an info finding says so).

    Parameters
    ----------
    reference, current : DataFrame
        Both windows, with the model's features and the logged ``prediction``.
    model : estimator
        The model that is supposed to serve.
    prediction : str
        The logged score column.
    timestamp : str, optional
        Event time of ``current``, to date the change.
    reference_model : estimator, optional
        The model that served the reference, when a new version serves the current
        window (default ``model``).
    sample_size : int, default=20000
        Rows scored per window (seeded).
    random_state : int, default=0

    Returns
    -------
    list of Finding
        At most one ``versions.served_scores`` finding: the logged scores are the
        model's times a factor (``factor``, layer ``pipeline``), stuck on one value
        (``stuck_value``, ``pipeline``), or another model's (``model``); with
        ``since``, ``share_affected``, ``agreement_reference`` and
        ``agreement_current``. Its ``explained`` is the share of the logged scores'
        mean shift that goes away when the rows that disagree carry the model's
        scores instead (the shift users saw; triage's symptom re-scores with the
        model, which cannot see a logging fault).
    """
    from toolkit._explain import as_served
    from toolkit.checks import _common as C
    from toolkit.scoring import model_features, predict_scores

    sides = []
    for name, df, seed, served in (
            ("reference", reference, random_state, model if reference_model is None
             else reference_model),
            ("current", current, random_state + 1, model)):
        pos = C.sample_positions(len(df), sample_size, random_state=seed)
        rows = df if pos is None else df.iloc[pos]
        logged = _numbers(rows[prediction])
        needed = model_features(served) or []
        scored = np.asarray(predict_scores(served, as_served(rows, reference, needed),
                                           name=f"model on the {name} window"), dtype=float)
        sides.append((rows, logged, scored))
    (_, l_ref, m_ref), (rows_cur, l_cur, m_cur) = sides
    ok_ref = np.isfinite(l_ref) & np.isfinite(m_ref)
    ok_cur = np.isfinite(l_cur) & np.isfinite(m_cur)
    if ok_ref.sum() < 30 or ok_cur.sum() < 30:
        return []
    spread = float(np.ptp(m_ref[ok_ref])) or 1.0
    tol = 0.01 * spread
    agree_ref = float(np.mean(np.abs(l_ref - m_ref)[ok_ref] <= tol))
    apart = ~(np.abs(l_cur - m_cur) <= tol) & ok_cur
    agree_cur = 1.0 - float(apart.sum() / ok_cur.sum())
    evidence: dict[str, Any] = {"column": prediction, "agreement_reference": round(agree_ref, 4),
                                "agreement_current": round(agree_cur, 4), "tolerance": tol,
                                "sampled_rows": int(ok_cur.sum())}
    if agree_ref < MIN_AGREEMENT:
        return [_unknown(prediction, agree_ref, evidence)]
    lo_apart = C.wilson_interval(float(apart.sum()), float(ok_cur.sum()))[0]
    if lo_apart <= (1.0 - agree_ref) + 0.01:
        return []  # as much agreement as in the reference
    where: dict[str, Any] = {"since": None, "share_affected": 1.0 - agree_cur}
    order = C.time_order(rows_cur.reset_index(drop=True), timestamp, name="current") \
        if timestamp and timestamp in rows_cur.columns else None
    if order is not None:
        where = C.locate(apart, rows_cur.reset_index(drop=True), [], order,
                         base=1.0 - agree_ref)
    # The shift of the logged scores users saw, and what is left of it once the rows
    # that disagree carry the model's scores instead.
    moved = float(np.nanmean(l_cur[ok_cur]) - np.nanmean(l_ref[ok_ref]))
    fixed = np.where(apart, m_cur, l_cur)
    left = float(np.nanmean(fixed[ok_cur]) - np.nanmean(l_ref[ok_ref]))
    explained = max(0.0, min(1.0, 1.0 - abs(left) / abs(moved))) if moved else 0.0
    evidence["logged_mean_change"] = moved
    evidence["logged_mean_change_with_model_scores"] = left
    found = _finding(prediction, l_cur[apart], m_cur[apart], evidence, where)
    return [found.replace(explained=explained)]


def _numbers(values: pd.Series) -> np.ndarray:
    import pandas as pd

    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _finding(column: str, logged: np.ndarray, scored: np.ndarray, evidence: dict[str, Any],
             where: dict[str, Any]) -> Finding:
    from toolkit.checks.scale import match_factor

    share = float(where.get("share_affected", 1.0 - evidence["agreement_current"]))
    since = where.get("since")
    when = f" from {since}" if since else ""
    size = (f"{1 - evidence['agreement_current']:.0%} of the current rows{when} (the "
            f"reference agreed on {evidence['agreement_reference']:.0%})")
    positive = (np.abs(scored) > 1e-12) & np.isfinite(logged)
    ratio = logged[positive] / scored[positive]
    log_ratio = np.log(np.abs(ratio[ratio != 0])) if positive.any() else np.zeros(0)
    values, counts = np.unique(logged, return_counts=True)
    evidence = {**evidence, "since": since, "share_affected": round(share, 6),
                "examples": [{"logged": float(a), "model": float(b)}
                             for a, b in zip(logged[:5], scored[:5])]}
    if log_ratio.size >= 30 and np.all(ratio > 0) \
            and float(np.subtract(*np.percentile(log_ratio, [90, 10]))) < 0.05:
        factor = math.exp(float(np.median(log_ratio)))
        known = match_factor(factor, tolerance=0.02)
        label = known[1] if known else f"×{factor:.4g}"
        return Finding(
            check="versions.served_scores", layer="pipeline", severity="critical",
            score=min(1.0, 0.5 + share),
            summary=f"{column} logs the model's score {label}, on {size}: the logging "
            f"changed, not the model.",
            features=(column,),
            evidence={**evidence, "kind": "factor", "factor": known[0] if known else factor,
                      "measured_factor": factor,
                      "repair": f"divide the affected {column} values by "
                      f"{known[0] if known else factor:.6g}"},
            next_step=f"Check the code that writes {column}{when} (a unit change such as "
            f"fraction to percent) and fix the dashboards fed by it.",
        )
    if len(values) and counts.max() >= 0.9 * len(logged):
        value = float(values[np.argmax(counts)])
        return Finding(
            check="versions.served_scores", layer="pipeline", severity="critical",
            score=min(1.0, 0.5 + share),
            summary=f"{column} is stuck on {value:g} on {size}, while the model's scores "
            f"vary: the logging broke, not the model.",
            features=(column,), evidence={**evidence, "kind": "stuck_value", "value": value},
            next_step=f"Check the code that writes {column}{when} (a default, a cache, a "
            f"failed call replaced by a constant).",
        )
    rho = _spearman(logged, scored)
    return Finding(
        check="versions.served_scores", layer="model",
        severity="critical" if share >= 0.1 else "warning", score=min(1.0, 0.4 + share),
        summary=f"The logged {column} is not this model's output on {size}; rank agreement "
        f"with the model {rho:.2f}: another model version, or other inputs, serve.",
        features=(column,), evidence={**evidence, "kind": "other_model", "spearman": rho},
        next_step="Check which model version the serving layer loaded" + when + ", and "
        "whether it computes the features as training did.",
    )


def _unknown(column: str, agreement: float, evidence: dict[str, Any]) -> Finding:
    return Finding(
        check="versions.served_scores", layer="model", severity="info", score=0.1,
        summary=f"The logged {column} agrees with the model given on only {agreement:.0%} of "
        f"the reference rows: it was not this model's output then either, so the logged "
        f"and the model's scores were not compared.",
        features=(column,), evidence={**evidence, "kind": "not_compared"},
        next_step=f"Pass the model that served the reference, or check what {column} holds.",
    )


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import stats

    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan")
    return float(stats.spearmanr(a[ok], b[ok]).statistic)
