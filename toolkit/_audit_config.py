"""Audit configuration: strict validation of the YAML file and window arithmetic.

Every mistake is reported as a :class:`~toolkit.ConfigError` whose message names the
key path (``objectives[2].max``), what was given, what was expected and the fix, so
that a nightly job fails before any kernel starts. The schema is documented in
``docs/audit.md`` and ``examples/audit.yaml``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import glob
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from toolkit._exceptions import ConfigError

__all__ = ["AuditConfig", "Objective", "Window", "load_config", "parse_config"]

#: Checks an audit may run besides the measures it always computes itself.
CHECKS: tuple[str, ...] = ("data", "drift", "attribution")
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
_TOP_KEYS = (
    "name", "description", "data", "timestamp", "window", "reference", "model",
    "prediction", "target", "checks", "objectives", "random_state", "history",
)
_REFERENCE_KEYS = ("path", "trailing")
_OBJECTIVE_KEYS = ("name", "measure", "min", "max", "severity", "required", "description")
_DURATION = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_UNITS = {"h": _dt.timedelta(hours=1), "d": _dt.timedelta(days=1), "w": _dt.timedelta(weeks=1)}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclasses.dataclass(frozen=True)
class Window:
    """A half-open UTC time interval ``[start, end)``."""

    start: _dt.datetime
    end: _dt.datetime

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @property
    def label(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


@dataclasses.dataclass(frozen=True)
class Objective:
    """One service-level objective: a measure must stay within ``[min, max]``."""

    name: str
    measure: str
    min: float | None = None
    max: float | None = None
    severity: str = "warning"
    required: bool = True
    description: str = ""

    @property
    def rule(self) -> str:
        """The objective as text, such as ``quality.auc >= 0.7``."""
        parts = []
        if self.min is not None:
            parts.append(f"{self.measure} >= {self.min:g}")
        if self.max is not None:
            parts.append(f"{self.measure} <= {self.max:g}")
        return " and ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class AuditConfig:
    """A validated audit configuration (see :func:`load_config`)."""

    name: str
    data: tuple[str, ...]
    timestamp: str
    window: Any
    reference_path: tuple[str, ...] = ()
    reference_trailing: _dt.timedelta | None = None
    model: str | None = None
    prediction: str | None = None
    target: str | None = None
    checks: tuple[str, ...] = ()
    objectives: tuple[Objective, ...] = ()
    random_state: int = 0
    description: str = ""
    source: str = ""
    sha256: str = ""
    history_trailing: _dt.timedelta | None = None

    def window_at(self, now: _dt.datetime | str | None = None) -> Window:
        """The window to audit when the audit runs at ``now`` (default: the UTC clock)."""
        return resolve_window(self.window, now=parse_now(now))

    def reference_window(self, window: Window) -> Window | None:
        """The trailing reference window that ends where ``window`` starts, if any."""
        if self.reference_trailing is None:
            return None
        return Window(window.start - self.reference_trailing, window.start)

    def history_window(self, window: Window) -> Window | None:
        """The rows of the past that severities are judged against (``history:``): the
        trailing span before the reference window (before the audit window when the
        reference is a fixed file), if configured."""
        if self.history_trailing is None:
            return None
        ref = self.reference_window(window)
        end = ref.start if ref is not None else window.start
        return Window(end - self.history_trailing, end)

    def data_files(self) -> list[str]:
        """The files the data patterns match now (sorted, deduplicated)."""
        return expand_patterns(self.data, key="data")

    def reference_files(self) -> list[str]:
        """The files of a fixed reference, or [] for a trailing one."""
        return expand_patterns(self.reference_path, key="reference.path")


def load_config(path: str | Path) -> AuditConfig:
    """Read and validate an audit configuration file.

    Relative paths inside the file are taken from the file's folder, so the same
    config works from cron, Airflow or a shell.

    Parameters
    ----------
    path : str or Path
        A YAML file (see ``examples/audit.yaml``).

    Returns
    -------
    AuditConfig

    Raises
    ------
    ConfigError
        The file is missing or not YAML, or any key is unknown, mistyped, out of
        range or names files that do not exist.
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(
            f"The audit config {str(p)!r} does not exist or is not a file. Pass the path "
            f"of a YAML file such as examples/audit.yaml."
        )
    text = p.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"The audit config {str(p)!r} is not valid YAML: {exc}") from exc
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return parse_config(raw, base_dir=p.resolve().parent, source=str(p.resolve()), sha256=sha)


def parse_config(
    raw: Any, *, base_dir: str | Path = ".", source: str = "<config>", sha256: str = ""
) -> AuditConfig:
    """Validate an already-parsed configuration mapping (see :func:`load_config`)."""
    from toolkit._audit_measures import check_objective
    from toolkit.io import is_model_uri

    cfg = _mapping(raw, "the config")
    _no_unknown(cfg, _TOP_KEYS, "")
    base = Path(base_dir)
    name = _name(_required(cfg, "name", ""), "name")
    data = _patterns(_required(cfg, "data", ""), "data", base)
    expand_patterns(data, key="data")
    ref_path, trailing = _reference(_required(cfg, "reference", ""), base)
    window = _window_spec(_required(cfg, "window", ""))
    model = _optional_str(cfg, "model")
    if model is not None and not is_model_uri(model):
        model = _resolve(model, base)
        if not Path(model).is_file():
            raise ConfigError(
                f"model: the file {model!r} does not exist. Give the path of a joblib or "
                f"pickle file (relative to the config's folder) or an MLflow model URI."
            )
    checks = _checks(cfg.get("checks"), has_model=model is not None)
    objectives = _objectives(_required(cfg, "objectives", ""))
    config = AuditConfig(
        name=name, data=data, timestamp=_str(_required(cfg, "timestamp", ""), "timestamp"),
        window=window, reference_path=ref_path, reference_trailing=trailing, model=model,
        prediction=_optional_str(cfg, "prediction"), target=_optional_str(cfg, "target"),
        checks=checks, objectives=objectives, random_state=_int(cfg.get("random_state", 0),
        "random_state"), description=_optional_str(cfg, "description") or "", source=source,
        sha256=sha256, history_trailing=(parse_duration(cfg["history"], "history")
                                         if cfg.get("history") is not None else None),
    )
    for i, obj in enumerate(objectives):
        check_objective(obj, config, key=f"objectives[{i}]")
    return config


# --- small validators --------------------------------------------------------------


def _mapping(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{key} must be a mapping of keys to values; got {type(value).__name__} "
            f"{_short(value)}. Write it as 'key: value' lines (see examples/audit.yaml)."
        )
    return value


def _no_unknown(cfg: Mapping[str, Any], known: Sequence[str], prefix: str) -> None:
    for key in cfg:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"Did you mean {close[0]!r}?" if close else f"Known keys: {', '.join(known)}."
            raise ConfigError(f"{prefix}{key}: unknown key. {hint}")


def _required(cfg: Mapping[str, Any], key: str, prefix: str) -> Any:
    if key not in cfg or cfg[key] is None:
        raise ConfigError(f"{prefix}{key}: this key is required but missing. Add it "
                          f"(see examples/audit.yaml for its form).")
    return cfg[key]


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string; got {type(value).__name__} "
                          f"{_short(value)}. Quote the value if YAML reads it as another type.")
    return value


def _optional_str(cfg: Mapping[str, Any], key: str) -> str | None:
    value = cfg.get(key)
    return None if value is None else _str(value, key)


def _name(value: Any, key: str) -> str:
    text = _str(value, key)
    if not _NAME.match(text):
        raise ConfigError(f"{key} must use letters, digits, '_', '.' or '-' and start with a "
                          f"letter or digit; got {text!r}. It names the audit in the history.")
    return text


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be an integer; got {type(value).__name__} {_short(value)}.")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ConfigError(f"{key} must be a number; got {type(value).__name__} "
                          f"{_short(value)}. Write it without quotes, e.g. 0.2.")
    return float(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve(path: str, base: Path) -> str:
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else base / p)


def _patterns(value: Any, key: str, base: Path) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{key} must be a file path, a glob such as 'events/*.parquet', or "
                          f"a list of them; got {type(value).__name__} {_short(value)}.")
    return tuple(_resolve(_str(v, f"{key}[{i}]"), base) for i, v in enumerate(items))


def expand_patterns(patterns: Sequence[str], *, key: str) -> list[str]:
    """Files matched by paths and globs; a pattern that matches nothing is an error."""
    from toolkit.io import TABLE_SUFFIXES

    files: list[str] = []
    for pattern in patterns:
        matched = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else (
            [pattern] if Path(pattern).is_file() else [])
        if not matched:
            what = "glob matches no file" if glob.has_magic(pattern) else "file does not exist"
            raise ConfigError(f"{key}: the {what}: {pattern!r}. Relative paths are taken from "
                              f"the config file's folder; check the path and the file names.")
        for f in matched:
            if not f.lower().endswith(TABLE_SUFFIXES):
                raise ConfigError(f"{key}: {f!r} is not a CSV or Parquet file (names must end "
                                  f"in {', '.join(TABLE_SUFFIXES)}). Narrow the glob.")
            if f not in files:
                files.append(f)
    return files


def parse_duration(value: Any, key: str) -> _dt.timedelta:
    """``"28d"``, ``"6h"`` or ``"2w"`` as a timedelta."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or int(match.group(1)) == 0:
        raise ConfigError(f"{key} must be a positive duration such as '28d', '12h' or '2w'; "
                          f"got {_short(value)}.")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _reference(value: Any, base: Path) -> tuple[tuple[str, ...], _dt.timedelta | None]:
    ref = _mapping(value, "reference")
    _no_unknown(ref, _REFERENCE_KEYS, "reference.")
    if ("path" in ref) == ("trailing" in ref):
        raise ConfigError("reference must have exactly one of 'path' (a fixed file or glob) "
                          "or 'trailing' (a duration such as '28d' before the audit window).")
    if "path" in ref:
        paths = _patterns(ref["path"], "reference.path", base)
        expand_patterns(paths, key="reference.path")
        return paths, None
    return (), parse_duration(ref["trailing"], "reference.trailing")


def _checks(value: Any, *, has_model: bool) -> tuple[str, ...]:
    if value is None:
        return ("data", "drift") + (("attribution",) if has_model else ())
    if not isinstance(value, list):
        raise ConfigError(f"checks must be a list such as [data, drift]; got "
                          f"{type(value).__name__} {_short(value)}.")
    for i, item in enumerate(value):
        if item not in CHECKS:
            close = difflib.get_close_matches(str(item), CHECKS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"checks[{i}]: unknown check {item!r}; expected one of "
                              f"{', '.join(CHECKS)}.{hint}")
    if "attribution" in value and not has_model:
        raise ConfigError("checks: 'attribution' needs a model; add 'model: <path or URI>' "
                          "or remove 'attribution' from checks.")
    return tuple(dict.fromkeys(value))


def _objectives(value: Any) -> tuple[Objective, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"objectives must be a list of objectives (each with name, measure, "
                          f"min and/or max, severity); got {type(value).__name__} {_short(value)}.")
    out: list[Objective] = []
    for i, item in enumerate(value):
        out.append(_objective(item, f"objectives[{i}]"))
    names = [o.name for o in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"objectives: names must be unique; {dupes} appear more than once. "
                          f"Rename them: the name identifies the objective in the history.")
    return tuple(out)


def _objective(item: Any, key: str) -> Objective:
    obj = _mapping(item, key)
    _no_unknown(obj, _OBJECTIVE_KEYS, f"{key}.")
    bounds = {b: _number(obj[b], f"{key}.{b}") for b in ("min", "max") if obj.get(b) is not None}
    if not bounds:
        raise ConfigError(f"{key}: give a threshold, 'min' (breach below it) and/or 'max' "
                          f"(breach above it).")
    if len(bounds) == 2 and bounds["min"] > bounds["max"]:
        raise ConfigError(f"{key}: min ({bounds['min']:g}) is above max ({bounds['max']:g}); "
                          f"no value could meet it. Swap them.")
    severity = obj.get("severity", "warning")
    if severity not in SEVERITIES:
        raise ConfigError(f"{key}.severity must be one of {', '.join(SEVERITIES)}; got "
                          f"{_short(severity)}.")
    required = obj.get("required", True)
    if not isinstance(required, bool):
        raise ConfigError(f"{key}.required must be true or false; got {_short(required)}.")
    return Objective(
        name=_name(_required(obj, "name", f"{key}."), f"{key}.name"),
        measure=_str(_required(obj, "measure", f"{key}."), f"{key}.measure"),
        min=bounds.get("min"), max=bounds.get("max"), severity=severity, required=required,
        description=_optional_str(obj, "description") or "",
    )


# --- windows ------------------------------------------------------------------------


def _to_utc(value: Any, key: str) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        out = value
    elif isinstance(value, _dt.date):
        out = _dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            out = _dt.datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ConfigError(f"{key} must be an ISO date or time such as 2024-03-10 or "
                              f"2024-03-10T06:00:00Z; got {value!r}.") from exc
    else:
        raise ConfigError(f"{key} must be an ISO date or time; got {type(value).__name__} "
                          f"{_short(value)}.")
    if out.tzinfo is None:
        return out.replace(tzinfo=_dt.UTC)
    return out.astimezone(_dt.UTC)


def _window_spec(value: Any) -> Any:
    if isinstance(value, Mapping):
        _no_unknown(value, ("start", "end"), "window.")
        start = _to_utc(_required(value, "start", "window."), "window.start")
        end = _to_utc(_required(value, "end", "window."), "window.end")
        if end <= start:
            raise ConfigError(f"window: end ({end.isoformat()}) must be after start "
                              f"({start.isoformat()}); the end is exclusive.")
        return Window(start, end)
    if value in ("yesterday", "today", "last month"):
        return value
    if isinstance(value, str) and value.startswith("last "):
        return ("last", parse_duration(value[5:], "window"))
    raise ConfigError(f"window must be 'yesterday', 'today', 'last month', 'last <N>d' / "
                      f"'last <N>h', or {{start: ..., end: ...}}; got {_short(value)}.")


def parse_now(now: _dt.datetime | str | None) -> _dt.datetime:
    """``now`` as an aware UTC datetime (the clock when None)."""
    if now is None or now == "":
        return _dt.datetime.now(_dt.UTC)
    return _to_utc(now, "now")


def resolve_window(spec: Any, *, now: _dt.datetime) -> Window:
    """The concrete window of ``spec`` at ``now``; relative windows end on a boundary.

    ``yesterday`` is the previous UTC day, ``today`` runs from midnight to ``now``,
    ``last month`` is the previous calendar month,
    ``last 7d`` is the seven whole days before today and ``last 6h`` the six whole hours
    before the current hour, so reruns on the same day audit the same window.
    """
    if isinstance(spec, Window):
        return spec
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if spec == "yesterday":
        return Window(midnight - _dt.timedelta(days=1), midnight)
    if spec == "today":
        return Window(midnight, now)
    if spec == "last month":
        first = midnight.replace(day=1)
        return Window((first - _dt.timedelta(days=1)).replace(day=1), first)
    _, length = spec
    if length % _dt.timedelta(days=1):
        end = now.replace(minute=0, second=0, microsecond=0)
    else:
        end = midnight
    return Window(end - length, end)
