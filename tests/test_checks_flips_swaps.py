"""Sign flips (scale.sign_flip) and swapped codes (categories.swapped_codes): planted
faults found and dated, repaired, and look-alikes of ordinary variation left alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.checks import category_changes, run_checks, unit_changes
from toolkit.repair import repair

REAL = Path(__file__).parent / "data" / "real"
DEST = {"UA": ["IAH", "ORD", "SFO", "DEN"], "B6": ["FLL", "MCO", "BOS", "SJU"],
        "DL": ["ATL", "DTW", "MSP", "SLC"], "AA": ["DFW", "MIA", "ORD", "LAX"]}


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _times(rng, n, start, days=14):
    return pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, days * 86400, n)),
                                                 unit="s")


def _signed(rng, n, start):
    return pd.DataFrame({
        "ts": _times(rng, n, start),
        "delay": rng.gamma(1.5, 20, n) - 15,  # skewed, mostly small negatives
        "noise": rng.normal(0, 5, n),  # symmetric around 0
        "channel": rng.choice(["app", "web", "store"], n, p=[0.3, 0.5, 0.2]),
    })


def _flips(ref, cur):
    return [f for f in unit_changes(ref, cur, timestamp="ts") if f.check == "scale.sign_flip"]


def _share_between(times, a, b):
    lo, hi = sorted((pd.Timestamp(a), pd.Timestamp(b)))
    return float(((times >= lo) & (times < hi)).mean())


# --- sign flips -------------------------------------------------------------------------

def test_sign_flip_from_a_date_is_found_dated_and_repaired(rng):
    ref, cur = _signed(rng, 20_000, "2024-03-01"), _signed(rng, 20_000, "2024-03-15")
    bad = cur.copy()
    hit = bad["ts"] >= "2024-03-22"
    bad.loc[hit, "delay"] = -bad.loc[hit, "delay"]
    kept = bad.copy()
    (f,) = _flips(ref, bad)
    assert f.features == ("delay",) and f.layer == "pipeline" and f.severity == "critical"
    assert _share_between(bad["ts"], f.evidence["since"], "2024-03-22") < 0.02
    assert f.evidence["share_affected"] == pytest.approx(hit.mean(), abs=0.02)
    assert f.evidence["ks_mirrored"] < f.evidence["ks_reference"] - f.evidence["noise"]
    _, fixed = repair(f, ref, bad, {"timestamp": "ts"})
    assert np.mean(fixed["delay"].to_numpy() != cur["delay"].to_numpy()) < 0.02
    pd.testing.assert_frame_equal(bad, kept)  # inputs are never modified


def test_sign_flip_in_one_segment_names_it(rng):
    ref, cur = _signed(rng, 20_000, "2024-03-01"), _signed(rng, 20_000, "2024-03-15")
    hit = cur["channel"] == "web"
    cur.loc[hit, "delay"] = -cur.loc[hit, "delay"]
    (f,) = _flips(ref, cur)
    assert f.segment == "channel == 'web'"
    assert f.evidence["share_affected"] == pytest.approx(hit.mean(), abs=0.01)


def test_quiet_windows_and_a_symmetric_column_flipped_stay_silent(rng):
    ref, cur = _signed(rng, 20_000, "2024-03-01"), _signed(rng, 20_000, "2024-03-15")
    assert _flips(ref, cur) == []
    hit = cur["ts"] >= "2024-03-22"
    cur.loc[hit, "noise"] = -cur.loc[hit, "noise"]  # invisible: the column is symmetric
    assert _flips(ref, cur) == []


@pytest.mark.parametrize("season", ["step", "trend"])
def test_seasonal_drift_across_zero_is_not_a_flip(rng, season):
    """A temperature that falls below 0 as winter comes, at once (a cold front) or
    gradually, with its skew kept: drift, not a sign convention."""
    n = 20_000
    ref = pd.DataFrame({"ts": _times(rng, n, "2024-10-01"),
                        "temp": 6 + rng.gamma(2, 2, n) - 4})
    cur = pd.DataFrame({"ts": _times(rng, n, "2024-12-01"), "temp": rng.gamma(2, 2, n) - 4})
    shift = np.where(np.arange(n) < n // 2, 6.0, -8.0) if season == "step" \
        else np.linspace(6, -10, n)
    cur["temp"] = cur["temp"] + shift
    assert _flips(ref, cur) == []


# --- swapped codes ----------------------------------------------------------------------

def _flights(rng, n, start, *, weights=(0.4, 0.3, 0.2, 0.1), weekend=None):
    ts = _times(rng, n, start)
    carriers = np.array(list(DEST))
    p = np.tile(np.asarray(weights, dtype=float), (n, 1))
    if weekend is not None:  # another carrier mix on Saturdays and Sundays
        p[ts.day_of_week.to_numpy() >= 5] = weekend
    carrier = carriers[(rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)]
    dest = np.array([rng.choice(DEST[c]) for c in carrier])
    distance = np.array([{"UA": 1400, "B6": 1000, "DL": 800, "AA": 1300}[c] for c in carrier])
    return pd.DataFrame({"ts": ts, "carrier": pd.array(carrier, dtype="str"),
                         "dest": pd.array(dest, dtype="str"),
                         "distance": distance + rng.normal(0, 150, n)})


def _swap(df, col, a, b, since):
    out = df.copy()
    hit = (out["ts"] >= since).to_numpy()
    old = out[col].copy()
    out.loc[hit & (old == a).to_numpy(), col] = b
    out.loc[hit & (old == b).to_numpy(), col] = a
    return out


def _swaps(ref, cur, column="carrier"):
    return [f for f in category_changes(ref, cur, columns=[column], timestamp="ts")
            if f.check == "categories.swapped_codes"]


def test_two_carriers_swapped_from_a_date_are_found_and_swapped_back(rng):
    ref, cur = _flights(rng, 20_000, "2024-03-01"), _flights(rng, 20_000, "2024-03-15")
    bad = _swap(cur, "carrier", "UA", "B6", "2024-03-20")
    (f,) = _swaps(ref, bad)
    assert sorted(f.evidence["values"]) == ["B6", "UA"] and f.layer == "pipeline"
    assert f.severity == "critical"
    assert _share_between(bad["ts"], f.evidence["since"], "2024-03-20") < 0.02
    _, fixed = repair(f, ref, bad, {"timestamp": "ts"})
    assert np.mean(fixed["carrier"].to_numpy() != cur["carrier"].to_numpy()) < 0.01


def test_swapped_integer_codes_are_found(rng):
    """Payment type 1 (card, tips recorded) and 2 (cash, no tip) swapped: a code
    column the profile treats as numbers."""
    def trips(n, start):
        pay = rng.choice([1, 2, 3, 4], n, p=[0.6, 0.3, 0.06, 0.04])
        tip = np.where(pay == 1, rng.gamma(2, 1.5, n), 0.0)
        return pd.DataFrame({"ts": _times(rng, n, start), "payment_type": pay, "tip": tip,
                             "fare": rng.gamma(3, 4, n)})
    ref, cur = trips(20_000, "2024-03-01"), trips(20_000, "2024-03-15")
    bad = _swap(cur, "payment_type", 1, 2, "2024-03-24")
    found = [f for f in run_checks(ref, bad, timestamp="ts") if f.severity != "info"]
    assert found[0].check == "categories.swapped_codes"
    assert sorted(found[0].evidence["values"]) == ["1", "2"]
    _, fixed = repair(found[0], ref, bad, {"timestamp": "ts"})
    assert fixed["payment_type"].dtype == bad["payment_type"].dtype
    assert np.mean(fixed["payment_type"].to_numpy() != cur["payment_type"].to_numpy()) < 0.01


def test_weekday_mix_and_gradual_mix_shift_are_not_swaps(rng):
    ref = _flights(rng, 20_000, "2024-03-01", weekend=(0.3, 0.4, 0.2, 0.1))
    cur = _flights(rng, 20_000, "2024-03-15", weekend=(0.3, 0.4, 0.2, 0.1))
    assert _swaps(ref, cur) == []
    # UA's share falls as B6's rises, through the window, with no date: a mix of
    # trips that turns, not a mapping bug (the rows keep their destinations).
    turning = _flights(rng, 20_000, "2024-03-15")
    ua = turning["carrier"] == "UA"
    t = np.linspace(0, 1, len(turning))
    turning.loc[ua & (rng.random(len(t)) < 0.6 * t), "carrier"] = "DL"
    assert _swaps(ref, turning) == []


def test_codes_no_other_column_tells_apart_are_not_claimed(rng):
    """Two codes of near-equal frequency and nothing that separates them: a swap of
    them changes nothing observable, and must not be claimed."""
    def frame(n, start):
        return pd.DataFrame({"ts": _times(rng, n, start),
                             "region": rng.choice(["n", "s", "e", "w"], n,
                                                  p=[0.3, 0.3, 0.3, 0.1]),
                             "x": rng.normal(0, 1, n)})
    ref, cur = frame(20_000, "2024-03-01"), frame(20_000, "2024-03-15")
    assert _swaps(ref, _swap(cur, "region", "n", "s", "2024-03-20"), "region") == []


# --- real slices ------------------------------------------------------------------------

def _real_flights():
    fl = pd.read_csv(REAL / "flights_2013-06-24_2wk.csv", parse_dates=["sched_departure"])
    week2 = fl["sched_departure"] >= "2013-07-01"
    return (fl[~week2].reset_index(drop=True).rename(columns={"sched_departure": "ts"}),
            fl[week2].reset_index(drop=True).rename(columns={"sched_departure": "ts"}))


def _real_bikeshare():
    bk = pd.read_csv(REAL / "bikeshare_2011-05_2mo.csv", parse_dates=["datetime"])
    june = bk["datetime"] >= "2011-06-01"
    return (bk[~june].reset_index(drop=True).rename(columns={"datetime": "ts"}),
            bk[june].reset_index(drop=True).rename(columns={"datetime": "ts"}))


@pytest.mark.parametrize("load", [_real_flights, _real_bikeshare])
def test_real_consecutive_windows_raise_neither(load):
    ref, cur = load()
    found = run_checks(ref, cur, timestamp="ts")
    assert [f for f in found if f.check in ("scale.sign_flip", "categories.swapped_codes")] == []


def test_real_departure_delay_flipped_from_a_date():
    ref, cur = _real_flights()
    since = "2013-07-03"
    bad = cur.copy()
    hit = bad["ts"] >= since
    bad.loc[hit, "dep_delay"] = -bad.loc[hit, "dep_delay"]
    (f,) = _flips(ref, bad)
    assert f.features == ("dep_delay",)
    assert _share_between(bad["ts"], f.evidence["since"], since) < 0.03


@pytest.mark.parametrize(("column", "a", "b"), [("origin", "EWR", "JFK"), ("carrier", "UA", "B6")])
def test_real_codes_swapped_from_a_date(column, a, b):
    ref, cur = _real_flights()
    since = "2013-07-04"
    (f,) = _swaps(ref, _swap(cur, column, a, b, since), column)
    assert sorted(f.evidence["values"]) == sorted([a, b])
    assert _share_between(cur["ts"], f.evidence["since"], since) < 0.03


def test_both_findings_plot_their_timeline(rng):
    pytest.importorskip("matplotlib")
    from toolkit.plots.checks import CHECK_PLOTS, figures_for

    ref, cur = _flights(rng, 5_000, "2024-03-01"), _flights(rng, 5_000, "2024-03-15")
    cur = _swap(cur, "carrier", "UA", "B6", "2024-03-22")
    cur["delay"] = np.where(cur["ts"] >= "2024-03-20", -1, 1) * (rng.gamma(1.5, 20, 5_000) - 15)
    ref["delay"] = rng.gamma(1.5, 20, 5_000) - 15
    found = [f for f in run_checks(ref, cur, timestamp="ts")
             if f.check in ("scale.sign_flip", "categories.swapped_codes")]
    assert sorted(f.check for f in found) == ["categories.swapped_codes", "scale.sign_flip"]
    assert all(f.check in CHECK_PLOTS and f.evidence["timeline"] for f in found)
    figures = figures_for(found)
    assert len(figures) == 2
    import matplotlib.pyplot as plt

    for fig in figures:
        plt.close(fig)
