"""Severities learned from normal pairs of windows (toolkit.normal)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit import normal
from toolkit.findings import SEVERITIES, Finding


def rows(n: int, start: str = "2024-01-01", freq: str = "h", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"ts": pd.date_range(start, periods=n, freq=freq),
                         "x": rng.normal(size=n)})


def finding(score: float, severity: str = "critical", check: str = "drift.feature",
            column: str = "x") -> Finding:
    return Finding(check=check, layer="population", summary="x moved", severity=severity,
                   score=score, features=(column,))


def baseline(scores: list[float], check: str = "drift.feature") -> normal.Baseline:
    return normal.Baseline(len(scores), "slices", {(check, ("x",)): scores})


def test_slices_of_the_reference_pair_each_with_every_later_one():
    pairs = normal.normal_pairs(rows(1200), timestamp="ts")
    assert len(pairs.pairs) == 15 and pairs.reason is None  # six slices
    for earlier, later in pairs.pairs:
        assert earlier["ts"].max() < later["ts"].min()
    assert sum(len(a) for a, _ in pairs.pairs[:5]) + len(pairs.pairs[4][1]) == 1200


def test_a_history_gives_windows_as_long_as_the_current_one():
    history, reference = rows(24 * 60, "2024-01-01"), rows(24 * 14, "2024-03-01")
    current = rows(24 * 7, "2024-03-15")
    pairs = normal.normal_pairs(reference, timestamp="ts", current=current, history=history)
    # 74 days before the current window: ten whole weeks, ten pairs of them.
    assert len(pairs.pairs) == 10 and pairs.unit.startswith("consecutive 7 days windows")
    assert {len(b) for _, b in pairs.pairs} == {24 * 7}
    assert all(b["ts"].max() < current["ts"].min() for _, b in pairs.pairs)


def test_too_few_rows_say_so_and_keep_the_checks_own_severity():
    pairs = normal.normal_pairs(rows(70), timestamp="ts")  # three slices, three pairs
    learned = normal.replay(pairs, lambda a, b: ([], {}))
    assert learned.n_pairs < normal.MIN_PAIRS and "too few" in learned.reason
    [f] = normal.calibrate([finding(0.9)], learned)
    assert f.severity == "critical" and "too few normal pairs" in f.evidence["normal"]["said"]


def test_without_a_timestamp_slices_follow_row_order():
    pairs = normal.normal_pairs(rows(600).drop(columns="ts"))
    assert len(pairs.pairs) == 15 and "row order" in pairs.unit


@pytest.mark.parametrize(("scores", "expected", "said"), [
    ([0.95, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], "info", "ordinary"),  # 2 of 8 as strong
    ([0.95, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], "warning", "seen as strongly in 1 of 8"),
    ([0.5, 0.5, 0.4, 0.4, 0.0, 0.0, 0.0, 0.0], "warning", "moves by nature"),
    ([0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], "critical", "beyond every normal pair"),
    ([0.0] * 8, "critical", "beyond every normal pair"),
])
def test_calibrate_against_what_normal_pairs_produced(scores, expected, said):
    [f] = normal.calibrate([finding(0.9)], baseline(scores))
    assert f.severity == expected
    assert said in f.evidence["normal"]["said"]
    assert f.evidence["normal"]["pairs"] == 8


def test_only_the_same_check_on_the_same_columns_counts():
    learned = baseline([0.99] * 8, check="categories.unseen_values")
    [f] = normal.calibrate([finding(0.9)], learned)
    assert f.severity == "critical"


def test_a_pair_where_the_checks_fail_counts_as_producing_nothing():
    pairs = normal.normal_pairs(rows(1200), timestamp="ts")

    def flaky(a: pd.DataFrame, b: pd.DataFrame) -> tuple[list[Finding], dict]:
        if a["ts"].min() == pairs.pairs[0][0]["ts"].min():
            raise ValueError("odd slice")
        return [finding(0.95)], {}

    learned = normal.replay(pairs, flaky)
    assert learned.of(finding(0.9)).tolist().count(0.0) == 5  # the first slice's five pairs


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=0, max_size=14), st.floats(0, 1),
       st.sampled_from(SEVERITIES))
def test_calibration_never_raises_a_severity(scores, score, severity):
    learned = baseline(scores) if scores else None
    [f] = normal.calibrate([finding(score, severity)], learned)
    assert f.severity_level <= SEVERITIES.index(severity)
    [g] = normal.calibrate([f], learned)  # judged once: judging again changes nothing
    assert g == f


def trend_baseline(gap: float, slope: float = 2.0) -> normal.Baseline:
    """Normal pairs of a column on a trend: its effect grows as the gap squared."""
    gaps = [1.0, 2, 3, 4, 5, 1, 2, 3, 4, 1, 2, 3, 1, 2, 1]
    effects = [0.01 * g**slope for g in gaps]
    return normal.Baseline(15, "slices", {}, measures={("drift.feature", ("x",)): effects},
                           gaps=gaps, gap=gap)


def drifted(effect: float) -> Finding:
    return Finding(check="drift.feature", layer="population", summary="x moved",
                   severity="critical", score=effect / (effect + 0.25), features=("x",),
                   evidence={"effect": effect})


def test_drift_is_judged_against_normal_pairs_extrapolated_to_the_gap():
    # Slices one to five apart show the trend; the current window lies six apart.
    learned = trend_baseline(gap=6.0)
    assert learned.expected(drifted(0.36)) == pytest.approx(0.36, rel=1e-6)
    [calm] = normal.calibrate([drifted(0.3)], learned)
    assert calm.severity == "info" and "this far apart" in calm.evidence["normal"]["said"]
    [jump] = normal.calibrate([drifted(3.0)], learned)  # ten times the trend: a break
    assert jump.severity == "critical"


def test_a_steady_column_extrapolates_flat():
    learned = trend_baseline(gap=6.0, slope=0.0)
    assert learned.expected(drifted(0.5)) == pytest.approx(0.01, rel=1e-6)
    no_gap = normal.Baseline(15, "slices", {}, measures=learned.measures, gaps=learned.gaps)
    assert no_gap.expected(drifted(0.5)) is None
