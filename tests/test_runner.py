"""The runner: parameters checked before a kernel starts, run folders, manifests, HTML."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from toolkit import InputError, ParameterError
from toolkit.runner import coerce_parameters, new_run_dir, resolve_template, run_template

TINY = Path(__file__).parent / "notebooks" / "tiny.ipynb"


def test_bare_names_resolve_to_shipped_templates():
    assert resolve_template("investigate").name == "investigate.ipynb"
    with pytest.raises(ParameterError, match="investigate"):
        resolve_template("no_such_template")


def test_unknown_parameter_is_an_error_with_a_suggestion():
    with pytest.raises(ParameterError, match="'rows'") as info:
        coerce_parameters(TINY, {"rowz": "3"})
    assert "Did you mean" in str(info.value)


def test_text_values_take_the_declared_type():
    assert coerce_parameters(TINY, {"rows": "5", "fail": "true", "label": "7"}) == {
        "rows": 5, "fail": True, "label": "7"}
    with pytest.raises(ParameterError, match="int"):
        coerce_parameters(TINY, {"rows": "five"})


def test_missing_input_file_fails_before_any_kernel(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        run_template(TINY, {"reference": str(tmp_path / "nope.csv")}, reports_dir=tmp_path)
    assert not (tmp_path / "tiny").exists() or not any((tmp_path / "tiny").iterdir())


def test_run_folders_are_never_reused(tmp_path):
    dirs = {new_run_dir(tmp_path, "t") for _ in range(20)}
    assert len(dirs) == 20


@pytest.fixture(scope="module")
def succeeded(tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    data = reports / "ref.csv"
    pd.DataFrame({"a": [1, 2, 3]}).to_csv(data, index=False)
    return run_template(TINY, {"label": "<script>alert(1)</script>", "rows": "2",
                               "reference": str(data)}, reports_dir=reports)


def test_run_folder_holds_notebook_html_findings_manifest(succeeded):
    run = succeeded
    assert run.ok and run.run_dir.parent.name == "tiny"
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", run.run_dir.name)
    names = {p.name for p in run.run_dir.iterdir()}
    assert {"tiny.ipynb", "report.html", "findings.json", "manifest.json"} <= names
    findings = json.loads((run.run_dir / "findings.json").read_text())["findings"]
    assert findings[0]["check"] == "tiny.seen" and findings[0]["rank"] == 1
    manifest = json.loads((run.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "succeeded" and manifest["error"] is None
    assert manifest["parameters"]["rows"] == 2
    ref = manifest["inputs"]["reference"]
    assert ref["rows"] == 3 and len(ref["sha256"]) == 64
    assert manifest["packages"]["pandas"] == pd.__version__
    assert manifest["started"] <= manifest["finished"]


def test_html_is_offline_escaped_and_hides_inputs(succeeded):
    page = succeeded.html.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page
    assert not re.search(r"<script[^>]+src=", page), "a script loads from elsewhere"
    assert not re.search(r"<link[^>]+href=[\"']https?:", page), "a stylesheet loads from elsewhere"
    assert "display.emit_findings" not in page  # inputs hidden by default
    assert "vnd.steward" not in page


def test_failed_cell_keeps_partial_report_and_says_why(tmp_path):
    run = run_template(TINY, {"fail": True}, reports_dir=tmp_path)
    assert run.status == "failed" and "half-way failure" in run.error
    manifest = json.loads((run.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "RuntimeError" in manifest["error"]
    assert run.html is not None and "half-way failure" in run.html.read_text()
    assert json.loads((run.run_dir / "findings.json").read_text())["findings"][0]["check"] == "tiny.seen"
    import nbformat

    streams = [o.get("text", "") for c in nbformat.read(run.notebook, as_version=4).cells
               for o in c.get("outputs", []) if o.get("output_type") == "stream"]
    assert not any("second half ran" in s for s in streams)


def test_show_inputs_keeps_code(tmp_path):
    run = run_template(TINY, {}, reports_dir=tmp_path, show_inputs=True)
    assert "emit_findings" in run.html.read_text()


def test_a_failed_run_does_not_read_as_a_clean_one(tmp_path, capsys):
    # "findings.json (1 findings)" above an error read like a clean result; the count
    # says the run failed, and the error does not end in two full stops.
    from toolkit import RunError
    from toolkit.commands.run import print_run
    from toolkit.runner import raise_for_status

    run = run_template(TINY, {"fail": True}, reports_dir=tmp_path)
    print_run(run)
    assert "(1 findings written before the run failed)" in capsys.readouterr().out
    import types

    ended = types.SimpleNamespace(ok=False, run_dir=tmp_path,
                                  error="cell 4 raised InputError: leave timestamp unset.")
    with pytest.raises(RunError) as info:
        raise_for_status(ended)
    assert "leave timestamp unset. The partial report" in str(info.value)
    assert info.value.bad_input  # a cell that rejects an input: exit 2, as before a kernel
    with pytest.raises(RunError) as info:
        raise_for_status(run)  # the tiny notebook's RuntimeError: a failed run, exit 1
    assert not info.value.bad_input


def test_a_parameter_given_twice_is_bad_input(capsys):
    # "-p current a.csv -p current b.csv" silently kept the last one.
    from toolkit.cli import main

    assert main(["run", "data_checks", "-p", "reference", "a.csv", "-p", "reference",
                 "b.csv"]) == 2
    assert "['reference'] given more than once" in capsys.readouterr().err
