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

from toolkit._attribution_stats import pd_numeric, rank_correlations
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
                  reference_model: Any = None, target: str | None = None,
                  positive: Any = None, sample_size: int = SAMPLE,
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
        The previous version. The reference is compared with whichever of the two
        versions its log agrees with; rows of the current window that disagree with
        ``model`` are compared with it too (a rollback).
    target : str, optional
        The label column: the explained share then also counts the loss of the
        logged scores (what a quality complaint is about), not only their mean.
    positive : optional
        The positive class of text labels (:func:`toolkit.scoring.positive_label`).
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
    from toolkit.checks import _common as C

    for label, df in (("reference", reference), ("current", current)):
        C.require_frame(df, name=label)
        C.require_column(df, prediction, name=label, role="prediction")
    candidates = [model] if reference_model is None else [model, reference_model]
    ref_rows = _sample(reference, sample_size, random_state)
    cur_rows = _sample(current, sample_size, random_state + 1)
    l_ref, l_cur = pd_numeric(ref_rows[prediction]), pd_numeric(cur_rows[prediction])
    ref_scores = [_scores(m, ref_rows, reference, "reference") for m in candidates]
    m_cur = _scores(model, cur_rows, reference, "current")
    # The version that served the reference is the one that agrees with its log.
    spread = float(np.nanmax(ref_scores[0]) - np.nanmin(ref_scores[0])) or 1.0
    tol = 0.01 * spread
    agreements = [_agreement(l_ref, m, tol) for m in ref_scores]
    agree_ref = max(agreements)
    ok_ref = np.isfinite(l_ref)
    ok_cur = np.isfinite(l_cur) & np.isfinite(m_cur)
    if ok_ref.sum() < 30 or ok_cur.sum() < 30:
        return []
    apart = ~(np.abs(l_cur - m_cur) <= tol) & ok_cur
    agree_cur = 1.0 - float(apart.sum() / ok_cur.sum())
    missing = (float(np.mean(~np.isfinite(l_ref))), float(np.mean(~np.isfinite(l_cur))))
    evidence: dict[str, Any] = {"column": prediction, "agreement_reference": round(agree_ref, 4),
                                "agreement_current": round(agree_cur, 4), "tolerance": tol,
                                "sampled_rows": int(ok_cur.sum()),
                                "missing_logged_share": [round(v, 6) for v in missing]}
    if agree_ref < MIN_AGREEMENT:
        return [_unknown(prediction, agree_ref, evidence)]
    lo_apart = C.wilson_interval(float(apart.sum()), float(ok_cur.sum()))[0]
    if lo_apart <= (1.0 - agree_ref) + 0.01:
        return []  # as much agreement as in the reference
    # Where and since when, among the rows with a logged score (the summary's base).
    scored_rows = cur_rows[ok_cur].reset_index(drop=True)
    ref_apart = ~(np.abs(l_ref - ref_scores[int(np.argmax(agreements))]) <= tol)
    segs = C.segment_columns_of(scored_rows, exclude=[timestamp, prediction])
    order = C.time_order(scored_rows, timestamp, name="current") \
        if timestamp and timestamp in scored_rows.columns else None
    where = C.locate(apart[ok_cur], scored_rows, segs, order, base=1.0 - agree_ref,
                     reference=(ref_apart[ok_ref], ref_rows[ok_ref].reset_index(drop=True)))
    # The shift of the logged scores users saw, and what is left of it once the rows
    # that disagree carry the model's scores instead.
    moved = float(np.nanmean(l_cur[ok_cur]) - np.nanmean(l_ref[ok_ref]))
    fixed = np.where(apart, m_cur, l_cur)
    left = float(np.nanmean(fixed[ok_cur]) - np.nanmean(l_ref[ok_ref]))
    explained = max(0.0, min(1.0, 1.0 - abs(left) / abs(moved))) if moved else 0.0
    evidence["logged_mean_change"] = moved
    evidence["logged_mean_change_with_model_scores"] = left
    if target is not None and target in ref_rows.columns and target in cur_rows.columns:
        from toolkit.scoring import label_values, model_task

        losses = _loss_share(label_values(ref_rows[target], positive), l_ref,
                             label_values(cur_rows[target], positive), l_cur, fixed,
                             classification=model_task(model) == "classification")
        if losses is not None:
            evidence["logged_loss"] = losses
            explained = max(explained, losses["explained"])
    previous = None
    if reference_model is not None:  # do the disagreeing rows come from the other version?
        m_prev = _scores(reference_model, cur_rows, reference, "current")
        previous = _agreement(l_cur[apart], m_prev[apart], tol)
    found = _finding(prediction, l_cur[apart], m_cur[apart], evidence, where, tol=tol,
                     previous=previous)
    return [found.replace(explained=explained)]


def _loss_share(y_ref: np.ndarray, l_ref: np.ndarray, y_cur: np.ndarray, l_cur: np.ndarray,
                fixed: np.ndarray, *, classification: bool) -> dict[str, float] | None:
    """Loss of the logged scores in both windows, and the share of its rise that the
    model's scores on the disagreeing rows take away; None without labelled rows."""
    from toolkit._versions_metrics import row_loss

    task = "classification" if classification else "regression"

    def loss(y: np.ndarray, p: np.ndarray) -> float:
        ok = np.isfinite(y) & np.isfinite(p)
        return float(np.mean(row_loss(p[ok], y[ok], task))) if ok.sum() >= 30 else float("nan")

    before, now, after = loss(y_ref, l_ref), loss(y_cur, l_cur), loss(y_cur, fixed)
    if not (np.isfinite(before) and np.isfinite(now) and np.isfinite(after)):
        return None
    rise = now - before
    share = max(0.0, min(1.0, (now - after) / rise)) if rise > 0 else 0.0
    return {"reference": before, "current": now, "current_with_model_scores": after,
            "explained": share}


def _sample(df: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    from toolkit.checks import _common as C

    pos = C.sample_positions(len(df), size, random_state=seed)
    return df if pos is None else df.iloc[pos]


def _scores(model: Any, rows: pd.DataFrame, reference: pd.DataFrame, name: str) -> np.ndarray:
    from toolkit.scoring import as_served, model_features, predict_scores

    needed = model_features(model) or []
    return np.asarray(predict_scores(model, as_served(rows, reference, needed),
                                     name=f"model on the {name} window"), dtype=float)


def _agreement(logged: np.ndarray, scored: np.ndarray, tol: float) -> float:
    """Share of the rows with a logged score that the model's score matches."""
    ok = np.isfinite(logged)
    if not ok.any():
        return 0.0
    return float(np.mean(np.abs(logged[ok] - scored[ok]) <= tol))


def _finding(column: str, logged: np.ndarray, scored: np.ndarray, evidence: dict[str, Any],
             where: dict[str, Any], *, tol: float, previous: float | None) -> Finding:
    """The finding for the rows whose logged score differs from the model's: how."""
    from toolkit.checks.scale import match_factor

    share = float(where.get("share_affected", 1.0 - evidence["agreement_current"]))
    since, segment = where.get("since"), where.get("segment")
    when = f" from {since}" if since else ""
    scope = f" where {segment}" if segment else ""
    size = (f"{1 - evidence['agreement_current']:.0%} of the current rows{scope}{when} "
            f"(the reference agreed on {evidence['agreement_reference']:.0%})")
    positive = (np.abs(scored) > 1e-12) & np.isfinite(logged)
    ratio = logged[positive] / scored[positive]
    log_ratio = np.log(np.abs(ratio[ratio != 0])) if positive.any() else np.zeros(0)
    values, counts = np.unique(logged, return_counts=True)
    evidence = {**evidence, "since": since, "segment": segment,
                "share_affected": round(share, 6),
                "examples": [{"logged": float(a), "model": float(b)}
                             for a, b in zip(logged[:5], scored[:5])]}
    common: dict[str, Any] = {"check": "versions.served_scores", "features": (column,),
                              "segment": segment, "score": min(1.0, 0.5 + share)}
    if previous is not None and previous >= MIN_AGREEMENT:
        return Finding(
            **common, layer="model", severity="critical",
            summary=f"The logged {column} is the previous version's output on {size}: the "
            f"previous model serves there, not this one (a rollback, or a deployment that "
            f"did not reach every server).",
            evidence={**evidence, "kind": "previous_version",
                      "agreement_with_previous": round(previous, 4)},
            next_step="Check which model version the serving layer loaded" + when + scope
            + ", and redeploy the intended one.",
        )
    if len(logged) >= 30 and np.mean(np.abs(logged - (1.0 - scored)) <= tol) >= MIN_AGREEMENT:
        return Finding(
            **common, layer="pipeline", severity="critical",
            summary=f"{column} logs 1 - the model's score on {size}: the probability of the "
            f"other class is written, a logging change, not the model.",
            evidence={**evidence, "kind": "complement",
                      "repair": f"replace the affected {column} values by 1 - value"},
            next_step=f"Check which column of predict_proba the code writing {column} takes"
            f"{when}{scope}.",
        )
    if log_ratio.size >= 30 and np.all(ratio > 0) \
            and float(np.subtract(*np.percentile(log_ratio, [90, 10]))) < 0.05:
        measured = math.exp(float(np.median(log_ratio)))
        known = match_factor(measured, tolerance=0.02)
        factor, label = known if known else (measured, f"×{measured:.4g}")
        return Finding(
            **common, layer="pipeline", severity="critical",
            summary=f"{column} logs the model's score {label}, on {size}: the logging "
            f"changed, not the model.",
            evidence={**evidence, "kind": "factor", "factor": factor,
                      "measured_factor": measured,
                      "repair": f"divide the affected {column} values by {factor:.6g}"},
            next_step=f"Check the code that writes {column}{when} (a unit change such as "
            f"fraction to percent) and fix the dashboards fed by it.",
        )
    if len(values) and counts.max() >= 0.9 * len(logged):
        value = float(values[np.argmax(counts)])
        return Finding(
            **common, layer="pipeline", severity="critical",
            summary=f"{column} is stuck on {value:g} on {size}, while the model's scores "
            f"vary: the logging broke, not the model.",
            evidence={**evidence, "kind": "stuck_value", "value": value},
            next_step=f"Check the code that writes {column}{when} (a default, a cache, a "
            f"failed call replaced by a constant).",
        )
    ok = np.isfinite(logged) & np.isfinite(scored)
    rho = rank_correlations(logged[ok], scored[ok])[0]
    return Finding(
        **{**common, "score": min(1.0, 0.4 + share)}, layer="model",
        severity="critical" if share >= 0.1 else "warning",
        summary=f"The logged {column} is not this model's output on {size}"
        + (f"; rank agreement with the model {rho:.2f}" if np.isfinite(rho) else "")
        + ": another model version, or other inputs, serve.",
        evidence={**evidence, "kind": "other_model", "spearman": rho},
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
