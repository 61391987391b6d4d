"""Multivariate drift: can a classifier tell the reference from the current window?

A gradient-boosted classifier is cross-validated on a seeded sample of each window.
Its out-of-fold AUC is 0.5 when the windows are exchangeable and grows as they
separate; it also catches changes no single column shows (a new combination of
values). Permutation importance on a held-out fold names the columns that drive it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit._drift_stats import delong_auc
from toolkit._exceptions import InputError
from toolkit.findings import Finding
from toolkit.profile import column_kind

__all__ = ["DomainResult", "domain_classifier"]

#: Held-out rows used for permutation importance: one prediction per column, so
#: this bounds its cost; the AUC's standard error on 1,000 rows is about 0.02.
_IMPORTANCE_ROWS = 1000

#: Fewest rows per window for a cross-validated AUC worth reading.
_MIN_ROWS = 30


@dataclasses.dataclass(frozen=True, eq=False)
class DomainResult:
    """Result of :func:`domain_classifier`.

    Attributes
    ----------
    auc, low, high : float
        Out-of-fold ROC AUC of reference (0) against current (1), with DeLong's
        interval.
    importance : DataFrame
        ``feature``, ``importance`` (AUC lost when the column is shuffled in up
        to 1,000 held-out rows), largest first; empty when the AUC's interval
        includes 0.5.
    n_reference, n_current : int
        Rows sampled from each window.
    columns : list of str
        Columns the classifier used.
    skipped : DataFrame
        Columns left out, with the reason.
    findings : list of Finding
        One ``drift.domain_classifier`` finding (``info`` when not separable).
    """

    auc: float
    low: float
    high: float
    importance: pd.DataFrame
    n_reference: int
    n_current: int
    columns: list[str]
    skipped: pd.DataFrame
    findings: list[Finding]


def _usable_columns(
    reference: pd.DataFrame, current: pd.DataFrame, columns: Sequence[str] | None
) -> tuple[list[str], list[dict[str, str]]]:
    names = list(reference.columns) if columns is None else list(columns)
    if isinstance(columns, str):  # one name, not its letters
        names = [columns]
    used, skipped = [], []
    for name in names:
        if name not in reference.columns or name not in current.columns:
            where = "current" if name in current.columns else "reference"
            if name not in reference.columns and name not in current.columns:
                raise InputError(f"Column {name!r} is in neither window.")
            skipped.append({"feature": name, "reason": f"only in the {where} window"})
            continue
        kinds = column_kind(reference[name]), column_kind(current[name])
        if kinds[0] != kinds[1]:
            skipped.append({"feature": name, "reason": f"type changed ({kinds[0]} to {kinds[1]})"})
        elif kinds[0] == "datetime":
            skipped.append({"feature": name, "reason": "date or time column: time moves"})
        elif reference[name].isna().all() and current[name].isna().all():
            skipped.append({"feature": name, "reason": "all values missing in both windows"})
        elif kinds[0] == "numeric" and _sequential(reference[name], current[name]):
            skipped.append({"feature": name, "reason": "sequential identifier or counter"})
        else:
            used.append(name)
    return used, skipped


def _sequential(ref: pd.Series, cur: pd.Series) -> bool:
    """Unique whole numbers whose current values all exceed the reference's."""
    r = ref.to_numpy(dtype=np.float64, na_value=np.nan)
    c = cur.to_numpy(dtype=np.float64, na_value=np.nan)
    r, c = r[np.isfinite(r)], c[np.isfinite(c)]
    if r.size < 100 or c.size == 0 or not np.all(np.mod(r, 1) == 0):
        return False
    return bool(np.unique(r).size >= 0.95 * r.size and np.mean(c > r.max()) >= 0.95)


def _sample(df: pd.DataFrame, size: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(df) <= size:
        return df
    return df.iloc[np.sort(rng.choice(len(df), size=size, replace=False))]


def _encode(data: pd.DataFrame, columns: list[str], top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """Float matrix for the classifier, and which columns are categorical codes."""
    x = np.empty((len(data), len(columns)), dtype=np.float64)
    categorical = np.zeros(len(columns), dtype=bool)
    for j, name in enumerate(columns):
        s = data[name]
        if column_kind(s) == "numeric":
            v = s.to_numpy(dtype=np.float64, na_value=np.nan)
            finite = v[np.isfinite(v)]
            big = float(np.abs(finite).max()) * 2 + 1 if finite.size else 1.0
            x[:, j] = np.nan_to_num(v, nan=np.nan, posinf=big, neginf=-big)
            continue
        categorical[j] = True
        text = s.astype("string")  # one vocabulary for every storage of text
        top = text.value_counts(dropna=True).index[:top_k]
        codes = pd.Index(top).get_indexer(text).astype(np.float64)
        codes[(codes < 0) & text.notna().to_numpy()] = len(top)  # "other"
        codes[text.isna().to_numpy()] = np.nan
        x[:, j] = codes
    return x, categorical


def _model(categorical: np.ndarray, random_state: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=50,
        learning_rate=0.1,
        max_leaf_nodes=15,
        early_stopping=False,
        categorical_features=categorical if categorical.any() else None,
        random_state=random_state,
    )


def _oof_scores(
    x: np.ndarray, y: np.ndarray, categorical: np.ndarray, n_splits: int, random_state: int
) -> tuple[np.ndarray, Any, np.ndarray]:
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    oof = np.empty(len(y))
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    model, test = None, np.zeros(0, dtype=np.int64)
    # On samples this small OpenMP threads cost more than they give, and on a
    # busy machine oversubscribed threads made fits ten times slower.
    with threadpool_limits(limits=1, user_api="openmp"):
        for train, test in folds.split(x, y):
            model = _model(categorical, random_state).fit(x[train], y[train])
            oof[test] = model.predict_proba(x[test])[:, 1]
    return oof, model, test


def _importance(
    model: Any, x: np.ndarray, y: np.ndarray, columns: list[str], rng: np.random.Generator
) -> pd.DataFrame:
    from sklearn.metrics import roc_auc_score
    from threadpoolctl import threadpool_limits

    m, p = x.shape
    per_call = max(1, 100_000 // max(m, 1))  # columns shuffled per batched predict
    drops: list[float] = []
    with threadpool_limits(limits=1, user_api="openmp"):
        base = roc_auc_score(y, model.predict_proba(x)[:, 1])
        for start in range(0, p, per_call):
            cols = range(start, min(start + per_call, p))
            # One predict over stacked copies: the per-tree cost is paid once per
            # batch instead of once per column.
            stacked = np.tile(x, (len(cols), 1))
            for i, j in enumerate(cols):
                stacked[i * m : (i + 1) * m, j] = rng.permutation(x[:, j])
            scores = model.predict_proba(stacked)[:, 1].reshape(len(cols), m)
            drops.extend(base - roc_auc_score(y, s) for s in scores)
    table = pd.DataFrame({"feature": columns, "importance": drops})
    return table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def _finding(res: dict[str, Any], threshold: float, critical: float) -> Finding:
    auc, low, high = res["auc"], res["low"], res["high"]
    drivers = res["importance"]
    drivers = drivers[drivers["importance"] > 0.01]["feature"].head(5).tolist()
    severity = "critical" if low >= critical else "warning" if low > threshold else "info"
    if severity == "info":
        summary = f"The windows are hard to tell apart: AUC {auc:.3f} (CI {low:.3f}-{high:.3f})"
    else:
        summary = (
            f"A classifier tells current from reference rows: AUC {auc:.3f} "
            f"(CI {low:.3f}-{high:.3f}), driven by {', '.join(drivers) or 'many columns'}"
        )
    evidence = {k: v for k, v in res.items() if k != "importance"}
    evidence["importance"] = res["importance"].head(10)
    evidence.update(threshold=threshold, critical=critical)
    return Finding(
        check="drift.domain_classifier",
        layer="population",
        summary=summary,
        severity=severity,
        score=float(min(max((auc - 0.5) * 2, 0.0), 1.0)),
        features=tuple(drivers),
        evidence=evidence,
        next_step=(
            "Compare the driving columns between the windows (feature drift, data checks)."
            if severity != "info"
            else "No multivariate shift beyond noise; look at segments or at quality."
        ),
    )


def domain_classifier(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    sample_size: int = 10_000,
    n_splits: int = 2,
    threshold: float = 0.6,
    critical: float = 0.7,
    top_k: int = 50,
    confidence: float = 0.95,
    random_state: int = 0,
) -> DomainResult:
    """Multivariate drift: cross-validated AUC of a reference-versus-current classifier.

    Parameters
    ----------
    reference, current : DataFrame
        The two windows; not modified.
    columns : sequence of str, optional
        Columns to use; by default every column present in both windows with the
        same kind, except date and time columns (time alone separates windows).
    sample_size : int, default=10000
        Rows sampled (seeded, without replacement) from each window.
    n_splits : int, default=2
        Cross-validation folds; the AUC is computed on out-of-fold scores (two
        folds fit half the models of three, and the AUC barely moves).
    threshold : float, default=0.6
        AUC lower bound above which the windows count as separable (a warning);
        a one-column Gaussian mean shift with PSI 0.1 gives an AUC of about 0.59.
    critical : float, default=0.7
        AUC lower bound for a critical finding.
    top_k : int, default=50
        Categories kept per categorical column (the rest share one code).
    confidence : float, default=0.95
    random_state : int, default=0

    Returns
    -------
    DomainResult
    """
    for label, df in (("reference", reference), ("current", current)):
        if not isinstance(df, pd.DataFrame) or len(df) == 0:
            raise InputError(
                f"The {label} window must be a non-empty DataFrame; got "
                f"{type(df).__name__} with {len(df) if hasattr(df, '__len__') else 0} rows."
            )
    if not (isinstance(sample_size, int) and sample_size >= _MIN_ROWS):
        raise InputError(f"sample_size must be an integer >= {_MIN_ROWS}; got {sample_size!r}.")
    if not (isinstance(top_k, int) and 1 <= top_k <= 250):
        raise InputError(f"top_k must be an integer in [1, 250]; got {top_k!r}.")
    if min(len(reference), len(current)) < _MIN_ROWS:
        raise InputError(
            f"The domain classifier needs at least {_MIN_ROWS} rows in each window to "
            f"cross-validate; got {len(reference)} and {len(current)}. Use feature_drift, "
            "whose intervals account for small samples, or widen the windows."
        )
    rng = np.random.default_rng(random_state)
    ref_s, cur_s = _sample(reference, sample_size, rng), _sample(current, sample_size, rng)
    used, skipped = _usable_columns(ref_s, cur_s, columns)
    if not used:
        raise InputError(
            "No column can be compared between the windows (all are missing from one "
            "window, changed type, are dates, or are empty); see the schema check."
        )
    both = pd.concat([ref_s[used], cur_s[used]], ignore_index=True)
    x, categorical = _encode(both, used, top_k)
    y = np.r_[np.zeros(len(ref_s)), np.ones(len(cur_s))].astype(np.int64)
    splits = max(2, min(n_splits, len(ref_s), len(cur_s)))
    oof, model, test = _oof_scores(x, y, categorical, splits, random_state)
    auc, low, high = delong_auc(y, oof, confidence=confidence)
    importance = pd.DataFrame({"feature": pd.Series(dtype="str"), "importance": []})
    if low > 0.5:  # shuffling columns of an inseparable pair only measures noise
        held_out = np.sort(rng.permutation(test)[:_IMPORTANCE_ROWS])
        importance = _importance(model, x[held_out], y[held_out], used, rng)
    res = {"auc": auc, "low": low, "high": high, "n_reference": len(ref_s),
           "n_current": len(cur_s), "n_splits": splits, "columns": used,
           "importance": importance}  # fmt: skip
    return DomainResult(
        auc=auc,
        low=low,
        high=high,
        importance=importance,
        n_reference=len(ref_s),
        n_current=len(cur_s),
        columns=used,
        skipped=pd.DataFrame(skipped, columns=["feature", "reason"]),
        findings=[_finding(res, threshold, critical)],
    )
