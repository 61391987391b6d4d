"""Schema and type checks: removed/added/renamed columns, numbers arriving as text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.checks.schema import name_similarity, schema_changes, value_similarity
from toolkit.checks.types import PARSE_RULES, apply_parse_rule, type_changes


@pytest.fixture
def frames():
    rng = np.random.default_rng(7)
    n = 3000

    def make():
        return pd.DataFrame({
            "pickup_location_id": rng.integers(1, 266, n),
            "dropoff_location_id": rng.integers(1, 266, n),
            "fare": rng.lognormal(2.5, 0.6, n),
            "pickup_datetime": (pd.Timestamp("2024-01-01")
                                + pd.to_timedelta(rng.uniform(0, 3e6, n), unit="s")
                                ).strftime("%Y-%m-%d %H:%M:%S"),
            "vendor_id": rng.choice([1, 2], n),
            "legacy": rng.normal(size=n),
        })

    return make(), make()


def test_name_similarity_closed_cases():
    assert name_similarity("vendor_id", "VendorID") == 1.0
    assert name_similarity("pickup_datetime", "tpep_pickup_datetime") >= 0.9
    assert name_similarity("amount", "zzz") < 0.3
    assert name_similarity("a", "a") == 1.0


def test_value_similarity_is_one_for_identical_and_low_for_different():
    s = pd.Series(np.arange(1000.0))
    assert value_similarity(s, s) == 1.0
    assert value_similarity(s, s + 5000) == 0.0
    assert value_similarity(s, s.astype("str")) == 0.0  # different kinds


def test_renames_are_paired_one_to_one_and_rest_reported(frames):
    ref, cur = frames
    cur = cur.rename(columns={"pickup_location_id": "PULocationID",
                              "dropoff_location_id": "DOLocationID",
                              "pickup_datetime": "tpep_pickup_datetime",
                              "vendor_id": "VendorID"}).drop(columns="legacy")
    cur["brand_new"] = "x"
    found = schema_changes(ref, cur)
    renames = {f.evidence["old"]: f.evidence["new"] for f in found
               if f.check == "schema.renamed_column"}
    assert renames == {"pickup_location_id": "PULocationID",
                       "dropoff_location_id": "DOLocationID",
                       "pickup_datetime": "tpep_pickup_datetime", "vendor_id": "VendorID"}
    removed = [f.evidence["column"] for f in found if f.check == "schema.removed_column"]
    added = [f.evidence["column"] for f in found if f.check == "schema.added_column"]
    assert removed == ["legacy"]
    assert added == ["brand_new"]
    assert all(f.layer == "pipeline" for f in found)


def test_same_schema_raises_nothing(frames):
    ref, cur = frames
    assert schema_changes(ref, cur) == []
    assert type_changes(ref, cur) == []


@pytest.mark.parametrize(("fmt", "mult", "rule"), [
    (lambda v: f"{v:.2f}".replace(".", ","), 1, "decimal_comma"),
    (lambda v: f"{v:,.2f}", 1000, "thousands_separator"),
    (lambda v: f"{v:.2f} kg", 1, "strip_units"),
    (lambda v: f"€{v:.2f}", 1, "strip_units"),
    (lambda v: f"{v:,.2f} USD", 1000, "strip_units+thousands_separator"),
    (lambda v: f"{v:,.2f}".replace(",", "_").replace(".", ",").replace("_", "."), 1000,
     "decimal_comma"),
])
def test_numbers_as_text_find_the_parse_rule(fmt, mult, rule):
    x = np.random.default_rng(3).lognormal(3, 1, 2000) * mult
    ref = pd.DataFrame({"v": x})
    cur = pd.DataFrame({"v": pd.Series([fmt(v) for v in x], dtype="str")})
    (f,) = type_changes(ref, cur)
    assert f.check == "types.numbers_as_text"
    assert f.evidence["parse_rule"] == rule
    assert f.evidence["failure_rate_with_rule"] == 0.0
    assert f.evidence["examples"]
    parsed = apply_parse_rule(cur["v"], rule)
    np.testing.assert_allclose(parsed, x, rtol=1e-2)


def test_plain_numbers_as_text_have_zero_failure_rate():
    ref = pd.DataFrame({"v": [1.5, 2.5, 3.5] * 20})
    cur = pd.DataFrame({"v": pd.Series(["1.5", "2.5", "x"] * 20, dtype="str")})
    (f,) = type_changes(ref, cur)
    assert f.evidence["parse_rule"] == "plain"
    assert f.evidence["parse_failure_rate"] == pytest.approx(1 / 3)
    assert f.evidence["examples"] == ["x"]


def test_other_type_changes_and_int_float_is_not_one():
    ref = pd.DataFrame({"a": [1, 2, 3], "b": [1, 2, 3], "c": [True, False, True]})
    cur = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": ["u", "v", "w"], "c": [1, 0, 1]})
    found = {f.evidence["column"]: f for f in type_changes(ref, cur)}
    assert set(found) == {"b", "c"}
    assert found["b"].check == "types.type_change"
    assert (found["c"].evidence["reference_type"], found["c"].evidence["current_type"]) == (
        "bool", "number")


def test_parse_rules_are_all_listed():
    assert set(PARSE_RULES) >= {"plain", "decimal_comma", "thousands_separator", "strip_units"}
