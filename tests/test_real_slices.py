"""The one pipeline on real data: two public slices shipped in tests/data/real.

Quiet pairs of real windows must raise no critical finding, their calendar columns
must be read as following the clock, and a fault planted from a date must lead.
These slices are from the real-data benchmark (benchmarks/bench_real_incidents.py,
whose full figures are in BENCHMARKS.md); they are seen data, kept as regressions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit import drift, triage
from toolkit.checks.calendar import clock_columns

DATA = Path(__file__).parent / "data" / "real"


def bikeshare() -> tuple[pd.DataFrame, pd.DataFrame]:
    df = pd.read_csv(DATA / "bikeshare_2011-05_2mo.csv", parse_dates=["datetime"])
    june = df["datetime"] >= "2011-06-01"
    return df[~june].reset_index(drop=True), df[june].reset_index(drop=True)


def flights() -> tuple[pd.DataFrame, pd.DataFrame]:
    df = pd.read_csv(DATA / "flights_2013-06-24_2wk.csv", parse_dates=["sched_departure"])
    second = df["sched_departure"] >= "2013-07-01"
    return df[~second].reset_index(drop=True), df[second].reset_index(drop=True)


def criticals(found) -> list[str]:
    return [f"{f.check} {f.features}" for f in found if f.severity == "critical"]


def test_bikeshare_calendar_columns_follow_the_clock() -> None:
    ref, cur = bikeshare()
    found = clock_columns(ref, "datetime", current=cur, exclude=("bikers",))
    assert {"mnth", "day", "hr", "weekday", "workingday", "season"} <= set(found)
    assert not {"temp", "hum", "windspeed", "weathersit"} & set(found)


@pytest.mark.parametrize(("windows", "timestamp", "target"), [
    (bikeshare, "datetime", "bikers"), (flights, "sched_departure", "late_arrival")])
def test_a_quiet_pair_of_real_windows_raises_no_critical(windows, timestamp, target) -> None:
    ref, cur = windows()
    result = drift.check_windows(ref, cur, timestamp=timestamp, target=target)
    assert criticals(result.findings) == []
    assert result.normal.n_pairs >= 10


def test_bikeshare_unit_change_from_a_date_leads() -> None:
    ref, cur = bikeshare()
    late = cur["datetime"] >= "2011-06-15"
    cur.loc[late, "windspeed"] = cur.loc[late, "windspeed"] * 100
    inv = triage.investigate(ref, cur, timestamp="datetime", target="bikers")
    top = inv.findings[0]
    assert (top.check, top.features) == ("scale.unit_change", ("windspeed",))
    assert top.evidence["since"].startswith("2011-06-15")


def test_flights_month_off_by_one_is_a_calendar_fault() -> None:
    ref, cur = flights()
    late = cur["sched_departure"] >= "2013-07-04"
    cur.loc[late, "month"] = cur.loc[late, "month"] + 1
    inv = triage.investigate(ref, cur, timestamp="sched_departure", target="late_arrival")
    top = inv.findings[0]
    assert (top.check, top.features) == ("calendar.disagrees", ("month",))


def test_flights_departure_delays_going_missing_from_a_date_lead() -> None:
    ref, cur = flights()
    late = cur["sched_departure"] >= "2013-07-04"
    cur.loc[late, "dep_delay"] = np.nan
    inv = triage.investigate(ref, cur, timestamp="sched_departure", target="late_arrival")
    top = inv.findings[0]
    assert top.check.startswith("missing.") and top.features == ("dep_delay",)
    assert top.severity == "critical"
