"""SHAP feature-attribution drift: which features changed how the model decides.

Compares two windows (``reference``, ``current``) through one model:

- per feature, mean |SHAP| in each window with bootstrap intervals and its share of
  the total; the ranking score NDCG exactly as SageMaker Clarify defines it
  (:func:`clarify_ndcg`) and rank correlations; features whose mean signed SHAP
  changed sign;
- the **prediction-shift split**: the change in mean score between windows equals,
  by additivity, the sum over features of the change in mean SHAP value (plus the
  change in expected value, zero here because both windows share one background);
- **drift that matters**: each feature's data drift weighted by its attribution
  share, so a big shift in an ignored feature ranks below a moderate shift in a
  decisive one.

Output space: binary classifiers are explained in the probability of the positive
class and regressors in their prediction, so every figure is in the score units a
user complains about. SHAP values are interventional, measured against one
background sample of reference rows. See :mod:`toolkit._attribution_explain` for the
supported models (tree models with TreeExplainer, Pipelines folded back onto raw
columns, anything else with a permutation explainer). Multiclass models raise
:class:`~toolkit.ModelError`.

Explaining is the slow part, so each window is explained on a stratified sample
(score deciles of the reference, crossed with the target when given), sized by
``sample_size`` or ``time_budget``; the sizes are reported in the result, its notes
and every finding. Per-feature intervals are simultaneous over features.

Example
-------
>>> from toolkit import attribution
>>> result = attribution.attribution_drift(reference, current, model=model)  # doctest: +SKIP
>>> result.table.head()  # doctest: +SKIP
>>> result.findings  # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from toolkit._attribution_stats import clarify_ndcg
from toolkit._exceptions import InputError, ModelError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from toolkit._attribution_explain import Attributions
    from toolkit._attribution_sample import Explained
    from toolkit.findings import Finding

__all__ = [
    "AttributionDriftResult",
    "PredictionShift",
    "attribution_drift",
    "clarify_ndcg",
    "explanation_cost",
    "prediction_shift",
    "shap_values",
]


@dataclass
class PredictionShift:
    """Per-feature contributions to the change in mean score between two windows.

    Attributes
    ----------
    table : DataFrame
        One row per feature: ``feature``, ``contribution`` (mean SHAP current minus
        mean SHAP reference, in score units), ``ci_low``, ``ci_high`` (simultaneous
        bootstrap interval), ``share_of_shift`` (contribution / total shift),
        ``mean_shap_ref``, ``mean_shap_cur``; sorted by |contribution|.
    mean_ref, mean_cur : float
        Mean score of the explained rows of each window.
    total : float
        ``mean_cur - mean_ref`` = ``table.contribution.sum() + expected_value_change``.
    total_interval : tuple of float
        Bootstrap interval of ``total``.
    expected_value_change : float
        Change of the SHAP expected value between windows (0: one shared background).
    full_mean_ref, full_mean_cur : float
        Mean score over every row of each window (not only the explained sample).
    sample : dict
        Rows per window and rows explained, explainer used, seconds spent.
    segment : str or None
    """

    table: pd.DataFrame
    mean_ref: float
    mean_cur: float
    total: float
    total_interval: tuple[float, float]
    expected_value_change: float
    full_mean_ref: float
    full_mean_cur: float
    sample: dict[str, Any]
    segment: str | None = None


@dataclass
class AttributionDriftResult:
    """Everything :func:`attribution_drift` measured; see its docstring."""

    table: pd.DataFrame
    ndcg: float
    ndcg_interval: tuple[float, float]
    spearman: float
    kendall: float
    shift: PredictionShift
    sample: dict[str, Any]
    segment: str | None = None
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def shap_values(X: pd.DataFrame, *, model: Any, background: pd.DataFrame,
                random_state: int = 0) -> Attributions:
    """SHAP values of the rows of ``X`` on the model's raw input columns.

    Parameters
    ----------
    X : DataFrame
        Rows to explain (raw columns, as the model takes them).
    model : estimator, path or MLflow URI
        A binary classifier (explained as P(positive)) or a regressor.
    background : DataFrame
        Rows the attributions are measured against (typically ~100 reference rows).
    random_state : int, default=0

    Returns
    -------
    Attributions
        ``values`` (rows × features), ``base_value``, ``output`` (the model's
        scores) and ``features``; ``values.sum(1) + base_value == output``.
    """
    from toolkit._attribution_explain import Explainer
    from toolkit.io import load_model

    model, _ = load_model(model)
    features = _features(model, X, X, target=None)
    return Explainer(model, background, features=features,
                     random_state=random_state).explain(X)


def prediction_shift(reference: pd.DataFrame, current: pd.DataFrame, *, model: Any,
                     sample_size: int | None = None, time_budget: float | None = None,
                     target: str | None = None, segment: str | None = None,
                     n_bootstrap: int = 200, confidence: float = 0.95,
                     background_size: int = 100, random_state: int = 0,
                     progress: bool | None = None) -> PredictionShift:
    """Split the change in mean score between two windows into per-feature parts.

    By additivity of SHAP values against one shared background, ``mean score
    (current) - mean score (reference)`` equals the sum over features of ``mean SHAP
    (current) - mean SHAP (reference)``. Parameters are those of
    :func:`attribution_drift`.

    Returns
    -------
    PredictionShift
    """
    explained = _explain(reference, current, model=model, sample_size=sample_size,
                         time_budget=time_budget, target=target, segment=segment,
                         n_bootstrap=n_bootstrap, confidence=confidence,
                         background_size=background_size, random_state=random_state,
                         progress=progress)
    from toolkit._attribution_figures import compute_figures

    return compute_figures(explained, n_bootstrap=n_bootstrap, confidence=confidence,
                           random_state=random_state, segment=segment).shift


def attribution_drift(reference: pd.DataFrame, current: pd.DataFrame, *, model: Any,
                      sample_size: int | None = None, time_budget: float | None = None,
                      target: str | None = None, segment: str | None = None,
                      n_bootstrap: int = 200, confidence: float = 0.95,
                      background_size: int = 100, random_state: int = 0,
                      progress: bool | None = None) -> AttributionDriftResult:
    """Compare how ``model`` decides on two windows, feature by feature.

    Parameters
    ----------
    reference, current : DataFrame
        The two windows, with the model's raw input columns.
    model : estimator, path or MLflow URI
        Binary classifier (explained as P(positive class)) or regressor.
    sample_size : int, optional
        Rows to explain per window (default 2000 when ``time_budget`` is not given).
    time_budget : float, optional
        Seconds to spend explaining both windows; a pilot batch is timed and the
        sample sized from it (never below 200 rows per window; a note says so).
    target : str, optional
        Label column; when present in both windows the sample is stratified by it too.
    segment : str, optional
        A ``DataFrame.query`` expression (``"channel == 'app'"``); everything is
        computed inside that segment.
    n_bootstrap : int, default=200
        Bootstrap replicates (resampled within strata) for the intervals.
    confidence : float, default=0.95
        Joint coverage of the simultaneous per-feature intervals.
    background_size : int, default=100
        Reference rows the SHAP values are measured against.
    random_state : int, default=0
    progress : bool, optional
        Show a progress bar; default only on a terminal or in a live Jupyter kernel.

    Returns
    -------
    AttributionDriftResult
        ``table`` (one row per feature; see :func:`toolkit._attribution_figures.
        compute_figures`), ``ndcg`` and its interval, ``spearman``, ``kendall``,
        ``shift`` (:class:`PredictionShift`), ``sample`` sizes, ``notes`` and ranked
        ``findings`` (checks ``attribution.ndcg``, ``attribution.shift_contribution``,
        ``attribution.drift_that_matters``, ``attribution.direction_change``).
    """
    from toolkit._attribution_figures import compute_figures
    from toolkit._attribution_findings import build_findings
    from toolkit.findings import rank_findings

    explained = _explain(reference, current, model=model, sample_size=sample_size,
                         time_budget=time_budget, target=target, segment=segment,
                         n_bootstrap=n_bootstrap, confidence=confidence,
                         background_size=background_size, random_state=random_state,
                         progress=progress)
    result = compute_figures(explained, n_bootstrap=n_bootstrap, confidence=confidence,
                             random_state=random_state, segment=segment)
    frames = _segment(reference, current, segment)
    result.table = _add_population_shift(result.table, *frames, random_state=random_state)
    result.findings = rank_findings(build_findings(result, scale=_scale(explained)))
    return result


def _scale(explained: Explained) -> float:
    """The score's spread in the reference window: the unit of practical thresholds."""
    import numpy as np

    return float(np.std(explained.scores_ref)) or 1e-12


def _explain(reference: pd.DataFrame, current: pd.DataFrame, *, model: Any,
             sample_size: int | None, time_budget: float | None, target: str | None,
             segment: str | None, n_bootstrap: int, confidence: float,
             background_size: int, random_state: int, progress: bool | None) -> Explained:
    """Load, validate, sample and explain both windows."""
    import numpy as np

    from toolkit._attribution_sample import check_sizes
    from toolkit.io import load_model

    check_sizes(sample_size, time_budget, n_bootstrap, confidence)
    model, _ = load_model(model)
    ref, cur = _segment(reference, current, segment)
    features = _features(model, ref, cur, target=target)
    rng = np.random.default_rng(random_state)
    explainer = _explainer(model, ref, features, background_size, rng, random_state)
    return _explain_sample(explainer, ref, cur, rng=rng, target=target,
                           sample_size=sample_size, time_budget=time_budget,
                           progress=progress)


def _explainer(model: Any, ref: pd.DataFrame, features: list[str], background_size: int,
               rng: np.random.Generator, random_state: int) -> Any:
    """The explainer attribution drift uses: a seeded background, and 1000 rows to probe
    how a Pipeline's columns map back to the raw ones."""
    import numpy as np

    from toolkit._attribution_explain import Explainer

    background = ref.iloc[np.sort(rng.choice(len(ref), min(background_size, len(ref)),
                                             replace=False))]
    probe = ref.iloc[np.sort(rng.choice(len(ref), min(1000, len(ref)), replace=False))]
    return Explainer(model, background, features=features, probe=probe,
                     random_state=random_state)


def explanation_cost(reference: pd.DataFrame, *, model: Any, target: str | None = None,
                     background_size: int = 100, random_state: int = 0,
                     rows: int = 16) -> tuple[str, float]:
    """How :func:`attribution_drift` would explain ``model``, and what a row costs.

    Returns ``(method, seconds)``: the explainer's method (``"TreeExplainer ..."`` or
    ``"Permutation SHAP ..."``), built exactly as attribution drift builds it, and the
    CPU seconds per row of explaining ``rows`` reference rows with it, on one thread.
    CPU time on one thread, not wall time: other processes on the machine barely move
    it.
    """
    import time

    import numpy as np

    from toolkit.io import load_model

    model, _ = load_model(model)
    features = _features(model, reference, reference, target=target)
    rng = np.random.default_rng(random_state)
    explainer = _explainer(model, reference, features, background_size, rng, random_state)
    from threadpoolctl import threadpool_limits

    pilot = reference.iloc[: max(1, min(rows, len(reference)))]
    # On one thread: OpenMP and BLAS threads spin while they wait, and on a busy
    # machine that spinning counted as the model's cost (6 ms a row read as 40 ms).
    with threadpool_limits(limits=1):
        started = time.process_time()
        try:
            explainer.explain(pilot)
        except ModelError:
            from toolkit.scoring import predict_scores

            # Name the window and its rows when none of them scores; else the pilot's error.
            predict_scores(model, reference[features], window="reference")
            raise
        spent = time.process_time() - started
    return explainer.method, spent / len(pilot)


def _explain_sample(explainer: Any, ref: pd.DataFrame, cur: pd.DataFrame, *,
                    rng: np.random.Generator, target: str | None,
                    sample_size: int | None, time_budget: float | None,
                    progress: bool | None) -> Explained:
    from toolkit._attribution_sample import (
        Explained,
        explain_rows,
        pilot_seconds_per_row,
        plan_size,
    )
    from toolkit._attribution_stats import stratified_sample
    from toolkit.scoring import predict_scores

    started = time.perf_counter()
    scores_ref = predict_scores(explainer.model, ref[explainer.features], window="reference")
    scores_cur = predict_scores(explainer.model, cur[explainer.features], window="current")
    use_target = _usable_target(ref, cur, target)
    strata_ref, strata_cur = _strata(ref, cur, scores_ref, scores_cur,
                                     target if use_target else None)
    notes: list[str] = []
    per_row = None
    if time_budget is not None:
        pilot = ref.iloc[rng.choice(len(ref), min(32, len(ref)), replace=False)]
        per_row = pilot_seconds_per_row(explainer, pilot)
        time_budget = time_budget - (time.perf_counter() - started)
    sizes = [plan_size(len(w), sample_size=sample_size, time_budget=time_budget,
                       seconds_per_row=per_row, notes=notes) for w in (ref, cur)]
    idx_ref = stratified_sample(strata_ref, sizes[0], rng)
    idx_cur = stratified_sample(strata_cur, sizes[1], rng)
    from toolkit.progress import progress as progress_bar

    with progress_bar(total=idx_ref.size + idx_cur.size, desc="explaining", unit="row",
                      enable=progress) as bar:
        v_ref, o_ref, base = explain_rows(explainer, ref.iloc[idx_ref], bar=bar)
        v_cur, o_cur, _ = explain_rows(explainer, cur.iloc[idx_cur], bar=bar)
    sample = {
        "n_reference_rows": len(ref), "n_current_rows": len(cur),
        "n_reference_explained": int(idx_ref.size), "n_current_explained": int(idx_cur.size),
        "background_size": len(explainer.background), "method": explainer.method,
        "stratified_by": "score decile" + (f" × {target}" if use_target else ""),
        "seconds": round(time.perf_counter() - started, 3),
    }
    return Explained(explainer.groups, base, v_ref, v_cur, o_ref, o_cur,
                     strata_ref[idx_ref], strata_cur[idx_cur], scores_ref, scores_cur,
                     sample, notes, ref.iloc[idx_ref][explainer.features],
                     cur.iloc[idx_cur][explainer.features])


def _strata(ref: pd.DataFrame, cur: pd.DataFrame, scores_ref: np.ndarray,
            scores_cur: np.ndarray, target: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Stratum per row of each window: reference score decile (× target when given)."""
    import numpy as np

    from toolkit._attribution_stats import score_strata

    edges = np.unique(np.quantile(scores_ref, np.linspace(0.1, 0.9, 9)))
    return (score_strata(scores_ref, edges, None if target is None else ref[target].to_numpy()),
            score_strata(scores_cur, edges, None if target is None else cur[target].to_numpy()))


def _usable_target(ref: pd.DataFrame, cur: pd.DataFrame, target: str | None) -> bool:
    """Stratify by the target only when it is a label with a few values in both windows."""
    if target is None or target not in ref.columns or target not in cur.columns:
        return False
    return bool(ref[target].nunique() <= 10 and cur[target].nunique() <= 10)


def _segment(reference: pd.DataFrame, current: pd.DataFrame, segment: str | None
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both windows restricted to ``segment`` (and checked to be usable tables)."""
    import pandas as pd

    out = []
    for name, frame in (("reference", reference), ("current", current)):
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"The {name} window must be a pandas DataFrame; got "
                             f"{type(frame).__name__}. Read files with toolkit.io.read_table.")
        if segment:
            from toolkit.segment_expr import segment_mask

            frame = frame[segment_mask(frame, segment, name=f"the {name} window")]
        if len(frame) == 0:
            where = f" inside the segment {segment!r}" if segment else ""
            raise InputError(f"The {name} window has no rows{where}; attribution drift "
                             f"needs rows in both windows.")
        out.append(frame)
    return out[0], out[1]


def _features(model: Any, ref: pd.DataFrame, cur: pd.DataFrame, *, target: str | None
              ) -> list[str]:
    """The model's raw input columns, checked to exist in both windows."""
    from toolkit.scoring import model_features

    features = model_features(model)
    if features is None:
        features = [c for c in ref.columns if c in cur.columns and c != target]
    for name, frame in (("reference", ref), ("current", cur)):
        missing = [c for c in features if c not in frame.columns]
        if missing:
            raise InputError(
                f"The {name} window lacks the model's input columns {missing}. Pass "
                f"windows with every column the model was fitted on (see the schema checks)."
            )
    return list(features)


def _add_population_shift(table: pd.DataFrame, ref: pd.DataFrame, cur: pd.DataFrame, *,
                          random_state: int) -> pd.DataFrame:
    """Add each feature's data drift and the drift-that-matters score to ``table``.

    ``drift`` is the total-variation distance on reference bins (bounded, so it can
    weight an attribution share); whether a column drifted at all is the verdict of
    :func:`toolkit.drift.feature_drift` (effect interval above its practical threshold,
    false-discovery control across columns), so both stages agree on it.
    """
    import numpy as np

    from toolkit._attribution_stats import population_shift

    rng = np.random.default_rng(random_state + 1)
    verdict = _drift_verdict(ref, cur, table["feature"], random_state=random_state)
    rows = []
    for group in table["feature"]:
        cols = [c for c in str(group).split("+") if c in ref.columns]
        parts = [population_shift(ref[c], cur[c], rng=rng) for c in cols]
        d, f = max(parts) if parts else (0.0, 1.0)
        flags = [verdict.get(c) for c in cols]
        significant = any(flags) if None not in flags else d > f
        rows.append((d, f, bool(significant)))
    out = table.copy()
    out["drift"], out["drift_floor"], out["drift_significant"] = map(list, zip(*rows))
    out["matters"] = out["drift"] * np.maximum(out["share_ref"], out["share_cur"])
    return out


def _drift_verdict(ref: pd.DataFrame, cur: pd.DataFrame, groups: Any, *, random_state: int
                   ) -> dict[str, bool]:
    """Column -> drifted, from the drift stage; empty when it cannot judge the columns."""
    from toolkit._exceptions import StewardError

    cols = sorted({c for g in groups for c in str(g).split("+") if c in ref.columns})
    try:
        from toolkit.drift import feature_drift

        result = feature_drift(ref, cur, columns=cols, random_state=random_state)
    except (ImportError, StewardError):
        return {}
    return {str(f): bool(d) for f, d in zip(result.table["feature"], result.table["drifted"])}
