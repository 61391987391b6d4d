"""Columns that follow the clock: found from the reference, checked against the clock."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.checks.calendar import calendar_agreement, clock_columns


def hourly(start: str, days: int, seed: int = 0) -> pd.DataFrame:
    """Hourly rows with the calendar columns real tables carry, in their usual codes."""
    rng = np.random.default_rng(seed)
    t = pd.date_range(start, periods=days * 24, freq="h")
    holidays = pd.to_datetime(["2023-05-29", "2023-07-04", "2023-09-04", "2024-01-01"])
    hol = pd.Series(t.normalize()).isin(holidays).to_numpy()
    return pd.DataFrame({
        "ts": t,
        "month": t.month,
        "season": (t.month % 12) // 3 + 1,
        "month_name": t.strftime("%b"),
        "hour": t.hour,
        "weekday": (t.day_of_week + 1) % 7,  # Sunday 0, as some sources count
        "holiday": hol.astype(int),
        "workingday": ((t.day_of_week < 5) & ~hol).astype(int),
        "year": t.year - 2023,
        "temp": np.round(15 + 10 * np.sin((t.day_of_year - 100) / 365 * 2 * np.pi)
                         + rng.normal(0, 3, len(t)), 1),
        "weather": rng.choice([1, 2, 3], len(t), p=[0.6, 0.3, 0.1]),
        "mostly_zero": (rng.random(len(t)) < 0.01).astype(int),
    })


def windows(data: pd.DataFrame, start: str, cut: str, end: str) -> tuple[pd.DataFrame, ...]:
    ref = data[(data.ts >= start) & (data.ts < cut)]
    cur = data[(data.ts >= cut) & (data.ts < end)].copy()
    return ref, cur


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return hourly("2023-04-01", 300)


def test_calendar_columns_are_found_and_measurements_are_not(data):
    ref, cur = windows(data, "2023-04-01", "2023-05-15", "2023-06-30")
    found = clock_columns(ref, "ts", current=cur)
    assert {"month", "month_name", "hour", "weekday", "workingday"} <= set(found)
    # Season and the holiday flag are constant in this reference: both windows
    # together show them turning with the clock.
    assert {"season", "holiday"} <= set(found)
    assert not {"temp", "weather", "mostly_zero"} & set(found)
    assert found["month"].rules[0].part == "month" and found["month"].rules[0].offset == 0
    assert found["hour"].rules[0].offset == 0


@pytest.mark.parametrize("span", [("2023-04-01", "2023-05-15", "2023-06-30"),
                                  ("2023-11-01", "2023-12-10", "2024-01-20")])
def test_a_clean_next_window_agrees_with_the_clock(data, span):
    ref, cur = windows(data, *span)
    assert calendar_agreement(ref, cur, timestamp="ts") == []


def test_a_month_off_by_one_from_a_date_is_found_and_dated(data):
    ref, cur = windows(data, "2023-04-01", "2023-05-15", "2023-06-30")
    late = cur.ts >= "2023-06-10"
    cur.loc[late, "month"] = cur.loc[late, "month"] % 12 + 1
    [f] = calendar_agreement(ref, cur, timestamp="ts")
    assert f.check == "calendar.disagrees" and f.features == ("month",)
    assert f.severity == "critical" and f.evidence["since"].startswith("2023-06-10")
    assert f.evidence["share"] == pytest.approx(late.mean(), abs=0.01)


def test_an_hour_in_another_zone_is_found(data):
    ref, cur = windows(data, "2023-04-01", "2023-05-15", "2023-06-30")
    late = cur.ts >= "2023-06-01"
    cur.loc[late, "hour"] = (cur.loc[late, "hour"] + 5) % 24
    found = calendar_agreement(ref, cur, timestamp="ts")
    assert [f.features for f in found] == [("hour",)]


def test_a_holiday_the_reference_never_saw_is_no_fault(data):
    # The working-day flag follows the weekend in a reference without holidays;
    # Memorial Day in the current window is one day off that rule, not a fault.
    ref, cur = windows(data, "2023-04-01", "2023-05-15", "2023-06-30")
    assert clock_columns(ref, "ts")["workingday"].rules[0].part == "weekend"
    assert cur.loc[cur.ts.dt.normalize() == "2023-05-29", "workingday"].eq(0).all()
    assert calendar_agreement(ref, cur, timestamp="ts") == []


def test_no_timestamp_no_calendar(data):
    ref, _ = windows(data, "2023-04-01", "2023-05-15", "2023-06-30")
    assert clock_columns(ref, None) == {}
    assert clock_columns(ref.head(10), "ts") == {}


def test_zoned_times_are_read_on_their_own_wall_clock():
    t = pd.date_range("2023-03-01", periods=24 * 60, freq="h", tz="America/New_York")
    df = pd.DataFrame({"ts": t, "hour": t.hour, "x": np.arange(len(t)) % 7})
    ref, cur = df.iloc[: 24 * 30], df.iloc[24 * 30:]
    found = clock_columns(ref, "ts")
    assert list(found) == ["hour"]  # daylight saving time is not a disagreement
    assert calendar_agreement(ref, cur, timestamp="ts", clock=found) == []


def test_monthly_rows_two_months_off_of_three_are_a_fault():
    # One row per city and month: each month is a single date, so "three days off the
    # rule" cannot apply; two months of the quarter off is persistent enough.
    months = pd.date_range("2019-01-01", periods=6, freq="MS")
    rows = [(m, city, m.month) for m in months for city in range(40)]
    df = pd.DataFrame(rows, columns=["date", "city", "month"])
    ref, cur = df[df.date < "2019-04-01"], df[df.date >= "2019-04-01"].copy()
    assert calendar_agreement(ref, cur, timestamp="date") == []
    late = cur.date >= "2019-05-01"
    cur.loc[late, "month"] += 1
    [f] = calendar_agreement(ref, cur, timestamp="date")
    assert f.features == ("month",) and f.evidence["since"].startswith("2019-05-01")


def test_a_day_of_year_column_in_daily_rows_is_the_clock():
    # One row a day: every group of the part holds one row, which proves nothing for
    # a mapping, but a column equal to the part itself is the clock.
    t = pd.date_range("2014-01-01", periods=180, freq="D")
    df = pd.DataFrame({"date": t, "day_of_year": t.day_of_year, "x": np.arange(180) % 5})
    ref, cur = df.iloc[:90], df.iloc[90:].copy()
    found = clock_columns(ref, "date")
    assert list(found) == ["day_of_year"] and found["day_of_year"].rules[0].offset == 0
    cur.loc[cur.date >= "2014-05-15", "day_of_year"] += 1
    [f] = calendar_agreement(ref, cur, timestamp="date")
    assert f.evidence["since"].startswith("2014-05-15")
