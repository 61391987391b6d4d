"""Version comparison: planted regressions are localised, seeds are not regressions,
and the intervals agree with brute-force row bootstraps."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import precision_score, recall_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from toolkit import InputError, ModelError, to_json
from toolkit.versions import compare_data_versions
from toolkit.versions import compare_versions as _compare_versions

FEATURES = ["amount", "age", "score1", "score2", "noise", "channel", "region"]
REGRESSION = {
    "versions.metric_regression",
    "versions.segment_regression",
    "versions.feature_dropped",
}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # The gradient boosting models run OpenMP; on a shared 2-core machine one thread is
    # faster than oversubscription and keeps the module well under a minute.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def compare_versions(data, **kw):
    """Permutation attribution keeps this module fast; SHAP is tested once below."""
    kw.setdefault("attribution", "permutation")
    return _compare_versions(data, **kw)


def make_data(n: int, seed: int, *, regression: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, n),
            "age": rng.integers(18, 80, n).astype(float),
            "score1": rng.normal(size=n),
            "score2": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "channel": rng.choice(["app", "web", "store"], n, p=[0.3, 0.5, 0.2]),
            "region": rng.choice(["north", "south", "east", "west"], n),
        }
    )
    signal = (
        0.8 * df.score1 + 1.0 * df.score2 + 0.5 * np.log(df.amount) - 2.5 + 0.02 * (df.age - 50)
    )
    if regression:
        df["y"] = signal + rng.normal(0, 0.5, n)
    else:
        df["y"] = (rng.random(n) < 1 / (1 + np.exp(-signal))).astype(int)
    return df


def fit(df: pd.DataFrame, features: list[str], seed: int = 0, *, regression: bool = False):
    cats = [c for c in features if c in ("channel", "region")]
    encode = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan)
    est_cls = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
    est = est_cls(
        max_iter=60,
        random_state=seed,
        max_features=0.8,
        categorical_features=list(range(len(cats))) or None,
    )
    ct = ColumnTransformer([("cat", encode, cats)], remainder="passthrough")
    return make_pipeline(ct, est).fit(df[features], df["y"])


def break_segment(df: pd.DataFrame, mask: pd.Series, seed: int = 5) -> pd.DataFrame:
    out = df.copy()
    out.loc[mask, "y"] = np.random.default_rng(seed).permutation(out.loc[mask, "y"].to_numpy())
    return out


@pytest.fixture(scope="module")
def train():
    return make_data(8_000, 1)


@pytest.fixture(scope="module")
def test_data():
    return make_data(6_000, 2)


@pytest.fixture(scope="module")
def model_a(train):
    return fit(train, FEATURES, 0)


@pytest.fixture(scope="module")
def broken(train, test_data, model_a):
    model_b = fit(break_segment(train, train["channel"] == "web"), FEATURES, 0)
    return compare_versions(test_data, model_a=model_a, model_b=model_b, target="y")


# -------------------------------------------------------------------- planted cases


def test_version_trained_without_a_feature_is_localised_first(train, test_data, model_a):
    model_b = fit(train, [f for f in FEATURES if f != "score2"], 0)
    result = compare_versions(test_data, model_a=model_a, model_b=model_b, target="y")
    first = result.findings[0]
    assert first.check == "versions.feature_dropped"
    assert first.features == ("score2",)
    assert first.severity == "critical"
    assert first.evidence["share_b"] == 0.0
    checks = {f.check for f in result.findings}
    assert "versions.metric_regression" in checks


def test_shap_attribution_shows_the_dropped_feature(train, test_data, model_a):
    model_b = fit(train, [f for f in FEATURES if f != "score2"], 0)
    data = test_data.head(1_500)
    result = _compare_versions(data, model_a=model_a, model_b=model_b, target="y", n_bootstrap=0)
    assert set(result.attribution["method"]) == {"shap"}
    first = result.findings[0]
    assert first.check == "versions.feature_dropped"
    assert first.features == ("score2",)


def test_version_broken_on_one_segment_is_localised_first(broken, test_data):
    first = broken.findings[0]
    assert first.check == "versions.segment_regression"
    assert first.segment == "channel == 'web'"
    assert first.severity == "critical"
    assert first.evidence["support"] == int((test_data["channel"] == "web").sum())
    assert not any(f.segment and "region" in f.segment for f in broken.findings)


def test_two_seeds_on_the_same_data_raise_no_regression(train, test_data, model_a):
    model_b = fit(train, FEATURES, 1)
    result = compare_versions(test_data, model_a=model_a, model_b=model_b, target="y")
    assert all(f.severity == "info" for f in result.findings), [
        (f.check, f.severity, f.summary) for f in result.findings
    ]
    assert not (REGRESSION & {f.check for f in result.findings})
    assert result.slices is not None
    assert result.slices.table.empty


def test_without_labels_seed_churn_is_info_and_a_shifted_version_is_a_warning(
    train, test_data, model_a
):
    seed = compare_versions(test_data, model_a=model_a, model_b=fit(train, FEATURES, 1))
    assert seed.metrics.empty
    assert seed.slices is None
    assert [f.severity for f in seed.findings] == ["info"]
    assert seed.flip_rate["n_flips"] > 0
    shifted = fit(break_segment(train, train["channel"] == "web"), FEATURES, 0)
    result = compare_versions(test_data, model_a=model_a, model_b=shifted, threshold=0.4)
    flips = result.findings[0]
    assert flips.check == "versions.decision_flips"
    assert flips.severity == "warning"
    rate = result.flip_rate
    assert rate["net_change"] == pytest.approx((rate["up"] - rate["down"]) / len(test_data))
    assert rate["net_ci_high"] < 0


def test_identical_versions_have_no_deltas(test_data, model_a):
    result = compare_versions(test_data, model_a=model_a, model_b=model_a, target="y")
    assert result.delta_summary["mean_abs"] == 0.0
    assert result.flip_rate["n_flips"] == 0
    overall = result.metrics[result.metrics["column"] == "all rows"]
    assert np.allclose(overall["delta"], 0.0)
    assert (overall["status"] == "same").all()
    assert all(f.severity == "info" for f in result.findings)


# ------------------------------------------------------- same inputs, closed forms


def test_flips_and_threshold_rules(broken, test_data, model_a, train):
    assert broken.threshold_rule.startswith("version A flags the label prevalence")
    s_a = model_a.predict_proba(test_data[FEATURES])[:, 1]
    assert np.mean(s_a >= broken.threshold) == pytest.approx(test_data["y"].mean(), abs=0.002)
    flips = broken.flips.set_index(["a_decision", "b_decision"])["rows"]
    assert flips.sum() == len(test_data)
    assert broken.flip_rate["n_flips"] == flips[(0, 1)] + flips[(1, 0)]
    lo, hi = broken.flip_rate["ci_low"], broken.flip_rate["ci_high"]
    from scipy.stats import binomtest

    ref = binomtest(broken.flip_rate["n_flips"], len(test_data)).proportion_ci(method="wilson")
    assert (lo, hi) == pytest.approx((ref.low, ref.high), abs=1e-9)
    top = broken.top_flips
    assert len(top) == 20
    assert {"row", "score_a", "score_b", "delta", "label"} <= set(top.columns)
    assert (np.abs(top["delta"]).diff().dropna() <= 0).all()
    given = compare_versions(
        test_data, model_a=model_a, model_b=model_a, threshold=0.3, n_bootstrap=0
    )
    assert given.threshold == 0.3
    assert given.threshold_rule == "given"
    rate = compare_versions(test_data, model_a=model_a, model_b=model_a, decision_rate=0.1)
    assert rate.delta_summary["decision_rate_a"] == pytest.approx(0.1, abs=0.002)


def test_point_metrics_match_sklearn(broken, test_data, model_a):
    y = test_data["y"].to_numpy()
    s_a = model_a.predict_proba(test_data[FEATURES])[:, 1]
    m = broken.metrics
    web = (test_data["channel"] == "web").to_numpy()
    row = m[(m["segment"] == "channel == 'web'") & (m["metric"] == "auc")].iloc[0]
    assert row["a"] == pytest.approx(roc_auc_score(y[web], s_a[web]), abs=1e-12)
    pred = s_a >= broken.threshold
    for metric, fn in (("precision", precision_score), ("recall", recall_score)):
        row = m[(m["column"] == "all rows") & (m["metric"] == metric)].iloc[0]
        assert row["a"] == pytest.approx(fn(y, pred), abs=1e-12)


def _row_bootstrap(stat, n: int, reps: int = 250, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    values = [stat(rng.integers(0, n, n)) for _ in range(reps)]
    return tuple(np.quantile(values, [0.025, 0.975]))


def test_intervals_agree_with_a_brute_force_row_bootstrap(train, test_data, model_a):
    model_b = fit(train, FEATURES, 7)
    result = compare_versions(test_data, model_a=model_a, model_b=model_b, target="y")
    y = test_data["y"].to_numpy()
    s_a = model_a.predict_proba(test_data[FEATURES])[:, 1]
    s_b = model_b.predict_proba(test_data[FEATURES])[:, 1]
    ll = lambda s: -(y * np.log(s) + (1 - y) * np.log(1 - s))  # noqa: E731
    d_ll = ll(s_b) - ll(s_a)
    refs = {
        "auc": _row_bootstrap(
            lambda i: roc_auc_score(y[i], s_b[i]) - roc_auc_score(y[i], s_a[i]), len(y)
        ),
        "log_loss": _row_bootstrap(lambda i: d_ll[i].mean(), len(y)),
    }
    overall = result.metrics[result.metrics["column"] == "all rows"].set_index("metric")
    for metric, (lo, hi) in refs.items():
        got = overall.loc[metric]
        assert got["ci_high"] - got["ci_low"] == pytest.approx(hi - lo, rel=0.2), metric
        assert got["ci_low"] == pytest.approx(lo, abs=0.25 * (hi - lo)), metric


def test_calibration_and_attribution(broken):
    c = broken.calibration
    assert set(c["version"]) == {"A", "B"}
    for v in ("A", "B"):
        part = c[c["version"] == v]
        ece = float(np.sum(part["count"] * np.abs(part["mean_score"] - part["observed"])))
        assert broken.ece[v] == pytest.approx(ece / part["count"].sum())
    a = broken.attribution
    assert set(a["feature"]) == set(FEATURES)
    assert a["share_a"].sum() == pytest.approx(1.0)
    assert a["share_b"].sum() == pytest.approx(1.0)
    assert a.set_index("feature").loc["channel", "delta_share"] > 0  # B leans on channel now


def test_regression_models_compare_mae_and_rmse():
    train, data = make_data(6_000, 11, regression=True), make_data(4_000, 12, regression=True)
    a = fit(train, FEATURES, 0, regression=True)
    b = fit(break_segment(train, train["region"] == "east"), FEATURES, 0, regression=True)
    result = compare_versions(data, model_a=a, model_b=b, target="y")
    assert result.task == "regression"
    assert result.threshold is None
    assert result.flips.empty
    overall = result.metrics[result.metrics["column"] == "all rows"].set_index("metric")
    err_a = data["y"] - a.predict(data[FEATURES])
    assert overall.loc["rmse", "a"] == pytest.approx(np.sqrt(np.mean(err_a**2)))
    assert overall.loc["mae", "a"] == pytest.approx(np.mean(np.abs(err_a)))
    assert result.findings[0].segment == "region == 'east'"


# ------------------------------------------------------------------ output and input


def test_findings_are_json_ready_and_inputs_untouched(train, test_data, model_a):
    before = test_data.copy()
    model_b = fit(train, [f for f in FEATURES if f != "score2"], 0)
    result = compare_versions(test_data, model_a=model_a, model_b=model_b, target="y")
    pd.testing.assert_frame_equal(test_data, before)
    data = json.loads(to_json(result.findings))
    assert [f["rank"] for f in data["findings"]] == list(range(1, len(result.findings) + 1))
    assert all(f["layer"] == "model" and f["next_step"] for f in data["findings"])


def test_bad_inputs_raise_clear_errors(test_data, model_a):
    with pytest.raises(InputError, match="target column 'nope'"):
        compare_versions(test_data, model_a=model_a, model_b=model_a, target="nope")
    with pytest.raises(InputError, match="two classes"):
        compare_versions(test_data, model_a=model_a, model_b=model_a, target="age")
    with pytest.raises(InputError, match="non-empty DataFrame"):
        compare_versions(test_data.iloc[:0], model_a=model_a, model_b=model_a)
    reg = fit(make_data(500, 3, regression=True), FEATURES, regression=True)
    with pytest.raises(ModelError, match="same task"):
        compare_versions(test_data, model_a=model_a, model_b=reg)
    with pytest.raises(ModelError, match="needs columns"):
        compare_versions(test_data.drop(columns="score1"), model_a=model_a, model_b=model_a)


def test_plots_draw_every_result(broken, test_data, model_a):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toolkit.plots import versions as plots

    unlabeled = compare_versions(test_data, model_a=model_a, model_b=model_a, n_bootstrap=0)
    names = [
        "plot_score_deltas",
        "plot_flip_matrix",
        "plot_metric_deltas",
        "plot_calibration",
        "plot_attribution_deltas",
    ]
    for result in (broken, unlabeled):
        for name in names:
            fig = getattr(plots, name)(result)
            assert fig.axes
            plt.close(fig)
    fig, ax = plt.subplots()
    assert plots.plot_metric_deltas(broken, metric="log_loss", ax=ax) is fig
    plt.close(fig)


# ------------------------------------------------------------------------- the CLI


def test_cli_writes_ranked_findings_and_fails_cleanly(tmp_path, train, test_data, model_a, capsys):
    from toolkit.cli import main

    model_b = fit(break_segment(train, train["channel"] == "web"), FEATURES, 0)
    joblib.dump(model_a, tmp_path / "a.joblib")
    joblib.dump(model_b, tmp_path / "b.joblib")
    test_data.to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "out.json"
    args = [
        "compare",
        "--model-a",
        str(tmp_path / "a.joblib"),
        "--model-b",
        str(tmp_path / "b.joblib"),
        "--data",
        str(tmp_path / "data.csv"),
        "--json",
        str(out),
    ]
    assert main([*args, "--target", "y"]) == 0
    findings = json.loads(out.read_text())["findings"]
    assert findings[0]["segment"] == "channel == 'web'"
    assert findings[0]["rank"] == 1
    assert main([*args, "--target", "nope"]) == 2
    assert "target column 'nope'" in capsys.readouterr().err
    bad = [a if a != str(tmp_path / "b.joblib") else str(tmp_path / "missing.joblib") for a in args]
    assert main(bad) == 2
    assert "missing.joblib" in capsys.readouterr().err
    # The findings never overwrite the data, and a threshold no score reaches is refused.
    data = (tmp_path / "data.csv").read_bytes()
    onto_data = [*args[:-1], str(tmp_path / "data.csv")]
    assert main(onto_data) == 2 and "also an input" in capsys.readouterr().err
    assert (tmp_path / "data.csv").read_bytes() == data
    test_data.head(5).to_csv(tmp_path / "few.csv", index=False)
    few = [a if a != str(tmp_path / "data.csv") else str(tmp_path / "few.csv") for a in args]
    assert main(few) == 2 and "at least 30 rows" in capsys.readouterr().err
    for impossible in ("5", "nan"):
        assert main([*args, "--target", "y", "--threshold", impossible]) == 2
        assert "threshold must be a number within version A's scores" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_report_runs_the_template(tmp_path, train, test_data, model_a, capsys):
    from toolkit.cli import main

    joblib.dump(model_a, tmp_path / "a.joblib")
    joblib.dump(fit(train, FEATURES, 1), tmp_path / "b.joblib")
    data = test_data.head(2_000).copy()
    data.loc[data.index[:5], "region"] = "<script>alert(1)</script>"
    data.to_csv(tmp_path / "data.csv", index=False)
    code = main(
        [
            "compare",
            "--model-a",
            str(tmp_path / "a.joblib"),
            "--model-b",
            str(tmp_path / "b.joblib"),
            "--data",
            str(tmp_path / "data.csv"),
            "--target",
            "y",
            "--threshold",
            "0.4",
            "--json",
            str(tmp_path / "f.json"),
            "--report",
            "--reports-dir",
            str(tmp_path / "reports"),
        ]
    )
    assert code == 0
    run_dir = capsys.readouterr().out.strip().splitlines()[-1]
    from pathlib import Path

    run = Path(run_dir)
    assert (run / "report.html").is_file()
    assert (run / "findings.json").is_file()
    html = (run / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert json.loads((run / "findings.json").read_text())["findings"]


# ----------------------------------------------------------------- data versions


def test_data_versions_report_restated_values():
    old = make_data(2_000, 21).reset_index(names="id")
    new = old.copy()
    new.loc[new.index[:100], "amount"] = new.loc[new.index[:100], "amount"] * 2
    findings = compare_data_versions(old, new, key="id")
    changed = [f for f in findings if f.check == "versions.data_changed_values"]
    assert len(changed) == 1
    assert changed[0].features == ("amount",)
    assert changed[0].evidence["changed"] == 100
    assert changed[0].severity == "warning"
    same = compare_data_versions(old, old.copy(), key="id")
    assert not [f for f in same if f.check == "versions.data_changed_values"]
    with pytest.raises(InputError, match="key column 'nope'"):
        compare_data_versions(old, new, key="nope")


def test_text_labels_are_read_as_triage_reads_them(train, test_data, model_a):
    # A held-out tester: compare refused yes/no labels beside a 0/1 model
    # ("must hold the two classes"), which triage accepts.
    from toolkit.versions import compare_versions

    as_text = test_data.assign(y=np.where(test_data["y"] == 1, "yes", "no"))
    as_text.loc[as_text.index[:5], "y"] = None
    numeric = compare_versions(test_data, model_a=model_a, model_b=model_a, target="y")
    texted = compare_versions(as_text, model_a=model_a, model_b=model_a, target="y")
    auc = {r["metric"]: r for r in numeric.metrics.to_dict("records")}.get("auc")
    auc_text = {r["metric"]: r for r in texted.metrics.to_dict("records")}.get("auc")
    assert auc is not None and auc_text is not None
    assert abs(auc["a"] - auc_text["a"]) < 0.01


def test_rows_without_a_label_are_counted_not_dropped_in_silence(test_data, model_a):
    # A held-out tester: a third of the labels missing gave the same findings as none.
    missing = test_data.assign(y=test_data["y"].astype("float64"))
    missing.loc[missing.index[::3], "y"] = np.nan
    out = compare_versions(missing, model_a=model_a, model_b=model_a, target="y")
    [f] = [f for f in out.findings if f.check == "versions.unlabeled_rows"]
    n_missing = len(missing.index[::3])
    assert f.evidence["n_unlabeled"] == n_missing
    assert out.n_labeled == len(missing) - n_missing
    assert f"{n_missing:,} of {len(missing):,} rows" in f.summary
    full = compare_versions(test_data, model_a=model_a, model_b=model_a, target="y")
    assert not [f for f in full.findings if f.check == "versions.unlabeled_rows"]
    none = compare_versions(missing.assign(y=np.nan), model_a=model_a, model_b=model_a,
                            target="y")
    [g] = [f for f in none.findings if f.check == "versions.unlabeled_rows"]
    assert g.severity == "warning" and "no label metric can be computed" in g.summary
