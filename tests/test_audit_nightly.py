"""Fourteen nightly audits over generated data, with a breach injected on night ten.

Each night is a real ``steward audit`` run (papermill executes templates/audit.ipynb),
in-process to spare the interpreter start; the data is tiny so each run costs little
more than the kernel start.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit import cli
from toolkit.runner import read_emitted

pytestmark = pytest.mark.slow

FIRST = dt.date(2024, 3, 1)
BREACH_NIGHT = 10
CONFIG = """\
name: nightly-scores
data: "events/*.csv"
timestamp: ts
window: yesterday
reference:
  trailing: 7d
prediction: score
target: label
checks: []
objectives:
  - name: x1-complete
    measure: missing.x1.null_rate
    max: 0.1
    severity: critical
  - name: auc-floor
    measure: quality.auc
    min: 0.6
  - name: enough-rows
    measure: volume.rows
    min: 50
"""


def write_days(folder: Path, *, seed: int = 0) -> None:
    """Seven reference days, then fourteen audited days; day ten loses half of x1."""
    rng = np.random.default_rng(seed)
    (folder / "events").mkdir()
    for offset in range(-7, 14):
        day = FIRST + dt.timedelta(days=offset)
        n = 120
        x1 = rng.normal(size=n)
        label = (rng.random(n) < 1 / (1 + np.exp(-2 * x1))).astype(int)
        score = 1 / (1 + np.exp(-(2 * x1 + rng.normal(scale=0.5, size=n))))
        if offset + 1 == BREACH_NIGHT:
            x1[rng.random(n) < 0.5] = np.nan
        ts = pd.Timestamp(day) + pd.to_timedelta(rng.integers(0, 86400, n), unit="s")
        pd.DataFrame({"ts": ts.strftime("%Y-%m-%dT%H:%M:%S"), "x1": x1,
                      "channel": rng.choice(["web", "app"], n), "score": score,
                      "label": label}).to_csv(folder / "events" / f"{day}.csv", index=False)


def night(k: int) -> str:
    """The audit of day ``k`` runs at 02:00 the next morning."""
    return f"{FIRST + dt.timedelta(days=k)}T02:00:00+00:00"


def test_fourteen_nights_with_a_breach_on_night_ten(tmp_path: Path, capsys) -> None:
    write_days(tmp_path)
    config = tmp_path / "audit.yaml"
    config.write_text(CONFIG)
    reports = tmp_path / "reports"
    codes, outputs = [], []
    for k in range(1, 15):
        codes.append(cli.main(["audit", str(config), "--reports-dir", str(reports),
                               "--now", night(k)]))
        outputs.append(capsys.readouterr().out)
    assert codes == [0] * 9 + [1] + [0] * 4
    assert "breached: x1-complete" in outputs[9]
    assert "auc-floor" not in outputs[9]
    assert "breached" not in "".join(outputs[:9])

    folders = sorted((reports / "audit").glob("2*"))
    assert len(folders) == 14
    for folder in folders:
        assert {"audit.ipynb", "report.html", "findings.json", "manifest.json",
                "objectives.json"} <= {p.name for p in folder.iterdir()}
    breach = json.loads((folders[9] / "objectives.json").read_text())
    assert breach["breached"] == ["x1-complete"]
    assert breach["window"]["start"].startswith(str(FIRST + dt.timedelta(days=9)))
    findings = json.loads((folders[9] / "findings.json").read_text())["findings"]
    assert findings[0]["check"] == "audit.objective"
    assert findings[0]["severity"] == "critical"

    # The history holds the fourteen runs, and `steward history` lists them.
    assert cli.main(["history", "--reports-dir", str(reports), "--json", "--limit", "0"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert len(runs) == 14
    assert [r["status"] for r in reversed(runs)] == ["passed"] * 9 + ["breached"] + ["passed"] * 4
    night_ten = {o["name"]: o["status"] for o in runs[4]["objectives"]}
    assert night_ten == {"x1-complete": "breached", "auc-floor": "met", "enough-rows": "met"}
    assert runs[4]["measures"]["volume.rows"] == 120

    # The last report's trend shows the breach on night ten, above the threshold.
    payload = read_emitted(folders[13] / "audit.ipynb", "trends")[-1]["rows"]
    trend = pd.DataFrame([r for r in payload if r["objective"] == "x1-complete"])
    assert len(trend) == 14
    assert list(trend["status"]) == ["met"] * 9 + ["breached"] + ["met"] * 4
    assert trend["value"].iloc[9] > trend["max"].iloc[9] == 0.1
    assert (trend["value"].drop(index=9) <= 0.1).all()
    assert trend["window_start"].iloc[9].startswith(str(FIRST + dt.timedelta(days=9)))

    # Rerunning night ten does nothing and points at the existing folder.
    assert cli.main(["audit", str(config), "--reports-dir", str(reports), "--now", night(10)]) == 1
    out = capsys.readouterr().out
    assert "already audited" in out
    assert str(folders[9]) in out
    assert len(list((reports / "audit").glob("2*"))) == 14


def test_two_audits_of_one_night_started_together_run_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    write_days(tmp_path)
    config = tmp_path / "audit.yaml"
    config.write_text(CONFIG)
    reports = tmp_path / "reports"
    cmd = [sys.executable, "-m", "toolkit", "audit", str(config), "--reports-dir", str(reports),
           "--now", night(3)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    assert sum("already audited" in out for out, _ in outs) == 1  # the second waited, then skipped
    assert len(list((reports / "audit").glob("2*"))) == 1
    from toolkit._audit_history import History, history_path

    assert len(History(history_path(reports)).runs()) == 1


def test_an_audit_waits_for_the_lock_only_so_long(tmp_path: Path, monkeypatch) -> None:
    import fcntl

    from toolkit import StewardError
    from toolkit import _audit_run as audit_run
    from toolkit._audit_config import load_config

    write_days(tmp_path)
    config = tmp_path / "audit.yaml"
    config.write_text(CONFIG)
    cfg = load_config(config)
    window = cfg.window_at(audit_run.parse_now(night(2)))
    history = tmp_path / "reports" / "audit" / "history.sqlite"
    monkeypatch.setattr(audit_run, "LOCK_WAIT_SECONDS", 1.0)
    with audit_run._window_lock(history, cfg, window):  # a run of that night holds the lock
        (lock,) = (history.parent / "locks").iterdir()
        with open(lock, "a") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(StewardError, match="has held"):
            audit_run.run_audit(config, reports_dir=tmp_path / "reports", now=night(2))
    assert not list((tmp_path / "reports" / "audit").glob("2*"))  # nothing ran
