"""Findings of attribution drift, with honest severities.

Practical thresholds are in units of ``scale``, the spread (standard deviation) of the
model's scores in the reference window, so they hold for probabilities and for
regression targets in any unit:

- ``attribution.shift_contribution``: a feature whose contribution to the mean score
  change has a simultaneous interval excluding 0 and a size of at least 0.1 × scale
  (warning) or 0.3 × scale (critical);
- ``attribution.ndcg``: SageMaker Clarify alarms below 0.9; warning when the whole
  bootstrap interval lies below 0.9, critical below 0.7; it names the features whose
  SHAP-value distribution moved most (Wasserstein-1 at least 0.05 × scale, lower
  bound above 0);
- ``attribution.drift_that_matters``: data drift (total-variation distance on
  reference bins) judged significant by :func:`toolkit.drift.feature_drift` (or above
  its own noise floor when that cannot judge the column) and at least 0.1, times the
  feature's share of
  attribution (the larger of both windows): warning from 0.02 (a 0.2 shift in a
  feature carrying 10% of the attribution), critical from 0.08;
- ``attribution.direction_change``: the correlation between a numeric feature's values
  and its SHAP values changes sign (each at least 0.3 in size) while the feature keeps
  a mean |SHAP| of at least 0.02 × scale in both windows: warning.

Two samples of the same population stay at info.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.findings import Finding

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.attribution import AttributionDriftResult

SHIFT_WARNING, SHIFT_CRITICAL = 0.1, 0.3
NDCG_WARNING, NDCG_CRITICAL = 0.9, 0.7
DRIFT_MIN, MATTERS_WARNING, MATTERS_CRITICAL = 0.1, 0.02, 0.08
DIRECTION_MIN = 0.02
MOVER_MIN = 0.05
_TOP = 5


def build_findings(result: AttributionDriftResult, *, scale: float) -> list[Finding]:
    """All findings of one attribution-drift result."""
    common = {"segment": result.segment}
    return [
        _ndcg(result, scale, common),
        *_shift(result, scale, common),
        *_matters(result, common),
        *_direction(result, scale, common),
    ]


def _sample_evidence(result: AttributionDriftResult) -> dict[str, Any]:
    keys = ("n_reference_rows", "n_current_rows", "n_reference_explained",
            "n_current_explained", "background_size", "method")
    return {k: result.sample[k] for k in keys}


def _sizes(result: AttributionDriftResult) -> str:
    s = result.sample
    return (f"explained {s['n_reference_explained']:,} of {s['n_reference_rows']:,} reference "
            f"and {s['n_current_explained']:,} of {s['n_current_rows']:,} current rows")


def _sig(low: float, high: float) -> bool:
    return low > 0 or high < 0


def _ndcg(result: AttributionDriftResult, scale: float, common: dict[str, Any]) -> Finding:
    t = result.table  # sorted by attribution_shift
    lo, hi = result.ndcg_interval
    movers = t[(t["attribution_shift_low"] > 0)
               & (t["attribution_shift"] >= MOVER_MIN * scale)].head(3)
    severity = "critical" if hi < NDCG_CRITICAL else "warning" if hi < NDCG_WARNING else "info"
    names = ", ".join(f"{f} (SHAP distance {d:.3g}, share {a:.0%} → {b:.0%})" for f, d, a, b in
                      zip(movers["feature"], movers["attribution_shift"], movers["share_ref"],
                          movers["share_cur"]))
    summary = (f"Attribution ranking NDCG {result.ndcg:.2f} [{lo:.2f}, {hi:.2f}] "
               f"(Clarify alarms below 0.9)"
               + (f"; effect changed most for {names}" if names else "; no feature's effect "
                  "changed beyond sampling noise") + f"; {_sizes(result)}.")
    evidence = {"ndcg": result.ndcg, "ndcg_low": lo, "ndcg_high": hi,
                "spearman": result.spearman, "kendall": result.kendall,
                "threshold": NDCG_WARNING, "features": _records(t.head(10), [
                    "feature", "attribution_shift", "attribution_shift_low",
                    "attribution_shift_high", "share_ref", "share_cur", "share_change",
                    "share_change_low", "share_change_high", "mean_abs_ref", "mean_abs_cur"]),
                **_sample_evidence(result)}
    return Finding(
        check="attribution.ndcg", layer="model", summary=summary, severity=severity,
        score=min(1.0, max(0.0, 1.0 - result.ndcg)), features=tuple(movers["feature"]),
        evidence=evidence, **common,
        next_step=("Compare the features whose share changed between windows: look for "
                   "collapsed or defaulted values (data checks) and for a model version "
                   "change.") if severity != "info" else "",
    )


def _shift(result: AttributionDriftResult, scale: float, common: dict[str, Any]) -> list[Finding]:
    sh = result.shift
    t = sh.table
    flagged = t[[(_sig(lo, hi) and abs(c) >= SHIFT_WARNING * scale)
                 for c, lo, hi in zip(t["contribution"], t["ci_low"], t["ci_high"])]]
    base = {"mean_prediction_ref": sh.mean_ref, "mean_prediction_cur": sh.mean_cur,
            "total_shift": sh.total, "total_shift_low": sh.total_interval[0],
            "total_shift_high": sh.total_interval[1],
            "full_mean_prediction_ref": sh.full_mean_ref,
            "full_mean_prediction_cur": sh.full_mean_cur, "score_scale": scale,
            **_sample_evidence(result)}
    out = []
    for row in flagged.head(_TOP).itertuples(index=False):
        size = abs(row.contribution) / scale
        out.append(Finding(
            check="attribution.shift_contribution", layer="population",
            severity="critical" if size >= SHIFT_CRITICAL else "warning",
            score=min(1.0, size), features=(row.feature,), **common,
            summary=(f"{row.feature} moved the mean score by {row.contribution:+.4g} "
                     f"[{row.ci_low:+.4g}, {row.ci_high:+.4g}] of a total change of "
                     f"{sh.total:+.4g} ({sh.mean_ref:.4g} → {sh.mean_cur:.4g}); "
                     f"{_sizes(result)}."),
            evidence={"feature": row.feature, "contribution": row.contribution,
                      "contribution_low": row.ci_low, "contribution_high": row.ci_high,
                      "share_of_shift": row.share_of_shift, **base},
            next_step=(f"Look at how {row.feature} changed between the windows (its "
                       f"distribution, its missing values, its upstream source)."),
        ))
    if not out:
        out.append(Finding(
            check="attribution.shift_contribution", layer="population", severity="info",
            score=0.0, **common, evidence={"contributions": _records(t.head(10), [
                "feature", "contribution", "ci_low", "ci_high"]), **base},
            summary=(f"Mean score {sh.mean_ref:.4g} → {sh.mean_cur:.4g} ({sh.total:+.4g}); "
                     f"no single feature moved it by {SHIFT_WARNING:g} score spreads or more; "
                     f"{_sizes(result)}."),
        ))
    return out


def _matters(result: AttributionDriftResult, common: dict[str, Any]) -> list[Finding]:
    t = result.table.sort_values("matters", ascending=False, kind="stable")
    drifted = t["drift_significant"] & (t["drift"] >= DRIFT_MIN)
    flagged = t[drifted & (t["matters"] >= MATTERS_WARNING)]
    out = []
    for row in flagged.head(_TOP).itertuples(index=False):
        share = max(row.share_ref, row.share_cur)
        out.append(Finding(
            check="attribution.drift_that_matters", layer="population",
            severity="critical" if row.matters >= MATTERS_CRITICAL else "warning",
            score=min(1.0, row.matters / (2 * MATTERS_CRITICAL)), features=(row.feature,),
            summary=(f"{row.feature} drifted (total variation {row.drift:.2f}) and carries "
                     f"{share:.0%} of the model's attribution; {_sizes(result)}."),
            evidence={"feature": row.feature, "drift": row.drift,
                      "drift_floor": row.drift_floor, "share_ref": row.share_ref,
                      "share_cur": row.share_cur, "matters": row.matters,
                      **_sample_evidence(result)},
            next_step=f"Find out why {row.feature} moved and whether the model should follow.",
            **common,
        ))
    if not out:
        ignored = t[drifted].head(3)
        names = ", ".join(f"{f} (drift {d:.2f}, share {s:.1%})" for f, d, s in
                          zip(ignored["feature"], ignored["drift"], ignored["share_ref"]))
        out.append(Finding(
            check="attribution.drift_that_matters", layer="population", severity="info",
            score=0.0, **common, evidence={"features": _records(t.head(10), [
                "feature", "drift", "drift_floor", "share_ref", "share_cur", "matters"])},
            summary=("No drifted feature carries enough attribution to matter"
                     + (f"; drifted but little used: {names}" if names else "")
                     + f"; {_sizes(result)}."),
        ))
    return out


def _direction(result: AttributionDriftResult, scale: float, common: dict[str, Any]
               ) -> list[Finding]:
    t = result.table
    floor = DIRECTION_MIN * scale
    big = (t["mean_abs_ref"] >= floor) & (t["mean_abs_cur"] >= floor)
    return [Finding(
        check="attribution.direction_change", layer="model", severity="warning",
        score=min(1.0, abs(row.direction_cur - row.direction_ref) / 2), features=(row.feature,),
        summary=(f"Higher {row.feature} now pushes scores the other way: correlation of its "
                 f"values with its SHAP values {row.direction_ref:+.2f} → "
                 f"{row.direction_cur:+.2f}; {_sizes(result)}."),
        evidence={"feature": row.feature, "direction_ref": row.direction_ref,
                  "direction_cur": row.direction_cur, "mean_abs_shap_ref": row.mean_abs_ref,
                  "mean_abs_shap_cur": row.mean_abs_cur, "mean_shap_ref": row.mean_ref,
                  "mean_shap_cur": row.mean_cur, **_sample_evidence(result)},
        next_step=(f"Check whether the meaning, unit or encoding of {row.feature} changed, "
                   f"or whether the population moved to a range where the model reverses."),
        **common,
    ) for row in t[t["direction_change"] & big].head(_TOP).itertuples(index=False)]


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    return frame[columns].to_dict(orient="records")
