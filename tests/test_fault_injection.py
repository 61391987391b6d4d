"""Fault injection: runs and audits killed with each signal, starved of disk, denied their
folders and their history; every run leaves a trace and every exit code means one thing.

Real ``steward`` processes are killed at chosen points. The points come from an IPython
startup file (``$IPYTHONDIR`` of the kernel only): it can hold the kernel while it starts,
or hold one cell, and it drops a file when it gets there, so no test guesses at timing.

Exit codes: 0 ok, 1 breached or run failed, 2 bad input, 3 environment (disk full,
read-only, missing or unwritable folder, history unusable), 130 SIGINT, 143 SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toolkit import cli

pytestmark = pytest.mark.slow

TINY = Path(__file__).parent / "notebooks" / "tiny.ipynb"
NOW = "2024-03-09T03:00"
# tiny.ipynb's code cells as the kernel runs them: parameters, injected parameters, the
# table and findings, then the cell that may fail. Holding the 4th stops it half-way.
TINY_HALF_WAY = 4
# templates/audit.ipynb: parameters, injected, evaluate, objectives, trends (held), ...
AUDIT_HALF_WAY = 5

GATE = """\
import os, pathlib, time
_gate = os.environ.get("STEWARD_TEST_GATE")
_count = [0]
if _gate:
    pathlib.Path(_gate, "kernel.pid").write_text(str(os.getpid()))
    if os.environ.get("STEWARD_TEST_HOLD_START"):
        pathlib.Path(_gate, "starting").touch()
        time.sleep(120)

def _hold(*args):
    _count[0] += 1
    if _gate:
        pathlib.Path(_gate, f"cell{_count[0]}").touch()
        if _count[0] == int(os.environ.get("STEWARD_TEST_HOLD_CELL") or 0):
            time.sleep(120)

get_ipython().events.register("pre_run_cell", _hold)
"""

ROWS = "\n".join(f"2024-03-{d:02d}T{2 * i:02d}:00:00,{(i % 5) / 10},{i % 2},"
                 f"{0.2 + (i % 2) / 2 + (i % 3) / 100}" for d in range(1, 11) for i in range(12))
CONFIG = """\
name: nightly
data: events.csv
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
"""


@pytest.fixture(scope="module")
def ipython_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ipython")
    startup = folder / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-gate.py").write_text(GATE)
    return folder


def audit_config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.csv").write_text("ts,x,label,score\n" + ROWS + "\n")
    (folder / "nightly.yaml").write_text(CONFIG)
    return folder / "nightly.yaml"


class Steward:
    """One ``steward`` process, with a gate folder that says where its kernel is."""

    def __init__(self, args: list[str], ipython_dir: Path, gate: Path, *, hold_cell: int = 0,
                 hold_start: bool = False) -> None:
        gate.mkdir(parents=True)
        self.gate = gate
        env = dict(os.environ, IPYTHONDIR=str(ipython_dir), STEWARD_TEST_GATE=str(gate),
                   STEWARD_TEST_HOLD_CELL=str(hold_cell))
        if hold_start:
            env["STEWARD_TEST_HOLD_START"] = "1"
        # A session of its own, as a shell job has: killpg is then what Ctrl-C does.
        self.proc = subprocess.Popen([sys.executable, "-m", "toolkit", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)

    def reach(self, mark: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not (self.gate / mark).exists():
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                pytest.fail(f"steward ended ({self.proc.returncode}) before {mark}:\n{out}\n{err}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"the kernel never reached {mark}")
            time.sleep(0.05)
        time.sleep(0.2)  # let the gated step settle into its sleep

    def signal(self, signum: int) -> tuple[int, str, str]:
        os.killpg(self.proc.pid, signum)
        try:
            out, err = self.proc.communicate(timeout=45)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            pytest.fail(f"steward did not stop within 45 s of signal {signum}:\n{err}")
        return self.proc.returncode, out, err

    def kernel_gone(self, timeout: float = 10.0) -> bool:
        pid = int((self.gate / "kernel.pid").read_text())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.1)
        return False


def run_args(reports: Path) -> list[str]:
    return ["run", str(TINY), "-p", "label", "seen-before-the-stop", "--reports-dir", str(reports)]


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def assert_one_clean_paragraph(err: str, *words: str) -> None:
    assert err.startswith("steward: error:"), err
    for bad in ("Traceback", "KeyboardInterrupt", "bug in Steward", "IPKernelApp"):
        assert bad not in err, err
    flat = " ".join(err.split())
    for word in words:
        assert word in flat, err


def assert_interrupted_report(folder: Path, signame: str) -> None:
    page = (folder / "report.html").read_text()
    assert page.rstrip().endswith("</html>")
    assert "interrupted" in page.lower() and signame in page
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*.tmp"))


def test_a_run_killed_mid_cell_leaves_a_manifest_and_sigterm_a_partial_report(
        tmp_path: Path, ipython_dir: Path) -> None:
    reports = tmp_path / "reports"
    killed = Steward(run_args(reports), ipython_dir, tmp_path / "g1", hold_cell=TINY_HALF_WAY)
    killed.reach(f"cell{TINY_HALF_WAY}")
    os.kill(killed.proc.pid, signal.SIGKILL)
    killed.proc.communicate()
    (first,) = (reports / "tiny").iterdir()
    before = manifest(first)  # written before the first cell, updated after each
    assert before["status"] == "running"
    assert before["process"]["pid"] == killed.proc.pid
    assert before["progress"]["cells_done"] == TINY_HALF_WAY - 1
    assert before["inputs"] == {} and before["parameters"]["label"] == "seen-before-the-stop"

    stopped = Steward(run_args(reports), ipython_dir, tmp_path / "g2", hold_cell=TINY_HALF_WAY)
    stopped.reach(f"cell{TINY_HALF_WAY}")
    code, _, err = stopped.signal(signal.SIGTERM)
    assert code == 143, err
    assert manifest(first)["status"] == "interrupted"  # the next run saw its process gone
    assert "gone" in manifest(first)["error"]
    (second,) = [f for f in (reports / "tiny").iterdir() if f != first]
    m = manifest(second)
    assert m["status"] == "interrupted" and "SIGTERM" in m["error"]
    assert m["progress"]["cells_done"] == TINY_HALF_WAY - 1 and m["finished"]
    assert_interrupted_report(second, "SIGTERM")
    assert "seen-before-the-stop" in (second / "report.html").read_text()  # what ran is shown
    findings = json.loads((second / "findings.json").read_text())["findings"]
    assert [f["check"] for f in findings] == ["tiny.seen"]
    assert_one_clean_paragraph(err, "SIGTERM", str(second))
    assert stopped.kernel_gone()


def test_ctrl_c_while_the_kernel_starts(tmp_path: Path, ipython_dir: Path) -> None:
    reports = tmp_path / "reports"
    run = Steward(run_args(reports), ipython_dir, tmp_path / "g", hold_start=True)
    run.reach("starting")
    code, _, err = run.signal(signal.SIGINT)
    assert code == 130, err
    (folder,) = (reports / "tiny").iterdir()
    m = manifest(folder)
    assert m["status"] == "interrupted" and m["progress"]["cells_done"] == 0
    assert_interrupted_report(folder, "SIGINT")
    assert_one_clean_paragraph(err, "SIGINT")
    assert run.kernel_gone()


def test_a_kernel_killed_mid_cell_fails_the_run_at_once(tmp_path: Path,
                                                         ipython_dir: Path) -> None:
    # The out-of-memory killer takes the kernel, not steward: the run used to wait forever.
    reports = tmp_path / "reports"
    run = Steward(run_args(reports), ipython_dir, tmp_path / "g", hold_cell=TINY_HALF_WAY)
    run.reach(f"cell{TINY_HALF_WAY}")
    os.kill(int((run.gate / "kernel.pid").read_text()), signal.SIGKILL)
    _, err = run.proc.communicate(timeout=30)
    assert run.proc.returncode == 1, err
    (folder,) = (reports / "tiny").iterdir()
    m = manifest(folder)
    assert m["status"] == "failed" and "the kernel died" in m["error"]
    assert "seen-before-the-stop" in (folder / "report.html").read_text()
    assert_one_clean_paragraph(err, "the kernel died", str(folder))


def audit_args(config: Path, reports: Path) -> list[str]:
    return ["audit", str(config), "--reports-dir", str(reports), "--now", NOW]


def history_rows(reports: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(reports / "audit" / "history.sqlite")) as conn:
        return conn.execute("SELECT status, exit_code, run_dir FROM runs ORDER BY id").fetchall()


def test_an_audit_killed_then_terminated_leaves_history_rows(tmp_path: Path,
                                                              ipython_dir: Path) -> None:
    config = audit_config(tmp_path)
    reports = tmp_path / "reports"
    killed = Steward(audit_args(config, reports), ipython_dir, tmp_path / "g1",
                     hold_cell=AUDIT_HALF_WAY)
    killed.reach(f"cell{AUDIT_HALF_WAY}")
    os.kill(killed.proc.pid, signal.SIGKILL)
    killed.proc.communicate()
    (row,) = history_rows(reports)
    assert row[0] == "running"  # recorded at the start
    shown = subprocess.run([sys.executable, "-m", "toolkit", "history", "--reports-dir",
                            str(reports)], capture_output=True, text=True, check=True).stdout
    assert "interrupted" in shown.splitlines()[1], shown

    # The killed run does not count as done: the next audit of the window runs.
    stopped = Steward(audit_args(config, reports), ipython_dir, tmp_path / "g2",
                      hold_cell=AUDIT_HALF_WAY)
    stopped.reach(f"cell{AUDIT_HALF_WAY}")
    code, _, err = stopped.signal(signal.SIGTERM)
    assert code == 143, err
    rows = history_rows(reports)
    assert [r[:2] for r in rows] == [("interrupted", -1), ("interrupted", 143)]
    folder = Path(rows[1][2])
    assert manifest(folder)["status"] == "interrupted"
    assert json.loads((folder / "objectives.json").read_text())["status"] == "interrupted"
    assert_interrupted_report(folder, "SIGTERM")
    assert "Objectives" in (folder / "report.html").read_text()
    assert_one_clean_paragraph(err, "SIGTERM", str(folder))
    assert not list((reports / "audit" / "locks").iterdir())  # lock files are cleaned up
    assert stopped.kernel_gone()


def test_an_audit_interrupted_while_its_kernel_starts(tmp_path: Path, ipython_dir: Path) -> None:
    config = audit_config(tmp_path)
    reports = tmp_path / "reports"
    audit = Steward(audit_args(config, reports), ipython_dir, tmp_path / "g", hold_start=True)
    audit.reach("starting")
    code, _, err = audit.signal(signal.SIGINT)
    assert code == 130, err
    ((status, exit_code, run_dir),) = history_rows(reports)
    assert (status, exit_code) == ("interrupted", 130)
    assert manifest(Path(run_dir))["status"] == "interrupted"
    assert_one_clean_paragraph(err, "SIGINT")


# Environment faults: exit 3, one paragraph naming the path and the fix, nothing
# truncated left as if complete.


@contextlib.contextmanager
def mounted(target: Path, *commands: list[str]):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs or a read-only bind mount needs root (CI runs as root)")
    target.mkdir(parents=True, exist_ok=True)
    done = 0
    try:
        for cmd in commands:
            result = subprocess.run(cmd, capture_output=True, text=True)
            if result.returncode != 0:
                pytest.skip(f"{' '.join(cmd)} failed here: {result.stderr.strip()}")
            done += 1
        yield target
    finally:
        if done:
            subprocess.run(["umount", str(target)], check=False)


def no_kernel(monkeypatch) -> None:
    import toolkit.runner

    def refuse(*args, **kwargs):
        raise AssertionError("an environment fault must be found before any kernel starts")

    monkeypatch.setattr(toolkit.runner, "_execute", refuse)


def assert_nothing_truncated(root: Path) -> None:
    for path in root.rglob("*"):
        assert not path.name.endswith(".tmp"), path
        if path.name == "report.html":
            assert path.read_text().rstrip().endswith("</html>"), path
        if path.suffix in (".json", ".ipynb"):
            json.loads(path.read_text())


def tmpfs(target: Path) -> list[str]:
    return ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(target)]


def test_a_full_disk_is_exit_3_with_nothing_truncated(tmp_path: Path, ipython_dir: Path) -> None:
    config = audit_config(tmp_path)
    runs, audits = tmp_path / "runs", tmp_path / "audits"
    with mounted(runs, tmpfs(runs)), mounted(audits, tmpfs(audits)):
        procs = [Steward(run_args(runs), ipython_dir, tmp_path / "g1"),
                 Steward(audit_args(config, audits), ipython_dir, tmp_path / "g2")]
        results = [p.proc.communicate(timeout=120) for p in procs]
        for p, (_, err), disk in zip(procs, results, (runs, audits), strict=True):
            assert p.proc.returncode == 3, err
            assert_one_clean_paragraph(err, str(disk), "full")
            assert "move it away" not in err
            assert_nothing_truncated(disk)
        (folder,) = (runs / "tiny").iterdir()
        assert manifest(folder)["status"] == "failed"


def test_a_read_only_reports_folder_is_exit_3_before_any_kernel(
        tmp_path: Path, capsys, monkeypatch) -> None:
    config = audit_config(tmp_path)
    reports = tmp_path / "reports"
    from toolkit.audit import History, history_path

    History(history_path(reports)).record({  # a healthy history, on a read-only disk
        "config": "other", "config_sha256": "0", "window_start": "a", "window_end": "b",
        "status": "passed", "exit_code": 0, "started": "s"})
    (reports / "tiny").mkdir()
    no_kernel(monkeypatch)
    with mounted(reports, ["mount", "--bind", str(reports), str(reports)],
                 ["mount", "-o", "remount,ro,bind", str(reports)]):
        assert cli.main(run_args(reports)) == 3
        assert_one_clean_paragraph(capsys.readouterr().err, str(reports), "read-only")
        assert cli.main(audit_args(config, reports)) == 3
        err = capsys.readouterr().err
        assert_one_clean_paragraph(err, str(reports), "read-only")
        assert "move it away" not in err and "damaged" not in err
        assert sorted(p.name for p in reports.rglob("*")) == [
            "audit", "history.sqlite", "tiny"]


def test_a_chmod_read_only_folder_is_exit_3(tmp_path: Path, capsys, monkeypatch) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes through file modes; the read-only bind mount test covers it")
    config = audit_config(tmp_path)
    reports = tmp_path / "reports"
    reports.mkdir()
    no_kernel(monkeypatch)
    reports.chmod(0o555)
    try:
        assert cli.main(run_args(reports)) == 3
        assert_one_clean_paragraph(capsys.readouterr().err, str(reports), "not writable")
        assert cli.main(audit_args(config, reports)) == 3
        assert_one_clean_paragraph(capsys.readouterr().err, str(reports), "not writable")
    finally:
        reports.chmod(0o755)
    assert not list(reports.iterdir())


def test_a_missing_output_folder_is_exit_3(tmp_path: Path, capsys, monkeypatch) -> None:
    config = audit_config(tmp_path)
    no_kernel(monkeypatch)
    nowhere = "/proc/steward-no-such-folder/reports"  # cannot be made, even by root
    assert cli.main(run_args(Path(nowhere))) == 3
    assert_one_clean_paragraph(capsys.readouterr().err, nowhere)
    assert cli.main(audit_args(config, Path(nowhere))) == 3
    assert_one_clean_paragraph(capsys.readouterr().err, nowhere)
    out = str(tmp_path / "no-such-folder" / "out.json")
    assert cli.main(["triage", "--reference", str(config), "--current", str(config),
                     "--json", out]) == 3
    assert_one_clean_paragraph(capsys.readouterr().err, out)


def test_an_unusable_history_is_exit_3_before_any_kernel(tmp_path: Path, capsys,
                                                          monkeypatch) -> None:
    config = audit_config(tmp_path)
    reports = tmp_path / "reports"
    (reports / "audit").mkdir(parents=True)
    db = reports / "audit" / "history.sqlite"
    no_kernel(monkeypatch)

    db.write_bytes(b"this is not a database" * 100)  # damaged: moving it aside is the fix
    assert cli.main(audit_args(config, reports)) == 3
    assert_one_clean_paragraph(capsys.readouterr().err, str(db), "not a database")
    assert cli.main(["history", "--reports-dir", str(reports)]) == 3
    assert_one_clean_paragraph(capsys.readouterr().err, str(db))

    db.unlink()  # healthy but locked by another process: wait, never move it away
    from toolkit import _audit_history
    from toolkit.audit import History

    History(db).record({"config": "other", "config_sha256": "0", "window_start": "a",
                        "window_end": "b", "status": "passed", "exit_code": 0, "started": "s"})
    monkeypatch.setattr(_audit_history, "TIMEOUT_SECONDS", 0.3)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert cli.main(audit_args(config, reports)) == 3
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert_one_clean_paragraph(err, str(db), "locked")
    assert "move" not in err and "damaged" not in err
    assert not list(reports.glob("audit/2*"))  # no run folder: nothing started


def test_an_audit_that_completes_removes_its_lock_file(tmp_path: Path) -> None:
    from toolkit import _audit_run
    from toolkit._audit_config import load_config, parse_now

    config = audit_config(tmp_path)
    cfg = load_config(config)
    history = tmp_path / "reports" / "audit" / "history.sqlite"
    with _audit_run._window_lock(history, cfg, cfg.window_at(parse_now(NOW))):
        assert len(list((history.parent / "locks").iterdir())) == 1
    assert not list((history.parent / "locks").iterdir())
