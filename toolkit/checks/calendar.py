"""Columns that follow the clock: found from the reference, checked against the clock.

Real tables carry the calendar in their columns: a month, a season, a weekday, an
hour, a weekend or working-day flag, a year. Every new window moves them by nature:
June gives way to July, a month code "vanishes" and a new one appears, a season sits
on one value for weeks. Checked for drift, recodes or stuck values they raise alarms
on every window, the quietest included. What can go wrong with such a column is that
it stops agreeing with the clock (a month computed in the wrong zone, an off-by-one,
a flag that stopped being filled), and that is what this module checks.

:func:`clock_columns` finds them in the reference: a column is a function of a part
of the timestamp (its hour, weekday, weekend, month, quarter, ISO week, day of the
month or of the year, year, or calendar day) when, within each value of that part, one value of the
column holds at least :data:`PURITY` of the rows, and the part explains most of the
column's variation (so a column that is 99% zeros is no calendar column). Parts that
never repeat (the day, the year) qualify only columns with few values: flags and
codes such as a holiday flag, not a weekly price. A column constant in the reference
follows the clock when it first changes in the current window on the row where a part
of the timestamp constant in the reference turns (a year column that turns from 0 to 1
at New Year, a month column from 6 to 7 on the first of July), or, without such a
switch, when both windows together make it a function of a part (a season turning on
the 21st).

:func:`calendar_agreement` checks the current window: on the values of the part the
reference saw, the column must take the reference's value; on new values, it must
still be a function of the part (one value per month); where a numeric column is the
part plus a constant (a month numbered 1 to 12 or 0 to 11), that rule predicts every
row. Rows that break these rules are the finding ``calendar.disagrees``, dated at the
first of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from toolkit.checks import _common as C
from toolkit.checks.clock import wall_clock, zone
from toolkit.findings import Finding

__all__ = ["CALENDAR_PARTS", "ClockColumn", "ClockRule", "calendar_agreement", "clock_columns"]

#: Share of a part's rows the column's commonest value must hold, within each value
#: of the part, for the column to be a function of it (a few stray rows are allowed).
PURITY = 0.98
#: Share of the column's variation (beyond its commonest value) the part must explain.
EXPLAINED = 0.9
#: Distinct values a column may hold to follow a part that never repeats (a day, a
#: year): flags and small codes, not measurements that happen to be daily.
FEW_VALUES = 12
#: Rows needed in the reference to tell a calendar column from a coincidence.
MIN_ROWS = 50
#: Calendar days the rows off a rule must span (or half the window's days, in coarse
#: rows such as monthly ones): a fault persists from its date, an irregular day of the
#: calendar (a holiday) is one day.
MIN_DAYS = 3
#: Distinct values above which a column is no calendar code (366 days of the year).
MAX_VALUES = 400

#: Rows of each window the rules are found on.
SAMPLE = 20_000

_NS_DAY = 86_400_000_000_000

#: Parts of a wall-clock time, by name: (function, repeats). Parts that repeat (an
#: hour, a month) come back in every long enough window; parts that do not (a day, a
#: year) are new in every later window.
CALENDAR_PARTS: dict[str, tuple[Callable[[pd.Series], Any], bool]] = {
    "weekend": (lambda t: (t.dt.day_of_week >= 5).astype("int64"), True),
    "quarter": (lambda t: t.dt.quarter, True),
    "weekday": (lambda t: t.dt.day_of_week, True),
    "month": (lambda t: t.dt.month, True),
    "hour": (lambda t: t.dt.hour, True),
    "week": (lambda t: t.dt.isocalendar().week.astype("int64"), True),
    "day of month": (lambda t: t.dt.day, True),
    "day of year": (lambda t: t.dt.day_of_year, True),
    "year": (lambda t: t.dt.year, False),
    "month of the year": (lambda t: t.dt.year * 12 + t.dt.month - 1, False),
    "day": (lambda t: t.dt.normalize().astype("int64") // _NS_DAY, False),
}


@dataclasses.dataclass(frozen=True)
class ClockRule:
    """One way a column follows the clock: a function of one part of the timestamp.

    Attributes
    ----------
    part : str
        The part of the timestamp (a key of :data:`CALENDAR_PARTS`).
    mapping : dict
        Part value -> the column's value there, as the reference has it (as text).
    offset : float or None
        When the column is numeric and equals the part plus a constant, that constant
        (a month numbered from 0 has offset -1); it predicts every row.
    purity : float
        Share of reference rows that follow the rule.
    """

    part: str
    mapping: Mapping[int, str]
    offset: float | None
    purity: float

    def describe(self) -> str:
        if self.offset is not None:
            plus = "" if self.offset == 0 else f" {self.offset:+g}"
            return f"the {self.part} of the timestamp{plus}"
        return f"a function of the {self.part} of the timestamp"


@dataclasses.dataclass(frozen=True)
class ClockColumn:
    """A column that follows the clock, with every rule the reference allows.

    A short reference may not tell two rules apart (in March and April the month is
    the quarter plus two); the current window is judged by the rule it fits best.
    """

    column: str
    rules: tuple[ClockRule, ...]

    def describe(self) -> str:
        if len(self.rules) == 1:
            return self.rules[0].describe()
        parts = " or ".join(dict.fromkeys(rule.part for rule in self.rules))
        return f"a function of the {parts} of the timestamp"


def wall_times(df: pd.DataFrame, timestamp: str, *, name: str) -> pd.Series:
    """The timestamp column as naive wall-clock times (a zoned column on its own
    zone's clock, where its calendar lives), indexed like ``df``."""
    raw = df[timestamp]
    utc = C.as_datetime(raw, name=name, column=timestamp).to_numpy(dtype="datetime64[ns]")
    return pd.Series(wall_clock(utc, zone(raw)), index=df.index)


def _parts(times: pd.Series, names: Any = None) -> dict[str, np.ndarray]:
    ok = times.notna()
    out = {}
    for name, (part, _) in CALENDAR_PARTS.items():
        if names is not None and name not in names:
            continue
        values = np.full(len(times), -1, dtype="int64")
        values[ok.to_numpy()] = np.asarray(part(times[ok]), dtype="int64")
        out[name] = values
    return out


def _codes(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    codes, uniques = pd.factorize(series.astype("string"), use_na_sentinel=True)
    return codes, pd.Index(uniques)


def _purity(key: np.ndarray, codes: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Share of rows on their key's commonest code; the keys and their codes."""
    ok = (key >= 0) & (codes >= 0)
    if not ok.any():
        return 0.0, np.empty(0, "int64"), np.empty(0, "int64")
    pairs = pd.DataFrame({"k": key[ok], "c": codes[ok]}).value_counts(sort=True)
    best = pairs.groupby(level="k", sort=False).head(1)
    keys = best.index.get_level_values("k").to_numpy()
    values = best.index.get_level_values("c").to_numpy()
    return float(best.sum() / ok.sum()), keys, values


def _numeric_offset(series: pd.Series, part: np.ndarray) -> float | None:
    if not C.is_number_column(series):
        return None
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(values) & (part >= 0)
    if ok.sum() == 0:
        return None
    diff = values[ok] - part[ok]
    offset = float(np.median(diff))
    if offset != round(offset) or np.mean(diff == offset) < PURITY:
        return None
    return offset


def _came_round(key: np.ndarray, day: np.ndarray) -> bool:
    """Whether the part's values each came on two or more days (typically)."""
    ok = (key >= 0) & (day >= 0)
    if not ok.any():
        return False
    days = pd.DataFrame({"k": key[ok], "d": day[ok]}).drop_duplicates()
    return bool(days.groupby("k").size().median() >= 2)


def _follows(series: pd.Series, parts: dict[str, np.ndarray]) -> ClockColumn | None:
    codes, uniques = _codes(series)
    present = codes >= 0
    if present.sum() < MIN_ROWS or not 2 <= len(uniques) <= MAX_VALUES:
        return None
    commonest = np.bincount(codes[present]).max() / present.sum()
    rules: list[ClockRule] = []
    fewest = None
    for name, key in sorted(parts.items(), key=lambda kv: len(np.unique(kv[1]))):
        # A part that repeats but came round once in the reference (the day of the
        # month in a month's window) is no more than the day: it predicts nothing.
        repeats = CALENDAR_PARTS[name][1] and _came_round(key, parts["day"])
        groups = len(np.unique(key[present & (key >= 0)]))
        if groups < 2:
            continue
        if groups > present.sum() / 2 and _numeric_offset(series, key) is None:
            continue  # one row a group proves nothing, unless the column IS the part
        if fewest is not None and groups > fewest:
            break  # the coarsest rules only: any function of a month is one of the day
        purity, keys, values = _purity(key, codes)
        if purity < PURITY or (purity - commonest) < EXPLAINED * (1 - commonest):
            continue
        offset = _numeric_offset(series, key)
        if not repeats and offset is None and len(uniques) > FEW_VALUES:
            continue  # a daily measurement, not a calendar code
        mapping = {int(k): str(uniques[v]) for k, v in zip(keys, values)} \
            if repeats or offset is not None else {}
        rules.append(ClockRule(name, mapping, offset, round(purity, 6)))
        fewest = groups
    return ClockColumn(str(series.name), tuple(rules)) if rules else None


def _sample(df: pd.DataFrame) -> pd.DataFrame:
    pos = C.sample_positions(len(df), SAMPLE, random_state=0)
    return df if pos is None else df.iloc[np.sort(pos)]


def _switch(ref: pd.Series, parts: dict[str, np.ndarray], ref_end: pd.Timestamp,
            cur: pd.Series, cur_times: pd.Series) -> ClockColumn | None:
    """A column constant in the reference that first changes, in the current window,
    on the very row where a part of the timestamp constant in the reference changes
    (a month column turning from 6 to 7 at midnight on the first of July): it follows
    that part, even when a fault breaks the rule later in the window."""
    constant = str(_codes(ref)[1][0])
    # The reference's last moment stands first: the switch may fall between windows.
    order = np.argsort(cur_times.to_numpy(), kind="stable")
    values = np.r_[[constant], cur.astype("string").to_numpy(dtype=object)[order]]
    times = pd.concat([pd.Series([ref_end]), cur_times.iloc[order]], ignore_index=True)
    known = pd.notna(values)
    changed = np.flatnonzero(known & (values != constant))
    if not len(changed):
        return None
    first = changed[0]
    rules = []
    for name, key in parts.items():
        held = np.unique(key[key >= 0])
        if len(held) != 1:
            continue
        now = _parts(times.iloc[[first - 1, first]], {name})[name]
        if now[0] != held[0] or now[1] == held[0]:
            continue  # the part did not turn on this row
        after = _parts(times.iloc[first:], {name})[name] == now[1]
        if np.mean(values[first:][after & known[first:]] == constant) > 1 - PURITY:
            continue  # back to the old value under the new part: a holiday, not a rule
        offset = None
        try:
            if float(constant) - held[0] == float(values[first]) - now[1]:
                offset = float(constant) - float(held[0])
        except ValueError:
            pass
        mapping = {int(held[0]): constant, int(now[1]): str(values[first])}
        rules.append(ClockRule(name, mapping, offset, 1.0))
    return ClockColumn(str(ref.name), tuple(rules)) if rules else None


def clock_columns(reference: pd.DataFrame, timestamp: str | None, *,
                  current: pd.DataFrame | None = None,
                  exclude: tuple[str | None, ...] = ()) -> dict[str, ClockColumn]:
    """The columns of ``reference`` that follow the clock of ``timestamp``.

    Parameters
    ----------
    reference : DataFrame
    timestamp : str or None
        The event-time column; without one, no column follows the clock.
    current : DataFrame, optional
        With it, a column constant in the reference follows the clock when both
        windows together make it a function of a part of the timestamp.
    exclude : tuple of str
        Columns never taken for calendar columns (the label, the logged score).

    Returns
    -------
    dict
        Column -> :class:`ClockColumn`, for each column that follows the clock.
    """
    if not timestamp or timestamp not in reference.columns or len(reference) < MIN_ROWS:
        return {}
    # A seeded sample finds the rules as well as every row would, at a fixed cost.
    reference = _sample(reference)
    current = None if current is None else _sample(current)
    times = wall_times(reference, timestamp, name="reference")
    if times.notna().sum() < MIN_ROWS:
        return {}
    parts = _parts(times)
    both, cur_times = None, None
    out: dict[str, ClockColumn] = {}
    for col in reference.columns:
        if col == timestamp or col in exclude or C.kind(reference[col]) == "datetime":
            continue
        found = _follows(reference[col], parts)
        if found is None and current is not None and col in current.columns \
                and len(_codes(reference[col])[1]) == 1:
            if cur_times is None:
                cur_times = wall_times(current, timestamp, name="current")
            # A switch on a calendar boundary first: it names the rule even when a fault
            # breaks it later. Both windows together only when there is no such switch
            # (a season that turns on the 21st): they would absorb a fault that is
            # constant within days, which makes any column a function of the day.
            found = _switch(reference[col], parts, times.max(), current[col], cur_times)
            if found is None:
                if both is None:
                    both = _parts(pd.concat([times, cur_times], ignore_index=True))
                found = _follows(pd.concat([reference[col], current[col]], ignore_index=True)
                                 .rename(col), both)
        if found is not None:
            out[str(col)] = found
    return out


def _expected(clock: ClockRule, part: np.ndarray, values: pd.Series
              ) -> tuple[np.ndarray, np.ndarray, float]:
    """Rows that break the rule, rows the rule could judge, and the share of rows it
    predicts (by its offset, or by its mapping on values of the part it has seen)."""
    text = values.astype("string")
    if clock.offset is not None:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        judged = (part >= 0) & values.notna().to_numpy()
        return judged & (numbers != part + clock.offset), judged, float(judged.mean())
    known = pd.Series(part).map(clock.mapping).astype("string")
    seen = known.notna().to_numpy() & values.notna().to_numpy()
    wrong = seen & (known.fillna("").to_numpy(dtype=object)
                    != text.fillna("").to_numpy(dtype=object))
    # New values of the part: one value of the column each, as in the reference.
    new = (~known.notna().to_numpy()) & (part >= 0) & values.notna().to_numpy()
    if new.any():
        codes, _ = _codes(text[new])
        frame = pd.DataFrame({"k": part[new], "c": codes})
        mode = frame.groupby("k")["c"].agg(lambda s: s.value_counts().index[0])
        wrong[np.flatnonzero(new)] = codes != frame["k"].map(mode).to_numpy()
    return wrong, seen | new, float(seen.mean()) if len(seen) else 0.0


def calendar_agreement(reference: pd.DataFrame, current: pd.DataFrame, *, timestamp: str,
                       clock: Mapping[str, ClockColumn] | None = None) -> list[Finding]:
    """Columns that follow the clock in the reference and stop agreeing with it.

    Parameters
    ----------
    reference, current : DataFrame
    timestamp : str
        The event-time column.
    clock : dict, optional
        :func:`clock_columns` of the reference, when already found.

    Returns
    -------
    list of Finding
        A ``calendar.disagrees`` finding (layer ``pipeline``) per column whose share of
        rows off its rule is beyond what the reference's own stray rows allow, with
        ``column``, ``part``, ``rule``, ``share``, ``rows``, ``since`` and examples.
    """
    if clock is None:
        clock = clock_columns(reference, timestamp, current=current)
    if not clock or timestamp not in current.columns or len(current) == 0:
        return []
    times = wall_times(current, timestamp, name="current")
    parts = _parts(times, {rule.part for follows in clock.values() for rule in follows.rules})
    findings = []
    for col, follows in clock.items():
        if col not in current.columns:
            continue
        # The rule the current window fits best: the others may be coincidences of a
        # short reference. Rules that predict the rows come first: one that only asks
        # for one value a day fits any fault that is constant within days.
        tried = [(rule, *_expected(rule, parts[rule.part], current[col]))
                 for rule in follows.rules]
        best = max(t[3] for t in tried)
        tried = [t for t in tried if t[3] >= min(best, 0.5)]
        rule, wrong, judged, _ = min(tried, key=lambda t: t[1].sum() / max(t[2].sum(), 1))
        found = _finding(col, rule, current, times, wrong, judged)
        if found is not None:
            findings.append(found)
    return findings


def _finding(column: str, rule: ClockRule, current: pd.DataFrame, times: pd.Series,
             wrong: np.ndarray, judged: np.ndarray) -> Finding | None:
    n, k = int(judged.sum()), int(wrong.sum())
    days, of = times[wrong].dt.normalize().nunique(), times.dt.normalize().nunique()
    if n == 0 or k == 0 or (days < MIN_DAYS and days < of / 2):
        # A holiday the reference never saw is one day off a weekday rule; in monthly
        # rows, two months of three are no holiday.
        return None
    stray = 1.0 - rule.purity  # the reference's own rows off the rule
    low, _ = C.wilson_interval(k, n)
    if low <= max(stray, 0.005) * 2:
        return None
    share = k / n
    since = C.iso(times[wrong].min())
    examples = (current.loc[wrong, [column]].assign(_t=times[wrong]).head(3))
    shown = [{"time": C.iso(t), "value": C.as_text(v)}
             for v, t in zip(examples[column], examples["_t"])]
    return Finding(
        check="calendar.disagrees", layer="pipeline",
        severity="critical" if share >= 0.05 else "warning", score=C.clip01(0.5 + share),
        features=(column,),
        summary=(f"{column} follows the clock ({rule.describe()}) in the reference, "
                 f"but {share:.1%} of current rows since {since} disagree with it."),
        evidence={"column": column, "part": rule.part, "rule": rule.describe(),
                  "share": round(share, 6), "rows": k, "judged": n, "since": since,
                  "reference_purity": rule.purity, "examples": shown},
        next_step=(f"Recompute {column} from the timestamp where it is derived (check "
                   f"its time zone and numbering) and compare with the rows above."),
    )
