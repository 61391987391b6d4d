"""Widgets, their static twins, the drill-down's numbers, and the progress helper."""

from __future__ import annotations

import html

import nbformat
import numpy as np
import pandas as pd
import pytest

from toolkit import widgets
from toolkit._drilldown import feature_drilldown_data, pick_segment_column
from toolkit.findings import Finding
from toolkit.progress import progress, where

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def windows(rng):
    n = 2_000
    two_weeks = 14 * 86400
    times_ref = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.uniform(0, two_weeks, n), unit="s")
    times_cur = pd.Timestamp("2026-01-15") + pd.to_timedelta(rng.uniform(0, two_weeks, n), unit="s")
    ref = pd.DataFrame({"t": times_ref, "amount": rng.lognormal(3, 0.5, n),
                        "channel": rng.choice(["app", "web", "pos"], n),
                        "kind": rng.choice(["a", "b"], n)})
    cur = pd.DataFrame({"t": times_cur, "amount": rng.lognormal(3, 0.5, n),
                        "channel": rng.choice(["app", "web", "pos"], n),
                        "kind": rng.choice(["a", "b"], n)})
    late = cur["t"] >= pd.Timestamp("2026-01-22")
    cur.loc[late, "amount"] = cur.loc[late, "amount"] * 100  # a planted unit change
    cur.loc[cur.index[:40], "channel"] = HOSTILE
    cur.loc[cur.index[40:60], "amount"] = np.nan
    return ref, cur, late


def test_numeric_bins_hold_every_row_and_catch_the_planted_shift(windows):
    ref, cur, late = windows
    before = cur.copy()
    d = feature_drilldown_data(ref, cur, "amount", timestamp="t", segment_by="channel")
    pd.testing.assert_frame_equal(cur, before)  # inputs are never modified
    table = d.distribution.set_index("bin")
    assert table["reference"].sum() == pytest.approx(1.0)
    assert table["current"].sum() == pytest.approx(1.0)
    assert table.loc["missing", "current"] == pytest.approx(20 / len(cur))
    # reference deciles: every reference bin holds about 10%, none outside the range
    inner = table.iloc[1:-2]["reference"]
    assert np.allclose(inner, 0.1, atol=0.002)
    assert table.loc["below ref. min", "reference"] == 0
    assert table.loc["above ref. max", "reference"] == 0
    # x100 from the 22nd: ~half the rows, all but a few far above the reference maximum
    expected = (cur["amount"] > ref["amount"].max()).mean()
    assert table.loc["above ref. max", "current"] == pytest.approx(expected)
    assert expected == pytest.approx(late.mean(), abs=0.02)
    assert d.kind == "numeric"
    assert d.log_scale


def test_over_time_and_segments_match_pandas(windows):
    ref, cur, _ = windows
    d = feature_drilldown_data(ref, cur, "amount", timestamp="t", segment_by="kind")
    cur_days = d.over_time[d.over_time["window"] == "current"].set_index("period")["value"]
    expected = cur.groupby(cur["t"].dt.floor("D"))["amount"].median()
    pd.testing.assert_series_equal(cur_days, expected, check_names=False, check_freq=False)
    seg = d.by_segment.set_index("segment")
    expected_a = ref.loc[ref["kind"] == "a", "amount"].median()
    assert seg.loc["a", "reference"] == pytest.approx(expected_a)
    assert seg.loc["b", "current"] == pytest.approx(cur.loc[cur["kind"] == "b", "amount"].median())


def test_categorical_bins_put_unseen_values_apart(windows):
    ref, cur, _ = windows
    d = feature_drilldown_data(ref, cur, "channel", timestamp="t", segment_by="kind")
    table = d.distribution.set_index("bin")
    assert table.loc["other / unseen", "current"] == pytest.approx(40 / len(cur))
    assert table.loc["other / unseen", "reference"] == 0
    assert table["current"].sum() == pytest.approx(1.0)
    assert d.kind == "categorical"


def test_segment_column_is_a_few_valued_text_column(windows):
    ref, _, _ = windows
    assert pick_segment_column(ref, exclude=("t",)) == "channel"
    assert pick_segment_column(ref, exclude=("t", "channel")) == "kind"
    assert pick_segment_column(ref[["t", "amount"]]) is None


def test_drilldown_has_a_widget_and_an_escaped_static_twin(windows):
    ref, cur, _ = windows
    ref = ref.rename(columns={"kind": HOSTILE})
    cur = cur.rename(columns={"kind": HOSTILE})
    view = widgets.feature_drilldown(ref, cur, features=["amount", "channel", HOSTILE],
                                     timestamp="t", static_features=2)
    bundle = view._repr_mimebundle_()
    assert widgets.WIDGET_MIME in bundle
    assert "text/plain" in bundle
    static = bundle["text/html"]
    assert static.count("data:image/png;base64,") == 2
    assert HOSTILE not in static
    assert html.escape(HOSTILE) in static
    picker, pane = view.widget.children
    assert view.feature == "amount"
    assert "Feature: amount" in pane.value
    picker.value = "channel"
    assert view.feature == "channel"
    assert "Feature: channel" in pane.value


def _finding(**kw):
    base = {"check": "categories.unseen_values", "layer": "data",
            "summary": f"new value {HOSTILE}", "severity": "warning", "score": 0.5,
            "features": ("channel",), "evidence": {"examples": [HOSTILE], "share": 0.02},
            "next_step": "ask <the> owner"}
    base.update(kw)
    return Finding(**base)


def test_findings_browser_escapes_and_follows_the_menu():
    items = [_finding(rank=1), _finding(rank=2, summary="second", severity="info", score=0.1)]
    view = widgets.findings_browser(items, plots=False)
    static = view.static_html()
    assert "<script>" not in static
    assert "&lt;script&gt;" in static
    assert static.count("<details") == 2
    assert "<details open>" in static
    picker, pane = view.widget.children
    picker.value = 1
    assert view.finding.summary == "second"
    assert "second" in pane.value
    assert widgets.findings_browser([]).static_html().count("No findings") == 1


def test_intake_form_fills_the_frame():
    cur = pd.DataFrame({"t": pd.date_range("2026-11-10", periods=14, freq="D"),
                        "channel": ["app", "web"] * 7})
    form = widgets.intake_form(cur, complaint="scores too high for app users since 2026-11-16",
                               timestamp="t")
    assert form.frame.segment == "channel == 'app'"
    assert form.frame.since.date().isoformat() == "2026-11-16"
    text, row, button, pane = form.widget.children
    segment, since = row.children
    text.value = HOSTILE
    segment.value = "channel == 'web'"
    since.value = "2026-11-18"
    button.click()
    assert form.frame.segment == "channel == 'web'"
    assert form.frame.since.date().isoformat() == "2026-11-18"
    assert HOSTILE not in pane.value
    assert html.escape(HOSTILE) in pane.value
    since.value = "not a date"
    button.click()
    assert "not a date" in html.unescape(pane.value)


def test_report_export_shows_the_static_twin_without_widget_state(tmp_path, windows):
    from toolkit.runner import export_html

    ref, cur, _ = windows
    view = widgets.feature_drilldown(ref, cur, features=["channel"], timestamp="t")
    bundle = view._repr_mimebundle_()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("view", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("display_data", data=bundle)]
    nb.cells = [cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {}, "version_major": 2, "version_minor": 0}}
    nbformat.write(nb, tmp_path / "nb.ipynb")
    out = export_html(tmp_path / "nb.ipynb", tmp_path / "report.html").read_text()
    assert "Feature: channel" in out
    assert "data:image/png;base64," in out
    assert "application/vnd.jupyter.widget-view+json" not in out


def test_progress_outside_a_kernel(capsys):
    assert where(False) == "none"
    assert where() == "none"  # pytest's stderr is no terminal
    assert sum(progress(range(5), desc="quiet")) == 10
    assert capsys.readouterr().err == ""
    with progress(total=3, desc="scoring", enable=True) as bar:
        assert bar.mode == "terminal"
        bar.update(3)
    assert "scoring" in capsys.readouterr().err


def test_progress_leaves_nothing_in_a_saved_report(tmp_path):
    from toolkit.runner import run_template

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(
        "import time\nfrom toolkit.progress import progress\n"
        "for _ in progress(range(20), desc='explaining rows'):\n    time.sleep(0.02)\n"
        "print('done')")]
    nbformat.write(nb, tmp_path / "bar.ipynb")
    result = run_template(tmp_path / "bar.ipynb", {}, reports_dir=tmp_path / "reports")
    assert result.ok, result.error
    outputs = nbformat.read(result.notebook, as_version=4).cells[0].outputs
    texts = [str(o.get("data", {})) + o.get("text", "") for o in outputs]
    assert any("done" in t for t in texts)
    assert not any("explaining rows" in t for t in texts)
    assert "explaining rows" not in result.html.read_text()


def test_attribution_shares_come_from_the_attribution_table(windows):
    from types import SimpleNamespace

    ref, cur, _ = windows
    table = pd.DataFrame({"feature": ["amount", "channel"], "share_ref": [0.2, 0.5],
                          "share_cur": [0.6, 0.3]})
    result = SimpleNamespace(table=table)
    d = feature_drilldown_data(ref, cur, "amount", attribution=result)
    assert d.attribution == {"reference": 0.2, "current": 0.6}
    assert feature_drilldown_data(ref, cur, "kind", attribution=result).attribution is None
    assert feature_drilldown_data(ref, cur, "amount").attribution is None
