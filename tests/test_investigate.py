"""The investigate template end to end on the demo incident: the report names the
injected root cause first, opens with the verdict, and escapes every data value."""

import json
import re

import pytest

from toolkit.runner import run_template

HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, demo_incident):
    from toolkit import demo

    folder = tmp_path_factory.mktemp("hostile")
    current = demo_incident.current.copy()
    # New upstream merchant codes whose names are markup: they must show as text. The
    # first is the most frequent new value, so the findings quote it.
    rows = current.sample(n=1500, random_state=1).index
    current.loc[rows[:1000], "merchant_category"] = HOSTILE[0]
    current.loc[rows[1000:], "merchant_category"] = HOSTILE[1]
    incident = type(demo_incident)(**{**demo_incident.__dict__, "current": current})
    params = demo.write_incident(folder / "inputs", incident)
    return run_template("investigate", params, reports_dir=folder / "reports")


def test_report_names_the_injected_cause_first(demo_run, demo_incident):
    assert demo_run.ok, demo_run.error
    top = demo_run.findings[0]
    assert top.check == "scale.unit_change"
    assert top.features == (demo_incident.answer["column"],)
    assert top.evidence["factor"] == demo_incident.answer["factor"]
    assert top.explained is not None and top.explained > 0.8
    on_disk = json.loads((demo_run.run_dir / "findings.json").read_text())["findings"]
    assert on_disk[0]["rank"] == 1 and on_disk[0]["check"] == "scale.unit_change"


def test_report_opens_with_the_verdict(demo_run):
    page = demo_run.html.read_text()
    verdict = page.index("Most likely root cause")
    assert verdict < page.index('id="Intake"') < page.index('id="Data-checks"')
    assert "payments-gateway team" in page[verdict:page.index('id="Intake"')]


def test_report_is_offline_and_escapes_values(demo_run):
    page = demo_run.html.read_text()
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"(src|href)=[\"']https?://", page)
    for value in HOSTILE:
        assert value not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
