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


def test_files_that_are_not_what_their_name_says(tmp_path: Path, frame: pd.DataFrame) -> None:
    # From a held-out bad-input run: each read as garbage or failed with a codec error.
    import gzip
    import zipfile

    expected = pd.read_csv(_write(tmp_path / "plain.csv", frame.to_csv(index=False)))
    gz = tmp_path / "gz.csv"
    gz.write_bytes(gzip.compress(frame.to_csv(index=False).encode()))
    pq = tmp_path / "pq.csv"
    frame.to_parquet(pq)
    u16 = tmp_path / "u16.csv"
    u16.write_text(frame.to_csv(index=False), encoding="utf-16")
    for readable in (gz, u16):
        pd.testing.assert_frame_equal(read_table(readable), expected)
    pd.testing.assert_frame_equal(read_table(pq), frame)
    xlsx = tmp_path / "book.csv"
    with zipfile.ZipFile(xlsx, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    (tmp_path / "j.csv").write_text(frame.to_json(orient="records"))
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "latin.csv").write_bytes("shop,n\nM\xfcnchen,1\n".encode("latin-1"))
    (tmp_path / "twice.csv").write_text("ts,amount,amount\n1,2,3\n")
    for file, words in (("book.csv", ["current", "zip archive", "Excel", "Export it as CSV"]),
                        ("j.csv", ["JSON text", "Export it as CSV"]),
                        ("empty.csv", ["empty (0 bytes)", "header row"]),
                        ("latin.csv", ["not UTF-8", "0xfc", "Re-save it as UTF-8"]),
                        ("twice.csv", ["repeats the column name(s) ['amount']", "distinct"])):
        with pytest.raises(InputError) as info:
            read_table(tmp_path / file, name="current")
        assert str(tmp_path / file) in str(info.value)
        for word in words:
            assert word in str(info.value), str(info.value)
    spaced = _write(tmp_path / "spaced.csv", "a,a \n1,2\n")  # distinct names to pandas too
    assert list(read_table(spaced).columns) == ["a", "a "]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_times_parse_however_a_table_holds_them() -> None:
    from toolkit.io import parse_times

    march = pd.Timestamp("2024-03-10 12:00:00")
    seconds = int(march.timestamp())
    for epoch in (seconds, seconds * 1000, seconds * 1_000_000, seconds * 10**9):
        assert parse_times(pd.Series([epoch, epoch + 0])).iloc[0] == march
    mixed = pd.Series(["2024-03-10 17:00:00+05:00", "2024-03-10T12:00:00Z",
                       "2024-03-10 12:00:00", "10 March 2024 12:00", None])
    parsed = parse_times(mixed)
    assert parsed.iloc[:4].tolist() == [march] * 4 and pd.isna(parsed.iloc[4])
    zoned = pd.Series(pd.date_range("2024-03-10 13:00", periods=2, freq="h", tz="Europe/Paris"))
    assert parse_times(zoned).iloc[0] == march and parse_times(zoned).dt.tz is None
