"""The data checks on real NYC taxi samples with real trouble (see the data README).

The data lives outside the repository, in ``../shared/data/nyc_taxi/`` (or under the
folder named by ``STEWARD_SHARED_DATA``); every test skips with a reason when it is
absent.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from toolkit.checks import run_checks


def _folder() -> Path:
    env = os.environ.get("STEWARD_SHARED_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    return base / "nyc_taxi" if (base / "nyc_taxi").is_dir() else base


DATA = _folder()
pytestmark = pytest.mark.skipif(
    not (DATA / "yellow_tripdata_sample_2019-06.csv").is_file(),
    reason=f"NYC taxi samples not found in {DATA}; set STEWARD_SHARED_DATA to the folder "
    f"holding nyc_taxi/ to run these tests.",
)


@cache
def _month(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"yellow_tripdata_sample_{name}.csv")


@cache
def _findings(reference: str, current: str, timestamp: str | None = "pickup_datetime"):
    return tuple(run_checks(_month(reference), _month(current), timestamp=timestamp))


def _by(findings, check):
    return {f.features: f for f in findings if f.check == check}


def test_congestion_surcharge_starts_filling_in_early_2019():
    (f,) = _by(_findings("2018-06", "2019-06"), "missing.null_drop").values()
    assert f.features == ("congestion_surcharge",)
    assert f.evidence["was_empty_in_reference"] is True
    assert f.evidence["reference_rate"] == 1.0
    assert f.evidence["current_rate"] < 0.05
    assert (f.layer, f.severity) == ("pipeline", "warning")
    # It starts in January 2019 (part filled), and the 2.5 surcharge appears in February.
    (jan,) = _by(_findings("2018-12", "2019-01"), "missing.null_drop").values()
    assert 0.5 < jan.evidence["current_rate"] < 0.8
    unseen = _by(_findings("2019-01", "2019-02"), "categories.unseen_values")
    assert unseen[("congestion_surcharge",)].evidence["top_unseen"][0]["value"] == "2.5"


def test_missing_values_grow_in_spring_2020():
    found = _by(_findings("2019-06", "2020-04"), "missing.null_spike")
    cols = {"vendor_id", "passenger_count", "rate_code_id", "store_and_fwd_flag",
            "payment_type"}
    (group,) = found  # the five columns empty in the same rows: one finding, one cause
    assert set(group) == cols
    april = found[group].evidence
    assert april["reference_rate"] == 0.0
    assert april["diff_interval"][0] > 0.05
    assert set(april["missing_together_with"]) == cols - {april["column"]}
    assert "missing together" in found[group].summary
    may = [f for f in _findings("2020-04", "2020-05")
           if f.check == "missing.null_spike" and "vendor_id" in f.features]
    assert may and may[0].evidence["current_rate"] > april["current_rate"]  # it keeps growing
    assert all(f.layer == "data" and f.severity == "warning" for f in found.values())


def test_records_outside_their_month():
    (nov,) = _by(_findings("2018-10", "2018-11"), "volume.outside_window").values()
    assert nov.evidence["window"] == ["2018-11-01T00:00:00", "2018-12-01T00:00:00"]
    assert (nov.evidence["before"], nov.evidence["after"]) == (3, 0)
    (aug,) = _by(_findings("2019-07", "2019-08"), "volume.outside_window").values()
    assert aug.evidence["before"] == 1
    assert aug.evidence["examples"][0].startswith("2008-12-31")  # a record eleven years early


def test_renamed_columns_of_the_2021_file():
    found = _findings("2020-12", "2021", timestamp=None)
    renames = {f.evidence["old"]: f.evidence["new"] for f in found
               if f.check == "schema.renamed_column"}
    assert renames == {
        "vendor_id": "VendorID", "pickup_datetime": "tpep_pickup_datetime",
        "dropoff_datetime": "tpep_dropoff_datetime", "rate_code_id": "RatecodeID",
        "pickup_location_id": "PULocationID", "dropoff_location_id": "DOLocationID",
    }
    assert [f.evidence["column"] for f in found if f.check == "schema.added_column"] == [
        "test_bool"]
    assert not [f for f in found if f.check == "schema.removed_column"]


def test_covid_collapse_of_volume_is_a_drop_not_late_records():
    found = _findings("2020-02", "2020-03")
    (drop,) = _by(found, "volume.drop").values()
    assert drop.severity == "critical"
    assert drop.evidence["since"].startswith("2020-03-1")
    assert drop.evidence["until"] == "2020-04-01T00:00:00"
    assert not _by(found, "volume.late_records")


def test_ordinary_consecutive_months_raise_no_warning():
    for ref, cur in (("2018-02", "2018-03"), ("2018-07", "2018-08"), ("2019-09", "2019-10")):
        assert [f.summary for f in _findings(ref, cur) if f.severity != "info"] == []


def test_holidays_are_info_not_warnings():
    (xmas,) = _by(_findings("2018-11", "2018-12"), "volume.drop").values()
    assert xmas.evidence["since"] == "2018-12-25T00:00:00"
    assert xmas.severity == "info"
