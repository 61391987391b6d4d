"""One pipeline: every entry point judges the same windows the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit import drift, pipeline, policy, triage
from toolkit._audit_checks import AuditContext
from toolkit._audit_config import parse_config
from toolkit.findings import Finding


def incident(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hourly rows with calendar columns and a seasonal measurement; the current
    window's amount arrives in cents from a date on."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2024-04-01", periods=24 * 84, freq="h")
    df = pd.DataFrame({
        "ts": t,
        "month": t.month,
        "weekday": t.day_of_week,
        "temp": 10 + 0.15 * np.arange(len(t)) / 24 + rng.normal(0, 3, len(t)),
        "amount": rng.gamma(2.0, 20.0, len(t)).round(2),
        "channel": rng.choice(["web", "app", "store"], len(t), p=[0.5, 0.3, 0.2]),
    })
    ref, cur = df.iloc[: 24 * 42].copy(), df.iloc[24 * 42:].copy()
    late = cur["ts"] >= "2024-05-25"
    cur.loc[late, "amount"] = cur.loc[late, "amount"] * 100
    return ref, cur


def judged(findings: list[Finding]) -> list[tuple[str, tuple[str, ...], str]]:
    """The data-check and drift findings in order, as (check, columns, severity)."""
    keep = [f for f in findings if not f.check.startswith(("drift.domain", "triage."))]
    return [(f.check, f.features, f.severity) for f in keep]


@pytest.fixture(scope="module")
def windows() -> tuple[pd.DataFrame, pd.DataFrame]:
    return incident()


def test_check_windows_triage_and_audit_agree(windows, tmp_path_factory) -> None:
    ref, cur = windows
    by_windows = drift.check_windows(ref, cur, timestamp="ts")
    by_triage = triage.investigate(ref, cur, timestamp="ts")
    folder = tmp_path_factory.mktemp("audit")
    (folder / "x.csv").write_text("ts\n2024-01-01\n")  # the config names a data file
    cfg = parse_config({"name": "t", "data": "*.csv", "timestamp": "ts", "window": "yesterday",
                        "reference": {"trailing": "7d"}, "checks": ["data", "drift"],
                        "objectives": [{"name": "rows", "measure": "volume.rows", "min": 1}]},
                       base_dir=folder)
    ctx = AuditContext(cfg, cfg.window_at("2024-06-01T00:00"), ref, cur)
    by_audit = ctx.findings()
    first = judged(by_windows.findings)
    assert first == judged(by_triage.findings) == judged(by_audit)
    # The fault leads; the month column turning from May to June is ordinary.
    assert first[0][:2] == ("scale.unit_change", ("amount",))
    assert all(sev == "info" for check, cols, sev in first if cols == ("month",))


def test_drift_of_a_rescaled_column_is_its_consequence(windows) -> None:
    ref, cur = windows
    found = drift.check_windows(ref, cur, timestamp="ts").findings
    amount = [f for f in found if f.check == "drift.feature" and f.features == ("amount",)]
    assert amount and amount[0].severity == "info"
    assert amount[0].evidence.get("explained_by") == "scale.unit_change"


def test_severities_say_what_normal_pairs_produced(windows) -> None:
    ref, cur = windows
    result = drift.check_windows(ref, cur, timestamp="ts")
    assert result.normal.n_pairs == 15
    unit = next(f for f in result.findings if f.check == "scale.unit_change")
    assert unit.evidence["normal"]["seen"] == 0
    assert "beyond every normal pair" in unit.evidence["normal"]["said"]


def test_a_quiet_pair_of_windows_raises_no_critical() -> None:
    ref, cur = incident(seed=3)
    cur = pd.concat([ref.iloc[len(ref) // 2:], cur]).iloc[: len(ref)]  # no fault in it
    ref = ref.iloc[: len(ref) // 2]
    cur = cur[cur["ts"] < "2024-05-25"]
    found = drift.check_windows(ref, cur, timestamp="ts").findings
    assert [f.summary for f in found if f.severity == "critical"] == []


def test_explain_away_twice_changes_nothing(windows) -> None:
    ref, cur = windows
    found = drift.check_windows(ref, cur, timestamp="ts").findings
    again = policy.explain_away(found)
    assert [(f.check, f.severity, f.summary) for f in again] == \
        [(f.check, f.severity, f.summary) for f in found]


def test_stages_leave_what_the_next_reads_in_the_typed_context(windows) -> None:
    ref, cur = windows
    ctx = pipeline.StageContext(ref, cur, timestamp="ts",
                                features=["month", "weekday", "temp", "amount", "channel"])
    ctx.find_clock()
    assert set(ctx.clock) == {"month", "weekday"}
    assert ctx.profiles is None
    pipeline.run_stage("checks", ctx)
    assert ctx.profiles is not None and "amount" in ctx.moved
    with pytest.raises(pipeline.StageSkipped, match="Needs a model"):
        pipeline.run_stage("attribution", ctx)


def test_history_rows_make_windows_as_long_as_the_current_one(windows, tmp_path: Path) -> None:
    ref, cur = windows
    rng = np.random.default_rng(9)
    t = pd.date_range("2023-06-01", "2024-03-31 23:00", freq="h")
    past = pd.DataFrame({"ts": t, "month": t.month, "weekday": t.day_of_week,
                         "temp": 5 + rng.normal(0, 3, len(t)),
                         "amount": rng.gamma(2.0, 20.0, len(t)).round(2),
                         "channel": rng.choice(["web", "app", "store"], len(t))})
    result = drift.check_windows(ref, cur, timestamp="ts", history=past)
    # 346 days before the current window: eight windows of six weeks, seven pairs.
    assert "history" in result.normal.unit and result.normal.n_pairs == 7


def test_an_audit_judges_severities_against_its_history(tmp_path: Path) -> None:
    from toolkit import audit

    rng = np.random.default_rng(4)
    t = pd.date_range("2024-01-01", "2024-03-11 23:00", freq="h")
    df = pd.DataFrame({"ts": t.strftime("%Y-%m-%dT%H:%M:%S"), "x": rng.normal(size=len(t)),
                       "channel": rng.choice(["web", "app"], len(t))})
    df.to_csv(tmp_path / "data.csv", index=False)
    raw = {"name": "t", "data": "data.csv", "timestamp": "ts", "window": "yesterday",
           "reference": {"trailing": "7d"}, "checks": ["data", "drift"], "history": "56d",
           "objectives": [{"name": "rows", "measure": "volume.rows", "min": 1}]}
    cfg = parse_config(raw, base_dir=tmp_path)
    window = cfg.window_at("2024-03-12T02:00")
    history = audit.load_history(cfg, window)
    assert history is not None and len(history) == 56 * 24
    assert pd.to_datetime(history["ts"]).max() < pd.Timestamp("2024-03-04")
    reference, current = audit.load_windows(cfg, window)
    ctx = AuditContext(cfg, window, reference, current, history=history)
    ctx.findings()
    # Eight weeks of history and a week of reference before a one-day window.
    assert ctx.normal().unit.startswith("consecutive 1 days windows of the history")
    assert ctx.normal().n_pairs == 12
    assert audit.evaluate_config(cfg, now="2024-03-12T02:00").status == "passed"
    with pytest.raises(Exception, match="history"):
        parse_config({**raw, "history": "soon"}, base_dir=tmp_path)
