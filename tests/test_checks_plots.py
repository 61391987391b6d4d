"""Figures of the data checks: drawn from evidence only, on a given ax or a new one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import InputError
from toolkit.checks import run_checks
from toolkit.findings import Finding
from toolkit.plots import checks as P

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")


@pytest.fixture(scope="module")
def findings():
    rng = np.random.default_rng(0)

    def frame(n, start):
        ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, 28 * 86400, n)),
                                                   unit="s")
        return pd.DataFrame({"ts": ts, "amount": rng.lognormal(3, 1, n),
                             "score": rng.normal(size=n),
                             "channel": rng.choice(["app", "web"], n)})

    ref, cur = frame(8000, "2024-03-01"), frame(8000, "2024-03-29")
    late = cur["ts"] >= pd.Timestamp("2024-04-12")
    cur.loc[late, "amount"] *= 100
    cur.loc[late & (rng.random(len(cur)) < 0.3), "score"] = np.nan
    gap = (cur["ts"] >= pd.Timestamp("2024-04-05")) & (cur["ts"] < pd.Timestamp("2024-04-06"))
    cur = cur[~gap]
    return {f.check: f for f in run_checks(ref, cur, timestamp="ts")}


@pytest.mark.parametrize(("check", "fn"), [
    ("scale.unit_change", P.plot_unit_change),
    ("missing.null_spike", P.plot_null_spike),
    ("volume.drop", P.plot_volume),
])
def test_each_plot_draws_from_its_finding(findings, check, fn):
    import matplotlib.pyplot as plt

    fig = fn(findings[check])
    assert fig.axes
    assert fig.axes[0].lines or fig.axes[0].patches
    fig2, ax = plt.subplots()
    assert fn(findings[check], ax=ax) is fig2  # draws on the ax it is given
    plt.close("all")


def test_unit_change_plot_marks_the_factor(findings):
    import matplotlib.pyplot as plt

    fig = P.plot_unit_change(findings["scale.unit_change"])
    ys = [line.get_ydata()[0] for line in fig.axes[0].lines if len(line.get_ydata()) == 2]
    assert 2.0 in ys  # log10(100)
    plt.close("all")


def test_figures_for_skips_info_and_unplottable(findings):
    import matplotlib.pyplot as plt

    figs = P.figures_for(list(findings.values()), limit=10)
    plottable = [f for f in findings.values() if f.severity != "info" and f.check in P.CHECK_PLOTS]
    assert len(figs) == len(plottable)
    assert P.plot_check_overview(list(findings.values())).axes
    plt.close("all")


def test_wrong_finding_is_an_input_error():
    f = Finding(check="drift.feature", layer="population", summary="x")
    with pytest.raises(InputError, match=r"scale\.\*"):
        P.plot_unit_change(f)


def test_clock_shift_plot_draws_the_reference_moved_onto_the_current():
    import matplotlib.pyplot as plt

    from toolkit.checks.clock import clock_shifts

    rng = np.random.default_rng(1)

    def frame(start):
        day = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, 14, 20_000), unit="D")
        hours = np.clip(rng.normal(13, 3, 20_000), 0, 23.9)
        return pd.DataFrame({"ts": (day + pd.to_timedelta(hours, unit="h")).sort_values()})

    cur = frame("2024-01-15")
    cur["ts"] = cur["ts"] - pd.Timedelta(hours=8)
    [f] = clock_shifts(frame("2024-01-01"), cur, timestamp="ts")
    fig = P.plot_clock_shift(f)
    ref, now, moved = (np.asarray(line.get_ydata()) for line in fig.axes[0].lines)
    assert np.argmax(now) == np.argmax(moved) == (np.argmax(ref) - 16) % 48  # -8 h
    assert np.abs(now - moved).sum() < 0.3 * np.abs(now - ref).sum()
    plt.close("all")
