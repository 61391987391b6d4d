"""Unit/scale change detector: planted factors, dates, segments, and no false alarms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from toolkit import InputError
from toolkit.checks import run_checks, unit_changes
from toolkit.checks.scale import match_factor, robust_ratio


def _frame(rng, n, *, start="2024-03-01", days=14):
    ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, days * 86400, n)), unit="s")
    return pd.DataFrame({
        "ts": ts,
        "amount": np.round(rng.lognormal(3, 1, n), 2),
        "distance": rng.gamma(2.0, 3.0, n),
        "tip": np.where(rng.random(n) < 0.4, 0.0, rng.exponential(2.0, n)),
        "delta": rng.normal(0, 5, n),  # signed values
        "channel": rng.choice(["app", "web", "store"], n, p=[0.3, 0.5, 0.2]),
        "code": rng.integers(1, 5, n),
    })


@pytest.fixture
def rng():
    return np.random.default_rng(42)


def test_robust_ratio_of_identical_samples_is_one():
    x = np.sort(np.log(np.random.default_rng(0).lognormal(0, 1, 5000)))
    r = robust_ratio(x, x)
    assert r.log_factor == 0.0
    assert r.spread == 0.0
    assert r.low <= 0 <= r.high


def test_robust_ratio_recovers_exact_factor_of_scaled_copy():
    x = np.sort(np.log(np.random.default_rng(0).lognormal(0, 1, 5000)))
    r = robust_ratio(x, x + math.log(2.54))
    assert r.factor == pytest.approx(2.54, rel=1e-12)
    assert r.consistent


@pytest.mark.parametrize(("factor", "expected"), [(99.0, 100.0), (0.0101, 0.01), (1.6, 1.609344),
                                                  (3590.0, 3600.0), (0.305, 0.3048)])
def test_match_factor_finds_nearest_known_factor(factor, expected):
    assert match_factor(factor)[0] == pytest.approx(expected)


@pytest.mark.parametrize("factor", [1.05, 1.2, 7.0, 0.0])
def test_match_factor_rejects_unknown_factors(factor):
    assert match_factor(factor) is None


@pytest.mark.parametrize("factor", [100.0, 1 / 1000, 2.54, 60.0])
def test_whole_window_unit_change_is_found_with_exact_factor(rng, factor):
    ref, cur = _frame(rng, 4000), _frame(rng, 4000, start="2024-03-15")
    cur["amount"] = cur["amount"] * factor
    found = unit_changes(ref, cur, timestamp="ts")
    assert [f.features for f in found] == [("amount",)]
    ev = found[0].evidence
    assert ev["factor"] == pytest.approx(factor)
    assert ev["since"] is None
    assert ev["segment"] is None
    assert ev["share_affected"] == 1.0
    assert found[0].layer == "pipeline"
    assert found[0].check == "scale.unit_change"
    assert found[0].severity in ("warning", "critical")


def test_signed_and_zero_inflated_columns_scale_too(rng):
    ref, cur = _frame(rng, 4000), _frame(rng, 4000)
    cur["delta"] *= 1000
    cur["tip"] *= 100
    found = {f.features[0]: f.evidence["factor"] for f in unit_changes(ref, cur)}
    assert found == {"delta": pytest.approx(1000.0), "tip": pytest.approx(100.0)}


def test_change_from_a_date_finds_the_date_and_share(rng):
    ref, cur = _frame(rng, 6000), _frame(rng, 6000, start="2024-03-15")
    since = pd.Timestamp("2024-03-24")
    after = cur["ts"] >= since
    cur.loc[after, "amount"] = cur.loc[after, "amount"] * 100
    (f,) = unit_changes(ref, cur, timestamp="ts")
    ev = f.evidence
    assert ev["factor"] == 100.0
    assert abs(pd.Timestamp(ev["since"]) - since) < pd.Timedelta("2h")
    assert ev["share_affected"] == pytest.approx(after.mean(), abs=0.01)
    assert f.severity == "critical"
    assert len(ev["timeline"]) > 5


def test_change_in_one_segment_only(rng):
    ref, cur = _frame(rng, 6000), _frame(rng, 6000)
    app = cur["channel"] == "app"
    cur.loc[app, "distance"] = cur.loc[app, "distance"] * 1.609344
    (f,) = unit_changes(ref, cur)
    assert f.segment == "channel == 'app'"
    assert f.evidence["segment"] == f.segment
    assert f.evidence["factor"] == pytest.approx(1.609344)
    assert f.evidence["share_affected"] == pytest.approx(app.mean())
    # the expression selects exactly the affected rows
    assert cur.query(f.segment).index.equals(cur.index[app])


def test_ordinary_drift_is_not_a_unit_change(rng):
    ref, cur = _frame(rng, 20000), _frame(rng, 20000)
    cur["amount"] *= 1.05  # a 5% shift
    cur["distance"] = rng.gamma(3.0, 3.0, len(cur))  # a change of shape
    assert unit_changes(ref, cur, timestamp="ts") == []


def test_same_population_raises_nothing():
    ref = _frame(np.random.default_rng(1), 50000)
    cur = _frame(np.random.default_rng(2), 50000, start="2024-03-15")
    assert unit_changes(ref, cur, timestamp="ts") == []
    assert [f for f in run_checks(ref, cur, timestamp="ts") if f.severity != "info"] == []


def test_inputs_are_not_modified(rng):
    ref, cur = _frame(rng, 2000), _frame(rng, 2000)
    cur["amount"] *= 100
    before = (ref.copy(), cur.copy())
    unit_changes(ref, cur, timestamp="ts")
    pd.testing.assert_frame_equal(ref, before[0])
    pd.testing.assert_frame_equal(cur, before[1])


def test_evidence_is_json_ready(rng):
    import json

    from toolkit.findings import to_json

    ref, cur = _frame(rng, 3000), _frame(rng, 3000)
    cur["amount"] *= 100
    data = json.loads(to_json(run_checks(ref, cur, timestamp="ts")))
    ev = data["findings"][0]["evidence"]
    assert {"column", "factor", "since", "share_affected", "segment"} <= set(ev)


def test_bad_timestamp_column_is_named(rng):
    ref, cur = _frame(rng, 100), _frame(rng, 100)
    with pytest.raises(InputError, match="'when'"):
        unit_changes(ref, cur, timestamp="when")
    with pytest.raises(InputError, match="no rows"):
        unit_changes(ref, cur.iloc[:0])


def test_best_split_is_the_brute_force_split_first_among_ties():
    # The vectorised search must pick what trying every split picks; L1 costs tie
    # exactly between neighbouring splits, and then the first of them is taken.
    from toolkit.checks.scale import _best_split

    def brute(m):
        costs = np.array([np.abs(m[:k] - np.median(m[:k])).sum()
                          + np.abs(m[k:] - np.median(m[k:])).sum() for k in range(1, len(m))])
        tied = costs <= costs.min() + 1e-9 * max(float(np.abs(m).sum()), 1e-300)
        return int(np.argmax(tied)) + 1

    rng = np.random.default_rng(3)
    for t in range(3000):
        n = int(rng.integers(2, 41))
        m = rng.normal(size=n)
        if t % 3 == 0:
            m[int(rng.integers(1, n)):] += rng.normal() * 3  # a step
        if t % 5 == 0:
            m = np.round(m, 1)  # ties
        assert _best_split(m) == brute(m), m
    step = np.r_[np.zeros(25), np.full(15, 4.6)]
    assert _best_split(step) == 25
    assert _best_split(np.ones(40)) == 1


def _sites(rng, n, *, start="2024-03-01", days=14):
    """Sensors on sites inside regions (a site holds one region's rows only)."""
    df = _frame(rng, n, start=start, days=days)
    df["site"] = rng.choice([f"s{i}" for i in range(8)], n)
    df["region"] = df["site"].map({f"s{i}": "north" if i < 4 else "south" for i in range(8)})
    df["temp"] = rng.normal(18, 4, n)
    return df


def test_change_from_a_date_in_one_segment(rng):
    # Held-out incidents: a firmware version reporting kPa as Pa from a date, and a
    # region's stores sending minutes from a date. Neither the whole window, nor the
    # date alone, nor the segment alone is one factor; the segment from the date is.
    ref, cur = _sites(rng, 8000), _sites(rng, 8000, start="2024-03-15")
    since = pd.Timestamp("2024-03-22")
    hit = (cur["region"] == "south") & (cur["ts"] >= since)
    cur.loc[hit, "distance"] *= 1000
    (f,) = unit_changes(ref, cur, timestamp="ts")
    ev = f.evidence
    assert (ev["factor"], f.segment) == (1000.0, "region == 'south'")  # the region, not a site
    assert abs(pd.Timestamp(ev["since"]) - since) < pd.Timedelta("3h")
    assert ev["share_affected"] == pytest.approx(hit.mean(), abs=0.01)


def test_temperatures_converted_to_fahrenheit_are_an_affine_unit_change(rng):
    # x1.8 + 32 is no factor: it was called "x2.205, kg to lb", and dividing undoes
    # nothing. The conversion is named, with its offset, and the repair inverts it.
    from toolkit.findings import Finding
    from toolkit.repair import rescale

    ref, cur = _sites(rng, 6000), _sites(rng, 6000, start="2024-03-15")
    truth = cur.copy()
    b = cur["site"] == "s2"
    cur.loc[b, "temp"] = cur.loc[b, "temp"] * 1.8 + 32
    (f,) = unit_changes(ref, cur, timestamp="ts")
    ev = f.evidence
    assert (ev["column"], ev["factor"], ev["offset"]) == ("temp", 1.8, 32.0)
    assert "Celsius to Fahrenheit" in ev["conversion"] and f.segment == "site == 's2'"
    assert f.severity == "critical" and "(x - 32) / 1.8" in f.next_step
    undone = rescale(Finding(check=f.check, layer=f.layer, summary=f.summary,
                             evidence=ev), ref, cur, {"timestamp": "ts"})
    np.testing.assert_allclose(undone["temp"], truth["temp"])
    # A true factor near the same ratio stays a factor: pounds are kilograms x 2.205.
    ref2, cur2 = _sites(rng, 6000), _sites(rng, 6000)
    cur2["amount"] *= 2.20462
    (g,) = unit_changes(ref2, cur2)
    assert g.evidence["offset"] == 0.0 and "kg to lb" in g.evidence["conversion"]


def test_an_unlisted_factor_from_a_date_is_a_step_not_a_trend(rng):
    # A held-out incident: prices of one market arrived in another currency (x0.79)
    # from a date; no listed factor, under the 1.4 floor, so it read as drift.
    ref, cur = _frame(rng, 20000), _frame(rng, 20000, start="2024-03-15")
    since = pd.Timestamp("2024-03-21")
    after = cur["ts"] >= since
    stepped = cur.assign(amount=np.where(after, cur["amount"] * 0.79, cur["amount"]))
    (f,) = unit_changes(ref, stepped, timestamp="ts")
    ev = f.evidence
    assert ev["factor"] == pytest.approx(0.79, abs=0.02) and f.severity == "warning"
    assert ev["conversion"].startswith("an unlisted factor")
    assert abs(pd.Timestamp(ev["since"]) - since) < pd.Timedelta("6h")
    # The same factor spread over the window as a trend, or without a date, is drift.
    u = np.linspace(0, 1, len(cur))
    assert unit_changes(ref, cur.assign(amount=cur["amount"] * (1 - 0.3 * u)),
                        timestamp="ts") == []
    assert unit_changes(ref, cur.assign(amount=cur["amount"] * 0.79)) == []


def test_new_people_in_a_segment_are_no_unit_change(rng):
    # A held-out judge: a campaign brought new players (days since install ~ 4, not
    # ~60) into one channel from a date, and a scale family moved by "1/10" read as
    # a critical unit change. The channel's share of rows went from 6% to 45%.
    def frame(n, start, late_share):
        ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, 28 * 86400, n)),
                                                   unit="s")
        late = np.arange(n) >= n // 2
        camp = rng.random(n) < np.where(late, late_share, 0.06)
        new = camp & late & (late_share > 0.06)  # the campaign's players are new
        return pd.DataFrame({"ts": ts, "channel": np.where(camp, "tiktok", "search"),
                             "days": np.where(new, rng.exponential(4, n),
                                              rng.exponential(60, n)).round() + 1})

    ref, cur = frame(30_000, "2024-01-01", 0.06), frame(30_000, "2024-01-29", 0.45)
    assert unit_changes(ref, cur, timestamp="ts") == []
    # The same values rescaled in place, with the channel's share steady, still are.
    steady = frame(30_000, "2024-01-29", 0.06)
    hit = (steady["channel"] == "tiktok") & (steady.index >= len(steady) // 2)
    steady.loc[hit, "days"] = steady.loc[hit, "days"] / 10
    (f,) = unit_changes(ref, steady, timestamp="ts")
    assert f.evidence["factor"] == 0.1 and f.segment == "channel == 'tiktok'"
