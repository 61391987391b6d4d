"""Swapped columns: found when two columns trade places, silent otherwise, and undone
by triage's repair."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import checks, triage
from toolkit.checks.swaps import swapped_columns


def _window(seed: int, n: int = 5000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.gamma(2.0, 12.0, n)
    charges = rng.normal(70, 20, n)
    df = pd.DataFrame({"tenure": tenure, "monthly_charges": charges,
                       "support_calls": rng.poisson(2, n).astype(float),
                       "plan": pd.Series(rng.choice(["basic", "plus", "pro"], n), dtype="str")})
    logit = -1.5 - 0.05 * tenure + 0.03 * (charges - 70) + 0.4 * df["support_calls"]
    df["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


def test_two_columns_swapped_by_the_loader_are_one_finding() -> None:
    ref, cur = _window(1), _window(2)
    cur[["tenure", "monthly_charges"]] = cur[["monthly_charges", "tenure"]].to_numpy()
    found = [f for f in checks.run_checks(ref, cur, target="churned")
             if f.check == "schema.swapped_columns"]
    assert len(found) == 1
    assert set(found[0].features) == {"tenure", "monthly_charges"}
    assert found[0].layer == "pipeline" and found[0].severity == "critical"


@pytest.mark.parametrize("change", ["none", "both_drift", "one_swapped_with_a_copy"])
def test_no_swap_is_claimed_without_one(change: str) -> None:
    ref, cur = _window(1), _window(2)
    if change == "both_drift":  # two columns move, but not into each other's place
        cur["tenure"] = cur["tenure"] * 3
        cur["monthly_charges"] = cur["monthly_charges"] + 40
    elif change == "one_swapped_with_a_copy":  # tenure takes charges' values; charges stay
        cur["tenure"] = cur["monthly_charges"]
    assert swapped_columns(ref, cur, exclude=["churned"]) == []


def test_triage_undoes_the_swap_and_leads_with_it() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = ["tenure", "monthly_charges", "support_calls"]
    train = _window(0)
    model = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(
        train[features], train["churned"])
    ref, cur = _window(1), _window(2)
    cur[["tenure", "monthly_charges"]] = cur[["monthly_charges", "tenure"]].to_numpy()
    inv = triage.investigate(ref, cur, model=model, target="churned")
    top = inv.findings[0]
    assert top.check == "schema.swapped_columns", [f.summary for f in inv.findings[:4]]
    assert top.explained is not None and top.explained > 0.8
    drifts = [f for f in inv.findings if f.check == "drift.feature"]
    assert all("consequence_of" in f.evidence for f in drifts)
