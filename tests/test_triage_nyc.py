"""Triage on real NYC taxi months (../shared/data/nyc_taxi), with what is really there.

A tip model trained on October-November 2019 scores December 2019 (reference) and
April 2020 (current). April 2020 has the COVID population shift and, in 8% of its
rows, several columns that arrive empty (the data README says missing values grow a
great deal in spring 2020). The scores fall; the empty payment type, which the model
leans on, is a real cause of that fall, and the report must lead with the missing
values, not with noise.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import shared_data_dir

from toolkit import triage

TAXI = shared_data_dir() / "nyc_taxi"
FEATURES = ["vendor_id", "passenger_count", "trip_distance", "rate_code_id", "payment_type",
            "fare_amount", "pickup_hour"]
WENT_EMPTY = {"vendor_id", "passenger_count", "rate_code_id", "payment_type", "store_and_fwd_flag"}

pytestmark = pytest.mark.skipif(not TAXI.is_dir(), reason=f"real taxi data not found at {TAXI}")


def month(name: str) -> pd.DataFrame:
    df = pd.read_csv(TAXI / f"yellow_tripdata_sample_{name}.csv")
    df["pickup_hour"] = pd.to_datetime(df["pickup_datetime"]).dt.hour
    df["tipped"] = (df["tip_amount"] > 0).astype(int)
    return df


def test_spring_2020_leads_with_the_columns_that_went_empty():
    from sklearn.ensemble import HistGradientBoostingClassifier

    train = pd.concat([month("2019-10"), month("2019-11")])
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(train[FEATURES], train["tipped"])
    ref, cur = month("2019-12"), month("2020-04")
    inv = triage.investigate(ref, cur, model=model, target="tipped", timestamp="pickup_datetime")
    assert inv.symptom is not None and inv.symptom.shift < 0 and inv.symptom.significant
    top = inv.findings[0]
    assert top.check.startswith("missing."), [f.summary for f in inv.findings[:5]]
    assert set(top.features) <= WENT_EMPTY
    assert top.explained is not None and top.explained > 0.1
    empty = {c for f in inv.findings if f.check == "missing.null_spike" for c in f.features}
    assert WENT_EMPTY - {"store_and_fwd_flag"} <= empty
