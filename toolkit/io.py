"""Reading tables and models, and fingerprinting inputs.

Tables are CSV or Parquet files. Models are joblib or pickle files, or MLflow model
URIs (``models:/name/version``, ``models:/name@alias``, ``runs:/...``).

.. warning::
   Loading a pickle or joblib file runs code from that file. Steward loads only the
   model files a user names, never a file it found on its own. Load only files you
   trust.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit._exceptions import InputError, ModelError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "TABLE_SUFFIXES",
    "ModelInfo",
    "fingerprint",
    "load_model",
    "load_result",
    "parse_times",
    "read_table",
    "row_count",
    "save_result",
]

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".csv.gz", ".tsv")
_URI_SCHEMES = ("models:/", "runs:/", "mlflow-artifacts:/")


def _table_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    raise InputError(
        f"Cannot read {str(path)!r}: the file name must end in .csv, .csv.gz, .tsv, "
        f".parquet or .pq. Convert the file, or rename it if it already is one of these."
    )


def read_table(path: str | os.PathLike[str], *, name: str = "table") -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame.

    CSV columns are read with pandas' default inference, so numbers that arrive as
    text stay text: the data checks report them instead of hiding them.

    Parameters
    ----------
    path : str or path-like
        The file.
    name : str, default="table"
        What the table is (``"reference"``, ``"current"``), used in error messages.

    Raises
    ------
    InputError
        The file is missing, of an unknown kind, unreadable, or has no columns.
    """
    import pandas as pd

    p = Path(path)
    if not str(path):
        raise InputError(f"No file given for the {name} table; pass the path of a CSV or Parquet file.")
    if not p.is_file():
        raise InputError(
            f"The {name} file {str(p)!r} does not exist or is not a file. Check the path "
            f"(relative paths are taken from {os.getcwd()!r})."
        )
    kind = _table_kind(p)
    content = _sniff(p)
    if kind != "parquet" and content == "parquet":
        kind = "parquet"  # a Parquet file under another name is still Parquet
    if content == "empty":
        raise InputError(f"The {name} file {str(p)!r} is empty (0 bytes). Pass a file with a "
                         f"header row and data.")
    if content in _BINARY:
        raise InputError(
            f"The {name} file {str(p)!r} is not a {_KIND_NAMES[kind]} file "
            f"({_BINARY[content]}). Export the table as CSV (UTF-8) or Parquet and pass "
            f"that file, or check that the path names the file you meant."
        )
    if content not in ("text", "parquet", "gzip", "utf-16"):
        raise InputError(
            f"The {name} file {str(p)!r} is {_CONTENTS[content]}, not a {kind.upper()} "
            f"table. Export it as CSV (UTF-8) or Parquet and pass that file."
        )
    encoding = "utf-16" if content == "utf-16" else "utf-8"
    try:
        if kind == "parquet":
            df = pd.read_parquet(p)
        else:
            sep, decimal = _csv_dialect(p, encoding=encoding)
            df = pd.read_csv(p, sep=sep, decimal=decimal, low_memory=False, encoding=encoding,
                             compression="gzip" if content == "gzip" else "infer")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"The {name} file {str(p)!r} is not UTF-8 text (it holds the byte "
            f"{exc.object[exc.start]:#04x}); it was probably saved as Latin-1 or "
            f"Windows-1252. Re-save it as UTF-8 (or write Parquet) and pass that file."
        ) from exc
    except (ValueError, OSError, EOFError, pd.errors.ParserError) as exc:
        raise InputError(
            f"Cannot read the {name} file {str(p)!r} as {kind.upper()}: {exc}. Check that "
            f"the file is a valid {kind.upper()} file and not truncated."
        ) from exc
    if kind != "parquet":
        _refuse_repeated_header(p, df, name=name, sep=sep, encoding=encoding,
                                gzipped=content == "gzip")
    if df.shape[1] == 0:
        raise InputError(
            f"The {name} file {str(p)!r} has no columns. Check that it is the right file "
            f"and that it has a header row."
        )
    return df


#: What a file's first bytes say it is, for the error that names it.
_CONTENTS = {
    "zip": "a zip archive (an Excel .xlsx workbook is one)",
    "excel": "an old Excel (.xls) workbook",
    "arrow": "an Arrow/Feather file",
    "json": "JSON text",
}


#: Binary content that no table reader can use, for the error that names it.
_BINARY = {
    "png": "it starts like a PNG image",
    "jpeg": "it starts like a JPEG image",
    "gif": "it starts like a GIF image",
    "pdf": "it starts like a PDF document",
    "binary": "it holds NUL bytes, which text never does: it is binary data, or UTF-16 text "
              "without a byte-order mark",
}
_KIND_NAMES = {"csv": "text CSV", "parquet": "Parquet"}
_MAGIC = ((b"PAR1", "parquet"), (b"\x1f\x8b", "gzip"), (b"PK\x03\x04", "zip"),
          (b"\xd0\xcf\x11\xe0", "excel"), (b"ARROW1", "arrow"),
          (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
          (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"),
          (b"GIF89a", "gif"), (b"%PDF-", "pdf"))


def _sniff(path: Path) -> str:
    """The kind of content from the first bytes, whatever the file's name says."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return "text"  # let the reader raise its own, clearer error
    if not head:
        return "empty"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if b"\x00" in head:  # text in UTF-8 or a single-byte code page never holds NUL
        return "binary"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return "json"
    return "text"


def _refuse_repeated_header(path: Path, df: pd.DataFrame, *, name: str, sep: str,
                            encoding: str, gzipped: bool) -> None:
    """pandas renames a repeated header (``amount``, ``amount.1``): refuse it instead,
    as the checks refuse repeated column names in memory."""
    import csv
    import gzip

    if not any("." in str(c) for c in df.columns):
        return  # nothing could have been renamed
    opener: Any = gzip.open if gzipped else open
    with opener(path, "rt", encoding=encoding, newline="") as handle:
        header = next(csv.reader(handle, delimiter=sep), [])
    header = [h.lstrip("\ufeff") for h in header]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InputError(
            f"The {name} file {str(path)!r} repeats the column name(s) {repeated} in its "
            f"header; pandas would rename the copies ({repeated[0]}.1) and the checks would "
            f"compare the wrong columns. Give every column a distinct name."
        )


def parse_times(values: pd.Series) -> pd.Series:
    """Times in UTC without a zone, from any way a table can hold them.

    Datetimes (a zone is converted to UTC); epoch numbers, their unit read off their
    magnitude (seconds below 1e11, milliseconds below 1e14, microseconds below 1e17,
    else nanoseconds); text in one format or several, with or without UTC offsets,
    even mixed ones (converted to UTC; text without an offset is taken as UTC).
    Values that do not parse become NaT; the caller decides how many may.
    """
    import warnings

    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(values):
        out = values
    elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        finite = values[values.notna()]
        top = float(finite.abs().max()) if len(finite) else 0.0
        unit = next(u for limit, u in ((1e11, "s"), (1e14, "ms"), (1e17, "us"), (1e300, "ns"))
                    if top < limit)
        out = pd.to_datetime(values, unit=unit, errors="coerce")
    else:
        with warnings.catch_warnings():  # "could not infer format": retried just below
            warnings.simplefilter("ignore", UserWarning)
            out = pd.to_datetime(values, errors="coerce", utc=True)  # one inferred format
        failed = out.isna() & values.notna()
        if failed.any():  # the format was inferred from the first value; others may differ
            retry = pd.to_datetime(values[failed], errors="coerce", utc=True, format="mixed")
            out = out.where(~failed, retry)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def _csv_dialect(path: Path, *, encoding: str = "utf-8") -> tuple[str, str]:
    """Separator and decimal mark of a text table, from its first lines.

    Commas (tabs for ``.tsv``) unless the header splits into more columns on ``;``,
    a tab or ``|``. A ``;`` file with at least as many columns of decimal commas
    (``3,5``) as of decimal points is read with ``decimal=","``, as spreadsheets in
    much of Europe write it (a ``;`` separator leaves the comma free for decimals).
    Gzipped files are sniffed through gzip.
    """
    import gzip
    import re

    default = "\t" if path.name.lower().endswith(".tsv") else ","
    opener: Any = gzip.open if _sniff(path) == "gzip" else open
    try:
        with opener(path, "rt", encoding=encoding, errors="replace") as handle:
            lines = [handle.readline() for _ in range(50)]
    except (OSError, EOFError):
        return default, "."
    header = lines[0]
    counts = {c: header.count(c) for c in (default, ";", "\t", "|")}
    sep = max(counts, key=lambda c: (counts[c], c == default))
    if counts[sep] == 0:
        sep = default
    decimal = "."
    if sep == ";":  # the comma is free to be the decimal mark: columns vote
        rows = [line.rstrip("\r\n").split(sep) for line in lines[1:] if line.strip()]
        commas = points = 0
        for column in zip(*rows, strict=False):
            fields = [f.strip().strip('"') for f in column]
            comma = any(re.fullmatch(r"-?\d+,\d+", f) for f in fields)
            point = any(re.fullmatch(r"-?\d+\.\d+", f) for f in fields)
            commas += comma and not point
            points += point and not comma
        decimal = "," if commas and commas >= points else "."
    return sep, decimal


def row_count(path: str | os.PathLike[str]) -> int | None:
    """Rows of a table file without loading it whole (None if not a table)."""
    p = Path(path)
    try:
        kind = _table_kind(p)
    except InputError:
        return None
    if kind == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(p).metadata.num_rows)
    import pandas as pd

    n = 0
    for chunk in pd.read_csv(p, usecols=[0], chunksize=1_000_000, low_memory=False):
        n += len(chunk)
    return n


def fingerprint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """sha256, size and (for tables) row count of a file, for run manifests."""
    p = Path(path)
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    out: dict[str, Any] = {"path": str(p.resolve()), "sha256": digest.hexdigest(), "bytes": p.stat().st_size}
    try:
        out["rows"] = row_count(p)
    except Exception as exc:  # a manifest must never fail on an odd file
        out["rows"] = None
        out["rows_error"] = str(exc)
    return out


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded model is, for manifests and reports."""

    source: str
    kind: str
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "sha256": self.sha256}


def save_result(result: Any, path: str | os.PathLike[str]) -> Path:
    """Save what a command computed (an investigation, a version comparison) for its
    report to render, instead of computing it again. A pickle: see :func:`load_result`."""
    import pickle

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return out


def load_result(path: str | os.PathLike[str], *, kind: type, name: str) -> Any:
    """Read a result written by :func:`save_result`, checking that it is a ``kind``.

    Loading a pickle runs code: pass only a file Steward wrote for you (``steward
    triage --report`` and ``steward compare --report`` write one into their run
    folder's ``inputs``), never one you were sent.
    """
    import pickle

    try:
        with Path(path).open("rb") as fh:
            result = pickle.load(fh)  # our own file: see the docstring
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
        raise InputError(f"Cannot read the saved {name} {str(path)!r}: {exc}. Leave the "
                         f"{name} parameter empty to compute it from the files again.") from exc
    if not isinstance(result, kind):
        raise InputError(f"The file {str(path)!r} holds a {type(result).__name__}, not a "
                         f"saved {name}. Leave the {name} parameter empty.")
    return result


def is_model_uri(text: str) -> bool:
    """True for MLflow model URIs such as ``models:/fraud/3``."""
    return str(text).startswith(_URI_SCHEMES)


def load_model(source: Any, *, name: str = "model") -> tuple[Any, ModelInfo]:
    """Load a model from a joblib/pickle file or an MLflow URI.

    An object that already has ``predict`` or ``predict_proba`` is returned as is,
    so notebook users can pass fitted models directly.

    Loading a pickle or joblib file runs code: load only files you trust.

    Parameters
    ----------
    source : str, path-like or model object
    name : str, default="model"
        What the model is (``"model"``, ``"previous_model"``), for error messages.

    Returns
    -------
    model, ModelInfo
    """
    if hasattr(source, "predict") or hasattr(source, "predict_proba"):
        return source, ModelInfo(source="<object>", kind=_kind(source))
    text = str(source)
    if is_model_uri(text):
        return _load_mlflow(text, name=name)
    p = Path(text)
    if not p.is_file():
        raise ModelError(
            f"The {name} file {text!r} does not exist. Pass the path of a joblib or "
            f"pickle file, or an MLflow URI such as 'models:/fraud/3'."
        )
    try:
        import joblib

        model = joblib.load(p)
    except Exception as exc:
        raise ModelError(
            f"Cannot load the {name} file {text!r}: {type(exc).__name__}: {exc}. Steward "
            f"reads joblib or pickle files written by the same library versions; re-save "
            f"the model with joblib.dump, or check that the file is not truncated."
        ) from exc
    if not (hasattr(model, "predict") or hasattr(model, "predict_proba")):
        raise ModelError(
            f"The {name} file {text!r} holds a {type(model).__name__}, which has neither "
            f"predict nor predict_proba. Save the fitted model (or Pipeline) itself."
        )
    return model, ModelInfo(source=str(p.resolve()), kind=_kind(model), sha256=fingerprint(p)["sha256"])


def _load_mlflow(uri: str, *, name: str) -> tuple[Any, ModelInfo]:
    try:
        import mlflow
    except ImportError as exc:
        raise ModelError(
            f"The {name} {uri!r} is an MLflow URI, but mlflow is not installed. Install "
            f"it with: pip install 'mlsteward[mlflow]'."
        ) from exc
    store = mlflow.get_registry_uri() if uri.startswith("models:/") else mlflow.get_tracking_uri()
    db = store[len("sqlite:///"):].split("?", 1)[0] if store.startswith("sqlite:///") else None
    if db is not None and not Path(db).exists():
        # mlflow would create an empty database there (and retry for minutes where it
        # cannot write): an empty registry holds no model.
        default = ("" if os.environ.get("MLFLOW_TRACKING_URI") else " (with no "
                   "MLFLOW_TRACKING_URI set, mlflow uses mlflow.db in the current folder)")
        raise ModelError(
            f"Cannot load the {name} {uri!r}: MLflow's store {store!r} does not exist"
            f"{default}. Set MLFLOW_TRACKING_URI (and MLFLOW_REGISTRY_URI if it differs) to "
            f"the registry that holds the model."
        )
    try:
        try:
            model = mlflow.sklearn.load_model(uri)
        except Exception:
            model = mlflow.pyfunc.load_model(uri)
    except Exception as exc:
        raise ModelError(
            f"Cannot load the {name} {uri!r} from MLflow (tracking URI "
            f"{mlflow.get_tracking_uri()!r}): {exc}. Check the model name, version or "
            f"alias, and set MLFLOW_TRACKING_URI to the registry that holds it."
        ) from exc
    return model, ModelInfo(source=uri, kind=_kind(model))


def _kind(model: Any) -> str:
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"
