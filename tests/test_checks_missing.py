"""Missing-value checks: spikes with intervals, their segment and start, filled columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.checks import _common as C
from toolkit.checks.missing import null_changes, null_mask


def _frame(seed, n=8000, start="2024-03-01"):
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, 14 * 86400, n)), unit="s")
    x = rng.normal(size=n)
    x[rng.random(n) < 0.02] = np.nan  # a 2% background null rate
    return pd.DataFrame({"ts": ts, "x": x, "y": rng.normal(size=n),
                         "channel": rng.choice(["app", "web", "store"], n),
                         "note": pd.Series(rng.choice(["a", "b", ""], n, p=[.5, .49, .01]),
                                           dtype="str")})


def test_wilson_and_newcombe_match_closed_forms():
    # Wilson interval of 0/n has lower bound 0 and upper bound z^2 / (n + z^2).
    lo, hi = C.wilson_interval(0, 100)
    assert lo == 0.0
    assert hi == pytest.approx(1.96**2 / (100 + 1.96**2))
    lo, hi = C.diff_interval(10, 100, 10, 100)
    assert lo < 0 < hi
    assert lo == pytest.approx(-hi)


def test_best_binary_split_finds_planted_change():
    z = np.r_[np.zeros(600), np.ones(400)]
    j, before, after = C.best_binary_split(z)
    assert (j, before, after) == (600, 0.0, 1.0)


def test_best_binary_split_coarse_to_fine_matches_exhaustive_search():
    rng = np.random.default_rng(5)
    z = np.r_[rng.random(123_457) < 0.02, rng.random(76_543) < 0.3].astype(float)
    j, before, after = C.best_binary_split(z)
    exact, _, _ = C.best_binary_split(z, chunks=10**9)  # never coarse: every position
    assert j == exact
    assert abs(j - 123_457) < 200
    assert before == pytest.approx(0.02, abs=0.002)
    assert after == pytest.approx(0.3, abs=0.01)


def test_null_mask_counts_empty_strings_in_text():
    s = pd.Series(["a", "", None], dtype="str")
    assert null_mask(s).tolist() == [False, True, True]


def test_same_population_has_no_finding():
    assert null_changes(_frame(1), _frame(2), timestamp="ts", segment_columns=["channel"]) == []


def test_spike_in_one_segment_since_a_date():
    ref, cur = _frame(1), _frame(2)
    since = pd.Timestamp("2024-03-09")
    hit = (cur["channel"] == "app") & (cur["ts"] >= since)
    cur.loc[hit, "y"] = np.nan
    (f,) = null_changes(ref, cur, timestamp="ts", segment_columns=["channel"])
    ev = f.evidence
    assert f.check == "missing.null_spike"
    assert f.layer == "data"
    assert f.severity == "warning"
    assert ev["column"] == "y"
    assert ev["segment"] == "channel == 'app'"
    assert abs(pd.Timestamp(ev["since"]) - since) < pd.Timedelta("3h")
    assert ev["current_rate"] == pytest.approx(hit.mean())
    lo, hi = ev["diff_interval"]
    assert lo < hit.mean() < hi


def test_columns_missing_together_make_one_finding():
    ref, cur = _frame(1), _frame(2)
    rows = cur.index[:2000]
    cur.loc[rows, ["x", "y"]] = np.nan  # one upstream cause
    other = cur.index[-1500:]
    cur.loc[other, "channel"] = None  # another, in other rows
    spikes = [f for f in null_changes(ref, cur) if f.check == "missing.null_spike"]
    assert sorted(f.features for f in spikes) == [("channel",), ("x", "y")]
    both = next(f for f in spikes if len(f.features) == 2)
    lead, other_col = both.features
    assert both.evidence["column"] == lead
    assert both.evidence["missing_together_with"] == [other_col]
    assert set(both.evidence["rates"]) == {"x", "y"}
    assert "missing together" in both.summary


def test_tiny_change_is_not_a_warning():
    ref, cur = _frame(1, n=2000), _frame(2, n=2000)
    cur.loc[cur.index[:15], "y"] = np.nan  # +0.75 points on 2,000 rows
    assert [f for f in null_changes(ref, cur) if f.severity != "info"] == []


def test_column_that_fills_in_is_a_pipeline_warning():
    ref, cur = _frame(1), _frame(2)
    ref["surcharge"] = np.nan
    cur["surcharge"] = 2.5
    (f,) = null_changes(ref, cur)
    assert f.check == "missing.null_drop"
    assert f.layer == "pipeline"
    assert f.severity == "warning"
    assert f.evidence["was_empty_in_reference"] is True
