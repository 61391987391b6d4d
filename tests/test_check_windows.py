"""check_windows: one profile pass shared by the checks and drift, the domain
classifier alongside, and the same findings as the stages run one by one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import InputError, checks, drift
from toolkit.profile import profile_pair


def _window(seed: int, n: int = 4000, *, start: str = "2024-03-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, 14 * 86400, n)), unit="s")
    return pd.DataFrame({
        "ts": ts,
        "amount": np.round(rng.lognormal(3, 1, n), 2),
        "age": rng.normal(40, 9, n),
        "channel": pd.Series(rng.choice(["app", "web", "store"], n, p=[.3, .5, .2]), dtype="str"),
        "score": rng.uniform(0, 1, n),
    })


@pytest.fixture(scope="module")
def incident() -> tuple[pd.DataFrame, pd.DataFrame]:
    ref, cur = _window(1), _window(2, start="2024-03-15")
    cur.loc[cur["ts"] >= pd.Timestamp("2024-03-22"), "amount"] *= 100  # cents from a date on
    cur["age"] = cur["age"] + 6  # a real population shift
    return ref, cur


def test_same_findings_as_the_stages_run_one_by_one(incident) -> None:
    ref, cur = incident
    before = (ref.copy(), cur.copy())
    result = drift.check_windows(ref, cur, timestamp="ts", prediction="score", random_state=3)
    pd.testing.assert_frame_equal(ref, before[0])  # inputs untouched
    pd.testing.assert_frame_equal(cur, before[1])

    found = checks.run_checks(ref, cur, timestamp="ts", prediction="score", random_state=3)
    features = ["amount", "age", "channel"]
    fd = drift.feature_drift(ref, cur, columns=features, random_state=3)
    dc = drift.domain_classifier(ref, cur, columns=features, random_state=3)
    pd_ = drift.prediction_drift(ref["score"], cur["score"], name="score", random_state=3)
    alone = checks.explain_away([*found, *fd.findings, *pd_.findings, *dc.findings])

    def key(fs):
        return sorted((f.check, f.features, f.severity, round(f.score, 9)) for f in fs)

    assert key(result.checks) == key(found)
    assert key(result.findings) == key(alone)
    assert result.domain is not None and result.domain.auc == pytest.approx(dc.auc)
    pd.testing.assert_frame_equal(result.features.table, fd.table)
    assert result.notes == []
    lead = result.findings[0]
    assert (lead.check, lead.features) == ("scale.unit_change", ("amount",))
    assert {f.features for f in result.findings if f.check == "drift.feature"} >= {("age",)}


def test_profiles_given_to_run_checks_change_nothing(incident) -> None:
    ref, cur = incident
    pair = profile_pair(ref, cur, columns=[c for c in ref.columns if c != "ts"])
    shared = checks.run_checks(ref, cur, timestamp="ts", profiles=pair, random_state=0)
    own = checks.run_checks(ref, cur, timestamp="ts", random_state=0)
    assert [f.to_dict() for f in shared] == [f.to_dict() for f in own]


def test_small_windows_skip_the_domain_classifier_with_a_note() -> None:
    ref, cur = _window(1, n=20), _window(2, n=20)
    result = drift.check_windows(ref, cur, timestamp="ts")
    assert result.domain is None
    assert len(result.notes) == 1 and "Domain classifier skipped" in result.notes[0]
    assert "at least 30 rows" in result.notes[0]


def test_bad_windows_are_refused_before_any_thread_starts() -> None:
    with pytest.raises(InputError, match="reference data has no rows"):
        drift.check_windows(_window(1).iloc[:0], _window(2))
    with pytest.raises(InputError, match="must be a pandas DataFrame"):
        drift.check_windows(_window(1), [1, 2, 3])


def test_columns_of_lists_and_dicts_are_compared_as_text() -> None:
    ref, cur = _window(1, n=600), _window(2, n=600)
    ref["tags"] = [["a", "b"]] * 600
    cur["tags"] = [["a", "b"]] * 300 + [["c"]] * 300  # half the rows changed tags
    ref["meta"] = [{"v": 1, "k": "x"}] * 600
    cur["meta"] = [{"k": "x", "v": 1}] * 600  # same dicts, keys in another order
    before = cur.copy()
    result = drift.check_windows(ref, cur, timestamp="ts")
    pd.testing.assert_frame_equal(cur, before)
    notes = {f.features[0] for f in result.checks if f.check == "types.nested_values"}
    assert notes == {"tags", "meta"}
    flagged = {f.features for f in result.findings if f.severity != "info"}
    assert ("tags",) in flagged or any("tags" in fs for fs in flagged)
    assert not any("meta" in fs for fs in flagged)  # equal dicts compare equal
