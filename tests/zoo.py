"""The public incident zoo: seeded, small incidents with a known root cause.

A telecom churn model (a scikit-learn Pipeline with gradient boosting) scores
subscribers every day. Each incident corrupts the current window the way production
does (a unit change, a null spike in one segment, a renamed column filled with a
default, ...), recomputes the logged scores as the serving layer would, and says what a
correct triage must rank first. Nothing here is tuned to the triage: the incidents are
written from how these faults look in the field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

PLANS = ["basic", "standard", "premium", "family"]
REGIONS = ["north", "south", "east", "west", "central"]
DEVICES = ["android", "ios", "web"]
FEATURES = ["tenure_months", "monthly_charge", "data_gb", "support_calls", "plan", "region",
            "device", "dropped_calls"]
START = dt.datetime(2026, 9, 1)


@dataclass
class Case:
    """One incident: two windows, the deployed model, and what must rank first."""

    name: str
    reference: pd.DataFrame
    current: pd.DataFrame
    model: Any
    previous_model: Any = None
    truth_layers: tuple[str, ...] = ()
    truth_columns: tuple[str, ...] = ()
    truth_segment: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


def subscribers(n: int, start: dt.datetime, days: int, rng: np.random.Generator, *,
                shift: float = 0.0) -> pd.DataFrame:
    seconds = rng.uniform(0, days * 86400, n)
    df = pd.DataFrame({
        "snapshot_time": pd.Timestamp(start) + pd.to_timedelta(np.sort(seconds), unit="s"),
        "customer_id": rng.choice(10**7, size=n, replace=False),
        "tenure_months": np.round(rng.gamma(2.0 + shift, 12, n)).astype(int),
        "monthly_charge": np.round(rng.normal(55 + 3 * shift, 15, n).clip(10, 150), 2),
        "data_gb": np.round(rng.lognormal(2.3 + 0.1 * shift, 0.7, n), 2),
        "support_calls": rng.poisson(1.2, n),
        "plan": rng.choice(PLANS, size=n, p=[0.35, 0.35, 0.2, 0.1]),
        "region": rng.choice(REGIONS, size=n, p=[0.25, 0.2, 0.2, 0.2, 0.15]),
        "device": rng.choice(DEVICES, size=n, p=[0.5, 0.35, 0.15]),
        "dropped_calls": rng.poisson(2.0, n),
    })
    df["churned"] = rng.binomial(1, churn_probability(df))
    return df


def churn_probability(df: pd.DataFrame, *, concept: pd.Series | None = None) -> np.ndarray:
    logit = (-1.6 - 0.035 * df["tenure_months"] + 0.025 * (df["monthly_charge"] - 55)
             + 0.45 * df["support_calls"] + 0.25 * df["dropped_calls"]
             - 0.2 * np.log1p(df["data_gb"]) + 0.5 * (df["plan"] == "basic")
             + 0.3 * (df["device"] == "web"))
    if concept is not None:
        logit = logit + concept
    return 1 / (1 + np.exp(-logit.to_numpy(dtype=float)))


def train(df: pd.DataFrame, features: list[str], random_state: int = 0) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    cats = [c for c in features if c in ("plan", "region", "device")]
    nums = [c for c in features if c not in cats]
    prep = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cats),
                              ("num", "passthrough", nums)], verbose_feature_names_out=False)
    clf = HistGradientBoostingClassifier(max_iter=120, learning_rate=0.08, random_state=random_state)
    return Pipeline([("prep", prep), ("clf", clf)]).fit(df[features], df["churned"])


def served_scores(model: Any, df: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
    """Scores as the serving layer computed them: text parsed leniently, absent columns NaN."""
    X = pd.DataFrame(index=df.index)
    for col in FEATURES:
        if col not in df.columns:
            X[col] = np.nan
        elif pd.api.types.is_numeric_dtype(reference[col]) and not pd.api.types.is_numeric_dtype(df[col]):
            X[col] = pd.to_numeric(df[col], errors="coerce")
        else:
            X[col] = df[col]
    return np.round(model.predict_proba(X[FEATURES])[:, 1], 6)


def _after(df: pd.DataFrame, day: int) -> pd.Series:
    return df["snapshot_time"] >= df["snapshot_time"].min().normalize() + pd.Timedelta(days=day)


# Each fault takes the clean current window and a generator; returns the corrupted
# window and (layers, columns, segment) that a correct triage must rank first.

def unit_change(cur, rng):
    hit = _after(cur, 7)
    cur.loc[hit, "data_gb"] = np.round(cur.loc[hit, "data_gb"] * 1024, 1)  # GB -> MB
    return cur, ("pipeline",), ("data_gb",), None


def null_spike_segment(cur, rng):
    hit = (cur["region"] == "south") & _after(cur, 5)
    cur["monthly_charge"] = cur["monthly_charge"].astype(float)
    cur.loc[hit, "monthly_charge"] = np.nan
    return cur, ("data", "pipeline"), ("monthly_charge",), "south"


def renamed_with_default(cur, rng):
    cur = cur.rename(columns={"support_calls": "support_contacts"})
    cur["support_calls"] = 0  # the serving layer fills the missing feature with a default
    return cur, ("pipeline", "data"), ("support_calls", "support_contacts"), None


def remapped_categories(cur, rng):
    codes = {"basic": "PLN-1", "standard": "PLN-2", "premium": "PLN-3", "family": "PLN-4"}
    cur["plan"] = cur["plan"].map(codes)
    return cur, ("pipeline",), ("plan",), None


def stuck_feature(cur, rng):
    hit = _after(cur, 4)
    cur.loc[hit, "dropped_calls"] = 9
    return cur, ("data", "pipeline"), ("dropped_calls",), None


def numbers_as_text(cur, rng):
    cur["monthly_charge"] = cur["monthly_charge"].map(lambda v: f"{v:.2f}".replace(".", ",") + " EUR")
    return cur, ("pipeline",), ("monthly_charge",), None


def duplicate_fanout(cur, rng):
    seg = cur[cur["device"] == "ios"]
    cur = pd.concat([cur, seg, seg], ignore_index=True).sort_values("snapshot_time", ignore_index=True)
    return cur, ("data", "pipeline"), (), "ios"


def late_records(cur, rng):
    late = _after(cur, 11)
    keep = ~late | (rng.uniform(size=len(cur)) < 0.25)
    return cur[keep].reset_index(drop=True), ("pipeline",), (), None


def benign_shift_with_bug(cur, rng):
    cur["tenure_months"] = np.round(cur["tenure_months"] * 0.8).astype(int)  # many new customers
    hit = _after(cur, 6)
    cur.loc[hit, "monthly_charge"] = np.round(cur.loc[hit, "monthly_charge"] * 100)  # cents
    return cur, ("pipeline",), ("monthly_charge",), None


FAULTS = {f.__name__: f for f in (unit_change, null_spike_segment, renamed_with_default,
                                   remapped_categories, stuck_feature, numbers_as_text,
                                   duplicate_fanout, late_records, benign_shift_with_bug)}


def make_case(name: str, *, n: int = 4000, random_state: int = 0) -> Case:
    """Build one incident of the zoo by name (see :data:`KINDS`)."""
    rng = np.random.default_rng([random_state, KINDS.index(name)])
    training = subscribers(n, START - dt.timedelta(days=60), 28, rng)
    reference = subscribers(n, START, 14, rng, shift=0.1)
    current = subscribers(n, START + dt.timedelta(days=14), 14, rng, shift=0.2)
    model = train(training, FEATURES, random_state)
    options = {"target": "churned", "prediction": "churn_score", "timestamp": "snapshot_time"}
    previous = None
    if name in FAULTS:
        current, layers, columns, segment = FAULTS[name](current.copy(), rng)
        options["truth_check"] = TRUTH_CHECKS.get(name)
    elif name == "concept_drift_segment":
        south = current["region"] == "south"
        extra = pd.Series(np.where(south, 1.6, 0.0), index=current.index)
        current["churned"] = rng.binomial(1, churn_probability(current, concept=extra))
        layers, columns, segment = ("concept",), ("region",), "south"
    elif name == "version_regression":
        previous = model
        model = train(training, [f for f in FEATURES if f != "support_calls"], random_state)
        layers, columns, segment = ("model",), (), None
    elif name == "no_incident":
        layers, columns, segment = (), (), None
    else:
        raise KeyError(name)
    reference["churn_score"] = served_scores(previous or model, reference, reference)
    current["churn_score"] = served_scores(model, current, reference)
    return Case(name, reference, current, model, previous, layers, columns, segment, options)


#: Incidents whose cause is a whole-table symptom, named by its check family.
TRUTH_CHECKS = {"duplicate_fanout": "duplicates.", "late_records": "volume."}

KINDS = [*FAULTS, "concept_drift_segment", "version_regression", "no_incident"]
