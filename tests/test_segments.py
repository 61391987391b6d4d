"""The slice finder: planted slices are found exactly, noise is not reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit import InputError
from toolkit.segments import SliceReport, find_slices, slice_mask


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "channel": rng.choice(["app", "web", "store"], n, p=[0.3, 0.5, 0.2]),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "amount": rng.lognormal(3, 1, n),
            "age": rng.integers(18, 80, n).astype(float),
            "my col": rng.choice(["it's", 'say "hi"'], n),
        }
    )
    df.loc[rng.random(n) < 0.05, "amount"] = np.nan
    return df


def losses(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.gamma(2.0, 0.25, n)
    return a, a + rng.normal(0, 0.1, n)


def test_planted_single_column_slice_is_found_exactly_and_first():
    df = frame(20_000, 0)
    a, b = losses(20_000, 1)
    planted = (df["region"] == "north").to_numpy()
    b = b + 0.15 * planted
    before = df.copy()
    report = find_slices(df, b, a)
    pd.testing.assert_frame_equal(df, before)
    top = report.table.iloc[0]
    assert top["segment"] == "region == 'north'"
    assert np.array_equal(slice_mask(df, top["segment"]), planted)
    assert top["support"] == planted.sum()
    assert top["ci_low"] <= 0.15 <= top["ci_high"]
    assert top["explained"] > 0.9
    assert len(report.table) == 1  # its children and parents are pruned


def test_planted_pair_slice_beats_its_parents():
    df = frame(30_000, 2)
    a, b = losses(30_000, 3)
    planted = ((df["channel"] == "app") & (df["region"] == "east")).to_numpy()
    b = b + 0.3 * planted
    report = find_slices(df, b, a)
    top = report.table.iloc[0]
    assert set(top["columns"]) == {"channel", "region"}
    assert np.array_equal(slice_mask(df, top["segment"]), planted)
    assert len(report.table) == 1


def test_binned_numeric_and_missing_slices_round_trip_through_query():
    df = frame(20_000, 4)
    a, b = losses(20_000, 5)
    missing = df["amount"].isna().to_numpy()
    b = b + 0.4 * missing
    report = find_slices(df, b, a, columns=["amount", "age"], max_order=1)
    assert report.table.iloc[0]["segment"] == "amount == None"  # the grammar's "missing"
    assert np.array_equal(slice_mask(df, "amount == None"), missing)


def test_quoted_names_and_values_evaluate():
    df = frame(10_000, 6)
    a, b = losses(10_000, 7)
    planted = (df["my col"] == "it's").to_numpy()
    report = find_slices(df, b + 0.3 * planted, a, columns=["my col"])
    seg = report.table.iloc[0]["segment"]
    assert seg.startswith("`my col` ==")
    assert np.array_equal(df.eval(seg).to_numpy(), planted)


@pytest.mark.parametrize("seed", range(5))
def test_same_population_reports_nothing(seed):
    df = frame(20_000, 10 + seed)
    a, b = losses(20_000, 100 + seed)
    assert find_slices(df, b, a).table.empty


def test_false_discoveries_stay_near_alpha_without_a_practical_threshold():
    # Under the global null, BH at level alpha controls the chance of any discovery
    # at alpha; 40 runs at alpha=0.05 expect 2.
    df = frame(5_000, 20)
    hits = 0
    for seed in range(40):
        a, b = losses(5_000, 200 + seed)
        hits += not find_slices(df, b, a, min_effect=0.0).table.empty
    assert hits <= 6  # P(Binomial(40, 0.05) > 6) < 0.01


def test_welch_statistic_matches_scipy():
    df = frame(8_000, 30)
    a, b = losses(8_000, 31)
    mask = (df["channel"] == "store").to_numpy()
    b = b + 0.2 * mask
    report = find_slices(df, b, a, columns=["channel"], max_order=1)
    row = report.table.iloc[0]
    d = b - a
    ref = stats.ttest_ind(d[mask], d[~mask], equal_var=False)
    assert row["z"] == pytest.approx(ref.statistic, rel=1e-6)
    assert row["effect"] == pytest.approx(d[mask].mean() - d[~mask].mean())


def test_min_support_and_practical_threshold_are_respected():
    df = frame(20_000, 40)
    a, b = losses(20_000, 41)
    b = b + 0.5 * ((df["region"] == "north") & (df["age"] < 20)).to_numpy()  # ~1% of rows
    assert find_slices(df, b, a, min_support=0.05).table.empty
    report = find_slices(df, b, a, min_support=0.005)
    assert not report.table.empty
    assert report.table["support"].min() >= 100
    small = find_slices(df, a + 0.02 * (df["region"] == "north").to_numpy(), a, min_effect=0.1)
    assert small.table.empty  # significant but below 10% of the mean loss
    assert small.threshold == pytest.approx(0.1 * a.mean())


def test_a_single_loss_finds_where_the_model_is_weak():
    df = frame(10_000, 50)
    rng = np.random.default_rng(51)
    loss = rng.gamma(2.0, 0.25, 10_000) + 0.5 * (df["channel"] == "web").to_numpy()
    report = find_slices(df, loss, max_order=1)
    assert isinstance(report, SliceReport)
    assert report.table.iloc[0]["segment"] == "channel == 'web'"


def test_bad_inputs_say_what_to_fix():
    df = frame(100, 60)
    with pytest.raises(InputError, match="one value per row"):
        find_slices(df, np.zeros(99))
    with pytest.raises(InputError, match="not in the frame"):
        find_slices(df, np.zeros(100), columns=["nope"])
    with pytest.raises(InputError, match="alpha"):
        find_slices(df, np.zeros(100), alpha=2.0)
    with pytest.raises(InputError, match="'nope', which is not in the data"):
        slice_mask(df, "nope == 1")


def test_tiny_frames_and_nan_losses_return_empty():
    df = frame(40, 70)
    loss = np.full(40, np.nan)
    report = find_slices(df, loss)
    assert report.table.empty
    assert report.n_tested == 0
