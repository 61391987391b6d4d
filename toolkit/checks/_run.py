"""``run_checks``: every check family on one pair of windows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from toolkit.checks import _common as C
from toolkit.findings import Finding
from toolkit.policy import clock_columns_calm, explain_away, rank

__all__ = ["FAMILIES", "explain_away", "run_checks"]


def _scale(reference, current, **kw: Any) -> list[Finding]:
    from toolkit.checks.scale import unit_changes

    outputs = {kw["target"], kw["prediction"]}  # the model's output reacts, it is not rescaled
    columns = [c for c in C.numeric_columns(current, exclude=[kw["timestamp"], *outputs])
               if c in reference.columns and C.is_number_column(reference[c])
               and not C.looks_like_identifier(reference[c])]
    return unit_changes(reference, current, columns=columns, timestamp=kw["timestamp"],
                        segment_columns=kw["segment_columns"], profiles=kw["profiles"],
                        random_state=kw["random_state"])


def _schema(reference, current, **kw: Any) -> list[Finding]:
    from toolkit.checks.schema import schema_changes
    from toolkit.checks.swaps import swapped_columns

    outputs = [kw["timestamp"], kw["target"], kw["prediction"]]
    return schema_changes(reference, current, random_state=kw["random_state"]) + \
        swapped_columns(reference, current, profiles=kw["profiles"], exclude=outputs)


def _types(reference, current, **kw: Any) -> list[Finding]:
    from toolkit.checks.types import type_changes

    return type_changes(reference, current, random_state=kw["random_state"])


def _missing(reference, current, **kw: Any) -> list[Finding]:
    from toolkit.checks.missing import null_changes

    return null_changes(reference, current, timestamp=kw["timestamp"],
                        segment_columns=kw["segment_columns"], profiles=kw["profiles"],
                        target=kw["target"], random_state=kw["random_state"])


def _ranges(reference, current, **kw: Any) -> list[Finding]:
    from toolkit.checks.ranges import future_timestamps, range_violations

    out = range_violations(reference, current, profiles=kw["profiles"],
                           random_state=kw["random_state"])
    return out + future_timestamps(current, timestamp=kw["timestamp"], as_of=kw["as_of"])


def _categories(reference, current, **kw: Any) -> list[Finding]:
    from toolkit.checks.categories import categorical_columns, category_changes

    cols = categorical_columns(reference, current, exclude=[kw["timestamp"], kw["prediction"]],
                               profiles=kw["profiles"])
    return category_changes(reference, current, columns=cols, profiles=kw["profiles"],
                            timestamp=kw["timestamp"], swaps=not kw["replay"],
                            random_state=kw["random_state"])


def _stuck(reference, current, **kw: Any) -> list[Finding]:
    from toolkit.checks.stuck import stuck_values

    return stuck_values(reference, current, timestamp=kw["timestamp"],
                        segment_columns=kw["segment_columns"], profiles=kw["profiles"],
                        random_state=kw["random_state"])


def _duplicates(reference, current, **kw: Any) -> list[Finding]:
    from toolkit.checks.duplicates import duplicate_rows

    return duplicate_rows(reference, current, key=kw["key"], timestamp=kw["timestamp"],
                          segment_columns=kw["segment_columns"], profiles=kw["profiles"],
                          random_state=kw["random_state"])


def _volume(reference, current, **kw: Any) -> list[Finding]:
    from toolkit.checks.volume import volume_changes

    ts = kw["timestamp"]
    if ts is None or ts not in reference.columns or ts not in current.columns:
        return []
    return volume_changes(reference, current, timestamp=ts, window=kw["window"],
                          as_of=kw["as_of"], random_state=kw["random_state"])


def _clock(reference, current, **kw: Any) -> list[Finding]:
    from toolkit.checks.clock import clock_shifts

    ts = kw["timestamp"]
    if ts is None or ts not in reference.columns or ts not in current.columns:
        return []
    return clock_shifts(reference, current, timestamp=ts)


def _calendar(reference, current, **kw: Any) -> list[Finding]:
    from toolkit.checks.calendar import calendar_agreement

    ts = kw["timestamp"]
    if ts is None or ts not in reference.columns or ts not in current.columns:
        return []
    return calendar_agreement(reference, current, timestamp=ts, clock=kw["clock"])


#: Checks a replay on normal pairs does not run (``replay=True``): their findings cannot
#: be judged against normal pairs.
NOT_REPLAYED = ("categories.swapped_codes",)

#: Family name -> runner, in report order. Explicit, filled by hand.
FAMILIES: dict[str, Callable[..., list[Finding]]] = {
    "schema": _schema,
    "types": _types,
    "missing": _missing,
    "scale": _scale,
    "ranges": _ranges,
    "categories": _categories,
    "stuck": _stuck,
    "duplicates": _duplicates,
    "volume": _volume,
    "clock": _clock,
    "calendar": _calendar,
}


#: Families from the costliest on 1M rows (benchmarks/bench_data_checks.py) down.
_COST_ORDER = [_scale, _missing, _stuck, _volume, _categories, _clock, _duplicates, _types,
               _ranges, _calendar, _schema]


def _parsed(df: pd.DataFrame, column: str, name: str) -> pd.DataFrame:
    if column not in df.columns or pd.api.types.is_datetime64_any_dtype(df[column]):
        return df
    return C.with_columns(df, {column: C.as_datetime(df[column], name=name, column=column)})


def run_checks(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    timestamp: str | None = None,
    target: str | None = None,
    prediction: str | None = None,
    key: str | list[str] | None = None,
    segment_columns: list[str] | None = None,
    families: list[str] | None = None,
    window: tuple[Any, Any] | None = None,
    as_of: Any = None,
    profiles: tuple[Any, Any] | None = None,
    clock: dict[str, Any] | None = None,
    replay: bool = False,
    n_jobs: int = 2,
    random_state: int = 0,
) -> list[Finding]:
    """Run the data reliability checks on a reference and a current window.

    Parameters
    ----------
    reference, current : DataFrame
        The reference window (what the model was built for) and the current window.
        Neither is modified.
    timestamp : str, optional
        Name of the event-time column; enables "since when", volume, lateness and
        freshness checks.
    target, prediction : str, optional
        Label and logged-score columns; they are checked like the other columns but
        never used as segments.
    key : str or list of str, optional
        Columns that identify a record, for the duplicate-key check.
    segment_columns : list of str, optional
        Columns in which to look for the segment a problem concentrates in; by default
        the low-cardinality text, boolean and small-integer columns.
    families : list of str, optional
        A subset of :data:`FAMILIES` to run; default all.
    window : (start, end), optional
        The current window, for records outside it; default inferred from the data.
    as_of : datetime-like, optional
        When the current data was extracted: timestamps after it are impossible, and
        the latest record is judged stale against it. Default now, for future
        timestamps only.
    profiles : (Profile, Profile), optional
        Profiles of both windows from :func:`toolkit.profile.profile_pair` (one pass
        over the rows of each). Made here when not given; pass them to share the pass
        with :func:`toolkit.drift.feature_drift`::

            pair = profile_pair(reference, current)
            findings = run_checks(reference, current, profiles=pair)
            drifted = feature_drift(*pair)

    clock : dict, optional
        Columns that follow the clock (:func:`toolkit.checks.calendar.clock_columns`),
        when already found; found here otherwise. They are checked against the clock
        (``calendar.disagrees``); their drift-like findings are ``info``.
    replay : bool, default=False
        A replay on a normal pair of windows (:mod:`toolkit.normal`): the costliest
        search, for swapped category codes, is skipped (see :data:`NOT_REPLAYED`).
    n_jobs : int, default=2
        Threads running the families side by side (1 runs them one after another;
        the findings are the same).
    random_state : int, default=0
        Seed of every sample a check draws.

    Returns
    -------
    list of Finding
        Ranked, most serious first.
    """
    C.require_frame(reference, name="reference")
    C.require_frame(current, name="current")
    for role, col in (("timestamp", timestamp), ("target", target), ("prediction", prediction)):
        if col is not None and col not in reference.columns and col not in current.columns:
            C.require_column(current, col, name="current", role=role)
    if isinstance(families, str):  # one family by name, not its letters
        families = [families]
    if isinstance(segment_columns, str):
        segment_columns = [segment_columns]
    absent = [c for c in segment_columns or () if c not in current.columns]
    if absent:
        from toolkit._exceptions import InputError

        raise InputError(
            f"segment_columns {absent} are not columns of the current window; its columns "
            f"are {list(current.columns)[:20]}. Pass existing columns, or leave it out."
        )
    unknown = set(families or ()) - set(FAMILIES)
    if unknown:
        from toolkit._exceptions import InputError

        raise InputError(
            f"Unknown check families {sorted(unknown)}; expected a subset of {list(FAMILIES)}."
        )
    # Lists and dicts cannot be counted: compare them as text, and say so.
    reference, current, nested = C.nested_pair(reference, current)
    if nested:
        profiles = None  # profiles of the raw nested values cannot exist
    if timestamp is not None:  # parse once for every family; the inputs stay untouched
        reference, current = (_parsed(df, timestamp, name) for df, name in
                              ((reference, "reference"), (current, "current")))
    if segment_columns is None:
        segment_columns = C.segment_columns_of(current, exclude=[timestamp, target, prediction])
    if profiles is None:
        from toolkit.profile import profile_pair

        profiles = profile_pair(reference, current, exclude=[timestamp], n_jobs=n_jobs)
    if clock is None:
        from toolkit.checks.calendar import clock_columns

        clock = clock_columns(reference, timestamp, current=current, exclude=(target, prediction))
    kw = {"timestamp": timestamp, "target": target, "prediction": prediction, "key": key,
          "clock": clock, "replay": replay,
          "segment_columns": segment_columns, "window": window, "as_of": as_of,
          "profiles": profiles, "random_state": random_state}
    chosen = [f for name, f in FAMILIES.items() if families is None or name in families]
    with C.run_memo() as memo:  # time orders and segment samples, made once for all
        if n_jobs > 1 and len(chosen) > 1:
            from concurrent.futures import ThreadPoolExecutor

            def run(family: Callable[..., list[Finding]]) -> list[Finding]:
                with C.use_memo(memo):
                    return family(reference, current, **kw)

            # numpy, pandas and pyarrow release the GIL in their loops. The costliest
            # families start first so the threads finish together; findings keep the
            # registry's order.
            costly = sorted(chosen, key=lambda f: _COST_ORDER.index(f) if f in _COST_ORDER
                            else len(_COST_ORDER))
            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                done = dict(zip(costly, pool.map(run, costly)))
            parts = [done[f] for f in chosen]
        else:
            parts = [family(reference, current, **kw) for family in chosen]
    findings = [f for part in parts for f in part] + [nested_note(c) for c in nested]
    return rank(explain_away(clock_columns_calm(findings, clock)))


def nested_note(column: str) -> Finding:
    """The info finding that says a column of lists or dicts was compared as text."""
    return Finding(
        check="types.nested_values", layer="data", severity="info", score=0.1,
        summary=f"{column} holds lists or dicts; the checks compared its values as JSON text.",
        features=(column,), evidence={"column": column, "compared_as": "JSON text"},
        next_step=f"If parts of {column} feed the model, flatten them into columns of their own "
        f"to check each one.",
    )
