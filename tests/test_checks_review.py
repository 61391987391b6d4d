"""Cases a review of the profile-based checks found: each failed before its fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import InputError, checks, drift
from toolkit.checks.missing import null_changes
from toolkit.checks.ranges import range_violations
from toolkit.checks.scale import unit_changes
from toolkit.checks.stuck import stuck_values
from toolkit.profile import profile_frame


def _frame(seed: int, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "ts": pd.Timestamp("2024-02-01") + pd.to_timedelta(np.sort(rng.uniform(0, 20 * 86400, n)),
                                                           unit="s"),
        "signup": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 400, n), unit="D"),
        "x": rng.uniform(0, 100, n),
        "channel": pd.Series(rng.choice(["app", "web"], n), dtype="str"),
    })


def test_a_date_column_stuck_on_one_day_is_reported() -> None:
    ref, cur = _frame(1), _frame(2)
    cur["signup"] = pd.Timestamp("2023-05-05")
    found = [f for f in stuck_values(ref, cur, timestamp="ts") if f.features == ("signup",)]
    assert [f.check for f in found] == ["stuck.constant"]


@pytest.mark.parametrize(("factor", "share"), [(2.54, 0.03), (1.609344, 0.06)])
def test_a_small_factor_on_the_last_rows_is_dated(factor: float, share: float) -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    ts = pd.Timestamp("2024-02-01") + pd.to_timedelta(np.arange(n) * 60, unit="s")
    ref = pd.DataFrame({"ts": ts - pd.Timedelta(days=30), "v": rng.lognormal(2, 1.5, n)})
    cur = pd.DataFrame({"ts": ts, "v": rng.lognormal(2, 1.5, n)})
    late = np.arange(n) >= n * (1 - share)
    cur.loc[late, "v"] *= factor
    found = checks.run_checks(ref, cur, timestamp="ts", families=["scale"])
    assert [(f.check, f.evidence["factor"]) for f in found] == [("scale.unit_change", factor)]
    assert found[0].evidence["since"] is not None
    assert unit_changes(ref, cur, timestamp="ts")[0].evidence["since"] == found[0].evidence["since"]


def test_profiles_not_binned_alike_do_not_hide_out_of_range_values() -> None:
    ref, cur = _frame(1), _frame(2)
    cur["x"] = cur["x"] * 2  # half the values above the reference maximum
    expected = [f.check for f in range_violations(ref, cur)]
    assert expected == ["ranges.out_of_range"]
    own_edges = (profile_frame(ref), profile_frame(cur))  # each binned on its own edges
    assert [f.check for f in range_violations(ref, cur, profiles=own_edges)] == expected
    partial = (profile_frame(ref, columns=["channel"]), profile_frame(cur, columns=["channel"]))
    assert [f.check for f in range_violations(ref, cur, profiles=partial)] == expected


def test_late_labels_with_their_companions_stay_apart() -> None:
    ref, cur = _frame(1), _frame(2)
    for df in (ref, cur):
        df["label"] = (df["x"] > 50).astype(float)
        df["label_at"] = df["ts"] + pd.Timedelta(days=3)
    late = cur.index[-800:]
    cur.loc[late, ["label", "label_at"]] = np.nan
    spikes = {f.features: f for f in null_changes(ref, cur, target="label")
              if f.check == "missing.null_spike"}
    assert set(spikes) == {("label",), ("label_at",)}
    found = checks.run_checks(ref, cur, timestamp="ts", target="label")
    label = next(f for f in found if f.features == ("label",))
    assert label.severity == "info"


def test_a_failing_drift_stage_leaves_the_checks_and_a_note(monkeypatch) -> None:
    ref, cur = _frame(1), _frame(2)
    cur["x"] = cur["x"] * 100

    def broken(*args, **kwargs):
        raise ValueError("numerical trouble")

    monkeypatch.setattr(drift, "feature_drift", broken)
    result = drift.check_windows(ref, cur, timestamp="ts")
    assert result.features is None
    assert any("Feature drift could not run" in n and "numerical trouble" in n
               for n in result.notes)
    assert any(f.check == "scale.unit_change" for f in result.checks)


def test_repeated_column_names_are_refused_by_name() -> None:
    ref = _frame(1)
    twice = pd.concat([ref, ref[["x"]]], axis=1)
    for call in (lambda: checks.run_checks(twice, ref), lambda: drift.check_windows(ref, twice)):
        with pytest.raises(InputError, match="more than one column named 'x'"):
            call()


def test_below_range_examples_survive_many_negatives() -> None:
    ref, cur = _frame(1), _frame(2)
    ref["x"] = ref["x"] + 10  # reference range [10, 110]
    cur.loc[cur.index[:40], "x"] = -5.0  # more negatives than the profile keeps as extremes
    cur.loc[cur.index[40:400], "x"] = 2.0  # and values below the reference minimum
    found = {f.check: f for f in range_violations(ref, cur)}
    ev = found["ranges.out_of_range"].evidence
    assert ev["share_below"] > 0
    assert ev["examples"] and 0 <= ev["examples"][0] < ev["reference_min"]
    assert found["ranges.negative_values"].evidence["examples"] == [-5.0]


def test_complex_codes_are_values_like_the_profiles_count_them() -> None:
    # The checks took complex columns for numbers (casting away the imaginary part,
    # with a ComplexWarning) while the profiles count their values: recoded complex
    # codes must be reported as remapped codes, and nothing cast.
    import warnings

    rng = np.random.default_rng(4)
    n = 3000
    ref = pd.DataFrame({"k": rng.choice([1 + 1j, 2 + 0j, 3 - 1j], n), "a": rng.normal(size=n)})
    cur = pd.DataFrame({"k": rng.choice([1 + 1j, 2 + 0j, 5 - 1j], n), "a": rng.normal(size=n)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        found = drift.check_windows(ref, cur).findings
    remapped = [f for f in found if f.check == "categories.remapped_codes"]
    assert [f.features for f in remapped] == [("k",)]
    assert not any(f.check == "scale.unit_change" for f in found)


def test_integer_column_names_with_a_timestamp() -> None:
    # A held-out tester: "TypeError: keywords must be strings" when the timestamp
    # column's name is an integer (a CSV read with header=None gives such names).
    rng = np.random.default_rng(0)
    n = 500

    def window(shift: float) -> pd.DataFrame:
        return pd.DataFrame({0: pd.date_range("2024-01-01", periods=n, freq="h").astype(str),
                             1: rng.normal(shift, 1, n), 2: rng.choice(["a", "b"], n)})

    ref, cur = window(0.0), window(1.0)
    kept = ref.copy()
    found = drift.check_windows(ref, cur, timestamp=0).findings
    assert [f.features for f in found if f.check == "drift.feature"] == [("1",)]
    pd.testing.assert_frame_equal(ref, kept)


def test_run_checks_takes_one_family_by_name_and_names_missing_segment_columns() -> None:
    # A held-out tester: families="schema" was read letter by letter ("Unknown check
    # families ['a', 'c', ...]"), and a segment column that does not exist was ignored.
    ref = _frame(1)
    assert checks.run_checks(ref, ref.copy(), families="schema") == []
    with pytest.raises(InputError, match=r"segment_columns \['nope'\] are not columns"):
        checks.run_checks(ref, ref.copy(), segment_columns=["channel", "nope"])


def test_lists_under_an_integer_column_name_are_compared_as_text() -> None:
    # The same 'keywords must be strings' as above, in the step that turns lists to text.
    from toolkit.checks._common import nested_pair

    ref = pd.DataFrame({0: [[1, 2], [3]] * 20, 1: np.arange(40.0)})
    out, _, nested = nested_pair(ref, ref.copy())
    assert nested == [0] and out[0].iloc[0] == "[1, 2]"
    assert isinstance(ref[0].iloc[0], list)  # the input is untouched
