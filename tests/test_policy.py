"""The one judging policy: clock columns, summaries of drift, ranking, the verdict."""

from __future__ import annotations

from toolkit import policy, triage
from toolkit.checks.calendar import ClockColumn, ClockRule
from toolkit.findings import Finding


def f(check: str, severity: str = "warning", score: float = 0.5, features=("x",), layer=None,
      **evidence) -> Finding:
    layer = layer or ("population" if check.startswith(("drift.", "attribution.")) else
                      "concept" if check.startswith("quality.") else "pipeline")
    return Finding(check=check, layer=layer, summary=f"{check} on {features}", severity=severity,
                   score=score, features=features, evidence=evidence)


MONTH = {"month": ClockColumn("month", (ClockRule("month", {5: "5"}, 0.0, 1.0),))}


def test_a_column_that_follows_the_clock_drifts_by_nature():
    found = policy.clock_columns_calm([f("categories.remapped_codes", "critical",
                                         features=("month",)),
                                       f("missing.spike", "critical", features=("month",)),
                                       f("drift.feature", "critical", features=("month", "x"))],
                                      MONTH)
    assert [g.severity for g in found] == ["info", "critical", "critical"]
    assert "the month of the timestamp" in found[0].evidence["follows_clock"]


def test_summaries_of_drift_are_no_more_serious_than_the_drift():
    normal = {"pairs": 15, "said": "ordinary"}
    found = policy.drivers_calm([
        f("drift.feature", "info", features=("temp",), normal=normal),
        f("drift.domain_classifier", "critical", features=("temp", "hum")),
        f("attribution.shift_contribution", "critical", features=("temp",)),
        f("attribution.shift_contribution", "critical", features=("unmeasured",)),
    ], measured=["temp", "hum"])
    assert [g.severity for g in found] == ["info", "info", "info", "critical"]


def test_faults_rank_before_the_effects_they_cause():
    ranked = policy.rank([f("quality.residual_shift", "critical", 0.9, features=()),
                          f("drift.feature", "critical", 0.9),
                          f("scale.unit_change", "warning", 0.4),
                          f("categories.unseen_values", "info", 1.0)])
    assert [g.check for g in ranked] == ["scale.unit_change", "drift.feature",
                                         "quality.residual_shift", "categories.unseen_values"]
    assert [g.rank for g in ranked] == [1, 2, 3, 4]


def test_the_verdict_names_two_candidates_when_neither_leads():
    close = [f("missing.spike", "critical", 0.8, features=("a",), since="2024-03-02"),
             f("scale.unit_change", "critical", 0.75, features=("b",), since="2024-03-05")]
    verdict = triage._verdict(policy.rank(close), None, {})
    assert verdict.headline.startswith("Two candidates, too close to call")
    assert verdict.runner_up is not None and "Compare the dates" in verdict.next_step
    clear = [f("missing.spike", "critical", 0.9, features=("a",)),
             f("scale.unit_change", "warning", 0.9, features=("b",))]
    verdict = triage._verdict(policy.rank(clear), None, {})
    assert verdict.headline.startswith("Most likely root cause")


def test_a_consequence_on_the_same_columns_is_no_runner_up():
    found = policy.explain_away([f("scale.unit_change", "critical", 0.8, features=("a",),
                                   column="a"),
                                 f("drift.feature", "critical", 0.8, features=("a",))])
    verdict = triage._verdict(policy.rank(found), None, {})
    assert verdict.headline.startswith("Most likely root cause") and verdict.runner_up is None
