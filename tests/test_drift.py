"""Tests of toolkit.drift: closed forms, independent references, planted cases."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from toolkit import InputError, rank_findings, to_json
from toolkit._drift_stats import bootstrap_psi, chi2_counts_test, delong_auc
from toolkit.drift import (
    benjamini_hochberg,
    domain_classifier,
    feature_drift,
    js_divergence,
    ks_statistic,
    noise_floor,
    prediction_drift,
    psi,
)
from toolkit.profile import profile_frame

# ---------------------------------------------------------------- pure helpers


def test_psi_of_identical_and_proportional_histograms_is_zero() -> None:
    assert psi([5, 0, 7, 3], [5, 0, 7, 3]) == 0.0
    assert psi([5, 1, 7, 3], [10, 2, 14, 6]) == pytest.approx(0.0, abs=1e-15)
    assert js_divergence([5, 0, 7], [5, 0, 7]) == 0.0


def test_psi_closed_form() -> None:
    # (0.4 - 0.6) ln(0.4/0.6) + (0.6 - 0.4) ln(0.6/0.4) = 0.4 ln 1.5
    assert psi([60, 40], [40, 60], smoothing=0) == pytest.approx(0.4 * np.log(1.5))
    assert psi([1, 0], [0, 1], smoothing=0) == np.inf
    assert np.isfinite(psi([1, 0], [0, 1]))


def test_js_matches_scipy_and_is_bounded() -> None:
    p, q = [10, 20, 30, 0], [30, 5, 0, 15]
    assert js_divergence(p, q) == pytest.approx(jensenshannon(p, q, base=2) ** 2)
    assert js_divergence(p, q, base=np.e) == pytest.approx(jensenshannon(p, q) ** 2)
    assert js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)


def test_ks_statistic_equals_scipy(rng: np.random.Generator) -> None:
    a = rng.normal(size=700)
    b = np.r_[rng.normal(0.3, 1.2, size=450), np.round(rng.normal(size=50), 1), [np.nan]]
    a[:40] = np.round(a[:40], 1)  # ties
    expected = stats.ks_2samp(a, b[~np.isnan(b)]).statistic
    assert ks_statistic(a, b) == pytest.approx(expected, abs=1e-15)


def test_benjamini_hochberg_matches_scipy(rng: np.random.Generator) -> None:
    p = rng.uniform(size=30) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p))
    with_nan = np.r_[p[:5], np.nan]
    assert np.isnan(benjamini_hochberg(with_nan)[-1])
    np.testing.assert_allclose(
        benjamini_hochberg(with_nan)[:5], stats.false_discovery_control(p[:5])
    )


def test_chi2_test_matches_scipy_and_drops_empty_bins() -> None:
    r, c = [10, 20, 0, 30], [30, 20, 0, 10]
    stat, dof, p = chi2_counts_test(r, c)
    ref = stats.chi2_contingency(np.array([[10, 20, 30], [30, 20, 10]]), correction=False)
    assert (stat, dof, p) == pytest.approx((ref.statistic, ref.dof, ref.pvalue))
    assert chi2_counts_test([5, 0], [9, 0]) == (0.0, 0, 1.0)


def test_delong_auc_matches_sklearn(rng: np.random.Generator) -> None:
    from sklearn.metrics import roc_auc_score

    y = rng.integers(0, 2, size=800)
    s = np.round(rng.normal(size=800) + 0.7 * y, 1)  # ties on purpose
    auc, low, high = delong_auc(y, s)
    assert auc == pytest.approx(roc_auc_score(y, s))
    assert low < auc < high


def test_noise_floor_is_the_mean_psi_under_no_change() -> None:
    rng = np.random.default_rng(1)
    p = np.full(10, 0.1)
    draws = [
        psi(rng.multinomial(1000, p), rng.multinomial(500, p), smoothing=0) for _ in range(2000)
    ]
    assert np.mean(draws) == pytest.approx(noise_floor(10, 1000, 500), rel=0.1)


def test_bootstrap_interval_covers_the_true_psi() -> None:
    rng = np.random.default_rng(3)
    p = np.array([0.05, 0.1, 0.15, 0.2, 0.2, 0.15, 0.1, 0.05])
    q = np.array([0.03, 0.07, 0.12, 0.18, 0.22, 0.18, 0.13, 0.07])
    truth = float(np.sum((q - p) * np.log(q / p)))
    hits = 0
    for seed in range(40):
        r, c = rng.multinomial(5000, p), rng.multinomial(5000, q)
        _, low, high = bootstrap_psi(r, c, n_boot=300, random_state=seed)
        hits += low <= truth <= high
    assert hits >= 34  # nominal 95%: at least 85% of 40


def test_bootstrap_removes_the_small_sample_bias() -> None:
    rng = np.random.default_rng(5)
    p = np.full(10, 0.1)
    naive, corrected = [], []
    for seed in range(30):
        r, c = rng.multinomial(100, p), rng.multinomial(100, p)
        naive.append(psi(r, c))
        corrected.append(bootstrap_psi(r, c, random_state=seed)[0])
    assert np.mean(naive) > 0.1  # a fixed PSI > 0.1 rule would flag pure noise
    assert np.mean(corrected) < np.mean(naive) / 2


_counts = st.lists(st.integers(0, 1000), min_size=1, max_size=15)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), ref=_counts)
def test_psi_and_js_properties(data: st.DataObject, ref: list[int]) -> None:
    cur = data.draw(st.lists(st.integers(0, 1000), min_size=len(ref), max_size=len(ref)))
    if sum(ref) == 0 or sum(cur) == 0:
        with pytest.raises(InputError, match="sums to 0"):
            psi(ref, cur)
        return
    assert psi(ref, cur) >= 0
    assert psi(ref, ref) == pytest.approx(0.0, abs=1e-12)
    js = js_divergence(ref, cur)
    assert 0.0 <= js <= 1.0
    assert js == pytest.approx(js_divergence(cur, ref), abs=1e-12)
    assert js_divergence(ref, cur, base=np.e) <= np.log(2) + 1e-12


@settings(max_examples=60, deadline=None)
@given(
    a=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40),
    b=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40),
)
def test_ks_statistic_property(a: list[float], b: list[float]) -> None:
    value = ks_statistic(a, b)
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(ks_statistic(b, a))
    with warnings.catch_warnings():  # scipy's p-value warns on one-value samples
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = stats.ks_2samp(a, b, method="asymp").statistic
    assert value == pytest.approx(expected, abs=1e-12)


# ------------------------------------------------------------------ Evidently


def evidently_psi(reference: pd.Series, current: pd.Series, n_bins: int = 30) -> float:
    """PSI computed the way Evidently's ``psi`` stattest computes it.

    Reproduced from ``evidently/calculations/stattests/psi.py`` and
    ``utils.get_binned_data`` (read, not imported):

    - a numeric column with more than 20 distinct reference values is binned on
      ``np.histogram_bin_edges(concat(reference, current), bins="sturges")``;
      any other column gets one bin per distinct value seen in either window;
    - shares are ``count / len(window)``;
    - an empty bin's share is replaced by ``0.0001`` (or by the smallest non-zero
      share / 10**6 when that share is <= 0.0001), separately per window;
    - ``PSI = sum((ref - cur) * ln(ref / cur))``.

    The fixed 0.0001 for an empty bin is what makes Evidently's PSI large on
    small samples: one value missing from a 3-row window weighs ln(3333).
    """
    if reference.nunique() > 20 and pd.api.types.is_numeric_dtype(reference):
        edges = np.histogram_bin_edges(pd.concat([reference, current]).to_numpy(), bins="sturges")
        ref = np.histogram(reference, edges)[0] / len(reference)
        cur = np.histogram(current, edges)[0] / len(current)
    else:
        keys = list(set(reference.dropna()) | set(current.dropna()))
        ref = np.array([(reference == k).sum() / len(reference) for k in keys])
        cur = np.array([(current == k).sum() / len(current) for k in keys])
    for shares in (ref, cur):
        smallest = shares[shares > 0].min()
        shares[shares == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def test_evidently_published_psi_is_reproduced_their_way() -> None:
    value = evidently_psi(pd.Series([3, 2, 2]), pd.Series([1, 2, 3]))
    assert round(value, 2) == 2.93
    # Our smoothing (half a count of the smaller window) keeps the same three rows
    # well below that, and the test says three rows cannot show drift at all.
    ours = psi([0, 2, 1], [1, 1, 1])
    assert ours < 0.5
    result = feature_drift(pd.DataFrame({"x": [3, 2, 2]}), pd.DataFrame({"x": [1, 2, 3]}))
    assert result.findings == [] and result.table.empty
    assert "too few rows to measure drift" in result.skipped.loc[0, "reason"]
    # A held-out tester's one-row reference gave "PSI 0.67 (95% CI 0.66-0.67)", critical.
    rng = np.random.default_rng(0)
    one = feature_drift(pd.DataFrame({"x": [5.0]}), pd.DataFrame({"x": rng.normal(size=500)}))
    assert one.findings == [] and "at least 30" in one.skipped.loc[0, "reason"]


# ------------------------------------------------------------- feature_drift


def _window(n: int, seed: int, *, ids: bool = False) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    amount = r.lognormal(3, 1, n)
    amount[r.random(n) < 0.05] = np.nan
    frame = {
        "amount": amount,
        "score": r.normal(0, 1, n),
        "visits": r.poisson(2, n),
        "channel": pd.Series(
            r.choice(np.array(["app", "web", "store", "phone"]), n, p=[0.5, 0.3, 0.15, 0.05]),
            dtype="str",
        ),
        "member": r.random(n) < 0.3,
    }
    if ids:
        frame["user_id"] = pd.Series(r.permutation(n) + seed * n).astype("str")
    return pd.DataFrame(frame)


def test_two_large_samples_of_one_population_raise_nothing() -> None:
    ref, cur = _window(1_000_000, 1, ids=True), _window(1_000_000, 2, ids=True)
    result = feature_drift(ref, cur)
    assert result.findings == []
    assert not result.table["drifted"].any()
    assert result.table["high"].max() < 0.01
    assert set(result.table["feature"]) == set(ref.columns)
    assert result.table.set_index("feature").loc["user_id", "effect"] < 0.01
    domain = domain_classifier(ref, cur, sample_size=5000)
    assert domain.findings[0].severity == "info"
    assert domain.low < 0.55


def test_small_samples_of_one_population_raise_nothing() -> None:
    flagged = 0
    for seed in range(15):
        result = feature_drift(_window(150, 100 + seed), _window(150, 200 + seed))
        flagged += len(result.findings)
    assert flagged == 0


def test_many_rare_categories_do_not_look_like_drift() -> None:
    # A top-k chosen among values seen a few times each would hold the values the
    # reference happened to draw more often, and all of them would seem to fall.
    r = np.random.default_rng(6)
    cats = np.array([f"c{i}" for i in range(1000)])
    for n in (2000, 20_000):
        ref = pd.DataFrame({"c": pd.Series(r.choice(cats, n), dtype="str")})
        cur = pd.DataFrame({"c": pd.Series(r.choice(cats, n), dtype="str")})
        assert feature_drift(ref, cur).table.loc[0, "effect"] < 0.02


def test_planted_shifts_are_flagged_and_ranked_by_size(rng: np.random.Generator) -> None:
    n = 20_000
    ref = _window(n, 11)
    cur = _window(n, 12)
    cur["amount"] = cur["amount"] * 100  # a unit change
    cur["score"] = cur["score"] + 1.0  # PSI about 1
    cur["visits"] = rng.poisson(2.9, n)  # a moderate shift
    cur["channel"] = pd.Series(
        rng.choice(np.array(["app", "web", "store", "phone"]), n, p=[0.3, 0.35, 0.2, 0.15]),
        dtype="str",
    )
    result = feature_drift(ref, cur)
    flagged = result.table[result.table["drifted"]]["feature"].tolist()
    assert flagged == ["amount", "score", "visits", "channel"]
    assert not result.table.set_index("feature").loc["member", "drifted"]
    ranked = [f.features[0] for f in rank_findings(result.findings)]
    assert ranked == flagged
    by_name = {f.features[0]: f for f in result.findings}
    assert by_name["amount"].severity == "critical"
    assert by_name["channel"].severity == "warning"
    assert by_name["amount"].evidence["top_bins"]["bin"].iloc[0].startswith(">")
    assert by_name["score"].evidence["shift"] == pytest.approx(1.0, abs=0.05)
    assert all(f.layer == "population" and f.check == "drift.feature" for f in result.findings)
    payload = json.loads(to_json(result.findings))
    assert payload["findings"][0]["evidence"]["column"] == "amount"


def test_edge_cases_infinities_nulls_and_missing_columns() -> None:
    n = 4000
    r = np.random.default_rng(0)
    ref = pd.DataFrame(
        {
            "x": r.normal(size=n),
            "empty": np.full(n, np.nan),
            "gone": r.normal(size=n),
            "when": pd.date_range("2024-01-01", periods=n, freq="min"),
            "typed": r.normal(size=n),
            "cat": pd.Categorical(r.choice(["a", "b"], n)),
        }
    )
    x = r.normal(size=n)
    x[: n // 10] = np.inf
    cur = pd.DataFrame(
        {
            "x": x,
            "empty": np.full(n, np.nan),
            "new": r.normal(size=n),
            "when": pd.date_range("2024-02-01", periods=n, freq="min"),
            "typed": pd.Series(r.normal(size=n).astype(str), dtype="str"),
            "cat": pd.Categorical(r.choice(["a", "b"], n)),
        }
    )
    before = (ref.copy(), cur.copy())
    result = feature_drift(ref, cur)
    pd.testing.assert_frame_equal(ref, before[0])
    pd.testing.assert_frame_equal(cur, before[1])
    table = result.table.set_index("feature")
    assert table.loc["x", "drifted"]
    assert result.bins["x"].set_index("bin")["current_share"].iloc[-2] == pytest.approx(
        0.1, abs=0.005
    )
    assert table.loc["empty", "effect"] == 0.0
    assert not table.loc["empty", "drifted"]
    assert not table.loc["cat", "drifted"]
    reasons = dict(zip(result.skipped["feature"], result.skipped["reason"]))
    assert set(reasons) == {"gone", "new", "when", "typed"}
    assert "schema" in reasons["gone"]
    assert "type changed" in reasons["typed"]
    assert "time" in reasons["when"]


def test_profiles_are_accepted_and_give_the_same_answer() -> None:
    ref, cur = _window(3000, 1), _window(3000, 2)
    cur["score"] += 0.8
    from_frames = feature_drift(ref, cur, random_state=4)
    pr = profile_frame(ref)
    pc = profile_frame(cur, edges=pr.edges())
    from_profiles = feature_drift(pr, pc, random_state=4)
    pd.testing.assert_frame_equal(from_frames.table, from_profiles.table)
    other = profile_frame(cur.assign(score=cur["score"] * 2))  # its own edges
    skipped = feature_drift(pr, other).skipped
    assert "other edges" in " ".join(skipped["reason"])


def test_bad_inputs_are_explained() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(InputError, match="current window has no rows"):
        feature_drift(df, df.iloc[:0])
    with pytest.raises(InputError, match=r"DataFrame or a toolkit\.profile\.Profile"):
        feature_drift(df, [1, 2])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="threshold"):
        feature_drift(df, df, threshold=0)
    with pytest.raises(InputError, match="neither window"):
        feature_drift(df, df, columns=["nope"])
    with pytest.raises(InputError, match="reference window must be a non-empty"):
        domain_classifier(df.iloc[:0], df)


# ---------------------------------------------------------- prediction_drift


def test_prediction_drift_reports_direction_and_interval() -> None:
    r = np.random.default_rng(9)
    ref, cur = r.beta(2, 5, 50_000), r.beta(2.6, 5, 50_000)
    result = prediction_drift(ref, cur, name="fraud_score")
    s = result.stats
    true_delta = 2.6 / 7.6 - 2 / 7
    assert s["delta_low"] < true_delta < s["delta_high"]
    assert s["direction"] == "higher"
    assert s["drifted"]
    (finding,) = result.findings
    assert finding.check == "drift.prediction"
    assert finding.severity in {"warning", "critical"}
    assert "rose" in finding.summary
    assert s["ks"] == pytest.approx(stats.ks_2samp(ref, cur).statistic)
    json.loads(to_json(result.findings))


def test_prediction_drift_is_quiet_on_one_population() -> None:
    r = np.random.default_rng(10)
    scores = pd.Series(np.r_[r.beta(2, 5, 200_000), [np.nan] * 10])
    result = prediction_drift(scores, r.beta(2, 5, 200_000))
    assert not result.stats["drifted"]
    assert result.findings[0].severity == "info"
    assert result.stats["missing_reference"] == 10


def test_prediction_drift_rejects_unusable_scores() -> None:
    with pytest.raises(InputError, match="must be numbers"):
        prediction_drift(pd.Series(["a", "b"]), [0.1, 0.2])
    with pytest.raises(InputError, match="no finite value"):
        prediction_drift([0.1, 0.2], [np.nan, np.nan])


# --------------------------------------------------------- domain_classifier


def test_domain_classifier_finds_the_driving_column() -> None:
    r = np.random.default_rng(2)
    n = 3000
    ref = pd.DataFrame({"a": r.normal(size=n), "b": r.normal(size=n), "t": pd.Timestamp(0)})
    cur = pd.DataFrame({"a": r.normal(2, 1, n), "b": r.normal(size=n), "t": pd.Timestamp(1)})
    cur["c"] = "only here"
    result = domain_classifier(ref, cur, sample_size=2000)
    assert result.auc > 0.8
    assert result.importance["feature"].iloc[0] == "a"
    assert result.findings[0].severity == "critical"
    assert result.findings[0].features[0] == "a"
    assert result.columns == ["a", "b"]
    assert "t" in set(result.skipped["feature"])


def test_domain_classifier_sees_a_change_no_single_column_shows() -> None:
    r = np.random.default_rng(3)
    n = 4000
    ref = pd.DataFrame({"x": r.normal(size=n), "y": r.normal(size=n)})
    x = r.normal(size=n)
    cur = pd.DataFrame({"x": x, "y": 0.9 * x + np.sqrt(1 - 0.81) * r.normal(size=n)})
    assert feature_drift(ref, cur).findings == []
    result = domain_classifier(ref, cur, sample_size=n)
    assert result.low > 0.6
    assert result.findings[0].severity in {"warning", "critical"}


def test_domain_classifier_handles_categories_and_missing_values() -> None:
    r = np.random.default_rng(4)
    n = 2000
    ids = pd.Series(np.arange(n).astype(str), dtype="str")
    ref = pd.DataFrame({"id": ids, "c": pd.Series(r.choice(["p", "q", None], n), dtype="str")})
    cur = pd.DataFrame({"id": ids, "c": pd.Series(r.choice(["p", "q", "new"], n), dtype="str")})
    ref["v"] = r.normal(size=n)
    ref.loc[:10, "v"] = np.inf
    cur["v"] = r.normal(size=n)
    result = domain_classifier(ref, cur, sample_size=n, random_state=1)
    assert result.low > 0.6
    assert result.importance["feature"].iloc[0] == "c"


# ------------------------------------------------------------------- odd cases


def test_no_columns_and_non_string_column_names() -> None:
    df = pd.DataFrame({0: [1.0, 2.0, 3.0] * 20, 1: ["a", "b", "a"] * 20})
    result = feature_drift(df, df)
    assert list(result.table["feature"]) == [0, 1]
    assert result.findings == []
    empty = feature_drift(df, df, columns=[])
    assert empty.table.empty
    assert empty.findings == []


def test_plots_draw_from_results() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toolkit.plots import drift as drift_plots

    r = np.random.default_rng(8)
    ref = pd.DataFrame({"a": r.normal(size=2000), "c": r.choice(["x", "y"], 2000)})
    cur = pd.DataFrame({"a": r.normal(1, 1, 2000), "c": r.choice(["x", "y"], 2000)})
    result = feature_drift(ref, cur)
    figs = [
        drift_plots.plot_feature_drift(result),
        drift_plots.plot_bin_shares(result, "a"),
        drift_plots.plot_prediction_drift(prediction_drift(ref["a"], cur["a"])),
        drift_plots.plot_domain_classifier(domain_classifier(ref, cur, sample_size=1000)),
    ]
    assert all(len(f.axes) == 1 for f in figs)
    _, ax = plt.subplots()
    assert drift_plots.plot_bin_shares(result, "c", ax=ax) is ax.figure
    with pytest.raises(InputError, match="No bins for 'zzz'"):
        drift_plots.plot_bin_shares(result, "zzz")
    plt.close("all")


def test_feature_drift_plot_says_which_columns_moved_by_missing_values_only() -> None:
    # A column whose shares moved only through its new nulls is not drift (the missing
    # values check reports it): the plot draws it hollow and its legend says why.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toolkit.plots import drift as drift_plots

    r = np.random.default_rng(9)
    n = 4000
    ref = pd.DataFrame({"holes": r.normal(size=n), "moved": r.normal(size=n)})
    cur = pd.DataFrame({"holes": np.where(r.random(n) < 0.3, np.nan, r.normal(size=n)),
                        "moved": r.normal(1, 1, n)})
    result = feature_drift(ref, cur)
    fig = drift_plots.plot_feature_drift(result)
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert any("missing values only" in t for t in labels)
    assert any(t == "critical drift" or t == "drift" for t in labels)
    from matplotlib.collections import PathCollection

    points = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)
              and len(c.get_offsets())]
    hollow = [c for c in points if (c.get_facecolor() == 1).all()]  # white inside
    assert len(hollow) == 1 and len(hollow[0].get_offsets()) == 1
    plt.close("all")


def test_sequential_identifiers_are_not_reported_as_drift() -> None:
    r = np.random.default_rng(12)
    n = 5000
    ref = pd.DataFrame({"txn_id": np.arange(n) + 10**6, "x": r.normal(size=n)})
    cur = pd.DataFrame({"txn_id": np.arange(n) + 10**6 + n, "x": r.normal(size=n)})
    result = feature_drift(ref, cur)
    assert result.findings == []
    assert "sequential" in result.skipped.set_index("feature").loc["txn_id", "reason"]
    domain = domain_classifier(ref, cur, sample_size=2000)
    assert domain.columns == ["x"]
    assert domain.findings[0].severity == "info"
    # A unit change of a wide-ranging amount is still drift, not an identifier.
    amount = np.round(r.lognormal(3, 1, n))
    scaled = feature_drift(pd.DataFrame({"a": amount}), pd.DataFrame({"a": amount * 100}))
    assert scaled.findings[0].severity == "critical"


def test_a_null_spike_alone_is_not_population_drift(rng: np.random.Generator) -> None:
    n = 20_000
    ref = pd.DataFrame({"charge": rng.gamma(2, 30, n), "other": rng.normal(size=n)})
    cur = pd.DataFrame({"charge": rng.gamma(2, 30, n), "other": rng.normal(size=n)})
    cur.loc[: n // 8, "charge"] = np.nan
    row = feature_drift(ref, cur).table.set_index("feature").loc["charge"]
    assert row["low"] > 0.1  # the missing cell moved a lot ...
    assert row["effect_present"] < 0.01  # ... the present values did not
    assert not row["drifted"]
    cur.loc[n // 2 :, "charge"] *= 3  # a real shift on top of the nulls is still drift
    result = feature_drift(ref, cur)
    assert result.findings[0].features == ("charge",)
    assert "on present values, missing 0.0% to 12.5%" in result.findings[0].summary
