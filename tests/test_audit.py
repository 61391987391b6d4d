"""``steward audit`` and ``steward history`` end to end: exit codes, folders, history."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from toolkit import cli
from toolkit.audit import History, history_path

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "audit.ipynb"
# Ten days of 12 rows: x, a label alternating 0/1, and a score that ranks it perfectly.
ROWS = "\n".join(f"2024-03-{d:02d}T{2 * i:02d}:00:00,{(i % 5) / 10},{i % 2},"
                 f"{0.2 + (i % 2) / 2 + (i % 3) / 100}" for d in range(1, 11) for i in range(12))


def write_config(folder: Path, *, name: str = "nightly", data: str = "events.csv",
                 extra: str = "") -> Path:
    (folder / "events.csv").write_text("ts,x,label,score\n" + ROWS + "\n")
    path = folder / f"{name}.yaml"
    path.write_text(f"""\
name: {name}
data: {data}
timestamp: ts
window: yesterday
reference:
  trailing: 3d
prediction: score
target: label
checks: []
objectives:
  - name: auc
    measure: quality.auc
    min: 0.6
  - name: rows
    measure: volume.rows
    min: 5
{extra}""")
    return path


@pytest.mark.parametrize(
    ("extra", "data", "message"),
    [
        ("  - name: x\n    measure: volume.rows\n    minimum: 3\n", "events.csv",
         "objectives[2].minimum: unknown key. Did you mean 'min'?"),
        ("  - name: x\n    measure: volume.rows\n    min: lots\n", "events.csv",
         "objectives[2].min must be a number"),
        ("", "missing.csv", "data: the file does not exist"),
        ("", "days/*.parquet", "data: the glob matches no file"),
        ("  - name: x\n    measure: quality.auc\n    min: 1.2\n", "events.csv",
         "objectives[2].min = 1.2 is out of range"),
        ("  - name: x\n    measure: volume.rowz\n    min: 1\n", "events.csv",
         "unknown measure 'volume.rowz'. Did you mean 'volume.rows'"),
    ],
)
def test_bad_configs_exit_2_without_starting_a_kernel(
    tmp_path: Path, capsys, monkeypatch, extra: str, data: str, message: str
) -> None:
    import toolkit.runner

    def no_kernel(*args, **kwargs):
        raise AssertionError("a bad config must not start a kernel")

    monkeypatch.setattr(toolkit.runner, "run_template", no_kernel)
    config = write_config(tmp_path, data=data, extra=extra)
    reports = tmp_path / "reports"
    assert cli.main(["audit", str(config), "--reports-dir", str(reports)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert message in err
    assert not reports.exists()


def test_a_model_that_cannot_load_is_a_config_error(tmp_path: Path, capsys, monkeypatch) -> None:
    # A held-out tester: an unloadable model file made the audit "BREACHED" (exit 1),
    # as if the model had got worse; it is a config to fix (exit 2), before a kernel.
    import toolkit.runner

    monkeypatch.setattr(toolkit.runner, "run_template", lambda *a, **k: pytest.fail("ran"))
    (tmp_path / "bad.joblib").write_bytes(b"not a pickle at all")
    config = write_config(tmp_path, extra="model: bad.joblib\n")
    assert cli.main(["audit", str(config), "--reports-dir", str(tmp_path / "r")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "model:" in err and "bad.joblib" in err


def test_timestamps_that_do_not_parse_cannot_pass_as_no_rows(tmp_path: Path, capsys) -> None:
    # The time-column pre-filter skipped a file whose times did not parse, and the audit
    # reported "breached: volume.rows = 0" (exit 1) instead of the parse error (exit 2).
    config = write_config(tmp_path, data="garbage.csv")
    (tmp_path / "garbage.csv").write_text("ts,x,label,score\n" + "\n".join(
        f"garbage,{i / 10},{i % 2},0.5" for i in range(40)) + "\n")
    args = ["audit", str(config), "--reports-dir", str(tmp_path / "r"), "--now",
            "2024-03-09T03:00"]
    assert cli.main(args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "could not run" in err and "parses as a date or time" in err


def test_bad_now_and_missing_config_exit_2(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path)
    assert cli.main(["audit", str(config), "--now", "next tuesday"]) == 2
    assert "now must be an ISO date or time" in capsys.readouterr().err
    assert cli.main(["audit", str(tmp_path / "nope.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_unreadable_input_fails_with_a_folder_then_a_fixed_rerun_passes(
    tmp_path: Path, capsys
) -> None:
    config = write_config(tmp_path, data="'*.*[tv]'")  # events.csv and, soon, broken.tsv
    broken = tmp_path / "broken.tsv"
    broken.write_bytes(b"\xff\xfe\x00garbage\x00\xff" * 50)
    reports = tmp_path / "reports"
    args = ["audit", str(config), "--reports-dir", str(reports), "--now", "2024-03-09T03:00"]
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    assert "the audit could not run" in captured.err
    assert "FAILED" in captured.out
    (folder,) = (reports / "audit").glob("2*")
    objectives = json.loads((folder / "objectives.json").read_text())
    assert objectives["status"] == "failed"
    assert "broken.tsv" in objectives["error"]
    assert (folder / "manifest.json").exists()
    assert (folder / "audit.ipynb").exists()
    (run,) = History(history_path(reports)).runs()
    assert run["status"] == "failed"
    assert run["exit_code"] == 2

    broken.unlink()  # a failed run does not count as done: the same window runs again
    assert cli.main(args) == 0
    assert "PASSED" in capsys.readouterr().out
    assert [r["status"] for r in History(history_path(reports)).runs()] == ["passed", "failed"]
    assert cli.main(args) == 0  # done already: nothing runs
    assert "already audited" in capsys.readouterr().out
    assert cli.main([*args, "--force"]) == 0
    capsys.readouterr()
    runs = History(history_path(reports)).runs()
    assert [(r["status"], r["forced"]) for r in runs] == [
        ("passed", True), ("passed", False), ("failed", False)]
    assert len({r["run_dir"] for r in runs}) == 3
    assert cli.main(["history", "--reports-dir", str(reports)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["id", "config", "window"]
    assert "passed (forced)" in table[1]
    assert "failed" in table[3]


def test_two_audits_started_together_both_complete(tmp_path: Path) -> None:
    hostile = ("  - name: odd\n    measure: \"segment.x == '<script>alert(1)</script>'.rows\"\n"
               "    min: 0\n")
    configs = [write_config(tmp_path, name=name, extra=hostile) for name in ("alpha", "beta")]
    reports = tmp_path / "reports"
    procs = [subprocess.Popen([sys.executable, "-m", "toolkit", "audit", str(c), "--reports-dir",
                               str(reports), "--now", "2024-03-09T03:00"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in configs]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    folders = sorted((reports / "audit").glob("2*"))
    assert len(folders) == 2
    names = set()
    for folder in folders:
        assert {"audit.ipynb", "report.html", "findings.json", "manifest.json",
                "objectives.json"} <= {p.name for p in folder.iterdir()}
        payload = json.loads((folder / "objectives.json").read_text())
        assert payload["status"] == "passed"
        assert payload["run_dir"] == str(folder)
        names.add(payload["config"])
        report = (folder / "report.html").read_text()
        assert "<script>alert(1)" not in report  # data values are escaped in HTML
        assert "&lt;script&gt;alert(1)" in report
    assert names == {"alpha", "beta"}
    runs = History(history_path(reports)).runs()
    assert sorted(r["config"] for r in runs) == ["alpha", "beta"]
    assert {r["run_dir"] for r in runs} == {str(f) for f in folders}
    with sqlite3.connect(history_path(reports)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_history_command_on_an_empty_folder(tmp_path: Path, capsys) -> None:
    assert cli.main(["history", "--reports-dir", str(tmp_path)]) == 0
    assert "No audit runs" in capsys.readouterr().out
    assert cli.main(["history", "--reports-dir", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == []
    assert cli.main(["history", "--reports-dir", str(tmp_path), "--limit", "-1"]) == 2


def test_template_is_committed_clean_with_its_parameters() -> None:
    nb = nbformat.read(TEMPLATE, as_version=4)
    assert nb.metadata["kernelspec"] == {"name": "python3", "display_name": "Python 3",
                                         "language": "python"}
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None
    assert set(papermill.inspect_notebook(str(TEMPLATE))) == {"config", "now", "history"}


def test_public_names_are_pinned_and_import_is_light() -> None:
    code = ("import sys, toolkit.audit as a; print(sorted(a.__all__)); "
            "print([m for m in ('pandas', 'matplotlib', 'sklearn', 'yaml') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == str(sorted([
        "EXIT_CODES", "KEY_MEASURES", "MEASURES", "AuditConfig", "AuditResult", "AuditRun",
        "History", "Objective", "ObjectiveResult", "Window", "evaluate", "evaluate_config",
        "history_path", "load_config", "load_history", "load_windows", "measure_table",
        "run_audit",
        "summary_text", "trend_table"]))
    assert out[1] == "[]"
