"""Tests of toolkit.profile: the one seam where column statistics are computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import InputError
from toolkit.profile import (
    PERCENTILES,
    TOP_VALUES,
    bin_labels,
    column_kind,
    numeric_edges,
    profile_frame,
)


def _reference_histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Independent count of the documented layout, value by value."""
    out = np.zeros(edges.size + 2, dtype=np.int64)
    for v in values:
        if np.isnan(v):
            out[-1] += 1
        elif v < edges[0]:
            out[0] += 1
        elif v >= edges[-1]:
            out[-2] += 1
        else:
            out[int(np.searchsorted(edges, v, side="right"))] += 1
    return out


def test_numeric_counts_match_a_value_by_value_count(rng: np.random.Generator) -> None:
    ref = rng.normal(size=2000)
    cur = np.concatenate([rng.normal(0.5, 2, size=1500), [np.nan] * 7, [np.inf, -np.inf]])
    prof_r = profile_frame(pd.DataFrame({"x": ref}), bins=8)
    prof_c = profile_frame(pd.DataFrame({"x": cur}), edges=prof_r.edges())
    edges = prof_r["x"].edges
    np.testing.assert_array_equal(prof_r["x"].counts, _reference_histogram(ref, edges))
    np.testing.assert_array_equal(prof_c["x"].counts, _reference_histogram(cur, edges))
    # Out-of-range cells are empty in the reference by construction.
    assert prof_r["x"].counts[0] == 0
    assert prof_r["x"].counts[-2] == 0
    assert prof_c["x"].nulls == 7
    assert (prof_c["x"].n_posinf, prof_c["x"].n_neginf) == (1, 1)


def test_quantiles_mean_std_match_numpy(rng: np.random.Generator) -> None:
    x = rng.lognormal(size=5001) + 1e9  # a large offset tests the centred sums
    x[::97] = np.nan
    cp = profile_frame(pd.DataFrame({"x": x}))["x"]
    finite = x[np.isfinite(x)]
    np.testing.assert_allclose(cp.quantiles, np.quantile(finite, PERCENTILES), rtol=1e-12)
    assert cp.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert cp.std == pytest.approx(finite.std(ddof=1), rel=1e-6)
    assert (cp.min, cp.max) == (finite.min(), finite.max())
    assert cp.nulls == int(np.isnan(x).sum())


def test_edges_are_reference_quantiles_with_atoms_isolated() -> None:
    values = np.sort(np.r_[np.zeros(600), np.arange(1, 401, dtype=float)])
    edges = numeric_edges(values, bins=10)
    assert np.all(np.diff(edges) > 0)
    # The atom at 0 (60% of the mass) gets the bin [0, nextafter(0)).
    assert edges[0] == 0.0
    assert edges[1] == np.nextafter(0.0, 1.0)
    cp = profile_frame(pd.DataFrame({"x": values}))["x"]
    assert cp.counts[1] == 600
    assert cp.labels()[1] == "= 0"
    assert cp.labels()[-2:] == ["> 400", "(missing)"]


def test_constant_and_binary_columns_keep_one_bin_per_value() -> None:
    df = pd.DataFrame({"k": [3.0] * 50, "b": [0, 1] * 25})
    prof = profile_frame(df)
    assert prof["k"].counts.tolist() == [0, 50, 0, 0]
    counts = prof["b"].counts
    labels = prof["b"].labels()
    assert counts[labels.index("= 0")] == 25
    assert counts[labels.index("= 1")] == 25


def test_all_null_numeric_column_has_only_out_of_range_and_missing_cells() -> None:
    df = pd.DataFrame({"x": [np.nan] * 5})
    cp = profile_frame(df)["x"]
    assert cp.counts.tolist() == [0, 5]
    assert cp.labels() == ["(out of range)", "(missing)"]
    assert np.isnan(cp.mean)
    cur = profile_frame(pd.DataFrame({"x": [1.0, np.nan]}), edges={"x": cp.edges})["x"]
    assert cur.counts.tolist() == [1, 1]


def test_categorical_top_k_other_and_missing() -> None:
    s = pd.Series([*list("aaaabbbcc"), "d", None, None], dtype="str")
    cp = profile_frame(pd.DataFrame({"c": s}), top_k=2, min_count=1)["c"]
    assert cp.kind == "categorical"
    assert cp.edges == ("a", "b")
    assert cp.counts.tolist() == [4, 3, 3, 2]  # a, b, other (c, c, d), missing
    assert cp.n_distinct == 4
    assert cp.labels() == ["a", "b", "(other)", "(missing)"]
    cur = pd.DataFrame({"c": pd.Series(["b", "z", "z", None], dtype="str")})
    cc = profile_frame(cur, edges={"c": cp.edges})["c"]
    assert cc.counts.tolist() == [0, 1, 2, 1]
    assert cc.top_values[0] == "z"


def test_rare_categories_share_the_other_bin() -> None:
    s = pd.Series(["big"] * 40 + ["rare"] * 19 + [f"u{i}" for i in range(30)], dtype="str")
    cp = profile_frame(pd.DataFrame({"c": s}))["c"]
    assert cp.edges == ("big",)
    assert cp.counts.tolist() == [40, 49, 0]
    assert cp.top_values[:2] == ("big", "rare")  # the column's own top values stay


def test_million_distinct_categories_stay_compact() -> None:
    ids = pd.Series(np.arange(1_000_000).astype(str), dtype="str")
    cp = profile_frame(pd.DataFrame({"id": ids}), top_k=50)["id"]
    assert cp.edges == ()  # no value is common enough for a bin of its own
    assert cp.counts.tolist() == [1_000_000, 0]
    assert len(cp.top_values) == TOP_VALUES  # the list of values is capped
    assert cp.n_distinct == cp.n_singletons == 1_000_000


def test_numeric_extras_for_the_checks() -> None:
    x = pd.Series([3.0, -1.0, 3.0, np.nan, -np.inf, 7.0, 3.0, 0.0, 2.5])
    cp = profile_frame(pd.DataFrame({"x": x}))["x"]
    assert cp.n_negative == 2  # -1 and -inf; zero is not negative
    assert cp.lowest == (-1.0, 0.0, 2.5, 3.0, 3.0)
    assert cp.highest == (2.5, 3.0, 3.0, 3.0, 7.0)
    assert cp.top_values[0] == 3.0 and cp.top_counts[0] == 3
    assert dict(zip(cp.top_values, cp.top_counts.tolist())) == {3.0: 3, -1.0: 1, 0.0: 1,
                                                                2.5: 1, 7.0: 1}
    many = profile_frame(pd.DataFrame({"y": np.arange(5000.0)}))["y"]
    assert many.top_values == () and many.n_distinct == 5000


def test_empty_strings_are_counted_apart() -> None:
    s = pd.Series(["a", "", "a", None, "", "b"], dtype="str")
    cp = profile_frame(pd.DataFrame({"c": s}))["c"]
    assert (cp.nulls, cp.n_empty, cp.n_singletons) == (1, 2, 1)


@pytest.mark.parametrize("offset", [0.0, 1e9, 1.7e18])
def test_mean_and_std_hold_at_large_offsets(offset: float) -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 1e-3 if offset < 1e12 else 1e12, 10_001)
    x = np.sort(offset + noise)
    cp = profile_frame(pd.DataFrame({"x": x}))["x"]
    centred = x - x[5000]
    assert cp.mean == pytest.approx(x[5000] + centred.mean(), rel=1e-15, abs=1e-9)
    assert cp.std == pytest.approx(centred.std(ddof=1), rel=1e-6)


def test_kinds_of_columns() -> None:
    df = pd.DataFrame(
        {
            "f": [1.5, 2.5],
            "i": pd.array([1, None], dtype="Int64"),
            "b": [True, False],
            "cat": pd.Categorical([1, 2]),
            "s": pd.Series(["x", "y"], dtype="str"),
            "o": pd.Series([1, "x"], dtype=object),
            "t": pd.to_datetime(["2024-01-01", None]),
        }
    )
    kinds = {c: column_kind(df[c]) for c in df.columns}
    assert kinds == {
        "f": "numeric",
        "i": "numeric",
        "b": "categorical",
        "cat": "categorical",
        "s": "categorical",
        "o": "categorical",
        "t": "datetime",
    }
    prof = profile_frame(df)
    assert prof["i"].nulls == 1
    assert prof["t"].nulls == 1
    assert pd.Timestamp(int(prof["t"].min)) == pd.Timestamp("2024-01-01")


def test_type_change_leaves_counts_empty() -> None:
    ref = profile_frame(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    cur = profile_frame(pd.DataFrame({"x": ["1,0", "2,0"]}), edges=ref.edges())
    assert cur["x"].kind == "categorical"
    assert cur["x"].counts is None


def test_time_buckets() -> None:
    ts = pd.to_datetime(["2024-03-01 10:00", "2024-03-01 23:00", "2024-03-03 01:00", None])
    prof = profile_frame(pd.DataFrame({"ts": ts, "v": [1, 2, 3, 4]}), timestamp="ts", freq="D")
    assert prof.time_counts.tolist() == [2, 1]
    assert prof.time_counts.index[0] == pd.Timestamp("2024-03-01")
    with pytest.raises(InputError, match="timestamp column 'when'"):
        profile_frame(pd.DataFrame({"v": [1]}), timestamp="when")


def test_threads_give_the_same_profile(rng: np.random.Generator) -> None:
    df = pd.DataFrame({f"x{i}": rng.normal(size=1000) for i in range(6)})
    one = profile_frame(df, n_jobs=1)
    two = profile_frame(df, n_jobs=2)
    for name in df.columns:
        np.testing.assert_array_equal(one[name].counts, two[name].counts)
        np.testing.assert_array_equal(one[name].edges, two[name].edges)


def test_input_frame_is_not_modified(rng: np.random.Generator) -> None:
    df = pd.DataFrame({"x": rng.normal(size=100), "c": pd.Series(["a", None] * 50, dtype="str")})
    df.loc[3, "x"] = np.inf
    before = df.copy()
    profile_frame(df, timestamp=None)
    pd.testing.assert_frame_equal(df, before)


def test_bad_arguments_are_explained() -> None:
    with pytest.raises(InputError, match="expects a pandas DataFrame"):
        profile_frame([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="not in the table"):
        profile_frame(pd.DataFrame({"a": [1]}), columns=["b"])
    with pytest.raises(InputError, match="bins must be a positive integer"):
        profile_frame(pd.DataFrame({"a": [1]}), bins=0)
    with pytest.raises(InputError, match="Unknown profile engine"):
        profile_frame(pd.DataFrame({"a": [1]}), engine="spark")
    with pytest.raises(InputError, match="not in this profile"):
        profile_frame(pd.DataFrame({"a": [1]}))["b"]


def test_empty_frame_profiles_to_zero_counts() -> None:
    prof = profile_frame(pd.DataFrame({"x": pd.Series([], dtype=float)}))
    assert prof.n_rows == 0
    assert prof["x"].counts.tolist() == [0, 0]


def test_datetime_labels_are_readable() -> None:
    edges = np.array([pd.Timestamp("2024-01-01").value, pd.Timestamp("2024-01-02").value], float)
    labels = bin_labels("datetime", edges)
    assert labels[0] == "< 2024-01-01 00:00:00"
    assert labels[-2].startswith("> 2024-01-0")


def test_profile_pair_bins_the_current_on_the_reference_and_leaves_out_excluded() -> None:
    from toolkit.profile import profile_pair

    ref = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=50, freq="h"),
                        "x": np.arange(50.0), "only_ref": 1.0})
    cur = pd.DataFrame({"ts": pd.date_range("2024-02-01", periods=50, freq="h"),
                        "x": np.arange(50.0) + 100})
    rp, cp = profile_pair(ref, cur, exclude=["ts"])
    assert list(rp) == ["x", "only_ref"] and list(cp) == ["x"]
    assert np.array_equal(cp["x"].edges, rp["x"].edges)
    assert cp["x"].counts[-2] == 50  # every current value above the reference maximum
