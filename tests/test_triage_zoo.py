"""The public incident zoo: each incident's true cause must rank first, and a window
with no incident must raise no critical finding. See tests/zoo.py for the incidents."""

from __future__ import annotations

import pytest
import zoo

from toolkit import triage


def matches(finding, case) -> bool:
    layer_ok = finding.layer in case.truth_layers
    cols_ok = not case.truth_columns or bool(set(finding.features) & set(case.truth_columns))
    seg_ok = case.truth_segment is None or case.truth_segment in (finding.segment or "")
    prefix = case.options.get("truth_check")
    return layer_ok and cols_ok and seg_ok and (prefix is None or finding.check.startswith(prefix))


def run(case):
    opts = {k: v for k, v in case.options.items() if not k.startswith("truth")}
    return triage.investigate(case.reference, case.current, model=case.model,
                              previous_model=case.previous_model, **opts)


@pytest.mark.parametrize("kind", [k for k in zoo.KINDS if k != "no_incident"])
def test_true_cause_ranks_first(kind):
    case = zoo.make_case(kind)
    inv = run(case)
    top = inv.findings[0]
    listing = "\n".join(f"#{f.rank} {f.check} [{f.layer}/{f.severity}] explained={f.explained} "
                        f"features={f.features} segment={f.segment}: {f.summary}"
                        for f in inv.findings[:6])
    assert matches(top, case), f"{kind}: top finding is not the true cause\n{listing}\n{inv.notes}"
    assert top.severity in ("warning", "critical")


def test_no_incident_raises_no_critical_finding():
    case = zoo.make_case("no_incident")
    inv = run(case)
    critical = [f"{f.check}: {f.summary}" for f in inv.findings if f.severity == "critical"]
    assert critical == []
    assert inv.verdict.ok, inv.verdict.headline


def test_inputs_are_not_modified():
    case = zoo.make_case("unit_change")
    before_ref, before_cur = case.reference.copy(), case.current.copy()
    run(case)
    import pandas.testing as pdt

    pdt.assert_frame_equal(case.reference, before_ref)
    pdt.assert_frame_equal(case.current, before_cur)
