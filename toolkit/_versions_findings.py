"""Findings of a version comparison (used by :mod:`toolkit.versions`).

Severities are honest: the overall metric regression is the symptom and scores at
most 0.5; a segment that localises it scores up to 0.9; a feature version B no
longer uses, while the metrics regressed, scores above 0.9, because it is the most
direct explanation a retrain can have. Decision flips and calibration are
information unless there are no labels and the flip rate is large.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit._versions_metrics import PRIMARY
from toolkit.findings import Finding, rank_findings

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.segments import SliceReport


def _metric_finding(metrics: pd.DataFrame, task: str) -> Finding:
    overall = metrics[(metrics["column"] == "all rows") & metrics["metric"].isin(PRIMARY[task])]
    worse = overall[overall["status"] == "worse"]
    table = overall[["metric", "a", "b", "delta", "ci_low", "ci_high", "status"]]
    if worse.empty:
        better = overall[overall["status"] == "better"]
        word = "improves" if not better.empty else "matches"
        return Finding(
            check="versions.metric_comparison",
            layer="model",
            severity="info",
            score=0.1,
            summary=f"Version B {word} version A on {', '.join(PRIMARY[task])} overall "
            f"(no regression beyond the practical threshold).",
            evidence={"metrics": table},
            next_step="No action on overall quality; check the "
            "segment and flip findings before promoting version B.",
        )
    severity = "critical" if worse["critical"].any() else "warning"
    parts = [
        f"{r.metric} {r.a:.4g} -> {r.b:.4g} (95% CI of change {r.ci_low:+.3g} to {r.ci_high:+.3g})"
        for r in worse.itertuples()
    ]
    strength = max(abs(r.delta) / max(r.practical, 1e-12) for r in worse.itertuples())
    return Finding(
        check="versions.metric_regression",
        layer="model",
        severity=severity,
        score=min(0.5, 0.1 * strength),  # the symptom: causes and localisations rank above it
        summary=f"Version B is worse than version A overall: {'; '.join(parts)}.",
        evidence={"metrics": table, "practical": worse[["metric", "practical"]]},
        next_step="Look at the feature and segment findings below for where and why; keep "
        "version A serving until the regression is explained.",
    )


def _segment_findings(report: SliceReport | None, regressed: bool, task: str) -> list[Finding]:
    if report is None:
        return []
    loss = "absolute error" if task == "regression" else "log loss"
    out = []
    for r in report.table.itertuples():
        if r.mean <= 0:  # B improved there too, only less than elsewhere: not worse
            continue
        severity = "critical" if r.ci_low >= report.threshold else "warning"
        if regressed and r.explained >= 0.5:
            severity = "critical"
        out.append(
            Finding(
                check="versions.segment_regression",
                layer="model",
                severity=severity,
                score=min(0.9, 0.5 + 0.4 * r.explained),
                features=tuple(r.columns),
                segment=r.segment,
                summary=f"Version B is worse in {r.segment} ({r.support} rows, {r.share:.1%}): "
                f"per-row {loss} "
                f"rises {r.mean:+.3g} there vs {r.rest_mean:+.3g} elsewhere "
                f"(excess {r.effect:.3g}, "
                f"adjusted CI {r.ci_low:.3g} to {r.ci_high:.3g}).",
                evidence={
                    "segment": r.segment,
                    "columns": list(r.columns),
                    "support": r.support,
                    "share": r.share,
                    "effect": r.effect,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "q_value": r.q_value,
                    "explained": r.explained,
                    "loss_a": r.baseline_mean,
                    "loss_b": r.loss_mean,
                    "slices_tested": report.n_tested,
                    "threshold": report.threshold,
                },
                next_step=f"Compare the training data of both versions for rows with {r.segment} "
                f"(coverage, "
                f"labels, preprocessing); gate promotion on this segment's metrics.",
            )
        )
    return out


def _feature_findings(
    attr: pd.DataFrame, regressed: bool, min_share: float = 0.05
) -> list[Finding]:
    out = []
    for r in attr.itertuples():
        lost = r.share_a >= min_share and r.share_b <= 0.2 * r.share_a
        gained = r.share_b >= min_share and r.share_a <= 0.2 * r.share_b
        if not (lost or gained):
            continue
        evidence = {
            "feature": r.feature,
            "share_a": r.share_a,
            "share_b": r.share_b,
            "importance_a": r.importance_a,
            "importance_b": r.importance_b,
            "method": r.method,
        }
        if lost:
            out.append(
                Finding(
                    check="versions.feature_dropped",
                    layer="model",
                    severity="critical" if regressed else "warning",
                    score=min(1.0, 0.9 + 0.1 * r.share_a),
                    features=(r.feature,),
                    evidence=evidence,
                    summary=f"Version B no longer uses {r.feature!r}: "
                    f"{r.share_a:.0%} of version A's "
                    f"attribution, {r.share_b:.0%} of version B's ({r.method}).",
                    next_step=f"Check version B's training pipeline for {r.feature!r} "
                    f"(dropped from the feature "
                    f"list, all-null or constant in its training data, renamed upstream).",
                )
            )
        else:
            out.append(
                Finding(
                    check="versions.feature_gained",
                    layer="model",
                    severity="info",
                    score=0.3 * r.share_b,
                    features=(r.feature,),
                    evidence=evidence,
                    summary=f"Version B relies on {r.feature!r} "
                    f"({r.share_b:.0%} of its attribution) that version A "
                    f"barely used ({r.share_a:.0%}).",
                    next_step=f"Confirm {r.feature!r} is available and reliable at serving time, "
                    "without leakage.",
                )
            )
    return out


def _flip_finding(
    rate: dict[str, Any],
    summary: dict[str, Any],
    thr: float | None,
    labeled: bool,
    max_flip_rate: float,
) -> Finding:
    evidence = {"flip_rate": rate, "threshold": thr, "score_delta": summary}
    if not rate:
        return Finding(
            check="versions.score_deltas",
            layer="model",
            severity="info",
            score=0.05,
            summary=f"Scores moved by {summary['mean_abs']:.3g} on average (Spearman "
            f"{summary['spearman']:.3f}); no threshold, so no decisions compared.",
            evidence=evidence,
            next_step="Pass the operating threshold to compare decisions.",
        )
    # Without labels flips are the only signal. Symmetric churn (as between two seeds)
    # is information; a warning needs a real net change of the flagged volume (at least
    # a fifth of A's rate, interval clear of zero) or a flip rate clearly above the cap.
    net_lo, net_hi = rate["net_ci_low"], rate["net_ci_high"]
    shifted = (net_lo > 0 or net_hi < 0) and abs(rate["net_change"]) >= 0.2 * rate[
        "decision_rate_a"
    ]
    churn = rate["ci_low"] >= max_flip_rate
    severity = "warning" if not labeled and (shifted or churn) else "info"
    right = (
        f"; B is right on {rate['b_right']} of them, A on {rate['a_right']}"
        if "b_right" in rate
        else ""
    )
    return Finding(
        check="versions.decision_flips",
        layer="model",
        severity=severity,
        score=min(1.0, rate["rate"] * 2),
        summary=f"{rate['n_flips']} rows ({rate['rate']:.2%}, 95% CI {rate['ci_low']:.2%} to "
        f"{rate['ci_high']:.2%}) change decision at threshold {thr:.4g} "
        f"({rate['up']} newly flagged, "
        f"{rate['down']} no longer){right}; rank agreement (Spearman) {summary['spearman']:.3f}.",
        evidence=evidence,
        next_step="Review the rows that flipped most"
        + ("" if labeled else " and label a sample of them")
        + " before promoting version B.",
    )


def unlabeled_finding(target: str, n_rows: int, n_labeled: int) -> Finding:
    """Rows without a label are left out of the label metrics: say how many."""
    missing = n_rows - n_labeled
    share = missing / n_rows
    uses = (f"the label metrics (AUC, losses, segments, slices, calibration) use the other "
            f"{n_labeled:,}" if n_labeled else "no label metric can be computed")
    return Finding(
        check="versions.unlabeled_rows",
        layer="model",
        severity="info" if n_labeled >= 100 else "warning",
        score=min(1.0, share) * 0.2,
        summary=f"{missing:,} of {n_rows:,} rows ({share:.1%}) have no {target}: {uses}; "
        f"score deltas and decision flips use every row.",
        features=(target,),
        evidence={"column": target, "n_rows": n_rows, "n_labeled": n_labeled,
                  "n_unlabeled": missing, "share_unlabeled": round(share, 6)},
        next_step=f"If {target} is missing for a reason (labels not in yet, one segment "
        f"unlabelled), the metrics describe the labelled rows only; compare again once "
        f"they arrive.",
    )


def _calibration_finding(ece: dict[str, float]) -> Finding:
    worse = ece["B"] - ece["A"] >= 0.05
    return Finding(
        check="versions.calibration",
        layer="model",
        severity="warning" if worse else "info",
        score=min(1.0, max(0.0, ece["B"] - ece["A"]) * 5),
        summary=f"Expected calibration error: version A {ece['A']:.3f}, version B {ece['B']:.3f}.",
        evidence={"ece": ece},
        next_step="Recalibrate version B (isotonic or Platt on recent labels) "
        "before comparing decisions at a fixed threshold."
        if worse
        else "No action: calibration is comparable.",
    )


def build_findings(
    metrics: Any,
    task: str,
    slices: Any,
    attr: Any,
    rate: Any,
    summary: Any,
    thr: Any,
    labeled: bool,
    max_flip_rate: float,
    ece: dict[str, float],
) -> list[Finding]:
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
