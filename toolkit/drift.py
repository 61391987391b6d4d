"""Drift: did the population move, and by how much?

Three checks, each returning its result with :class:`~toolkit.findings.Finding`
objects (layer ``population``):

- :func:`feature_drift`: per column, an effect size (PSI on reference-edge
  histograms with out-of-range and missing bins) with a bootstrap interval, a
  chi-square test, Benjamini-Hochberg control across columns, and a practical
  threshold. A column is flagged only when its q-value is below ``alpha`` *and*
  the lower bound of its effect exceeds ``threshold``, so two large samples of one
  population raise nothing, and a small sample gets an interval too wide to flag.
  The lower bound must clear the threshold on present values too: a change in
  the null rate alone is the missing-value check's finding, not population drift.
- :func:`prediction_drift`: the same for logged scores, plus the mean shift with
  an interval and its direction, the symptom triage explains.
- :func:`domain_classifier`: a classifier separating the windows; AUC with an
  interval, and the columns that drive it.

:func:`check_windows` runs the data checks and all three on one pair of windows, as
the data-checks template and the benchmark do: one profile pass shared by the checks
and feature drift, and the domain classifier fitted meanwhile in a second thread.

Numbers are computed from :class:`toolkit.profile.Profile` objects, so a profile
computed once feeds both the data checks and drift.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit._drift_domain import DomainResult, domain_classifier
from toolkit._drift_prediction import PredictionDrift, prediction_drift
from toolkit._drift_stats import (
    benjamini_hochberg,
    bin_table,
    binned_ks,
    bootstrap_psi,
    chi2_counts_test,
    js_divergence,
    ks_statistic,
    noise_floor,
    psi,
    severity_of,
    validate_settings,
)
from toolkit._exceptions import InputError, StewardError
from toolkit.findings import Finding
from toolkit.profile import ColumnProfile, Profile, profile_frame

__all__ = [
    "DomainResult",
    "DriftResult",
    "PredictionDrift",
    "WindowChecks",
    "benjamini_hochberg",
    "check_windows",
    "domain_classifier",
    "feature_drift",
    "js_divergence",
    "ks_statistic",
    "noise_floor",
    "prediction_drift",
    "psi",
]


@dataclasses.dataclass(frozen=True, eq=False)
class DriftResult:
    """Result of :func:`feature_drift`.

    Attributes
    ----------
    table : DataFrame
        One row per tested column, largest effect first: ``feature``, ``kind``,
        ``effect`` (bias-corrected PSI), ``low``, ``high``, the same on present
        values only (``effect_present``, ``low_present``, ``high_present``; the
        missing cell dropped), ``psi`` (plug-in),
        ``noise_floor``, ``js``, ``ks_binned``, ``p_value``, ``q_value``,
        ``drifted``, ``severity``, ``n_reference``, ``n_current``, null rates,
        and for numerics ``shift`` (mean difference over the reference standard
        deviation) with ``shift_low``/``shift_high`` and ``wasserstein`` (over the
        reference standard deviation).
    findings : list of Finding
        One ``drift.feature`` finding per drifted column; its evidence holds every
        bin's shares and the reference edges, for a reweighting repair.
    bins : dict of str to DataFrame
        Per column: ``bin``, ``reference_share``, ``current_share``,
        ``contribution`` (its term of the PSI).
    skipped : DataFrame
        Columns not tested, with the reason.
    settings : dict
        The thresholds and sizes used.
    """

    table: pd.DataFrame
    findings: list[Finding]
    bins: dict[str, pd.DataFrame]
    skipped: pd.DataFrame
    settings: dict[str, Any]


def _as_profiles(
    reference: Any, current: Any, columns: Sequence[str] | None, *, bins: int, top_k: int
) -> tuple[Profile, Profile]:
    for label, data in (("reference", reference), ("current", current)):
        if not isinstance(data, pd.DataFrame | Profile):
            raise InputError(
                f"The {label} window must be a DataFrame or a toolkit.profile.Profile; got "
                f"{type(data).__name__}. Read files with toolkit.io.read_table."
            )
        if (len(data) if isinstance(data, pd.DataFrame) else data.n_rows) == 0:
            raise InputError(
                f"The {label} window has no rows. Check the file and any filter or date "
                "range that selected it."
            )
    if isinstance(reference, pd.DataFrame):
        cols = [c for c in reference.columns if columns is None or c in columns]
        reference = profile_frame(reference, columns=cols, bins=bins, top_k=top_k)
    if isinstance(current, pd.DataFrame):
        cols = [c for c in current.columns if columns is None or c in columns]
        current = profile_frame(
            current, columns=cols, edges=reference.edges(), bins=bins, top_k=top_k
        )
    return reference, current


def _same_edges(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return isinstance(a, tuple) and isinstance(b, tuple) and a == b


#: Fewest rows per window a drift statistic is measured on: below it, a bootstrap
#: interval of one or two rows is as narrow as it is meaningless.
MIN_ROWS = 30


def _skip_reason(ref: ColumnProfile | None, cur: ColumnProfile | None) -> str | None:
    if ref is None:
        return "only in the current window (see the schema check)"
    if cur is None:
        return "only in the reference window (see the schema check)"
    if ref.kind != cur.kind or cur.counts is None:
        return f"type changed ({ref.kind} to {cur.kind}; see the schema check)"
    if ref.kind == "datetime":
        return "date or time column: time moves between windows (see the volume checks)"
    if min(ref.count, cur.count) < MIN_ROWS:
        return (f"too few rows to measure drift ({ref.count} in the reference, {cur.count} "
                f"in the current; at least {MIN_ROWS} in each)")
    if not _same_edges(ref.edges, cur.edges) or ref.counts is None:
        return "the current profile was binned on other edges; profile it on reference.edges()"
    if _looks_sequential(ref, cur):
        return (
            "a sequential identifier or counter (whole numbers, all distinct, current "
            "values all above the reference's): it moves by construction"
        )
    return None


def _looks_sequential(ref: ColumnProfile, cur: ColumnProfile) -> bool:
    """An id or counter: whole, (nearly) unique numbers that only grow.

    Its PSI is huge by construction, a false alarm every tool raises; a unit change
    rarely matches, since it needs unique whole numbers spanning less than its factor.
    """
    if ref.kind != "numeric" or not ref.integer_valued or ref.n_finite < 100:
        return False
    if (ref.n_distinct or 0) < 0.95 * ref.n_finite or cur.counts is None:
        return False
    valued = cur.count - cur.nulls
    return bool(valued > 0 and cur.counts[-2] >= 0.95 * valued)


def _columns_to_test(
    ref: Profile, cur: Profile, columns: Sequence[str] | None
) -> tuple[list[str], list[dict[str, str]]]:
    if columns is None:
        names = list(ref.columns) + [c for c in cur.columns if c not in ref.columns]
    else:
        names = list(columns)
        absent = [c for c in names if c not in ref.columns and c not in cur.columns]
        if absent:
            raise InputError(
                f"Columns {absent[:10]} are in neither window; the reference has "
                f"{list(ref.columns)[:20]}."
            )
    tested, skipped = [], []
    for name in names:
        reason = _skip_reason(ref.columns.get(name), cur.columns.get(name))
        if reason is None:
            tested.append(name)
        else:
            skipped.append({"feature": name, "reason": reason})
    return tested, skipped


def _location(ref: ColumnProfile, cur: ColumnProfile, z: float) -> dict[str, float]:
    """Standardised mean shift with a normal interval, and normalised Wasserstein-1."""
    nan = float("nan")
    out = {"shift": nan, "shift_low": nan, "shift_high": nan, "wasserstein": nan}
    if ref.kind != "numeric" or not (ref.std > 0) or cur.n_finite < 2:
        return out
    delta = cur.mean - ref.mean
    se = np.sqrt(ref.std**2 / ref.n_finite + cur.std**2 / cur.n_finite)
    out["shift"] = delta / ref.std
    out["shift_low"] = (delta - z * se) / ref.std
    out["shift_high"] = (delta + z * se) / ref.std
    if ref.quantiles is not None and cur.quantiles is not None:
        gap = np.abs(np.asarray(ref.quantiles) - np.asarray(cur.quantiles))
        out["wasserstein"] = float(np.mean((gap[1:] + gap[:-1]) / 2)) / ref.std
    return out


def _feature_row(
    name: str,
    ref: ColumnProfile,
    cur: ColumnProfile,
    *,
    smoothing: float,
    n_boot: int,
    confidence: float,
    rng: np.random.Generator,
) -> dict[str, Any]:
    from scipy import stats

    r, c = np.asarray(ref.counts), np.asarray(cur.counts)
    effect, low, high = bootstrap_psi(
        r, c, n_boot=n_boot, confidence=confidence, smoothing=smoothing, random_state=rng
    )
    _, _, p_value = chi2_counts_test(r, c)
    nonempty = int(np.count_nonzero(np.asarray(r) + np.asarray(c)))
    # The same on present values only (the missing cell dropped): a change in the
    # null rate alone is a data-quality finding of the missing check, not drift.
    present = (np.nan, np.nan, np.nan)
    if np.sum(r[:-1]) > 0 and np.sum(c[:-1]) > 0:
        present = bootstrap_psi(
            r[:-1], c[:-1], n_boot=n_boot, confidence=confidence, smoothing=smoothing,
            random_state=rng,
        )  # fmt: skip
    row: dict[str, Any] = {
        "feature": name,
        "kind": ref.kind,
        "effect": effect,
        "low": low,
        "high": high,
        "effect_present": present[0],
        "low_present": present[1],
        "high_present": present[2],
        "psi": psi(r, c, smoothing=smoothing),
        "noise_floor": noise_floor(nonempty, ref.count, cur.count),
        "js": js_divergence(r, c),
        "ks_binned": binned_ks(r, c),
        "p_value": p_value,
        "n_reference": ref.count,
        "n_current": cur.count,
        "null_rate_reference": ref.null_rate,
        "null_rate_current": cur.null_rate,
    }
    row.update(_location(ref, cur, float(stats.norm.ppf(0.5 + confidence / 2))))
    return row


def _feature_finding(
    row: pd.Series, bins: pd.DataFrame, edges: Any, settings: dict[str, Any]
) -> Finding:
    name = row["feature"]
    moved = bins.reindex(bins["contribution"].abs().sort_values(ascending=False).index)
    top = moved.head(3)
    first = top.iloc[0]
    summary = (
        f"{name} shifted: PSI {row['effect']:.2f} ({settings['confidence']:.0%} CI "
        f"{row['low']:.2f}-{row['high']:.2f}); bin {first['bin']} went from "
        f"{first['reference_share']:.1%} to {first['current_share']:.1%}"
    )
    if abs(row["null_rate_current"] - row["null_rate_reference"]) >= 0.01:
        summary += (
            f"; PSI {row['effect_present']:.2f} on present values, missing "
            f"{row['null_rate_reference']:.1%} to {row['null_rate_current']:.1%}"
        )
    evidence = {
        "column": name,
        **{k: row[k] for k in row.index if k not in ("feature", "drifted", "severity")},
        "threshold": settings["threshold"],
        "critical": settings["critical"],
        "confidence": settings["confidence"],
        "top_bins": top[["bin", "reference_share", "current_share", "contribution"]],
        # Every bin and the reference edges, so a later stage can reweight the
        # current window back to the reference on this column.
        "bins": bins[["bin", "reference_share", "current_share"]],
        "edges": [str(e) for e in edges] if isinstance(edges, tuple) else list(edges),
    }
    return Finding(
        check="drift.feature",
        layer="population",
        summary=summary,
        severity=row["severity"],
        score=float(row["effect"] / (row["effect"] + settings["critical"])),
        features=(name,),
        evidence=evidence,
        next_step=(
            f"Look at where {name} moved (plots.drift.plot_bin_shares), by segment and "
            "over time. If a data check explains it (units, nulls, categories), fix the "
            "feed; otherwise check whether it matters to the model (attribution drift)."
        ),
    )


def feature_drift(
    reference: pd.DataFrame | Profile,
    current: pd.DataFrame | Profile,
    *,
    columns: Sequence[str] | None = None,
    bins: int = 10,
    top_k: int = 50,
    threshold: float = 0.1,
    critical: float = 0.25,
    alpha: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 200,
    smoothing: float = 0.5,
    random_state: int = 0,
) -> DriftResult:
    """Per-column drift with effect sizes, intervals and multiple-testing control.

    Parameters
    ----------
    reference, current : DataFrame or Profile
        The two windows, or their profiles (the current one profiled on
        ``reference.edges()``). They are not modified.
    columns : sequence of str, optional
        Columns to test; by default every column. Columns present in one window
        only, date columns and columns whose type changed are skipped (listed in
        ``skipped``).
    bins : int, default=10
        Reference-quantile bins per numeric column (plus out-of-range and missing
        bins; a value holding a large share gets a bin of its own).
    top_k : int, default=50
        Categories kept per categorical column; the rest share an ``other`` bin.
    threshold : float, default=0.1
        Practical threshold on PSI: a column is flagged only if the lower bound
        of its effect exceeds it, with and without the missing cell (0.1 is the
        usual "moderate shift").
    critical : float, default=0.25
        Lower bound from which a drifted column is critical (a "major shift").
    alpha : float, default=0.05
        False-discovery rate across columns (Benjamini-Hochberg).
    confidence : float, default=0.95
        Level of the intervals.
    n_boot : int, default=200
        Bootstrap replicates of the histograms (counts are resampled, not rows).
    smoothing : float, default=0.5
        PSI smoothing, see :func:`psi`.
    random_state : int, default=0

    Returns
    -------
    DriftResult

    Raises
    ------
    InputError
        If a window is empty or not a table, or a setting is out of range.
    """
    validate_settings(threshold, critical, alpha, confidence)
    if isinstance(columns, str):  # one name, not its letters
        columns = [columns]
    ref, cur = _as_profiles(reference, current, columns, bins=bins, top_k=top_k)
    names, skipped = _columns_to_test(ref, cur, columns)
    rng = np.random.default_rng(random_state)
    rows, bin_tables = [], {}
    for name in names:
        rc, cc = ref.columns[name], cur.columns[name]
        rows.append(
            _feature_row(
                name, rc, cc, smoothing=smoothing, n_boot=n_boot, confidence=confidence, rng=rng
            )
        )
        bin_tables[name] = bin_table(rc, cc, smoothing)
    table = _decide(pd.DataFrame(rows, columns=_TABLE_COLUMNS), threshold, critical, alpha)
    settings = {
        "threshold": threshold,
        "critical": critical,
        "alpha": alpha,
        "confidence": confidence,
        "bins": bins,
        "top_k": top_k,
        "n_boot": n_boot,
        "n_reference": ref.n_rows,
        "n_current": cur.n_rows,
    }
    findings = [
        _feature_finding(
            row, bin_tables[row["feature"]], ref.columns[row["feature"]].edges, settings
        )
        for _, row in table[table["drifted"]].iterrows()
    ]
    return DriftResult(
        table=table,
        findings=findings,
        bins=bin_tables,
        skipped=pd.DataFrame(skipped, columns=["feature", "reason"]),
        settings=settings,
    )


_TABLE_COLUMNS = [
    "feature", "kind", "effect", "low", "high", "effect_present", "low_present",
    "high_present", "psi", "noise_floor", "js", "ks_binned",
    "p_value", "n_reference", "n_current", "null_rate_reference", "null_rate_current",
    "shift", "shift_low", "shift_high", "wasserstein",
]  # fmt: skip


def _decide(table: pd.DataFrame, threshold: float, critical: float, alpha: float) -> pd.DataFrame:
    table = table.copy()
    table["q_value"] = benjamini_hochberg(table["p_value"].to_numpy(dtype=float))
    bound = np.fmin(table["low"].to_numpy(float), table["low_present"].to_numpy(float))
    bound = np.where(np.isnan(table["low_present"].to_numpy(float)), np.nan, bound)
    table["drifted"] = (table["q_value"] <= alpha) & (bound > threshold)
    table["severity"] = [
        severity_of(b, threshold, critical) if drifted else "info"
        for b, drifted in zip(bound, table["drifted"])
    ]
    order = ["feature", "kind", "effect", "low", "high", "p_value", "q_value", "drifted"]
    rest = [c for c in table.columns if c not in order]
    table = table[order + rest].sort_values("effect", ascending=False, kind="stable")
    return table.reset_index(drop=True)


def _failed(stage: str, exc: BaseException) -> str:
    if isinstance(exc, StewardError):  # a known limit, e.g. windows too small to split
        return f"{stage} skipped: {exc}"
    return f"{stage} could not run on these windows ({type(exc).__name__}: {exc})."


def _outcome(future: Any, stage: str, notes: list[str]) -> Any:
    """The result of a background stage, or None with a note saying why not."""
    if future is None:
        return None
    try:
        return future.result()
    except Exception as exc:
        notes.append(_failed(stage, exc))
        return None


@dataclasses.dataclass(frozen=True, eq=False)
class WindowChecks:
    """Everything :func:`check_windows` found on one pair of windows.

    Attributes
    ----------
    findings : list of Finding
        Every finding below, consequences explained away (a unit change is counted
        once, not again as drift and out-of-range values), ranked by severity, then
        faults in the feed before population shifts, then score.
    checks : list of Finding
        The data reliability checks (:func:`toolkit.checks.run_checks`), ranked.
    features : DriftResult or None
        Per-column drift; None when no column is shared by both windows.
    predictions : PredictionDrift or None
        Drift of the logged scores, when a prediction column is given.
    domain : DomainResult or None
        The domain classifier; None when it could not run (see ``notes``).
    notes : list of str
        Stages that were skipped, and why.
    profiles : (Profile, Profile)
        The window profiles the checks and feature drift shared.
    normal : toolkit.normal.Baseline
        What normal pairs of windows produced, which the severities were judged by.
    """

    findings: list[Finding]
    checks: list[Finding]
    features: DriftResult | None
    predictions: PredictionDrift | None
    domain: DomainResult | None
    notes: list[str]
    profiles: tuple[Profile, Profile] | None
    normal: Any = None


def check_windows(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    timestamp: str | None = None,
    target: str | None = None,
    prediction: str | None = None,
    key: str | list[str] | None = None,
    segment_columns: list[str] | None = None,
    domain: bool = True,
    history: pd.DataFrame | None = None,
    n_jobs: int = 2,
    random_state: int = 0,
) -> WindowChecks:
    """Data checks, feature drift, prediction drift and the domain classifier at once.

    Both windows are profiled once (:func:`toolkit.profile.profile_pair`); the checks
    and :func:`feature_drift` read those profiles. The domain classifier, which needs
    rows, is fitted in a second thread meanwhile (its trees and the profiles' sorts
    release the GIL), so both cores stay busy.

    Parameters
    ----------
    reference, current : DataFrame
        The two windows; not modified.
    timestamp, target, prediction, key, segment_columns
        As in :func:`toolkit.checks.run_checks`. The timestamp, target and
        prediction columns are left out of feature drift and the domain
        classifier; the prediction column gets :func:`prediction_drift`.
    domain : bool, default=True
        Whether to fit the domain classifier.
    history : DataFrame, optional
        Older rows of the same table. Severities are judged against what normal pairs
        of windows of the past produce (:mod:`toolkit.normal`); without a history the
        pairs are slices of the reference.
    n_jobs : int, default=2
        Threads for profiling and for the check families.
    random_state : int, default=0
        Seed of every sampled step.

    Returns
    -------
    WindowChecks

    Raises
    ------
    InputError
        As :func:`toolkit.checks.run_checks` does, for windows that are not tables,
        are empty or lack a named column. A domain classifier that cannot run
        (windows too small to cross-validate) is a note, not an error.
    """
    from concurrent.futures import ThreadPoolExecutor

    from toolkit import pipeline, policy
    from toolkit.checks._common import nested_pair, require_frame
    from toolkit.checks._run import nested_note

    for label, df in (("reference", reference), ("current", current)):
        require_frame(df, name=label)  # before any thread starts
    # Lists and dicts are compared as text by every stage (run_checks says so).
    reference, current, nested = nested_pair(reference, current)
    skip = {timestamp, target, prediction}
    features = [c for c in reference.columns if c in current.columns and c not in skip]
    ctx = pipeline.StageContext(reference, current, timestamp=timestamp, target=target,
                                prediction=prediction, features=features, key=key,
                                segment_columns=segment_columns, n_jobs=n_jobs,
                                random_state=random_state).find_clock()
    notes: list[str] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Columns that follow the clock separate any two windows: not the classifier's.
        pending = (pool.submit(domain_classifier, reference, current,
                               columns=[c for c in features if c not in ctx.clock],
                               random_state=random_state)
                   if domain and features else None)
        found = [*pipeline.run_stage("checks", ctx)[1], *(nested_note(c) for c in nested)]
        try:
            stage, drifting = pipeline.run_stage("drift", ctx)
        except Exception as exc:  # the checks above must survive a failing drift stage
            notes.append(_failed("Feature drift", exc))
            stage, drifting = {"features": None, "prediction": None}, []
        separated = _outcome(pending, "Domain classifier", notes)
        learned = pipeline.baseline(ctx, history=history)
    if not features:
        notes.append("Feature drift skipped: the windows share no column to compare.")
    every = pipeline.judge([*found, *drifting, *(separated.findings if separated else [])],
                           ctx, learned)
    from_checks = {f.check for f in found}
    checks_found = [f for f in every if f.check in from_checks]
    return WindowChecks(
        findings=policy.rank(every),
        checks=policy.rank(checks_found),
        features=stage["features"] if features else None,
        predictions=stage["prediction"],
        domain=separated,
        notes=notes,
        profiles=ctx.profiles,
        normal=learned,
    )
