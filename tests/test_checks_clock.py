"""Clock shifts: a daily rhythm rotated by some hours from a date on, and its look-alikes."""

import numpy as np
import pandas as pd
import pytest

from toolkit.checks import run_checks
from toolkit.checks.clock import clock_shifts
from toolkit.findings import Finding
from toolkit.repair import repair


def _times(rng, start, days, n, hour=lambda rng, n: rng.normal(13, 3.5, n)):
    day = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, days, n), unit="D")
    return (day + pd.to_timedelta(np.clip(hour(rng, n), 0, 23.99), unit="h")).sort_values()


def _window(rng, start, days=14, n=20_000, **kw):
    ts = _times(rng, start, days, n, **kw)
    return pd.DataFrame({"ts": ts.to_numpy(), "amount": rng.gamma(2, 30, n),
                         "region": rng.choice(["n", "s", "e"], n)})


def _with_hour(df):
    return df.assign(hour=df["ts"].dt.hour)


def test_a_dated_shift_is_found_with_its_date_size_and_derived_column():
    rng = np.random.default_rng(1)
    ref, cur = _window(rng, "2024-09-01"), _window(rng, "2024-09-15")
    moved = cur["ts"] >= "2024-09-22"
    cur.loc[moved, "ts"] = cur.loc[moved, "ts"] - pd.Timedelta(hours=8)  # local -> UTC
    cur = cur.sort_values("ts", ignore_index=True)
    [f] = clock_shifts(_with_hour(ref), _with_hour(cur), timestamp="ts")
    ev = f.evidence
    assert f.check == "clock.shift" and ev["shift_hours"] == -8.0
    # Local midnight of the 22nd is 16:00 on the 21st in the shifted clock; the
    # rows of the night are few, so the date lands within the first night's hours.
    since = pd.Timestamp(ev["since"])
    assert pd.Timestamp("2024-09-21 16:00") <= since <= pd.Timestamp("2024-09-22 06:00")
    assert ev["share_affected"] == pytest.approx(moved.mean(), abs=0.02)
    assert ev["derived_columns"] == [["hour", "hour"]]
    assert f.features == ("ts", "hour") and f.severity == "critical"
    assert ev["distance_shifted"] < 0.25 * ev["distance_unshifted"]


def test_a_whole_window_half_hour_shift_has_no_date():
    rng = np.random.default_rng(2)
    ref, cur = _window(rng, "2024-01-01"), _window(rng, "2024-01-15")
    cur["ts"] = cur["ts"] + pd.Timedelta(hours=5, minutes=30)
    [f] = clock_shifts(ref, cur, timestamp="ts")
    assert f.evidence["shift_hours"] == 5.5 and f.evidence["since"] is None
    assert f.severity == "warning"  # no column computed from the clock


@pytest.mark.parametrize("case", ["same", "wider_hours", "evening_heavier", "flat",
                                  "one_day", "weekends"])
def test_look_alikes_raise_nothing(case):
    rng = np.random.default_rng(3)
    ref = _window(rng, "2024-03-01")
    if case == "same":
        cur = _window(rng, "2024-03-15")
    elif case == "wider_hours":  # longer opening hours: the rhythm widened, not moved
        cur = _window(rng, "2024-03-15", hour=lambda r, n: r.normal(13, 5.5, n))
    elif case == "evening_heavier":  # two peaks whose weights changed
        def peaks(weight):
            return lambda r, n: np.where(r.random(n) < weight, r.normal(8, 1.5, n),
                                         r.normal(18, 1.5, n))
        ref = _window(rng, "2024-03-01", hour=peaks(0.6))
        cur = _window(rng, "2024-03-15", hour=peaks(0.3))
    elif case == "flat":  # a sensor every few seconds: no rhythm to rotate
        ref = _window(rng, "2024-03-01", hour=lambda r, n: r.uniform(0, 24, n))
        cur = _window(rng, "2024-03-15", hour=lambda r, n: r.uniform(0, 24, n))
        cur["ts"] = cur["ts"] + pd.Timedelta(hours=8)
    elif case == "one_day":  # morning against afternoon of one day: position, not rhythm
        ref = _window(rng, "2024-03-01", days=1, hour=lambda r, n: r.uniform(0, 12, n))
        cur = _window(rng, "2024-03-01", days=1, hour=lambda r, n: r.uniform(12, 24, n))
    else:  # weekdays only, then whole weeks whose weekends start two hours later
        ref = _window(rng, "2024-03-04", days=5)
        cur = _window(rng, "2024-03-11", days=14)
        weekend = cur["ts"].dt.day_of_week >= 5
        cur.loc[weekend, "ts"] = cur.loc[weekend, "ts"] + pd.Timedelta(hours=2)
    assert clock_shifts(ref, cur, timestamp="ts") == []


def test_run_checks_reads_the_hour_drift_as_a_consequence_and_repair_undoes_it():
    rng = np.random.default_rng(4)
    ref, cur = _window(rng, "2024-09-01"), _window(rng, "2024-09-15")
    cur["ts"] = cur["ts"] - pd.Timedelta(hours=8)
    ref, cur = _with_hour(ref), _with_hour(cur)
    found = run_checks(ref, cur, timestamp="ts", families=["clock", "ranges", "stuck"])
    [f] = [x for x in found if x.check == "clock.shift"]
    assert all(x.severity == "info" for x in found if "hour" in x.features and x is not f)
    desc, fixed = repair(f, ref, cur, {"timestamp": "ts"})
    assert desc == "Move the ts values by +8 h, and recompute hour from them."
    assert (fixed["hour"] == fixed["ts"].dt.hour).all()
    assert fixed["hour"].dtype == cur["hour"].dtype
    assert (fixed["ts"] == cur["ts"] + pd.Timedelta(hours=8)).all()
    assert clock_shifts(ref, fixed, timestamp="ts") == []
    assert cur["hour"].ne(fixed["hour"]).any()  # the input was not touched


def test_repair_of_a_dated_shift_touches_only_the_rows_after_its_date():
    rng = np.random.default_rng(5)
    ref, cur = _window(rng, "2024-09-01"), _window(rng, "2024-09-15")
    moved = cur["ts"] >= "2024-09-22"
    cur.loc[moved, "ts"] = cur.loc[moved, "ts"] - pd.Timedelta(hours=8)
    cur = _with_hour(cur.sort_values("ts", ignore_index=True))
    f = Finding(check="clock.shift", layer="pipeline", severity="critical", score=0.7,
                summary="", features=("ts", "hour"),
                evidence={"column": "ts", "shift_hours": -8.0, "since": "2024-09-21T16:00:00",
                          "derived_columns": [["hour", "hour"]]})
    _, fixed = repair(f, _with_hour(ref), cur, {"timestamp": "ts"})
    early = cur["ts"] < "2024-09-21 16:00"
    assert fixed.loc[early].equals(cur.loc[early])
    assert (fixed.loc[~early, "ts"] == cur.loc[~early, "ts"] + pd.Timedelta(hours=8)).all()


def test_a_mostly_zero_column_is_no_clock_feature_when_all_stamps_sit_at_midnight():
    # A reviewer: daily batches stamped at 00:00 made a 1% label "equal the hour".
    rng = np.random.default_rng(6)

    def daily(start, n=6000):
        day = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, 14, n), unit="D")
        return pd.DataFrame({"ts": day.sort_values().to_numpy(),
                             "is_fraud": (rng.random(n) < 0.01).astype(int)})

    ref, cur = daily("2024-01-01"), daily("2024-01-15")
    cur["ts"] = cur["ts"] - pd.Timedelta(hours=2)
    [f] = clock_shifts(ref, cur, timestamp="ts")
    assert f.evidence["derived_columns"] == [] and f.severity == "warning"
    _, fixed = repair(f, ref, cur, {"timestamp": "ts"})
    assert fixed["is_fraud"].equals(cur["is_fraud"])


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York"])
def test_zoned_times_are_read_on_their_wall_clock_across_daylight_saving(tz):
    # A reviewer: zoned times read in UTC rotated by an hour at every DST change.
    rng = np.random.default_rng(7)

    def local(start, n=20_000):
        day = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, 28, n), unit="D")
        wall = pd.Series(day + pd.to_timedelta(np.clip(rng.normal(13, 3.5, n), 0, 23.9),
                                               unit="h")).sort_values(ignore_index=True)
        ts = wall.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        return pd.DataFrame({"ts": ts.to_numpy()}).assign(hour=lambda d: d["ts"].dt.hour)

    ref, cur = local("2024-02-10"), local("2024-03-09")  # the spring change inside
    assert clock_shifts(ref, cur, timestamp="ts") == []
    moved = cur.assign(ts=cur["ts"] + pd.Timedelta(hours=3))
    moved["hour"] = moved["ts"].dt.hour
    [f] = clock_shifts(ref, moved, timestamp="ts")
    assert f.evidence["shift_hours"] == 3.0 and f.evidence["derived_columns"] == [["hour", "hour"]]
    _, fixed = repair(f, ref, moved, {"timestamp": "ts"})
    assert str(fixed["ts"].dtype) == str(moved["ts"].dtype)
    ok = moved["ts"].notna()
    assert (fixed.loc[ok, "ts"] == cur.loc[ok, "ts"]).all()
    assert (fixed.loc[ok, "hour"] == cur.loc[ok, "hour"]).all()


def test_integer_column_names_and_text_times_are_handled():
    rng = np.random.default_rng(8)
    ref, cur = _window(rng, "2024-09-01"), _window(rng, "2024-09-15")
    cur["ts"] = cur["ts"] - pd.Timedelta(hours=8)
    ref, cur = (df.assign(h=df["ts"].dt.hour).rename(columns={"h": 7}) for df in (ref, cur))
    [f] = clock_shifts(ref, cur, timestamp="ts")
    assert f.evidence["derived_columns"] == [[7, "hour"]] and f.features == ("ts", "7")
    _, fixed = repair(f, ref, cur, {"timestamp": "ts"})
    assert (fixed[7] == fixed["ts"].dt.hour).all()
    as_text = cur.assign(ts=cur["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    [g] = clock_shifts(ref, as_text, timestamp="ts")
    assert g.evidence["shift_hours"] == -8.0
    assert repair(g, ref, as_text, {"timestamp": "ts"}) is None  # text times stay as sent


def test_a_shift_of_one_source_is_found_with_its_segment():
    # A held-out judge: one carrier started sending UTC (+5 h) from a date.
    rng = np.random.default_rng(9)
    ref, cur = _window(rng, "2024-09-01"), _window(rng, "2024-09-15")
    hit = (cur["region"] == "s") & (cur["ts"] >= "2024-09-20")
    cur.loc[hit, "ts"] = cur.loc[hit, "ts"] + pd.Timedelta(hours=5)
    cur = cur.sort_values("ts", ignore_index=True)
    [f] = clock_shifts(ref, cur, timestamp="ts")
    ev = f.evidence
    assert (ev["shift_hours"], f.segment) == (5.0, "region == 's'")
    assert abs(pd.Timestamp(ev["since"]) - pd.Timestamp("2024-09-20 05:00")) < pd.Timedelta("1D")
    assert ev["share_affected"] == pytest.approx(hit.mean(), abs=0.03)
    desc, fixed = repair(f, ref, cur, {"timestamp": "ts"})
    assert desc.startswith("Move the ts values from ") and "by -5 h" in desc
    assert clock_shifts(ref, fixed.sort_values("ts", ignore_index=True), timestamp="ts") == []
