"""Logged scores against the model's own, row by row: logging faults and other versions."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from toolkit.versions import served_scores


def _window(rng, start, n=4000, shift=0.0):
    ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, 14 * 86400, n)), unit="s")
    x1, x2 = rng.normal(shift, 1, n), rng.normal(0, 1, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * x1 - x2)))).astype(int)
    return pd.DataFrame({"ts": ts, "x1": x1, "x2": x2, "y": y})


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    train = _window(rng, "2024-01-01")
    model = LogisticRegression().fit(train[["x1", "x2"]], train["y"])
    ref, cur = _window(rng, "2024-02-01"), _window(rng, "2024-02-15", shift=0.3)
    for df in (ref, cur):
        df["score"] = model.predict_proba(df[["x1", "x2"]])[:, 1]
    return model, ref, cur


def test_scores_logged_as_percent_from_a_date_are_a_logging_fault(setup):
    model, ref, cur = setup
    cur = cur.copy()
    late = cur["ts"] >= "2024-02-22"
    cur.loc[late, "score"] *= 100
    [f] = served_scores(ref, cur, model=model, prediction="score", timestamp="ts")
    ev = f.evidence
    assert (f.layer, ev["kind"], ev["factor"]) == ("pipeline", "factor", 100.0)
    assert abs(pd.Timestamp(ev["since"]) - pd.Timestamp("2024-02-22")) < pd.Timedelta(hours=6)
    assert ev["share_affected"] == pytest.approx(late.mean(), abs=0.03)
    assert f.explained > 0.99  # the logged shift is the logging's, nearly all of it
    assert ev["agreement_reference"] == 1.0


def test_a_stuck_log_and_another_serving_model_are_told_apart(setup):
    model, ref, cur = setup
    stuck = cur.assign(score=0.5)
    [f] = served_scores(ref, stuck, model=model, prediction="score")
    assert (f.evidence["kind"], f.evidence["value"], f.layer) == ("stuck_value", 0.5, "pipeline")
    other = LogisticRegression().fit(cur[["x1"]], cur["y"])  # a version without x2
    served = cur.assign(score=other.predict_proba(cur[["x1"]])[:, 1])
    [g] = served_scores(ref, served, model=model, prediction="score")
    assert (g.evidence["kind"], g.layer, g.severity) == ("other_model", "model", "critical")
    assert 0 < g.evidence["spearman"] < 0.99


def test_drifted_inputs_rounded_logs_and_a_new_version_raise_nothing(setup):
    model, ref, cur = setup
    # The inputs drifted (shift=0.3), the model scored them: the log is the model's.
    assert served_scores(ref, cur, model=model, prediction="score") == []
    rounded = cur.assign(score=cur["score"].round(3))
    assert served_scores(ref.assign(score=ref["score"].round(3)), rounded, model=model,
                         prediction="score") == []
    # Version 2 serves the current window, version 1 served the reference.
    v2 = LogisticRegression(C=0.01).fit(cur[["x1", "x2"]], cur["y"])
    served = cur.assign(score=v2.predict_proba(cur[["x1", "x2"]])[:, 1])
    assert served_scores(ref, served, model=v2, prediction="score",
                         reference_model=model) == []


def test_a_model_that_never_served_is_said_not_compared(setup):
    model, ref, cur = setup
    other = LogisticRegression().fit(ref[["x2"]], ref["y"])
    odd = ref.assign(score=other.predict_proba(ref[["x2"]])[:, 1])
    [f] = served_scores(odd, cur, model=model, prediction="score")
    assert (f.severity, f.evidence["kind"]) == ("info", "not_compared")
    assert f.explained is None


def test_triage_names_the_logging_when_the_scores_arrive_as_percent(setup):
    from toolkit.triage import investigate

    model, ref, cur = setup
    cur = cur.assign(score=cur["score"] * 100)
    inv = investigate(ref, cur, model=model, target="y", prediction="score", timestamp="ts",
                      complaint="the scores went crazy this week")
    top = inv.findings[0]
    assert top.check == "versions.served_scores" and top.evidence["factor"] == 100.0
    assert "logs the model's score x100" in inv.verdict.headline


def test_a_rollback_to_the_previous_version_is_named(setup):
    # A held-out judge: with --previous-model, the reference was taken for version A's
    # and the check skipped, though version B (deployed) had served it exactly.
    model, ref, cur = setup
    previous = LogisticRegression(C=0.01).fit(ref[["x1"]], ref["y"])
    late = cur["ts"] >= "2024-02-22"
    rolled = cur.assign(score=np.where(late, previous.predict_proba(cur[["x1"]])[:, 1],
                                       cur["score"]))
    [f] = served_scores(ref, rolled, model=model, prediction="score", timestamp="ts",
                        reference_model=previous)
    assert (f.evidence["kind"], f.layer) == ("previous_version", "model")
    assert abs(pd.Timestamp(f.evidence["since"]) - pd.Timestamp("2024-02-22")) \
        < pd.Timedelta(hours=6)


def test_the_other_class_logged_in_one_segment_is_named_with_its_segment(setup):
    model, ref, cur = setup
    ref, cur = (df.assign(channel=np.where(np.arange(len(df)) % 4 == 0, "mobile", "web"))
                for df in (ref, cur))
    hit = (cur["channel"] == "mobile") & (cur["ts"] >= "2024-02-20")
    flipped = cur.assign(score=np.where(hit, 1 - cur["score"], cur["score"]))
    flipped.loc[flipped.index[1::7], "score"] = np.nan  # a log with holes
    [f] = served_scores(ref, flipped, model=model, prediction="score", timestamp="ts")
    ev = f.evidence
    assert (ev["kind"], f.segment) == ("complement", "channel == 'mobile'")
    logged = flipped["score"].notna()
    assert ev["share_affected"] == pytest.approx((hit & logged).sum() / logged.sum(), abs=0.02)
    assert ev["missing_logged_share"][1] == pytest.approx(1 / 7, abs=0.01)


def test_windows_without_the_logged_column_are_named():
    from toolkit import InputError

    model = LogisticRegression().fit(pd.DataFrame({"x1": [0.0, 1.0, 2.0, 3.0]}), [0, 0, 1, 1])
    frame = pd.DataFrame({"x1": np.arange(40.0), "score": 0.5})
    with pytest.raises(InputError, match="'scor'"):
        served_scores(frame, frame, model=model, prediction="scor")
    with pytest.raises(InputError, match="current"):
        served_scores(frame, frame.iloc[:0], model=model, prediction="score")
