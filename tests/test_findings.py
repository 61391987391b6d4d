import json

import numpy as np
import pandas as pd
import pytest

from toolkit import Finding, InputError, from_json, rank_findings, to_json


def make(check="c", severity="warning", score=0.5, **kw):
    return Finding(check=check, layer="data", summary="s", severity=severity, score=score, **kw)


def test_rejects_bad_layer_severity_and_score():
    with pytest.raises(InputError, match="layer"):
        Finding(check="c", layer="weather", summary="s")
    with pytest.raises(InputError, match="severity"):
        make(severity="fatal")
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        make(score=1.5)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        make(score=float("nan"))


def test_rank_orders_by_severity_then_explained_then_score():
    found = [make("a", "info", 0.9), make("b", "critical", 0.1), make("c", "critical", 0.7),
             make("d", "warning", 0.9, explained=0.9), make("e", "warning", 0.9, explained=0.1)]
    ranked = rank_findings(found)
    assert [f.check for f in ranked] == ["c", "b", "d", "e", "a"]
    assert [f.rank for f in ranked] == [1, 2, 3, 4, 5]


def test_json_round_trip_is_stable_and_strict():
    ev = {"n": np.int64(3), "x": np.float64(0.5), "inf": float("inf"), "when": pd.Timestamp("2026-01-02"),
          "table": pd.DataFrame({"a": [1, 2]}), "na": pd.NA}
    text = to_json([make("b", evidence=ev, features=["f1"]), make("a", "critical")])
    data = json.loads(text)
    assert list(data) == ["findings"]
    first = data["findings"][0]
    assert first["rank"] == 1 and first["check"] == "a"
    second = data["findings"][1]
    assert second["evidence"] == {"n": 3, "x": 0.5, "inf": None, "when": "2026-01-02T00:00:00",
                                  "table": [{"a": 1}, {"a": 2}], "na": None}
    assert second["features"] == ["f1"]
    for key in ("rank", "check", "layer", "features", "segment", "severity", "score", "summary"):
        assert key in first
    again = from_json(text)
    assert [f.check for f in again] == ["a", "b"] and again[1].evidence["n"] == 3


def test_from_json_names_the_problem():
    with pytest.raises(InputError, match="not valid JSON"):
        from_json("{")
    with pytest.raises(InputError, match="findings"):
        from_json('{"results": []}')


def test_findings_table_shows_rank_and_explains_only_when_some_finding_has_them():
    from toolkit.display import findings_html

    plain = findings_html([make("a"), make("b")])
    assert "<th>#</th>" not in plain and "<th>explains</th>" not in plain
    assert plain.count("<td>") == 2 * 4  # severity, finding, score, next step
    ranked = findings_html(rank_findings([make("a", explained=0.42), make("<x>")]))
    assert "<th>#</th>" in ranked and "<th>explains</th>" in ranked
    assert ranked.count("<td>") == 2 * 6 and "42%" in ranked
    assert "&lt;x&gt;" in ranked and "<x>" not in ranked  # every value escaped
