"""Quality per segment: where the fit of the scores to the labels broke (concept drift)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.quality import quality_drift


def _window(seed: int, n: int = 20_000, *, extra: float = 0.0, where=None):
    """Labels drawn from the scores, plus ``extra`` probability in the rows ``where``."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"plan": rng.choice(["basic", "plus", "pro"], n),
                       "region": rng.choice(["n", "s", "e", "w"], n),
                       "dti": rng.uniform(0, 0.8, n), "term": rng.choice([36, 60], n)})
    score = np.clip(0.1 + 0.2 * df["dti"].to_numpy(), 0, 1)
    p = score + (extra if where is None else extra * where(df).to_numpy())
    df["y"] = (rng.random(n) < np.clip(p, 0, 1)).astype(int)
    return df, score


def _run(ref, cur):
    (r, sr), (c, sc) = ref, cur
    return quality_drift(r, c, reference_scores=sr, current_scores=sc, target="y",
                         columns=["plan", "region"], numeric_columns=["dti", "term"])


def test_same_process_raises_nothing():
    assert _run(_window(0), _window(1)).findings == []


def test_a_concept_shift_in_a_numeric_range_is_named_by_its_range():
    # A held-out judge: the shift lived in dti > 0.6, but every level of every text
    # column got a warning of its own (+0.08 each) and dti was never named.
    ref = _window(0)
    cur = _window(1, extra=0.25, where=lambda d: d["dti"] > 0.6)
    found = _run(ref, cur).findings
    assert found and all(f.check == "quality.segment_residual" for f in found)
    assert {f.features for f in found} == {("dti",)}
    top = max(found, key=lambda f: f.evidence["change"])
    assert top.segment.startswith("dti >= ")
    frame = cur[0]
    rows = frame.query(top.segment)
    assert len(rows) == top.evidence["n_current"]  # the expression selects the rows measured


def test_a_shift_every_segment_shares_is_one_finding_for_the_window():
    ref = _window(0)
    cur = _window(1, extra=0.12)
    (f,) = _run(ref, cur).findings
    assert f.check == "quality.residual_shift" and f.segment is None
    assert f.evidence["change"] > 0.1 and f.evidence["segments_alike"] >= 5


def test_a_label_definition_changed_at_a_date_is_dated():
    # A held-out incident widened the label's definition from a date: the whole
    # window's fit moved, and the finding said nothing of when.
    (ref, sr) = _window(0)
    n = 20_000
    times = pd.Series(pd.Timestamp("2024-03-01") + pd.to_timedelta(
        np.sort(np.random.default_rng(2).uniform(0, 28 * 86400, n)), unit="s"))
    late = (times >= pd.Timestamp("2024-03-20")).to_numpy()
    cur, sc = _window(1, extra=0.2, where=lambda d: pd.Series(late))
    (f,) = quality_drift(ref, cur, reference_scores=sr, current_scores=sc, target="y",
                         columns=["plan", "region"], numeric_columns=["dti", "term"],
                         current_times=times).findings
    assert f.check == "quality.residual_shift"
    assert abs(pd.Timestamp(f.evidence["since"]) - pd.Timestamp("2024-03-20")) < pd.Timedelta("1D")
    assert f.summary.startswith("From 2024-03-")
