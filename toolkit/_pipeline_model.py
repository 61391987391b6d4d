"""The pipeline's model stages: attribution drift, version comparison, quality.

Each takes the :class:`toolkit._stage.StageContext` and returns its result and its
findings, or raises :class:`toolkit._stage.StageSkipped` saying what it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit._stage import StageContext, StageSkipped
from toolkit.findings import Finding

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["ATTRIBUTION_ROWS", "ATTRIBUTION_SECONDS", "attribution", "looks_like_regression",
           "quality", "versions"]

#: Seconds the attribution stage may spend explaining samples of both windows: a model
#: whose smallest sample would take five times this is skipped, with a note.
ATTRIBUTION_SECONDS = 8.0
#: Rows per window the attribution stage explains, by the CPU cost of a row: fixed
#: levels, so that the same inputs give the same findings on a busy machine and an idle
#: one. Boosted trees cost well under a millisecond a row; permutation SHAP and large
#: forests tens of milliseconds; the lines sit far from both.
ATTRIBUTION_ROWS = ((0.002, 2000), (0.04, 500), (0.1, 200))


def attribution(ctx: StageContext) -> tuple[Any, list[Finding]]:
    if ctx.model is None:
        raise StageSkipped("Needs a model: pass --model to see how the model's reasoning "
                           "changed.")
    from toolkit import attribution as attr

    rows = _attribution_rows(ctx.reference, ctx.model, ctx.target)
    result = attr.attribution_drift(ctx.reference, ctx.current, model=ctx.model,
                                    target=ctx.target, sample_size=rows,
                                    random_state=ctx.random_state)
    return result, list(result.findings)


def _attribution_rows(ref: pd.DataFrame, model: Any, target: str | None = None) -> int:
    """Rows per window to explain; skip attribution, saying so, when it would take long.

    A pilot explains 16 reference rows with the explainer attribution drift builds,
    timed in CPU (which other processes barely move); the cost a row picks one of the
    fixed sizes of :data:`ATTRIBUTION_ROWS`. A model past the last is skipped, since
    its smallest sample would take five times the triage budget; the attribution_drift
    template has no such cap."""
    from toolkit import attribution as attr

    method, per_row = attr.explanation_cost(ref, model=model, target=target)
    for cost, rows in ATTRIBUTION_ROWS:
        if per_row <= cost:
            return rows
    smallest = ATTRIBUTION_ROWS[-1][1]
    raise StageSkipped(
        f"Skipped: explaining this model ({method}) takes about {per_row:.2f} s of CPU a "
        f"row, so the smallest sample ({smallest} rows a window) would take "
        f"{2 * smallest * per_row:.0f} s, over the triage budget of "
        f"{ATTRIBUTION_SECONDS:.0f} s. Run the attribution_drift template with a "
        f"time_budget to see attribution drift for it."
    )


def versions(ctx: StageContext) -> tuple[Any, list[Finding]]:
    if ctx.model is None or ctx.previous_model is None:
        raise StageSkipped("Needs two model versions: pass --model and --previous-model.")
    from toolkit import versions as ver

    result = ver.compare_versions(ctx.current, model_a=ctx.previous_model, model_b=ctx.model,
                                  target=ctx.target, random_state=ctx.random_state)
    return result, list(result.findings)


def _scores(df: pd.DataFrame, model: Any, prediction: str | None,
            reference: pd.DataFrame, *, window: str) -> np.ndarray:
    """Served scores: the logged column when there is one, else the model's."""
    import pandas as pd

    if prediction and prediction in df.columns:
        return pd.to_numeric(df[prediction], errors="coerce").to_numpy(dtype=float)
    from toolkit.scoring import as_served, model_features, predict_scores

    return predict_scores(model, as_served(df, reference, model_features(model) or []),
                          window=window)


def looks_like_regression(scores: pd.Series) -> bool:
    """Logged scores outside [0, 1] are predictions of a quantity, not probabilities."""
    import numpy as np
    import pandas as pd

    values = pd.to_numeric(scores, errors="coerce").to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    return bool(values.size) and bool((values.min() < 0) or (values.max() > 1))


def _times_of(df: pd.DataFrame, timestamp: str | None) -> pd.Series | None:
    """Event times of ``df``'s rows (UTC, no zone), or None without a time column."""
    if not timestamp or timestamp not in df.columns:
        return None
    from toolkit.io import parse_times

    return parse_times(df[timestamp])


def _require_labels(ctx: StageContext) -> str:
    target, pred, ref, cur = ctx.target, ctx.prediction, ctx.reference, ctx.current
    if not target or target not in ref.columns or target not in cur.columns:
        raise StageSkipped("Needs labels in both windows: pass --target to check quality.")
    if ctx.model is None and not (pred and pred in ref.columns and pred in cur.columns):
        raise StageSkipped("Needs scores: pass --model or --prediction to check quality.")
    labelled = [int(df[target].notna().sum()) for df in (ref, cur)]
    if min(labelled) < 30:
        side = "current" if labelled[1] < 30 else "reference"
        raise StageSkipped(f"The {side} window has {min(labelled)} labelled rows: quality "
                           f"needs labels in both windows (at least 30), as when they have "
                           f"arrived.")
    return target


def quality(ctx: StageContext) -> tuple[Any, list[Finding]]:
    target = _require_labels(ctx)
    from toolkit import quality as qual
    from toolkit.checks._common import is_number_column, with_columns
    from toolkit.scoring import label_values, model_task

    pred, model = ctx.prediction, ctx.model
    ref, cur = ctx.reference, ctx.current
    regression = (model_task(model) == "regression" if model is not None
                  else looks_like_regression(ref[pred]))
    exclude = {target, pred, ctx.timestamp}
    if not regression:
        ref = with_columns(ref, {target: label_values(ref[target], ctx.positive)})
        cur = with_columns(cur, {target: label_values(cur[target], ctx.positive)})
    result = qual.quality_drift(
        ref, cur, reference_scores=_scores(ref, model, pred, ref, window="reference"),
        current_scores=_scores(cur, model, pred, ref, window="current"), target=target,
        columns=qual.segment_columns(ref, exclude=exclude),
        # Numeric ranges of a column that moved hold other rows in each window (a unit
        # change fills the top quartile): only steady columns make comparable segments.
        numeric_columns=[c for c in ctx.features if c not in exclude and c in ref.columns
                         and is_number_column(ref[c]) and c not in ctx.moved],
        current_times=_times_of(cur, ctx.timestamp),
        task="regression" if regression else "classification")
    return result, list(result.findings)
