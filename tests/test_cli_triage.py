"""`steward triage` as other tools call it: the interface, exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
import zoo

KEYS = {"rank", "check", "layer", "features", "segment", "severity", "score", "summary"}


def steward(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolkit", "triage", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    case = zoo.make_case("remapped_categories", n=2500)
    d = tmp_path_factory.mktemp("triage")
    case.reference.to_csv(d / "ref.csv", index=False)  # a CSV next to a Parquet file
    case.current.to_parquet(d / "cur.parquet", index=False)
    joblib.dump(case.model, d / "model.joblib")
    return d


def base(d, *extra):
    return ["--reference", str(d / "ref.csv"), "--current", str(d / "cur.parquet"),
            "--model", str(d / "model.joblib"), "--target", "churned", "--prediction",
            "churn_score", "--timestamp", "snapshot_time", "--json", str(d / "out.json"), *extra]


def assert_bad_input(result, *words):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("steward: error:")
    for word in words:
        assert word in result.stderr, result.stderr


def test_ranked_findings_in_the_stable_form(files):
    result = steward(*base(files, "--complaint", "scores for basic plan customers look off"))
    assert result.returncode == 0, result.stderr
    data = json.loads((files / "out.json").read_text())
    assert list(data) == ["findings"] and data["findings"]
    for i, f in enumerate(data["findings"], start=1):
        assert set(f) >= KEYS and f["rank"] == i
        assert f["severity"] in ("info", "warning", "critical") and 0 <= f["score"] <= 1
        assert isinstance(f["features"], list)
    assert data["findings"][0]["check"] == "categories.remapped_codes"


def test_missing_file_names_it(files):
    args = base(files)
    args[1] = str(files / "nope.csv")
    assert_bad_input(steward(*args), "nope.csv")


def test_unknown_column_names_the_option(files):
    args = base(files)
    args[args.index("churned")] = "label_that_is_not_there"
    assert_bad_input(steward(*args), "label_that_is_not_there", "--target")


def test_bad_segment_expression(files):
    assert_bad_input(steward(*base(files, "--segment", "no_such_col == 'x'")), "no_such_col")


def test_unreadable_model(files):
    (files / "junk.joblib").write_bytes(b"not a model at all")
    args = base(files)
    args[args.index(str(files / "model.joblib"))] = str(files / "junk.joblib")
    assert_bad_input(steward(*args), "junk.joblib")


def test_empty_window(files):
    pd.read_csv(files / "ref.csv").head(0).to_csv(files / "empty.csv", index=False)
    args = base(files)
    args[1] = str(files / "empty.csv")
    assert_bad_input(steward(*args), "no rows")


def test_not_a_table(files):
    (files / "notes.txt").write_text("hello")
    args = base(files)
    args[1] = str(files / "notes.txt")
    assert_bad_input(steward(*args), "notes.txt", ".csv")


def test_odd_but_usable_inputs_are_investigated(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000

    def window(shift):
        return pd.DataFrame({
            "x": rng.normal(shift, 1, n),
            "always_null": pd.Series([None] * n, dtype="float64"),
            "with_inf": np.where(rng.uniform(size=n) < 0.01, np.inf, rng.normal(0, 1, n)),
            "ids": [f"id-{i}" for i in rng.choice(10**9, size=n, replace=False)],
            "score": rng.uniform(size=n),
        })

    window(0).to_parquet(tmp_path / "ref.parquet")
    window(0).to_csv(tmp_path / "cur.csv", index=False)
    result = steward("--reference", str(tmp_path / "ref.parquet"), "--current",
                     str(tmp_path / "cur.csv"), "--prediction", "score", "--json",
                     str(tmp_path / "out.json"))
    assert result.returncode == 0, result.stderr
    findings = json.loads((tmp_path / "out.json").read_text())["findings"]
    assert not [f for f in findings if f["severity"] == "critical"]


def test_python_dash_m_is_the_same_command(files):
    out = subprocess.run([sys.executable, "-m", "toolkit", "triage", "--help"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "--previous-model" in out.stdout


def test_json_never_overwrites_an_input(files, tmp_path):
    # A held-out tester passed --json cur.csv: the window was replaced by findings.
    import shutil

    current = tmp_path / "cur.parquet"
    shutil.copy(files / "cur.parquet", current)
    before = current.read_bytes()
    args = base(files)
    args[args.index("--current") + 1] = str(current)
    args[args.index("--json") + 1] = str(current)
    assert_bad_input(steward(*args), "--json", "also an input", "overwrite")
    assert current.read_bytes() == before


def test_unwritable_reports_folder_is_bad_input_before_any_work(files, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = steward(*base(files, "--report", "--reports-dir", str(blocker / "reports")))
    assert_bad_input(result, "reports folder", "is a file", "--reports-dir")
    assert "Most likely" not in result.stdout  # refused before the investigation ran


def test_a_stage_that_cannot_run_is_said_not_hidden(files, tmp_path):
    # The model needs a column the windows lack: attribution cannot run. Before, the
    # command printed a clean verdict and said nothing of the missing stage.
    ref = pd.read_csv(files / "ref.csv").drop(columns=["plan"])
    cur = pd.read_parquet(files / "cur.parquet").drop(columns=["plan"])
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_parquet(tmp_path / "cur.parquet", index=False)
    result = steward("--reference", str(tmp_path / "ref.csv"), "--current",
                     str(tmp_path / "cur.parquet"), "--model", str(files / "model.joblib"),
                     "--target", "churned", "--timestamp", "snapshot_time",
                     "--json", str(tmp_path / "out.json"))
    assert result.returncode == 0, result.stderr
    assert "Not checked: the attribution drift and quality per segment stages could not run" \
        in result.stdout
    assert "steward: warning: The attribution drift stage could not run" in result.stderr
    assert "plan" in result.stderr
    found = json.loads((tmp_path / "out.json").read_text())["findings"]
    failed = [f for f in found if f["check"] == "triage.stage_failed"]
    assert [f["severity"] for f in failed] == ["info", "info"]


def test_a_window_too_small_for_intervals_is_bad_input(files, tmp_path):
    # A one-row reference gave a confident critical drift finding (CI 0.66-0.67).
    pd.read_csv(files / "ref.csv").head(1).to_csv(tmp_path / "one.csv", index=False)
    args = base(files)
    args[args.index("--reference") + 1] = str(tmp_path / "one.csv")
    assert_bad_input(steward(*args), "reference window has 1 row", "at least 30",
                     "Widen the window")


def test_the_report_renders_this_run_instead_of_a_second_one(files, tmp_path):
    # triage --report computed everything twice: once for the JSON, once in the
    # template. The template now loads what the command computed.
    reports = tmp_path / "reports"
    out = tmp_path / "report-run.json"
    args = base(files, "--report", "--reports-dir", str(reports))
    args[args.index("--json") + 1] = str(out)
    result = steward(*args)
    assert result.returncode == 0, result.stderr
    (run,) = (reports / "investigate").iterdir()
    manifest = json.loads((run / "manifest.json").read_text())
    saved = manifest["parameters"]["investigation"]
    assert saved == str(run / "inputs" / "investigation.pkl")
    executed = json.loads((run / "investigate.ipynb").read_text())
    code = "".join("".join(c["source"]) for c in executed["cells"] if c["cell_type"] == "code")
    assert "load_investigation(investigation)" in code
    ours = json.loads(out.read_text())["findings"]
    theirs = json.loads((run / "findings.json").read_text())["findings"]
    assert [(f["check"], f["severity"], f["summary"]) for f in theirs] == \
        [(f["check"], f["severity"], f["summary"]) for f in ours]
