"""The smaller bad inputs of issue #15, each with a message that names it.

A model that scores every row NaN, a model fitted on an array (no column names),
columns of lists and dicts in the quality stage, a binary file named ``.csv`` and a
timestamp column that holds one time for every row.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit import InputError, ModelError

FEATURES = ["x1", "x2", "x3"]


def _window(n: int, start: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.uniform(0, 14 * 86400, n))
    df = pd.DataFrame({"ts": pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s"),
                       "x1": rng.normal(size=n), "x2": rng.normal(size=n),
                       "x3": rng.normal(size=n)})
    df["y"] = (df["x1"] + rng.normal(size=n) > 0).astype(int)
    return df


@pytest.fixture(scope="module")
def windows() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _window(600, "2026-01-01", 1), _window(600, "2026-01-15", 2)


@pytest.fixture(scope="module")
def named_model(windows):
    from sklearn.linear_model import LogisticRegression

    ref = windows[0]
    return LogisticRegression().fit(ref[FEATURES], ref["y"])


@pytest.fixture(scope="module")
def array_model(windows):
    """Fitted on a numpy array: it records n_features_in_ but no feature_names_in_."""
    from sklearn.linear_model import LogisticRegression

    ref = windows[0]
    return LogisticRegression().fit(ref[FEATURES].to_numpy(), ref["y"])


class NaNModel:
    """A binary classifier whose every probability is NaN (a broken artefact)."""

    feature_names_in_ = np.array(FEATURES, dtype=object)
    classes_ = np.array([0, 1])

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.full((len(X), 2), np.nan)


# 1. A model that returns all NaN scores ------------------------------------------------

def test_all_nan_scores_are_a_model_error_naming_the_window(windows):
    from toolkit.scoring import predict_scores

    with pytest.raises(ModelError, match=r"no usable scores.*all 600 rows of the current window"):
        predict_scores(NaNModel(), windows[1], window="current")


def test_attribution_says_the_model_returned_no_scores(windows):
    from toolkit.attribution import attribution_drift

    ref, cur = windows
    with pytest.raises(ModelError, match=r"no usable scores.*reference window"):
        attribution_drift(ref, cur, model=NaNModel(), target="y", sample_size=100)


def test_triage_with_an_all_nan_model_never_reports_nan(windows):
    from toolkit import triage

    ref, cur = windows
    inv = triage.investigate(ref, cur, model=NaNModel(), target="y", timestamp="ts")
    for f in inv.findings:  # numbers print as "nan"; the message says "NaN" in words
        assert not re.search(r"\bnan\b", f.summary), f.summary
    failed = [f.summary for f in inv.findings if f.check == "triage.stage_failed"]
    assert failed and all("no usable scores" in s for s in failed)
    assert "no usable scores" in inv.notes["symptom"]
    assert inv.symptom is None


def test_some_nan_scores_still_score(windows):
    from toolkit.scoring import predict_scores

    class HalfNaN(NaNModel):
        def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
            out = np.full((len(X), 2), 0.5)
            out[::2] = np.nan
            return out

    scores = predict_scores(HalfNaN(), windows[1])
    assert np.isfinite(scores).sum() == 300


# 2. A model fitted without column names ------------------------------------------------

def test_a_model_fitted_on_an_array_says_so_and_lists_the_candidates(windows, array_model):
    from toolkit.scoring import predict_scores

    with pytest.raises(ModelError) as caught:
        predict_scores(array_model, windows[1])
    message = str(caught.value)
    assert "fitted without column names" in message
    assert "expects 3 features" in message
    assert "['ts', 'x1', 'x2', 'x3', 'y']" in message
    assert "Refit" in message and "exactly" in message
    assert "timestamp" not in message.lower() and "float" not in message


def test_a_model_fitted_on_an_array_scores_exactly_its_columns(windows, array_model):
    from toolkit.scoring import predict_scores

    # No "X has feature names" warning: pytest turns warnings into errors.
    scores = predict_scores(array_model, windows[1][FEATURES])
    assert scores.shape == (600,) and np.isfinite(scores).all()


def test_attribution_of_an_array_model_names_the_problem(windows, array_model):
    from toolkit.attribution import attribution_drift

    ref, cur = windows
    with pytest.raises(ModelError, match=r"fitted without column names.*expects 3 features"):
        attribution_drift(ref, cur, model=array_model, target="y", sample_size=100)


# 3. Nested list and struct columns in the quality stage --------------------------------

def _nested(df: pd.DataFrame) -> pd.DataFrame:
    n = len(df)
    return df.assign(tags=[["a", "b"] if i % 3 else ["c"] for i in range(n)],
                     meta=[{"k": i % 4, "s": "v"} for i in range(n)],
                     arr=[np.array([i % 2, 1]) for i in range(n)],  # as Parquet lists arrive
                     plan=np.where(np.arange(n) % 2, "basic", "pro"))


def test_quality_skips_nested_columns_as_segments_and_says_so(windows, named_model):
    from toolkit.quality import quality_drift, segment_columns

    ref, cur = (_nested(w) for w in windows)
    assert segment_columns(ref, exclude={"y"}) == ["plan"]
    result = quality_drift(ref, cur, reference_scores=named_model.predict_proba(ref[FEATURES])[:, 1],
                           current_scores=named_model.predict_proba(cur[FEATURES])[:, 1],
                           target="y", columns=["plan", "tags", "meta", "arr"], min_rows=50)
    assert set(result.segments["column"]) == {"plan"}
    assert any("arr, meta, tags" in note for note in result.notes)


def test_parquet_nested_columns_do_not_fail_the_triage_quality_stage(tmp_path, windows,
                                                                     named_model):
    from toolkit import triage
    from toolkit.io import read_table

    frames = []
    for name, w in zip(("ref", "cur"), windows):
        path = tmp_path / f"{name}.parquet"
        _nested(w).drop(columns="arr").to_parquet(path, index=False)
        frames.append(read_table(path))
    inv = triage.investigate(*frames, model=named_model, target="y", timestamp="ts")
    assert "quality" in inv.stages
    assert not [f for f in inv.findings if f.check == "triage.stage_failed"]


# 4. A binary file named .csv -------------------------------------------------------------

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x04\x00\x00\x00\x04\x08\x02\x00"
       b"\x00\x00" + zlib.compress(b"\x00\xff\x00\x00" * 4))


@pytest.mark.parametrize(("content", "words"), [
    (PNG, "it starts like a PNG image"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "it starts like a PDF document"),
    (b"GIF89a\x04\x00\x04\x00\x80\x00\x00", "it starts like a GIF image"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "it starts like a JPEG image"),
    (b"a,b\n1,2\n\x00\x00\x01\x02garbage\x00\n", "it holds NUL bytes"),
])
def test_a_binary_file_named_csv_is_not_called_latin1(tmp_path, content, words):
    from toolkit.io import read_table

    path = tmp_path / "current.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_table(path, name="current")
    message = str(caught.value)
    assert f"The current file {str(path)!r} is not a text CSV file ({words}" in message
    assert "Latin-1" not in message
    assert "Export" in message


def test_latin1_text_is_still_called_latin1(tmp_path):
    from toolkit.io import read_table

    path = tmp_path / "latin.csv"
    path.write_bytes("city,n\nZürich,1\n".encode("latin-1"))
    with pytest.raises(InputError, match="Latin-1"):
        read_table(path)


def test_the_command_line_exits_2_on_a_png_named_csv(tmp_path, windows):
    (tmp_path / "img.csv").write_bytes(PNG)
    windows[0].to_csv(tmp_path / "ref.csv", index=False)
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "triage", "--reference", "ref.csv", "--current",
         "img.csv", "--json", "out.json"], cwd=tmp_path, capture_output=True, text=True,
        timeout=300)
    assert done.returncode == 2, done.stderr
    assert "is not a text CSV file (it starts like a PNG image)" in " ".join(done.stderr.split())
    assert not Path(tmp_path / "out.json").exists()


# 5. A constant timestamp column ---------------------------------------------------------

def _constant(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(ts=pd.Timestamp("2026-01-20 00:00:00"))


def test_a_constant_current_timestamp_is_critical(windows):
    from toolkit.checks import volume_changes

    ref, cur = windows
    found = volume_changes(ref, _constant(cur), timestamp="ts")
    assert [f.check for f in found] == ["volume.constant_time"]
    (f,) = found
    assert f.severity == "critical" and f.features == ("ts",)
    assert "every one of the 600 current rows" in f.summary
    assert "2026-01-20 00:00:00" in f.summary
    assert f.evidence["windows"] == ["current"]


def test_constant_timestamps_in_both_windows_are_a_warning(windows):
    from toolkit.checks import volume_changes

    ref, cur = windows
    (f,) = volume_changes(_constant(ref), _constant(cur), timestamp="ts")
    assert f.check == "volume.constant_time" and f.severity == "warning"
    assert f.evidence["windows"] == ["reference", "current"]


@pytest.mark.parametrize("which", ["current", "both"])
def test_constant_timestamps_go_through_triage(windows, named_model, which):
    from toolkit import triage

    ref, cur = windows
    ref = _constant(ref) if which == "both" else ref
    inv = triage.investigate(ref, _constant(cur), model=named_model, target="y",
                             timestamp="ts")
    checks = [f.check for f in inv.findings]
    assert "volume.constant_time" in checks
    assert "triage.stage_failed" not in checks
    assert "volume.rate_change" not in checks  # no "336 times the rows per hour"
