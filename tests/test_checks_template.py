"""The data_checks template: its shape, and one run through the runner on the demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "data_checks.ipynb"


def test_template_is_committed_clean_with_one_parameters_cell():
    nb = json.loads(TEMPLATE.read_text())
    assert nb["metadata"]["kernelspec"] == {"name": "python3", "display_name": "Python 3",
                                            "language": "python"}
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("outputs") == [] and c.get("execution_count") is None for c in code)
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1


def test_template_parameters():
    import papermill as pm

    params = pm.inspect_notebook(str(TEMPLATE))
    assert list(params) == ["reference", "current", "timestamp", "target", "prediction",
                            "history", "segment", "random_state"]
    assert params["random_state"]["inferred_type_name"] == "int"


@pytest.mark.slow
def test_template_runs_on_the_demo_and_ranks_the_unit_change_high(tmp_path):
    from toolkit import demo, runner

    incident = demo.make_incident(n_rows=3000)
    hostile = incident.current.index[:150]
    incident.current.loc[hostile, "channel"] = "<script>alert(1)</script>"
    params = demo.write_incident(tmp_path / "in", incident)
    keep = ("reference", "current", "timestamp", "target", "prediction")
    result = runner.run_template("data_checks", {k: params[k] for k in keep},
                                 reports_dir=tmp_path / "reports")
    assert result.status == "succeeded", result.error
    data = json.loads((result.run_dir / "findings.json").read_text())["findings"]
    top = next(f for f in data if not f["check"].startswith("drift."))  # the top data check
    assert (top["check"], top["evidence"]["column"], top["evidence"]["factor"]) == (
        "scale.unit_change", "amount", 100.0)
    assert top["rank"] == 1  # the fault in the feed before the score drift it causes
    assert [f["features"] for f in data if f["check"] == "scale.unit_change"] == [["amount"]]
    drift_amount = [f for f in data if f["check"] == "drift.feature" and f["features"] == [
        "amount"]]
    assert all(f["severity"] == "info" for f in drift_amount)  # explained by the unit change
    unseen = [f for f in data if f["check"] == "categories.unseen_values"]
    assert unseen
    assert unseen[0]["evidence"]["top_unseen"][0]["value"] == "<script>alert(1)</script>"
    html = (result.run_dir / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
