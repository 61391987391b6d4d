"""Prediction drift: did the logged scores move, which way and by how much."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from toolkit._drift_stats import (
    bin_table,
    bootstrap_psi,
    chi2_counts_test,
    ks_statistic,
    noise_floor,
    psi,
    validate_settings,
)
from toolkit._exceptions import InputError
from toolkit.findings import Finding
from toolkit.profile import PERCENTILES, profile_frame

__all__ = ["PredictionDrift", "prediction_drift"]

_LEVELS = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


@dataclasses.dataclass(frozen=True, eq=False)
class PredictionDrift:
    """Result of :func:`prediction_drift`.

    Attributes
    ----------
    stats : dict
        ``psi``, ``effect``, ``low``, ``high``, ``noise_floor``, ``p_value``,
        ``ks``, ``ks_p_value``, ``mean_reference``, ``mean_current``, ``delta``,
        ``delta_low``, ``delta_high``, ``shift`` (delta over the reference
        standard deviation) with ``shift_low``/``shift_high``, ``direction``
        (``"higher"``, ``"lower"`` or ``"unchanged"``), ``drifted``, ``severity``,
        ``n_reference``, ``n_current``, ``missing_reference``, ``missing_current``.
    bins : DataFrame
        Reference and current shares per reference-quantile bin.
    quantiles : DataFrame
        ``level``, ``reference``, ``current`` score quantiles.
    findings : list of Finding
        One ``drift.prediction`` finding (``info`` when nothing material moved).
    """

    stats: dict[str, Any]
    bins: pd.DataFrame
    quantiles: pd.DataFrame
    findings: list[Finding]


def _scores(values: Any, label: str) -> pd.Series:
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values).ravel())
    if not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        raise InputError(
            f"The {label} scores must be numbers; got dtype {s.dtype}. Pass the column of "
            "predicted probabilities or predictions, converted with pd.to_numeric if needed."
        )
    s = s.astype("float64").reset_index(drop=True)
    if not np.isfinite(s.to_numpy()).any():
        raise InputError(
            f"The {label} scores hold no finite value ({len(s)} rows). Check that the "
            "prediction column was logged for this window."
        )
    return s


def _mean_shift(ref: Any, cur: Any, z: float) -> dict[str, Any]:
    delta = float(cur.mean - ref.mean)
    se = float(np.sqrt(ref.std**2 / ref.n_finite + cur.std**2 / max(cur.n_finite, 1)))
    se = 0.0 if not np.isfinite(se) else se
    low, high = delta - z * se, delta + z * se
    spread = float(ref.std) if ref.std > 0 else float("nan")
    direction = "higher" if low > 0 else "lower" if high < 0 else "unchanged"
    return {
        "mean_reference": float(ref.mean),
        "mean_current": float(cur.mean),
        "delta": delta,
        "delta_low": low,
        "delta_high": high,
        "shift": delta / spread,
        "shift_low": low / spread,
        "shift_high": high / spread,
        "direction": direction,
    }


def _decide(st: dict[str, Any], s: dict[str, float]) -> tuple[bool, str, float]:
    """Drifted?, severity and score from the PSI bound and the shift bound."""
    shift_bound = 0.0
    if st["direction"] != "unchanged" and np.isfinite(st["shift_low"]):
        shift_bound = min(abs(st["shift_low"]), abs(st["shift_high"]))
    significant = st["p_value"] <= s["alpha"] or st["direction"] != "unchanged"
    material = st["low"] > s["threshold"] or shift_bound > s["shift_threshold"]
    drifted = bool(significant and material)
    critical = st["low"] >= s["critical"] or shift_bound >= s["critical_shift"]
    severity = ("critical" if critical else "warning") if drifted else "info"
    shift = abs(st["shift"]) if np.isfinite(st["shift"]) else 0.0
    score = max(
        st["effect"] / (st["effect"] + s["critical"]), shift / (shift + s["critical_shift"])
    )
    return drifted, severity, float(score)


def _finding(name: str, st: dict[str, Any], bins: pd.DataFrame, q: pd.DataFrame) -> Finding:
    how = {"higher": "rose", "lower": "fell", "unchanged": "held"}[st["direction"]]
    if not st["drifted"]:
        head = f"No material drift in {name}: mean"
    elif st["direction"] == "unchanged":
        head = f"{name}: the distribution changed while the mean held"
    else:
        head = f"{name}: mean {how}"
    summary = (
        f"{head} {st['mean_reference']:.4g} -> {st['mean_current']:.4g} "
        f"(change {st['delta']:+.3g}, CI {st['delta_low']:+.3g} to {st['delta_high']:+.3g}); "
        f"PSI {st['effect']:.2f} (CI {st['low']:.2f}-{st['high']:.2f})"
    )
    top = bins.reindex(bins["contribution"].abs().sort_values(ascending=False).index).head(3)
    return Finding(
        check="drift.prediction",
        layer="population",
        summary=summary,
        severity=st["severity"],
        score=st["score"],
        features=(name,),
        evidence={**st, "column": name, "top_bins": top, "quantiles": q},
        next_step=(
            "Explain the score shift: run the data checks and feature drift on the same "
            "windows, then attribution drift to see which features moved the scores."
            if st["drifted"]
            else "Scores are stable; if the complaint persists, look at quality with labels."
        ),
    )


#: Fewest finite scores per window (as for feature drift).
_MIN_SCORES = 30


def prediction_drift(
    ref_scores: Any,
    cur_scores: Any,
    *,
    name: str = "prediction",
    bins: int = 10,
    threshold: float = 0.1,
    critical: float = 0.25,
    shift_threshold: float = 0.2,
    critical_shift: float = 0.5,
    alpha: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 200,
    random_state: int = 0,
) -> PredictionDrift:
    """Drift of logged scores: PSI with an interval, and the mean shift and direction.

    Scores drift when the change is significant (chi-square on reference-quantile
    bins at ``alpha``, or a mean-shift interval that excludes 0) *and* material:
    the PSI's lower bound exceeds ``threshold`` or the standardised mean shift's
    bound exceeds ``shift_threshold`` reference standard deviations.

    Parameters
    ----------
    ref_scores, cur_scores : array-like or Series of float
        Logged scores of the two windows; missing values are counted, not used.
    name : str, default="prediction"
        The score column's name, used in the finding.
    bins : int, default=10
        Reference-quantile bins.
    threshold, critical : float, default=0.1, 0.25
        PSI lower bounds for a warning and for a critical finding.
    shift_threshold, critical_shift : float, default=0.2, 0.5
        Standardised mean-shift bounds for a warning and a critical finding
        (Cohen's "small" and "medium").
    alpha : float, default=0.05
    confidence : float, default=0.95
    n_boot : int, default=200
    random_state : int, default=0

    Returns
    -------
    PredictionDrift
    """
    from scipy import stats

    validate_settings(threshold, critical, alpha, confidence)
    ref_s, cur_s = _scores(ref_scores, "reference"), _scores(cur_scores, "current")
    ref_p = profile_frame(pd.DataFrame({name: ref_s}), bins=bins, n_jobs=1)[name]
    cur_p = profile_frame(pd.DataFrame({name: cur_s}), edges={name: ref_p.edges}, n_jobs=1)[name]
    r, c = np.asarray(ref_p.counts), np.asarray(cur_p.counts)
    effect, low, high = bootstrap_psi(
        r, c, n_boot=n_boot, confidence=confidence, random_state=random_state
    )
    a, b = ref_s.to_numpy(), cur_s.to_numpy()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if min(len(a), len(b)) < _MIN_SCORES:
        raise InputError(
            f"Prediction drift of {name!r} needs at least {_MIN_SCORES} scores in each window; "
            f"got {len(a)} in the reference and {len(b)} in the current. Widen the windows."
        )
    st: dict[str, Any] = {
        "psi": psi(r, c),
        "effect": effect,
        "low": low,
        "high": high,
        "noise_floor": noise_floor(int(np.count_nonzero(r + c)), ref_p.count, cur_p.count),
        "p_value": chi2_counts_test(r, c)[2],
        "ks": ks_statistic(a, b),
        "ks_p_value": float(stats.ks_2samp(a, b, method="asymp").pvalue),
        "n_reference": ref_p.count,
        "n_current": cur_p.count,
        "missing_reference": ref_p.count - ref_p.n_finite,
        "missing_current": cur_p.count - cur_p.n_finite,
    }
    st.update(_mean_shift(ref_p, cur_p, float(stats.norm.ppf(0.5 + confidence / 2))))
    settings = {"alpha": alpha, "threshold": threshold, "critical": critical}
    settings.update(shift_threshold=shift_threshold, critical_shift=critical_shift)
    st["drifted"], st["severity"], st["score"] = _decide(st, settings)
    idx = np.searchsorted(PERCENTILES, np.asarray(_LEVELS) - 1e-12)
    levels = {"reference": np.asarray(ref_p.quantiles), "current": np.asarray(cur_p.quantiles)}
    q = pd.DataFrame({"level": _LEVELS, **{k: v[idx] for k, v in levels.items()}})
    table = bin_table(ref_p, cur_p, 0.5)
    return PredictionDrift(
        stats=st, bins=table, quantiles=q, findings=[_finding(name, st, table, q)]
    )
