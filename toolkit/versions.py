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
from typing import TYPE_CHECKING, Any

from toolkit._exceptions import InputError, ModelError
from toolkit._versions_attribution import (
    ATTRIBUTION_METHODS,
    attribution_table,
    permutation_importance,
    shap_importance,
)
from toolkit._versions_findings import build_findings, unlabeled_finding
from toolkit._versions_metrics import (
    METRICS,
    PRIMARY,
    calibration,
    deltas,
    group_metrics,
    row_loss,
    scored,
)
from toolkit._versions_metrics import flips as flip_table
from toolkit._versions_served import served_scores
from toolkit.findings import Finding, rank_findings

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from toolkit.segments import SliceReport

__all__ = [
    "ATTRIBUTION_METHODS",
    "METRICS",
    "PRIMARY",
    "VersionComparison",
    "compare_data_versions",
    "compare_versions",
    "permutation_importance",
    "served_scores",
    "shap_importance",
]


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
            raise InputError(
                f"The target {target!r} must be numeric for a regressor; got {y.dtype}."
            )
        return y.to_numpy(dtype=float, na_value=np.nan)
    classes = getattr(model, "classes_", None)
    values = set(y.dropna().unique().tolist())
    positive = classes[1] if classes is not None and len(classes) == 2 else 1
    if hasattr(positive, "item"):
        positive = positive.item()
    if len(values) == 2 and positive not in values and values - {0, 1}:
        # Text labels ("no"/"yes") beside a model fitted on 0/1: the same rule as
        # triage's (toolkit.scoring.positive_label), so both read a label file alike.
        from toolkit.scoring import positive_label

        positive = positive_label(y.astype(str), model)
        y = y.astype(str)
    if len(values) > 2 or (values and positive not in values and values - {0, 1}):
        raise InputError(
            f"The target {target!r} must hold the two classes of the model "
            f"(positive class {positive!r}); found values {sorted(map(str, values))[:10]}."
        )
    out = (y == positive).to_numpy(dtype=float, na_value=np.nan)
    out[data[target].isna().to_numpy()] = np.nan
    return out


def _threshold(
    s_a: Any, y: Any, task: str, threshold: float | None, decision_rate: float | None
) -> tuple[float | None, str]:
    import numpy as np

    if threshold is not None:
        t = float(threshold)
        lo, hi = float(np.nanmin(s_a)), float(np.nanmax(s_a))
        if not (np.isfinite(t) and lo < t <= hi):
            raise InputError(
                f"threshold must be a number within version A's scores ({lo:.4g} to {hi:.4g}), "
                f"so that some rows are flagged and some are not; got {threshold!r}. Pass the "
                f"operating threshold the model is used at, or leave it out."
            )
        return t, "given"
    if task == "regression" and decision_rate is None:
        return None, "no threshold given: decisions not compared"
    if decision_rate is None and y is not None and np.isfinite(y).any():
        rate = float(np.nanmean(y))
        return float(
            np.quantile(s_a, 1 - rate)
        ), f"version A flags the label prevalence ({rate:.3g}) of rows"
    if decision_rate is not None:
        if not 0 < decision_rate < 1:
            raise InputError(f"decision_rate must be in (0, 1); got {decision_rate!r}.")
        return float(
            np.quantile(s_a, 1 - decision_rate)
        ), f"version A flags {decision_rate:.3g} of rows"
    return 0.5, "default 0.5 (no threshold, decision rate or target given)"


def _feature_columns(data: pd.DataFrame, models: list[Any], target: str | None) -> list[str]:
    from toolkit.scoring import model_features

    names: list[str] = []
    for m in models:
        for f in model_features(m) or []:
            if f not in names:
                names.append(f)
    return names or [c for c in data.columns if c != target]


# ----------------------------------------------------------------------------- public


def _segment_codes(
    data: pd.DataFrame, columns: list[str], random_state: int
) -> list[tuple[str, Any, list[Any]]]:
    import numpy as np

    from toolkit.segments import _encode

    rng = np.random.default_rng(random_state)
    groups: list[tuple[str, Any, list[Any]]] = [
        ("all rows", np.zeros(len(data), dtype=np.int64), [None])
    ]
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
        if (
            pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s)
        ) and 2 <= s.nunique() <= 20:
            out.append(c)
    return out


#: Fewest rows two versions are compared on (paired intervals need some).
_MIN_ROWS = 30


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
    max_flip_rate: float = 0.10,
    attribution: str = "auto",
    attribution_sample: int | None = None,
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
    max_flip_rate : float, default=0.10
        Without labels, a flip rate whose interval lies above this is a warning, and
        so is a net change of the flagged share of at least a fifth of A's rate.
    attribution : str, default="auto"
        A key of :data:`ATTRIBUTION_METHODS`, or ``"auto"``: SHAP, and permutation
        importance for a model SHAP cannot explain.
    attribution_sample : int, optional
        Rows explained; default the method's own (SHAP 200, permutation 2,000).
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
        raise InputError(
            "compare_versions needs a non-empty DataFrame of rows to score with both versions; "
            "the data has no rows. Pass a file with data (--data)."
        )
    if len(data) < _MIN_ROWS:
        raise InputError(
            f"compare_versions needs at least {_MIN_ROWS} rows to compare two versions with "
            f"intervals; the data has {len(data)}. Pass more rows (--data)."
        )
    target = target or None  # templates pass "" for "no target"
    a, _ = load_model(model_a, name="version A (model_a)")
    b, _ = load_model(model_b, name="version B (model_b)")
    task = model_task(a)
    if model_task(b) != task:
        raise ModelError(
            f"Version A is a {task} model but version B is a {model_task(b)} model; compare "
            f"versions of the same task."
        )
    features = _feature_columns(data, [a, b], target)
    s_a, s_b = predict_scores(a, data, name="version A"), predict_scores(b, data, name="version B")
    y = _labels(data, target, a, task)
    rng = np.random.default_rng(random_state)
    thr, rule = _threshold(s_a, y, task, threshold, decision_rate)
    summary, hist = deltas(s_a, s_b)
    if thr is not None:
        summary |= {
            "decision_rate_a": float(np.mean(s_a >= thr)),
            "decision_rate_b": float(np.mean(s_b >= thr)),
        }
    flips, rate, top_flips = flip_table(data, s_a, s_b, y, thr, features[:8], top)
    attr = attribution_table(data, a, b, features, attribution, attribution_sample, random_state)
    metrics, calib, slices = pd.DataFrame(), pd.DataFrame(), None
    ece: dict[str, float] = {}
    lab = np.flatnonzero(np.isfinite(y)) if y is not None else np.array([], dtype=int)
    if y is not None and len(lab):
        d_lab, ya, sa, sb = data.iloc[lab], y[lab], s_a[lab], s_b[lab]
        seg_cols = (
            segment_columns
            if segment_columns is not None
            else _default_segments(data, [c for c in features if c != target])
        )
        rows, sc = [], scored(sa, sb, ya, thr, task)
        for col, codes, exprs in _segment_codes(d_lab, seg_cols, random_state):
            rows += group_metrics(col, codes, exprs, sc, task, n_bootstrap, 30, rng)
        metrics = pd.DataFrame(rows)
        if task == "classification":
            calib, ece = calibration(sa, sb, ya)
        slices = find_slices(
            d_lab,
            row_loss(sb, ya, task),
            row_loss(sa, ya, task),
            columns=slice_columns or [c for c in features if c in data.columns],
            min_support=min_support,
            alpha=alpha,
            min_effect=min_effect,
            random_state=random_state,
        )
    findings = build_findings(
        metrics, task, slices, attr, rate, summary, thr, bool(len(lab)), max_flip_rate, ece
    )
    if y is not None and len(lab) < len(data):
        findings = rank_findings([*findings, unlabeled_finding(str(target), len(data), len(lab))])
    return VersionComparison(
        task=task,
        threshold=thr,
        threshold_rule=rule,
        n_rows=len(data),
        n_labeled=len(lab),
        delta_summary=summary,
        delta_hist=hist,
        flips=flips,
        flip_rate=rate,
        top_flips=top_flips,
        metrics=metrics,
        calibration=calib,
        ece=ece,
        slices=slices,
        attribution=attr,
        findings=findings,
    )


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

    findings = list(
        run_checks(
            old,
            new,
            timestamp=timestamp,
            target=target,
            key=key,
            segment_columns=segment_columns,
            random_state=random_state,
        )
    )
    if key is not None:
        findings += _changed_values(
            old, new, [key] if isinstance(key, str) else list(key), min_changed
        )
    return rank_findings(findings)


def _changed_values(
    old: pd.DataFrame, new: pd.DataFrame, keys: list[str], min_changed: float
) -> list[Finding]:
    missing = [k for k in keys if k not in old.columns or k not in new.columns]
    if missing:
        raise InputError(
            f"Key columns {missing} must be in both snapshots; check the key or the column names."
        )
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
        out.append(
            Finding(
                check="versions.data_changed_values",
                layer="data",
                features=(c,),
                severity="warning" if share >= min_changed else "info",
                score=min(1.0, share),
                summary=f"{int(changed.sum())} of {len(merged)} records present in both snapshots "
                f"({share:.2%}) changed their {c!r} value.",
                evidence={
                    "column": c,
                    "changed": int(changed.sum()),
                    "matched": len(merged),
                    "share": share,
                    "examples": example.astype(str),
                },
                next_step=f"Ask the owner of the source table whether {c!r} was restated or "
                f"backfilled; "
                f"retrain or re-score only once the snapshot is final.",
            )
        )
    return out
