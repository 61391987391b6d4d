"""The built-in demo incident: card-payment fraud scores that "feel off".

Everything is generated here, seeded; nothing is downloaded. The story (told in
``notebooks/onboarding.ipynb``, not in the report, so newcomers can investigate it
blind): a payments company scores every card transaction for fraud with a
scikit-learn Pipeline trained on the first weeks of the year. The fraud-operations team
complains that alerts have gone up since last week. The two windows differ by honest,
mild drift everywhere (holiday season, a growing app channel), and by one injected
incident whose answer :func:`make_incident` also returns.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["COMPLAINT", "FEATURES", "DemoIncident", "make_incident", "write_incident"]

FEATURES = [
    "amount", "merchant_category", "channel", "card_country", "customer_age",
    "account_age_days", "tx_last_24h", "distance_km", "hour",
]
CATEGORIES = {
    "merchant_category": ["grocery", "restaurants", "fashion", "electronics", "travel",
                          "fuel", "digital_goods"],
    "channel": ["pos", "web", "app"],
    "card_country": ["FR", "DE", "ES", "IT", "NL", "other"],
}
COMPLAINT = "Fraud alerts went up a lot since last Monday, the scores feel too high."

_REFERENCE = (_dt.datetime(2026, 10, 26), _dt.datetime(2026, 11, 9))
_CURRENT = (_dt.datetime(2026, 11, 9), _dt.datetime(2026, 11, 23))
_TRAINING = (_dt.datetime(2026, 1, 5), _dt.datetime(2026, 2, 2))
_INCIDENT_START = _dt.datetime(2026, 11, 16)


@dataclass
class DemoIncident:
    """The demo's data, model and known answer."""

    training: pd.DataFrame
    reference: pd.DataFrame
    current: pd.DataFrame
    model: Any
    answer: dict[str, Any] = field(default_factory=dict)
    target: str = "is_fraud"
    prediction: str = "fraud_score"
    timestamp: str = "event_time"
    owners: dict[str, str] = field(default_factory=dict)


def _transactions(n: int, start: _dt.datetime, end: _dt.datetime, rng: np.random.Generator,
                  *, season: float = 0.0) -> pd.DataFrame:
    """``n`` synthetic transactions; ``season`` in [0, 1] moves the population mildly."""
    import numpy as np
    import pandas as pd

    seconds = rng.uniform(0, (end - start).total_seconds(), n)
    hour_weights = np.array([1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 9, 10, 9, 8, 8, 9, 10, 10, 9, 7, 5, 3, 2],
                            dtype=float)
    hour = rng.choice(24, size=n, p=hour_weights / hour_weights.sum())
    days = np.floor(seconds / 86400)
    offsets = days * 86400 + hour * 3600 + rng.uniform(0, 3600, n)
    times = pd.Timestamp(start) + pd.to_timedelta(offsets, unit="s")
    channel_p = np.array([0.45, 0.30, 0.25]) + season * np.array([-0.03, -0.01, 0.04])
    merchant_p = np.array([0.26, 0.18, 0.14, 0.12, 0.08, 0.14, 0.08]) + season * np.array(
        [-0.02, 0.0, 0.015, 0.02, -0.015, 0.0, 0.0])
    df = pd.DataFrame({
        "event_time": times,
        "amount": np.round(np.exp(rng.normal(3.6 + 0.05 * season, 0.9, n)), 2),
        "merchant_category": rng.choice(CATEGORIES["merchant_category"], size=n, p=merchant_p),
        "channel": rng.choice(CATEGORIES["channel"], size=n, p=channel_p),
        "card_country": rng.choice(CATEGORIES["card_country"], size=n, p=[0.42, 0.18, 0.12, 0.1, 0.08, 0.1]),
        "customer_age": np.clip(np.round(rng.normal(41 + season, 13, n)), 18, 95).astype(int),
        "account_age_days": np.round(rng.gamma(2.0, 500, n)).astype(int),
        "tx_last_24h": rng.poisson(2.2 + 0.2 * season, n),
        "distance_km": np.round(rng.lognormal(2.0, 1.2, n), 1),
        "hour": hour,
    })
    df["is_fraud"] = rng.binomial(1, _fraud_probability(df))
    for col in CATEGORIES:
        df[col] = df[col].astype("str")
    return df.sort_values("event_time", ignore_index=True)


def _fraud_probability(df: pd.DataFrame) -> np.ndarray:
    import numpy as np

    logit = (
        -4.3
        + 0.9 * np.log(df["amount"].to_numpy() / 40.0)
        + 1.1 * df["merchant_category"].isin(["electronics", "digital_goods"]).to_numpy()
        + 0.6 * (df["channel"] == "web").to_numpy()
        + 0.5 * (df["card_country"] == "other").to_numpy()
        + 0.25 * np.minimum(df["tx_last_24h"].to_numpy(), 8)
        + 0.35 * np.log1p(df["distance_km"].to_numpy()) - 0.6
        - 0.45 * np.log1p(df["account_age_days"].to_numpy() / 365.0)
        + 0.8 * ((df["hour"].to_numpy() <= 4) | (df["hour"].to_numpy() >= 23))
    )
    return 1.0 / (1.0 + np.exp(-logit))


def _pipeline(random_state: int) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    categorical = list(CATEGORIES)
    numeric = [f for f in FEATURES if f not in CATEGORIES]
    prep = ColumnTransformer(
        [("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
         ("numbers", "passthrough", numeric)],
        verbose_feature_names_out=False,
    )
    model = GradientBoostingClassifier(n_estimators=120, max_depth=3, learning_rate=0.1,
                                       subsample=0.8, random_state=random_state)
    return Pipeline([("prepare", prep), ("classify", model)])


def make_incident(*, n_rows: int = 20_000, random_state: int = 0) -> DemoIncident:
    """Generate the demo incident.

    Parameters
    ----------
    n_rows : int, default=20_000
        Rows in each of the reference and current windows (training gets the same).
    random_state : int, default=0

    Returns
    -------
    DemoIncident
        ``answer`` names the injected fault; keep it out of reports.
    """
    import numpy as np

    rng = np.random.default_rng(random_state)
    training = _transactions(n_rows, *_TRAINING, rng)
    reference = _transactions(n_rows, *_REFERENCE, rng, season=0.4)
    current = _transactions(n_rows, *_CURRENT, rng, season=0.7)
    model = _pipeline(random_state).fit(training[FEATURES], training["is_fraud"])
    # The incident: a release of the payments gateway sends amounts in cents.
    hit = current["event_time"] >= _INCIDENT_START
    current.loc[hit, "amount"] = np.round(current.loc[hit, "amount"] * 100, 0)
    for frame in (training, reference, current):
        frame["fraud_score"] = np.round(model.predict_proba(frame[FEATURES])[:, 1], 6)
    answer = {
        "kind": "unit change",
        "column": "amount",
        "factor": 100.0,
        "since": _INCIDENT_START.isoformat(),
        "share_affected": float(hit.mean()),
        "story": "the payments gateway started sending amounts in cents instead of euros",
    }
    owners = {"amount": "payments-gateway team", "channel": "mobile-app team",
              "fraud_score": "fraud-ml team"}
    return DemoIncident(training, reference, current, model, answer, owners=owners)


def write_incident(folder: str | Path, incident: DemoIncident | None = None) -> dict[str, str]:
    """Write the demo's windows (Parquet), model (joblib) and owners (YAML) to ``folder``.

    Returns the investigate template's parameters for these files.
    """
    import joblib
    import yaml

    incident = incident or make_incident()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "reference": out / "reference.parquet",
        "current": out / "current.parquet",
        "model": out / "model.joblib",
        "owners": out / "owners.yaml",
    }
    incident.reference.to_parquet(paths["reference"], index=False)
    incident.current.to_parquet(paths["current"], index=False)
    joblib.dump(incident.model, paths["model"])
    paths["owners"].write_text(yaml.safe_dump(incident.owners, sort_keys=True))
    params = {k: str(v) for k, v in paths.items()}
    params.update(target=incident.target, prediction=incident.prediction,
                  timestamp=incident.timestamp, complaint=COMPLAINT)
    return params
