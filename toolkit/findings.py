"""Findings: the common currency of every stage.

Each check returns :class:`Finding` objects. Triage ranks them, templates render
them, audits gate on them and the command line writes them as JSON with
:func:`to_json`. The JSON form is stable::

    {"findings": [{"rank": 1, "check": "...", "layer": "...", "features": [...],
                   "segment": null, "severity": "critical", "score": 0.93,
                   "summary": "...", "evidence": {...}, "next_step": "...",
                   "explained": 0.87}, ...]}
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from toolkit._exceptions import InputError

__all__ = [
    "LAYERS",
    "SEVERITIES",
    "Finding",
    "from_json",
    "rank_findings",
    "to_json",
    "to_records",
]

Severity = Literal["info", "warning", "critical"]
Layer = Literal["data", "pipeline", "population", "concept", "model"]

#: Severities from least to most serious.
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")

#: Where a root cause lives. ``data``: the values themselves are bad at the source
#: (nulls, duplicates, impossible values, stuck sensors); ``pipeline``: the transport
#: changed them (schema, types, units, remapped codes, late batches); ``population``:
#: the world changed (covariate drift); ``concept``: the relation between inputs and
#: the label changed; ``model``: the model or its version changed.
LAYERS: tuple[str, ...] = ("data", "pipeline", "population", "concept", "model")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One observation of one check, with its evidence and a next step.

    Parameters
    ----------
    check : str
        Name of the check that produced it, such as ``"scale.unit_change"``.
    layer : {"data", "pipeline", "population", "concept", "model"}
        Where the suspected cause lives (see :data:`LAYERS`).
    summary : str
        One line a person can read.
    severity : {"info", "warning", "critical"}, default="info"
    score : float, default=0.0
        Strength of the finding in [0, 1]; ranks findings of equal severity.
    features : tuple of str, default=()
        The columns involved.
    segment : str or None, default=None
        The segment the finding holds in, as an expression (``"channel == 'app'"``).
    evidence : mapping, default={}
        Small, JSON-ready numbers and tables (lists of records). Machine-readable
        facts a later stage may use live here too (a factor, a mapping, a date).
    next_step : str, default=""
        What a person should do next.
    explained : float or None, default=None
        Share of the symptom this finding explains, set by triage.
    rank : int or None, default=None
        Position after ranking, 1 = most likely root cause.
    """

    check: str
    layer: str
    summary: str
    severity: str = "info"
    score: float = 0.0
    features: tuple[str, ...] = ()
    segment: str | None = None
    evidence: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    next_step: str = ""
    explained: float | None = None
    rank: int | None = None

    def __post_init__(self) -> None:
        if self.layer not in LAYERS:
            raise InputError(
                f"Finding layer must be one of {', '.join(LAYERS)}; got {self.layer!r} "
                f"from check {self.check!r}."
            )
        if self.severity not in SEVERITIES:
            raise InputError(
                f"Finding severity must be one of {', '.join(SEVERITIES)}; got "
                f"{self.severity!r} from check {self.check!r}."
            )
        score = float(self.score)
        if not 0.0 <= score <= 1.0 or math.isnan(score):
            raise InputError(
                f"Finding score must be a number in [0, 1]; got {self.score!r} from "
                f"check {self.check!r}. Clip or rescale the score before building it."
            )
        object.__setattr__(self, "score", score)
        if isinstance(self.features, str):
            object.__setattr__(self, "features", (self.features,))
        else:
            object.__setattr__(self, "features", tuple(str(f) for f in self.features))

    @property
    def severity_level(self) -> int:
        """0 for info, 1 for warning, 2 for critical."""
        return SEVERITIES.index(self.severity)

    def replace(self, **changes: Any) -> Finding:
        """Return a copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form of this finding."""
        out = {
            "rank": self.rank,
            "check": self.check,
            "layer": self.layer,
            "features": list(self.features),
            "segment": self.segment,
            "severity": self.severity,
            "score": round(self.score, 6),
            "summary": self.summary,
            "evidence": jsonable(self.evidence),
            "next_step": self.next_step,
            "explained": None if self.explained is None else round(self.explained, 6),
        }
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """Rebuild a finding from :meth:`to_dict` output."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise InputError(
                f"Unknown finding keys {sorted(unknown)}; expected a subset of "
                f"{sorted(fields)}."
            )
        return cls(**dict(data))


def rank_findings(findings: Iterable[Finding], *, key: Any = None) -> list[Finding]:
    """Order findings, most serious first, and number them from 1.

    The default order is severity, then the share of the symptom explained (when
    triage has set it), then score, then check name for a stable tie-break.

    Parameters
    ----------
    findings : iterable of Finding
    key : callable, optional
        A sort key (higher sorts first) that replaces the default order.

    Returns
    -------
    list of Finding
        New findings with ``rank`` set.
    """
    items = list(findings)
    if key is None:

        def key(f: Finding) -> tuple[int, float, float]:
            return (f.severity_level, f.explained or 0.0, f.score)

    ordered = sorted(items, key=lambda f: f.check)
    ordered = sorted(ordered, key=key, reverse=True)
    return [f.replace(rank=i) for i, f in enumerate(ordered, start=1)]


def to_records(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """Findings as a list of JSON-ready dicts, in the order given."""
    return [f.to_dict() for f in findings]


def to_json(findings: Iterable[Finding], *, indent: int | None = 2) -> str:
    """Serialise findings to the stable ``{"findings": [...]}`` form.

    Findings without a rank are ranked first with :func:`rank_findings`.
    """
    items = list(findings)
    if any(f.rank is None for f in items):
        items = rank_findings(items)
    return json.dumps({"findings": to_records(items)}, indent=indent, allow_nan=False)


def from_json(text: str) -> list[Finding]:
    """Parse the output of :func:`to_json`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"Findings JSON is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise InputError('Findings JSON must be an object {"findings": [...]}.')
    return [Finding.from_dict(d) for d in data["findings"]]


def jsonable(value: Any) -> Any:
    """Convert numpy, pandas and datetime values into plain JSON types.

    Non-finite floats become ``None`` so the output is strict JSON.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalar
        return jsonable(value.item())
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if isinstance(value, (Sequence, set, frozenset)):
        return [jsonable(v) for v in value]
    try:
        if value != value:  # NaT
            return None
    except TypeError:  # pandas.NA refuses to be a bool
        return None
    return str(value)
