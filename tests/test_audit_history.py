"""The audit history store, trend tables and the trend plot."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from toolkit import StorageError
from toolkit._audit_config import Window, parse_config
from toolkit.audit import AuditResult, History, ObjectiveResult, history_path, trend_table

UTC = dt.UTC


def run_row(day: int, *, value: float, status: str = "passed", config: str = "nightly",
            run_dir: str = "r") -> dict:
    start = dt.datetime(2024, 3, day, tzinfo=UTC)
    obj_status = "breached" if status == "breached" else "met"
    return {
        "config": config, "config_sha256": "abc", "config_path": "/x.yaml",
        "window_start": start.isoformat(), "window_end": (start + dt.timedelta(days=1)).isoformat(),
        "status": status, "exit_code": {"passed": 0, "breached": 1, "failed": 2}[status],
        "started": "2024-03-01T00:00:00+00:00", "finished": None, "run_dir": f"{run_dir}{day}",
        "breached": ["nulls"] if status == "breached" else [], "error": None, "forced": False,
        "objectives": [] if status == "failed" else [
            {"name": "nulls", "measure": "missing.x.null_rate", "value": value, "min": None,
             "max": 0.1, "severity": "critical", "status": obj_status, "reason": None}],
        "measures": {"volume.rows": 100.0, "quality.auc": None},
    }


def test_record_and_read_back(tmp_path: Path) -> None:
    store = History(history_path(tmp_path))
    assert store.runs() == []  # no file yet: an empty history, not an error
    ids = [store.record(run_row(d, value=0.01 * d)) for d in (1, 2, 3)]
    runs = store.runs()
    assert [r["id"] for r in runs] == ids[::-1]  # newest window first
    assert runs[0]["status"] == "passed"
    assert runs[0]["breached"] == []
    assert not runs[0]["forced"]
    assert store.measures_of(ids[0]) == {"volume.rows": 100.0, "quality.auc": None}
    (objective,) = store.objectives_of(ids[1])
    assert objective["name"] == "nulls"
    assert objective["value"] == pytest.approx(0.02)
    assert objective["status"] == "met"
    assert store.runs(limit=1)[0]["id"] == ids[2]
    assert store.runs(config="other") == []
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_find_run_ignores_failed_runs_and_other_config_versions(tmp_path: Path) -> None:
    store = History(tmp_path / "h.sqlite")
    failed = run_row(5, value=0, status="failed")
    store.record(failed)
    key = {"config": "nightly", "window_start": failed["window_start"],
           "window_end": failed["window_end"]}
    assert store.find_run(config_sha256="abc", **key) is None
    store.record(run_row(5, value=0.5, status="breached"))
    assert store.find_run(config_sha256="abc", **key)["status"] == "breached"
    assert store.find_run(config_sha256="edited", **key) is None


def test_objective_history_keeps_the_latest_run_per_window(tmp_path: Path) -> None:
    store = History(tmp_path / "h.sqlite")
    store.record(run_row(1, value=0.5, status="breached"))
    store.record(run_row(1, value=0.05))  # a forced rerun after a fix
    store.record(run_row(2, value=0.02))
    store.record(run_row(3, value=0.0, status="failed"))
    store.record(run_row(2, value=0.9, status="breached", config="other"))
    rows = store.objective_history(config="nightly")
    assert [(r["window_start"][:10], r["value"]) for r in rows] == [
        ("2024-03-01", 0.05), ("2024-03-02", 0.02)]
    before = store.objective_history(config="nightly", before="2024-03-02T00:00:00+00:00")
    assert len(before) == 1


def test_a_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="is damaged"):  # exit 3: the environment, not input
        History(path).record(run_row(1, value=0.0))


_WRITER = """
import sys
from tests.test_audit_history import run_row
from toolkit.audit import History
store = History(sys.argv[1])
for day in range(1, 21):
    store.record(run_row(day, value=0.01, config=sys.argv[2]))
"""


def test_concurrent_writers_do_not_corrupt_the_history(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    root = Path(__file__).resolve().parents[1]
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), f"c{i}"], cwd=root)
             for i in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    store = History(path)
    assert len(store.runs()) == 80
    assert all(len(store.runs(config=f"c{i}")) == 20 for i in range(4))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM objectives").fetchone()[0] == 80


def _result(tmp_path: Path, *, value: float) -> AuditResult:
    (tmp_path / "d.csv").write_text("ts,x\n2024-03-10T01:00,1\n")
    cfg = parse_config({"name": "nightly", "data": "d.csv", "timestamp": "ts",
                        "window": "yesterday", "reference": {"trailing": "7d"},
                        "checks": [], "objectives": [{"name": "nulls", "max": 0.1,
                                                      "measure": "missing.x.null_rate"}]},
                       base_dir=tmp_path)
    window = Window(dt.datetime(2024, 3, 4, tzinfo=UTC), dt.datetime(2024, 3, 5, tzinfo=UTC))
    obj = cfg.objectives[0]
    judged = ObjectiveResult(obj, value, "breached" if value > 0.1 else "met")
    return AuditResult(cfg, window, [judged], {obj.measure: value}, {}, [], {})


def test_trend_table_and_plot_show_the_breach(tmp_path: Path) -> None:
    store = History(tmp_path / "h.sqlite")
    store.record(run_row(1, value=0.01))
    store.record(run_row(2, value=0.40, status="breached"))
    store.record(run_row(3, value=0.02))
    store.record(run_row(9, value=0.03))  # a later window is not part of this run's past
    trends = trend_table(store, _result(tmp_path, value=0.05))
    assert list(trends["value"]) == [0.01, 0.40, 0.02, 0.05]
    assert list(trends["status"]) == ["met", "breached", "met", "met"]
    assert list(trends["current"]) == [False, False, False, True]
    assert (trends["max"] == 0.1).all()
    assert trends["min"].isna().all()

    import matplotlib

    matplotlib.use("Agg")
    from toolkit.plots.audit import plot_trends

    fig = plot_trends(trends)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["value"].get_ydata()) == [0.01, 0.40, 0.02, 0.05]
    assert set(lines["max"].get_ydata()) == {0.1}
    breached = next(c for c in ax.collections if c.get_label() == "breached")
    assert breached.get_offsets()[:, 1].tolist() == [0.40]
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_trend_table_without_history(tmp_path: Path) -> None:
    trends = trend_table(None, _result(tmp_path, value=0.5))
    assert len(trends) == 1
    assert trends["status"].iloc[0] == "breached"
    assert isinstance(trends["window_start"].dtype, pd.DatetimeTZDtype)
