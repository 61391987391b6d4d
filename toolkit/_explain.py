"""How much of the symptom each finding explains, by counterfactual repair.

The symptom is the shift of the mean score between windows (and, with labels, the
rise of the mean loss). For each finding, :func:`toolkit.repair.repair` undoes the
suspected fault on the current window; re-scoring the repaired window tells how much
of the symptom is left. ``explained = 1 - |left| / |symptom|``, clipped to [0, 1], so
a repair that overshoots explains less, not more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.checks._common import with_columns
from toolkit.findings import Finding
from toolkit.intake import Frame
from toolkit.repair import repair
from toolkit.scoring import as_served

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    import pandas as pd

    from toolkit.triage import Symptom

_MAX_TESTED = 40


class Surrogate:
    """Gradient boosting fitted on the reference window to the logged scores.

    It stands in for the model when only logged predictions are given, so repairs can
    still be re-scored. Text columns are coded by the reference's categories.
    """

    def __init__(self, features: list[str], *, random_state: int = 0) -> None:
        self.features = features
        self.random_state = random_state
        self.codes: dict[str, dict[Any, int]] = {}

    def _matrix(self, df: pd.DataFrame) -> np.ndarray:
        import numpy as np
        import pandas as pd

        cols = []
        for col in self.features:
            values = df[col] if col in df.columns else pd.Series(np.nan, index=df.index)
            if col in self.codes:
                cols.append(values.map(self.codes[col]).astype(float).to_numpy())
            else:
                cols.append(pd.to_numeric(values, errors="coerce").astype(float).to_numpy())
        X = np.column_stack(cols) if cols else np.empty((len(df), 0))
        X[~np.isfinite(X)] = np.nan
        return X

    def fit(self, reference: pd.DataFrame, scores: np.ndarray) -> Surrogate:
        import pandas as pd
        from sklearn.ensemble import HistGradientBoostingRegressor

        usable = []
        for col in self.features:
            s = reference[col]
            if s.notna().sum() < 2 or s.nunique(dropna=True) < 2:
                continue  # all-null or constant: nothing to learn from
            if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
                counts = s.astype("string").value_counts()
                if len(counts) > 250:
                    continue  # identifiers and free text: no signal a surrogate can use
                self.codes[col] = {v: i for i, v in enumerate(counts.index)}
            usable.append(col)
        self.features = usable
        X = self._matrix(self._as_text(reference))
        cat = [i for i, c in enumerate(self.features) if c in self.codes]
        self.model = HistGradientBoostingRegressor(
            max_iter=200, categorical_features=cat or None, random_state=self.random_state)
        self.model.fit(X, scores)
        return self

    def _as_text(self, df: pd.DataFrame) -> pd.DataFrame:
        return with_columns(df, {c: df[c].astype("string") for c in self.codes if c in df.columns})

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return self.model.predict(self._matrix(self._as_text(df)))


def _scorer(model: Any, reference: pd.DataFrame, ctx: dict[str, Any],
            notes: dict[str, str]) -> tuple[str, Callable[[pd.DataFrame], np.ndarray]] | None:
    from toolkit.scoring import model_features, predict_scores

    if model is not None:
        needed = model_features(model) or []
        return "model", lambda df: predict_scores(model, as_served(df, reference, needed))
    pred = ctx.get("prediction")
    if not pred or pred not in reference.columns:
        notes["symptom"] = ("No model and no logged prediction: the symptom cannot be measured, "
                            "so findings are ranked by severity alone.")
        return None
    import numpy as np
    import pandas as pd

    scores = pd.to_numeric(reference[pred], errors="coerce").to_numpy(dtype=float)
    keep = np.isfinite(scores)
    feats = [f for f in ctx["features"] if f in reference.columns]
    if keep.sum() < 100 or not feats:
        return None
    try:
        surrogate = Surrogate(feats, random_state=ctx["random_state"]).fit(reference[keep], scores[keep])
    except Exception as exc:  # an unusual table: rank without re-scoring rather than fail
        notes["symptom"] = (f"No model was given and no surrogate could be fitted to the logged "
                            f"scores ({type(exc).__name__}: {exc}); findings are ranked by "
                            f"severity alone.")
        return None
    notes["symptom"] = ("No model was given: a surrogate fitted on the reference window to "
                        "the logged scores re-scores the repairs.")
    return "surrogate", surrogate.predict


def _loss(scores: np.ndarray, y: np.ndarray, classification: bool) -> np.ndarray:
    import numpy as np

    if classification:
        p = np.clip(scores, 1e-6, 1 - 1e-6)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return np.abs(scores - y)


def _labels(df: pd.DataFrame, target: str | None, positive: Any = None) -> np.ndarray | None:
    from toolkit.scoring import label_values

    if not target or target not in df.columns:
        return None
    return label_values(df[target], positive)


def _focus_mask(current: pd.DataFrame, frame: Frame, ctx: dict[str, Any]) -> np.ndarray:
    """Current rows since the complaint's date, when enough rows fall after it."""
    import numpy as np
    import pandas as pd

    ts = ctx.get("timestamp")
    mask = np.ones(len(current), dtype=bool)
    if frame.since is None or not ts or ts not in current.columns:
        return mask
    from toolkit.repair import event_times

    times = event_times(current[ts])
    after = (times >= pd.Timestamp(frame.since)).fillna(False).to_numpy(dtype=bool)
    return after if after.sum() >= 100 else mask


def _loss_noise(ref_losses: np.ndarray, cur_scores: np.ndarray, y_cur: np.ndarray | None,
                mask: np.ndarray, classification: bool) -> float:
    """Standard error of the difference of the two windows' mean losses."""
    import numpy as np

    if y_cur is None or len(ref_losses) < 2:
        return 0.0
    y = y_cur[mask]
    ok = np.isfinite(y) & np.isfinite(cur_scores)
    if ok.sum() < 2:
        return 0.0
    cur_losses = _loss(cur_scores[ok], y[ok], classification)
    return float(np.sqrt(np.var(ref_losses) / len(ref_losses) + np.var(cur_losses) / len(cur_losses)))


def _measure(score: Callable[[pd.DataFrame], np.ndarray], ref_scores: np.ndarray,
             df: pd.DataFrame, mask: np.ndarray, y: np.ndarray | None,
             classification: bool) -> tuple[float, float | None]:
    import numpy as np

    s = np.asarray(score(df), dtype=float)[mask]
    loss = None
    if y is not None:
        ok = np.isfinite(y[mask]) & np.isfinite(s)
        loss = float(np.mean(_loss(s[ok], y[mask][ok], classification))) if ok.any() else None
    return float(np.nanmean(s)), loss


def measure_symptom(reference: pd.DataFrame, current: pd.DataFrame, frame: Frame, *, model: Any,
                    ctx: dict[str, Any], notes: dict[str, str],
                    previous_model: Any = None) -> tuple[Symptom | None, Any]:
    """The symptom, and what is needed to re-measure it on a repaired window.

    With a previous model version, the reference is scored by it: that is what was
    served then, so a change of version is part of the symptom, as users saw it."""
    import numpy as np

    from toolkit.scoring import model_task
    from toolkit.triage import Symptom

    found = _scorer(model, reference, ctx, notes)
    if found is None:
        return None, None
    kind, score = found
    try:
        if previous_model is not None and model is not None:
            from toolkit.scoring import model_features, predict_scores

            needed = model_features(previous_model) or []
            ref_scores = np.asarray(predict_scores(previous_model, as_served(reference, reference, needed),
                                                   name="previous model"), dtype=float)
        else:
            ref_scores = np.asarray(score(reference), dtype=float)
        np.asarray(score(current.head(50)), dtype=float)
    except Exception as exc:  # a model that cannot score these windows: rank without it
        notes["symptom"] = (f"The {kind} could not score the windows ({type(exc).__name__}: "
                            f"{exc}); findings are ranked by severity alone.")
        return None, None
    from toolkit._pipeline_model import looks_like_regression

    classification = model_task(model) == "classification" if model is not None else \
        not looks_like_regression(reference[ctx["prediction"]])
    mask = _focus_mask(current, frame, ctx)
    target, positive = ctx.get("target"), ctx.get("positive")
    y_ref, y_cur = _labels(reference, target, positive), _labels(current, target, positive)
    cur_scores = np.asarray(score(current), dtype=float)[mask]
    noise = float(np.sqrt(np.nanvar(ref_scores) / len(ref_scores)
                          + np.nanvar(cur_scores) / max(len(cur_scores), 1)))
    ref_loss, loss_noise = None, 0.0
    if y_ref is not None:
        ok = np.isfinite(y_ref) & np.isfinite(ref_scores)
        losses = _loss(ref_scores[ok], y_ref[ok], classification)
        ref_loss = float(np.mean(losses)) if ok.any() else None
        loss_noise = _loss_noise(losses, cur_scores, y_cur, mask, classification)
    cur_mean, cur_loss = _measure(score, ref_scores, current, mask, y_cur, classification)
    symptom = Symptom(kind, float(np.nanmean(ref_scores)), cur_mean, noise,
                      "log loss" if classification else "mean absolute error",
                      ref_loss, cur_loss if ref_loss is not None else None, loss_noise,
                      None if mask.all() else f"rows since {frame.since:%Y-%m-%d}, as the complaint says",
                      0.0 if classification else float(np.nanstd(ref_scores)))
    return symptom, (score, ref_scores, mask, y_cur, classification)


def _share(symptom: Symptom, mean: float, loss: float | None, focus: str | None) -> float | None:
    shares = {}
    if symptom.significant:
        shares["scores"] = 1 - abs(mean - symptom.reference_mean) / abs(symptom.shift)
    drop = symptom.quality_drop
    if symptom.quality_significant and drop and loss is not None and symptom.reference_quality is not None:
        shares["quality"] = 1 - max(loss - symptom.reference_quality, 0.0) / drop
    if not shares:
        return None
    if focus == "quality" and "quality" in shares:
        value = shares["quality"]
    elif focus in ("scores_high", "scores_low") and "scores" in shares:
        value = shares["scores"]
    else:
        value = max(shares.values())
    return float(min(max(value, 0.0), 1.0))


def _served_scorer(model: Any, reference: pd.DataFrame,
                   needed: list[str]) -> Callable[[pd.DataFrame], np.ndarray]:
    """Scores of ``model`` on frames prepared as the serving layer would (:func:`as_served`)."""
    from toolkit.scoring import predict_scores

    return lambda df: predict_scores(model, as_served(df, reference, needed), name="previous model")


def _recalibrated(score: Callable[[pd.DataFrame], np.ndarray], segment: str,
                  change: float, *, probabilities: bool = True) -> Callable[[pd.DataFrame], np.ndarray]:
    """A scorer whose scores inside ``segment`` move by ``change`` (probabilities are
    kept inside (0, 1))."""
    import numpy as np

    from toolkit.segment_expr import segment_mask

    def scorer(df: pd.DataFrame) -> np.ndarray:
        s = np.asarray(score(df), dtype=float).copy()
        inside = segment_mask(df, segment)  # read as data, never evaluated as code
        s[inside] = s[inside] + change
        if probabilities:
            s[inside] = np.clip(s[inside], 1e-6, 1 - 1e-6)
        return s

    return scorer


def explain_findings(findings: list[Finding], reference: pd.DataFrame, current: pd.DataFrame,
                     frame: Frame, *, model: Any, previous_model: Any, ctx: dict[str, Any],
                     notes: dict[str, str]) -> tuple[Symptom | None, list[Finding]]:
    """Measure the symptom and set ``explained`` on each finding a repair can test."""
    symptom, probe = measure_symptom(reference, current, frame, model=model, ctx=ctx, notes=notes,
                                     previous_model=previous_model)
    if symptom is None or probe is None:
        return symptom, findings
    score, ref_scores, mask, _, classification = probe
    out = []
    order = sorted(range(len(findings)), key=lambda i: -findings[i].severity_level - findings[i].score)
    tested = set(order[:_MAX_TESTED])
    for i, f in enumerate(findings):
        result = None
        if f.explained is not None:  # measured by its stage (served against logged scores)
            out.append(f)
            continue
        if i in tested and f.layer == "model" and previous_model is not None:
            from toolkit.scoring import model_features

            result = ("Score with the previous model version.",
                      _served_scorer(previous_model, reference, model_features(previous_model) or []),
                      current)
        elif i in tested and f.check == "quality.segment_residual" and f.segment:
            result = ("Recalibrate the segment's scores to its current outcome rate.",
                      _recalibrated(score, f.segment, float(f.evidence["change"]),
                                    probabilities=classification), current)
        elif i in tested:
            fixed = repair(f, reference, current, ctx)
            result = None if fixed is None else (fixed[0], score, fixed[1])
        if result is None:
            out.append(f)
            continue
        how, scorer, frame_df = result
        try:
            rows = mask if len(frame_df) == len(current) else _focus_mask(frame_df, frame, ctx)
            labels = _labels(frame_df, ctx.get("target"), ctx.get("positive"))
            mean, loss = _measure(scorer, ref_scores, frame_df, rows, labels, classification)
        except Exception as exc:  # an unrepairable frame is no evidence either way
            notes.setdefault("repairs", "")
            notes["repairs"] += f" {f.check}: repair could not be scored ({type(exc).__name__})."
            out.append(f)
            continue
        share = _share(symptom, mean, loss, frame.symptom)
        evidence = {**f.evidence, "repair": {"how": how, "mean_score_after": mean,
                                             "loss_after": loss, "explained": share}}
        out.append(f.replace(explained=share, evidence=evidence))
    return symptom, out
