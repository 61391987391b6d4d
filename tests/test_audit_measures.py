"""Audit measures and objectives on planted frames, against closed forms and scipy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit import Finding
from toolkit._audit_checks import CHECK_RUNNERS, _CheckRun
from toolkit._audit_config import Window, parse_config
from toolkit.audit import evaluate, evaluate_config, measure_table, summary_text

UTC = dt.UTC
WINDOW = Window(dt.datetime(2024, 3, 10, tzinfo=UTC), dt.datetime(2024, 3, 11, tzinfo=UTC))


def frame(n: int, *, seed: int, start: str, days: int = 1, null_x: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    label = (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)
    score = 1 / (1 + np.exp(-(2 * x + rng.normal(scale=0.7, size=n))))
    x[rng.random(n) < null_x] = np.nan
    ts = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, 86400 * days, n), unit="s")
    return pd.DataFrame({"ts": ts.strftime("%Y-%m-%dT%H:%M:%S"), "x": x,
                         "channel": rng.choice(["web", "app"], n), "score": score,
                         "label": label})


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    frame(700, seed=1, start="2024-03-03", days=7).to_csv(tmp_path / "ref-week.csv", index=False)
    frame(300, seed=2, start="2024-03-10", null_x=0.2).to_csv(tmp_path / "day.csv", index=False)
    return tmp_path


def config(folder: Path, objectives: list[dict], **extra):
    raw = {"name": "t", "data": "*.csv", "timestamp": "ts", "window": "yesterday",
           "reference": {"trailing": "7d"}, "prediction": "score", "target": "label",
           "checks": [], "objectives": objectives} | extra
    return parse_config(raw, base_dir=folder)


def test_measures_match_closed_forms_and_scipy(data_dir: Path) -> None:
    cfg = config(data_dir, [
        {"name": "nulls", "measure": "missing.x.null_rate", "max": 0.5},
        {"name": "auc", "measure": "quality.auc", "min": 0.5},
        {"name": "app", "measure": "segment.channel == 'app'.auc", "min": 0.5},
        {"name": "ratio", "measure": "volume.ratio", "min": 0.5},
        {"name": "shift", "measure": "prediction.mean_change", "max": 1},
    ])
    result = evaluate_config(cfg, now="2024-03-11T01:00")
    cur = pd.read_csv(data_dir / "day.csv")
    ref = pd.read_csv(data_dir / "ref-week.csv")
    m = result.measures
    assert m["volume.rows"] == 300
    assert m["missing.x.null_rate"] == pytest.approx(cur["x"].isna().mean())
    u = stats.mannwhitneyu(cur.loc[cur.label == 1, "score"], cur.loc[cur.label == 0, "score"])
    n1, n0 = (cur.label == 1).sum(), (cur.label == 0).sum()
    assert m["quality.auc"] == pytest.approx(u.statistic / (n1 * n0))
    app = cur[cur.channel == "app"]
    u_app = stats.mannwhitneyu(app.loc[app.label == 1, "score"], app.loc[app.label == 0, "score"])
    assert m["segment.channel == 'app'.auc"] == pytest.approx(
        u_app.statistic / ((app.label == 1).sum() * (app.label == 0).sum()))
    assert m["volume.ratio"] == pytest.approx(300 / (700 / 7))
    assert m["prediction.mean_change"] == pytest.approx(cur.score.mean() - ref.score.mean())
    assert result.status == "passed"
    assert result.breached == []
    assert "PASSED" in summary_text(result)


def test_breach_boundaries_and_finding(data_dir: Path) -> None:
    cur = pd.read_csv(data_dir / "day.csv")
    rate = float(cur["x"].isna().mean())
    cfg = config(data_dir, [
        {"name": "at-max", "measure": "missing.x.null_rate", "max": rate},
        {"name": "over", "measure": "missing.x.null_rate", "max": rate - 0.01,
         "severity": "critical"},
        {"name": "rows-floor", "measure": "volume.rows", "min": 301},
    ])
    result = evaluate_config(cfg, now="2024-03-11T01:00")
    status = {r.objective.name: r.status for r in result.objectives}
    assert status == {"at-max": "met", "over": "breached", "rows-floor": "breached"}
    assert result.breached == ["over", "rows-floor"]
    objective_findings = [f for f in result.findings if f.check == "audit.objective"]
    assert {f.evidence["objective"] for f in objective_findings} == {"over", "rows-floor"}
    over = next(f for f in objective_findings if f.evidence["objective"] == "over")
    assert over.severity == "critical"
    assert over.features == ("x",)
    assert over.layer == "data"
    assert over.evidence["value"] == pytest.approx(rate)
    assert result.findings[0] is not None
    assert result.findings[0].rank == 1
    assert "BREACHED: over, rows-floor" in summary_text(result)


def test_unavailable_measure_breaches_only_when_required(tmp_path: Path) -> None:
    frame(50, seed=3, start="2024-03-10").drop(columns=["label"]).to_csv(
        tmp_path / "d.csv", index=False)
    cfg = config(tmp_path, [
        {"name": "auc", "measure": "quality.auc", "min": 0.6},
        {"name": "soft", "measure": "missing.gone.null_rate", "max": 0.1, "required": False},
    ])
    result = evaluate_config(cfg, now="2024-03-11")
    auc, soft = result.objectives
    assert auc.status == "unavailable"
    assert auc.breached
    assert "target column 'label' is not in the current window" in auc.reason
    assert soft.status == "unavailable"
    assert not soft.breached
    assert result.breached == ["auc"]
    table = measure_table(result)
    assert table.set_index("measure").loc["quality.auc", "unavailable"] == auc.reason


def test_empty_window_measures_zero_rows_and_breaches(data_dir: Path) -> None:
    cfg = config(data_dir, [{"name": "rows", "measure": "volume.rows", "min": 1},
                            {"name": "auc", "measure": "quality.auc", "min": 0.5}])
    result = evaluate_config(cfg, now="2024-04-20T01:00")
    assert result.measures["volume.rows"] == 0
    assert result.breached == ["rows", "auc"]


def test_inputs_are_not_modified_and_model_scores_fill_in(tmp_path: Path) -> None:
    import joblib
    from sklearn.linear_model import LogisticRegression

    ref = frame(400, seed=4, start="2024-03-03", days=7)
    cur = frame(200, seed=5, start="2024-03-10")
    model = LogisticRegression().fit(ref[["x"]].fillna(0), ref["label"])
    joblib.dump(model, tmp_path / "m.joblib")
    pd.concat([ref, cur]).to_csv(tmp_path / "all.csv", index=False)
    cfg = config(tmp_path, [{"name": "mean", "measure": "prediction.mean", "max": 1}],
                 prediction="not_logged", model="m.joblib")
    before = cur.copy()
    result = evaluate(cfg, ref, cur, window=WINDOW)
    pd.testing.assert_frame_equal(cur, before)
    expected = model.predict_proba(cur[["x"]])[:, 1].mean()
    assert result.measures["prediction.mean"] == pytest.approx(expected)


def test_check_findings_feed_measures_and_a_broken_check_is_reported(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = [Finding(check="demo.one", layer="data", summary="s", severity="critical"),
               Finding(check="demo.two", layer="data", summary="s", severity="warning")]
    monkeypatch.setitem(CHECK_RUNNERS, "data", lambda ctx: _CheckRun(list(planted)))
    cfg = config(data_dir, [{"name": "crit", "measure": "findings.critical_count", "max": 0},
                            {"name": "one", "measure": "findings.check.demo.one.count",
                             "max": 5}], checks=["data"])
    result = evaluate_config(cfg, now="2024-03-11T01:00")
    assert result.measures["findings.critical_count"] == 1
    assert result.measures["findings.warning_count"] == 1
    # Within a severity (the objective is a warning), what a check found (a cause)
    # ranks above the breach (a symptom).
    assert [f.check for f in result.findings] == ["demo.one", "demo.two", "audit.objective"]
    assert result.measures["findings.check.demo.one.count"] == 1
    assert result.breached == ["crit"]

    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setitem(CHECK_RUNNERS, "data", broken)
    result = evaluate_config(cfg, now="2024-03-11T01:00")
    assert result.objectives[0].status == "unavailable"
    assert "the data check could not run: RuntimeError: boom" in result.objectives[0].reason
    failed = [f for f in result.findings if f.check == "audit.check_failed"]
    assert len(failed) == 1
    assert failed[0].evidence["check"] == "data"


def test_same_population_meets_reasonable_objectives(tmp_path: Path) -> None:
    ref = frame(14000, seed=6, start="2024-03-03", days=7)
    cur = frame(2000, seed=7, start="2024-03-10")
    pd.concat([ref, cur]).to_csv(tmp_path / "all.csv", index=False)
    cfg = config(tmp_path, [
        {"name": "auc-drop", "measure": "quality.auc_change", "min": -0.05},
        {"name": "mean-shift", "measure": "prediction.mean_change", "min": -0.05, "max": 0.05},
        {"name": "nulls", "measure": "missing.x.null_rate_change", "max": 0.02},
        {"name": "volume", "measure": "volume.ratio", "min": 0.5, "max": 2},
    ])
    assert evaluate_config(cfg, now="2024-03-11T00:30").breached == []


def test_drift_and_data_checks_feed_measures(tmp_path: Path) -> None:
    ref = frame(2800, seed=8, start="2024-03-03", days=7)
    cur = frame(400, seed=9, start="2024-03-10", null_x=0.4)
    pd.concat([ref, cur]).to_csv(tmp_path / "all.csv", index=False)
    objectives = [{"name": "drift", "measure": "drift.max_effect", "max": 0.25},
                  {"name": "x", "measure": "drift.feature.x.effect", "max": 0.25},
                  {"name": "scores", "measure": "drift.prediction.effect", "max": 0.25},
                  {"name": "nothing-critical", "measure": "findings.critical_count", "max": 0}]
    cfg = config(tmp_path, objectives, checks=["data", "drift"])
    result = evaluate_config(cfg, now="2024-03-11T00:30")
    assert result.breached == ["drift", "x", "nothing-critical"]
    assert result.measures["drift.max_effect"] == result.measures["drift.feature.x.effect"]
    planted = [f for f in result.findings if "x" in f.features and f.check != "audit.objective"]
    # Drift measures the effect (above); the finding belongs to the missing-value check,
    # since drift leaves a change that is only in the missing cell to it.
    assert "missing.null_spike" in {f.check for f in planted}
    # The window before has no planted change: every objective holds.
    clean = evaluate_config(cfg, now="2024-03-10T00:30")
    assert clean.breached == []
    assert clean.measures["findings.critical_count"] == 0


@pytest.mark.parametrize("kind", ["epoch_seconds", "epoch_ms", "mixed_text", "aware_text"])
def test_timestamps_in_other_forms_cut_the_same_window(tmp_path: Path, kind: str) -> None:
    df = frame(300, seed=10, start="2024-03-09", days=2)
    times = pd.to_datetime(df["ts"], utc=True)
    since_epoch = times - pd.Timestamp("1970-01-01", tz="UTC")
    if kind == "epoch_seconds":
        df["ts"] = since_epoch // pd.Timedelta(seconds=1)
    elif kind == "epoch_ms":
        df["ts"] = since_epoch // pd.Timedelta(milliseconds=1)
    elif kind == "mixed_text":
        df["ts"] = [t.strftime("%Y-%m-%d %H:%M:%S" if i % 2 else "%Y-%m-%dT%H:%M:%S")
                    for i, t in enumerate(times)]
    else:
        df["ts"] = times.dt.tz_convert("Europe/Paris").astype(str)
    df.to_csv(tmp_path / "d.csv", index=False)
    cfg = config(tmp_path, [{"name": "rows", "measure": "volume.rows", "min": 1}])
    result = evaluate_config(cfg, now="2024-03-11T01:00")
    expected = int(((times >= "2024-03-10") & (times < "2024-03-11")).sum())
    assert result.measures["volume.rows"] == expected
    assert 100 < expected < 200


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_only_files_with_rows_in_the_windows_are_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    import toolkit.io

    for day in range(1, 11):
        df = frame(50, seed=day, start=f"2024-03-{day:02d}")
        path = tmp_path / f"d{day:02d}.{suffix}"
        df.to_parquet(path) if suffix == "parquet" else df.to_csv(path, index=False)
    read = []
    original = toolkit.io.read_table

    def spy(path, **kwargs):
        read.append(Path(path).name)
        return original(path, **kwargs)

    monkeypatch.setattr(toolkit.io, "read_table", spy)
    cfg = config(tmp_path, [{"name": "rows", "measure": "volume.rows", "min": 1}],
                 data=f"*.{suffix}", reference={"trailing": "2d"})
    result = evaluate_config(cfg, now="2024-03-08T06:00")
    assert sorted(read) == [f"d{d:02d}.{suffix}" for d in (5, 6, 7)]
    assert result.rows == {"reference": 100, "current": 50}
    # A window with no data keeps the columns: measures say "no rows", not "no column".
    empty = evaluate_config(cfg, now="2024-05-01T06:00")
    assert empty.measures["volume.rows"] == 0
    assert empty.unavailable["missing.max_null_rate"] == "the current window has no rows"


def test_a_missing_timestamp_column_names_the_file(tmp_path: Path) -> None:
    from toolkit import InputError

    frame(20, seed=1, start="2024-03-10").drop(columns="ts").to_csv(tmp_path / "a.csv")
    cfg = config(tmp_path, [{"name": "rows", "measure": "volume.rows", "min": 1}])
    with pytest.raises(InputError, match=r"timestamp column 'ts' is not in the audit data file"):
        evaluate_config(cfg, now="2024-03-11")


@pytest.mark.parametrize(("extra", "objective", "named", "hint"), [
    ({"prediction": "scor", "target": "lable"}, "volume.rows", "'scor' in 'prediction:'",
     "'score'"),
    ({"target": "lable"}, "volume.rows", "'lable' in 'target:'", "'label'"),
    ({}, "missing.cahnnel.null_rate", "'cahnnel' in the measure of objective 'o'", "'channel'"),
])
def test_a_column_no_data_file_holds_is_a_config_typo(data_dir: Path, extra, objective,
                                                      named, hint) -> None:
    # A held-out tester: misspelt columns in the config made the audit "BREACHED"
    # (a page at night) or passed unnoticed; the config is what needs fixing.
    from toolkit import ConfigError

    cfg = config(data_dir, [{"name": "o", "measure": objective, "max": 1}], **extra)
    with pytest.raises(ConfigError, match="names columns the data read") as caught:
        evaluate_config(cfg, now="2024-03-11T01:00")
    assert named in str(caught.value)
    assert f"(did you mean {hint}?)" in str(caught.value)
    if "target" in extra:  # every typo at once, not one a run
        assert "'lable' in 'target:' (did you mean 'label'?)" in str(caught.value)


def test_a_sibling_column_is_no_typo(tmp_path: Path) -> None:
    # A reviewer: 'label' missing beside 'label_ts', or a dropped 'x_12' beside 'x_13',
    # are the data's news (labels not in yet, a column lost), not misspellings.
    df = frame(300, seed=2, start="2024-03-10").rename(columns={"label": "label_ts"})
    df.assign(x_13=df["x"]).to_csv(tmp_path / "day.csv", index=False)
    frame(700, seed=1, start="2024-03-03", days=7).rename(
        columns={"label": "label_ts"}).assign(x_13=0.0).to_csv(tmp_path / "w.csv", index=False)
    cfg = config(tmp_path, [{"name": "o", "measure": "missing.x_12.null_rate", "max": 0.5,
                             "required": False}])
    result = evaluate_config(cfg, now="2024-03-11T01:00")
    assert "missing.x_12.null_rate" in result.unavailable


def test_a_column_the_current_window_lost_is_the_datas_problem(tmp_path: Path) -> None:
    frame(700, seed=1, start="2024-03-03", days=7).to_csv(tmp_path / "ref-week.csv", index=False)
    frame(300, seed=2, start="2024-03-10").drop(columns="x").to_csv(tmp_path / "day.csv",
                                                                   index=False)
    cfg = config(tmp_path, [{"name": "o", "measure": "missing.x.null_rate", "max": 0.5}])
    result = evaluate_config(cfg, now="2024-03-11T01:00")  # no config error: a breach
    assert result.measures["missing.x.null_rate"] == 1.0


def test_a_model_that_cannot_score_breaches_its_objectives(tmp_path: Path) -> None:
    import joblib
    from sklearn.linear_model import LogisticRegression

    ref = frame(200, seed=4, start="2024-03-09")
    model = LogisticRegression().fit(ref[["x"]].fillna(0), ref["label"])
    joblib.dump(model, tmp_path / "m.joblib")
    ref.rename(columns={"x": "x_renamed"}).to_csv(tmp_path / "d.csv", index=False)
    cfg = config(tmp_path, [{"name": "mean", "measure": "prediction.mean", "max": 1},
                            {"name": "rows", "measure": "volume.rows", "min": 1}],
                 prediction="not_logged", model="m.joblib")
    result = evaluate_config(cfg, now="2024-03-10T01:00")
    assert result.breached == ["mean"]
    assert "the model cannot score the current window" in result.objectives[0].reason
    assert "['x']" in result.objectives[0].reason


def test_a_measure_that_raises_is_unavailable_not_fatal(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from toolkit._audit_measures import MEASURES

    def broken(ctx, arg):
        raise TypeError("odd dtype")

    monkeypatch.setitem(MEASURES, "volume.ratio",
                        dataclasses.replace(MEASURES["volume.ratio"], compute=broken))
    cfg = config(data_dir, [{"name": "ratio", "measure": "volume.ratio", "min": 0.5},
                            {"name": "rows", "measure": "volume.rows", "min": 1},
                            {"name": "rows-again", "measure": "volume.rows", "max": 10**6}])
    result = evaluate_config(cfg, now="2024-03-11T01:00")
    assert result.breached == ["ratio"]
    assert result.objectives[0].reason == "computing volume.ratio failed: TypeError: odd dtype"
    assert [r.value for r in result.objectives[1:]] == [300, 300]
