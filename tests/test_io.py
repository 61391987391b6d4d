"""Reading tables: CSV dialects a user's files really come in, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit import InputError
from toolkit.io import read_table


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"when": pd.date_range("2024-01-01", periods=40, freq="h").astype(str),
                         "amount": np.round(rng.lognormal(3, 1, 40), 2),
                         "shop": rng.choice(["north", "south"], 40), "n": rng.integers(0, 9, 40)})


@pytest.mark.parametrize(("name", "options"), [
    ("plain.csv", {}),
    ("europe.csv", {"sep": ";", "decimal": ","}),
    ("semicolon_dots.csv", {"sep": ";"}),
    ("tabs.tsv", {"sep": "\t"}),
    ("tabs.csv", {"sep": "\t"}),
    ("pipes.csv", {"sep": "|"}),
    ("plain.csv.gz", {}),
    ("europe.csv.gz", {"sep": ";", "decimal": ","}),
])
def test_csv_dialects_are_recognised(tmp_path: Path, frame: pd.DataFrame, name: str,
                                     options: dict) -> None:
    path = tmp_path / name
    frame.to_csv(path, index=False, **options)
    got = read_table(path, name="current")
    assert list(got.columns) == list(frame.columns)
    np.testing.assert_allclose(got["amount"].to_numpy(dtype=float), frame["amount"])
    assert got["n"].tolist() == frame["n"].tolist()


def test_a_commas_file_with_semicolons_in_its_text_stays_a_commas_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("id,note\n1,fine\n2,\"late; resent\"\n")
    got = read_table(path, name="reference")
    assert list(got.columns) == ["id", "note"]
    assert got["note"].tolist() == ["fine", "late; resent"]


def test_unreadable_files_are_refused_by_name(tmp_path: Path) -> None:
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match=r"current file .*broken\.parquet.* as PARQUET"):
        read_table(bad, name="current")
    with pytest.raises(InputError, match="does not exist"):
        read_table(tmp_path / "nowhere.csv", name="reference")


def test_decimal_commas_are_judged_field_by_field(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("ts;amount;version\n2024-01-05 10:00:00.123;3,5;1.2\n"
                    "2024-01-05 11:00:00.456;12,25;1.2\n")
    got = read_table(path, name="current")
    assert got["amount"].tolist() == [3.5, 12.25]  # fractional seconds and versions aside
