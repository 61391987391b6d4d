"""Tests of the domain classifier's internals: references for its fast paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from toolkit._drift_domain import _encode, _rank_auc, domain_classifier


def test_rank_auc_equals_sklearn_with_ties(rng: np.random.Generator) -> None:
    for m in (2, 7, 100, 1000):
        y = np.r_[0, 1, rng.integers(0, 2, m - 2)]
        # Few distinct values, as a boosted model's scores have: many ties.
        scores = rng.integers(0, 5, (6, m)) / 4.0
        scores[0] = rng.normal(size=m)  # and one row without ties
        scores[1] = 0.5  # all tied: AUC one half
        expected = [roc_auc_score(y, s) for s in scores]
        np.testing.assert_allclose(_rank_auc(y, scores), expected, rtol=0, atol=1e-12)


def test_rank_auc_closed_forms() -> None:
    y = np.array([0, 0, 1, 1])
    assert _rank_auc(y, np.array([[0.1, 0.2, 0.3, 0.4]]))[0] == 1.0
    assert _rank_auc(y, np.array([[0.4, 0.3, 0.2, 0.1]]))[0] == 0.0
    assert _rank_auc(y, np.array([[0.1, 0.3, 0.3, 0.4]]))[0] == pytest.approx(0.875)


def _reference_encoding(s: pd.Series, top_k: int) -> np.ndarray:
    """The row-by-row encoding the fast path replaced."""
    if s.dtype.kind == "f":
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = v[np.isfinite(v)]
        big = float(np.abs(finite).max()) * 2 + 1 if finite.size else 1.0
        return np.nan_to_num(v, nan=np.nan, posinf=big, neginf=-big)
    text = s.astype("string")
    top = text.value_counts(dropna=True).index[:top_k]
    codes = pd.Index(top).get_indexer(text).astype(np.float64)
    codes[(codes < 0) & text.notna().to_numpy()] = len(top)
    codes[text.isna().to_numpy()] = np.nan
    return codes


def test_encode_matches_the_row_by_row_reference(rng: np.random.Generator) -> None:
    n = 500
    v = rng.normal(size=n)
    v[:5], v[5:8], v[8:12] = np.inf, -np.inf, np.nan
    data = pd.DataFrame(
        {
            "v": v,
            "only_inf": np.where(rng.random(n) < 0.5, np.inf, np.nan),
            "c": pd.Series(rng.choice(["a", "b", "c", "d", "e", None], n), dtype="str"),
            "obj": pd.Series(rng.choice(["p", "q", None], n), dtype=object),
            "empty": pd.Series([None] * n, dtype="str"),
        }
    )
    columns = list(data.columns)
    for top_k in (1, 2, 50):
        x, categorical = _encode(data, columns, top_k)
        assert categorical.tolist() == [False, False, True, True, True]
        for j, name in enumerate(columns):
            np.testing.assert_array_equal(x[:, j], _reference_encoding(data[name], top_k))


def test_domain_classifier_is_deterministic_and_ignores_unused_columns(
    rng: np.random.Generator,
) -> None:
    n = 3000
    ref = pd.DataFrame({"a": rng.normal(size=n), "k": rng.choice(["u", "v"], n)})
    cur = pd.DataFrame({"a": rng.normal(0.5, 1, n), "k": rng.choice(["u", "v"], n)})
    first = domain_classifier(ref, cur, sample_size=1000, random_state=5)
    again = domain_classifier(ref, cur, sample_size=1000, random_state=5)
    wide = domain_classifier(
        ref.assign(extra=1.0, t=pd.Timestamp(0)),
        cur.assign(extra=2.0, t=pd.Timestamp(1)),
        columns=["a", "k"],
        sample_size=1000,
        random_state=5,
    )
    for other in (again, wide):
        assert (other.auc, other.low, other.high) == (first.auc, first.low, first.high)
        pd.testing.assert_frame_equal(other.importance, first.importance)
    assert wide.columns == ["a", "k"] and wide.skipped.empty
    assert first.importance["feature"].iloc[0] == "a"


def test_domain_classifier_reports_a_requested_column_in_one_window(
    rng: np.random.Generator,
) -> None:
    n = 200
    ref = pd.DataFrame({"a": rng.normal(size=n), "b": 1.0})
    cur = pd.DataFrame({"a": rng.normal(size=n)})
    result = domain_classifier(ref, cur, columns=["a", "b"], sample_size=100)
    assert result.columns == ["a"]
    assert result.skipped.to_dict("records") == [{"feature": "b", "reason": "only in the reference window"}]
    result = domain_classifier(ref, cur, columns="a", sample_size=100)
    assert result.columns == ["a"]
