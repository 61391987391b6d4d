"""What normal looks like: severities learned from pairs of windows with no known fault.

Every window of real data differs from the one before it: the weather warms, a
weekday mix shifts, a rare value turns up. A check's own threshold cannot know how
much of that a given table does by nature. So before the current window is judged,
the same checks run on **normal pairs**: consecutive windows of the past, where
nothing is known to be wrong. Each finding of the current window is then compared
with what the normal pairs produced for the same check and columns:

* a finding that normal pairs produce as strong in at least a quarter of them is
  ordinary variation: it is kept as ``info`` ("seen in 9 of 11 normal pairs");
* one that normal pairs produce as strong less often is at most a ``warning``;
* one that normal pairs produce, only weaker, in at least a quarter of them (a column
  that moves by nature, moving more) is at most a ``warning``;
* only a finding beyond every normal pair keeps the check's own severity, up to
  ``critical`` ("none of 15 pairs of slices of the reference produced it this strongly").

Each judged finding carries ``evidence["normal"]``: the number of pairs, in how many
the same finding appeared and how strong, and the sentence that says so. With fewer
than :data:`MIN_PAIRS` pairs nothing is learned, and the finding says that its
severity is the check's own.

Where the pairs come from (:func:`normal_pairs`): with a ``history`` (older rows of
the same table), consecutive windows as long as the current one, the most recent
:data:`MAX_PAIRS`; without one, or when the history is too short for that, slices of
the reference itself, each paired with every later one (slices far apart show what a
gap as long as the one between reference and current does: a season warming up).
Without a timestamp, slices in row order.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from toolkit.findings import SEVERITIES, Finding

__all__ = ["MIN_PAIRS", "Baseline", "NormalPairs", "calibrate", "normal_pairs", "replay"]

#: Normal pairs needed before a severity is learned from them.
MIN_PAIRS = 4
#: Normal pairs used at most (the most recent).
MAX_PAIRS = 12
#: Rows a window of a normal pair needs: fewer make checks fire on sampling noise. A
#: small reference is cut into slices as small as :data:`MIN_SLICE_ROWS` rather than
#: judged against nothing: a window of 140 rows is as noisy as its slices are.
MIN_ROWS = 60
MIN_SLICE_ROWS = 20
#: Slices the reference is cut into when it is the only past there is (6 slices make
#: 15 pairs, one to five slices apart).
SLICES = 6
#: Rows of a normal window used at most (a seeded sample beyond), to bound the cost.
MAX_ROWS = 10_000
#: Share of normal pairs producing a finding as strong that makes it ordinary.
ORDINARY = 0.25
#: Share of normal pairs in which a check fires on a column, however weakly, that marks
#: the column as one that moves by nature (a trend shows in the pairs far apart).
MOVES_BY_NATURE = 0.25


@dataclasses.dataclass(frozen=True)
class NormalPairs:
    """Pairs of consecutive windows with no known fault.

    Attributes
    ----------
    pairs : list of (DataFrame, DataFrame)
        Earlier and later window of each pair.
    unit : str
        What a window is, in words ("7-day windows of the history", "slices of the
        reference of 5.2 days").
    reason : str or None
        Why there are no pairs (too few rows), when there are none.
    gaps : list of float
        How far apart the windows of each pair are: between their middle times, in
        days (in rows without a timestamp).
    gap : float or None
        The same for the reference and the current window.
    """

    pairs: list[tuple[pd.DataFrame, pd.DataFrame]]
    unit: str
    reason: str | None = None
    gaps: list[float] = dataclasses.field(default_factory=list)
    gap: float | None = None


def _times(df: pd.DataFrame, timestamp: str | None) -> pd.Series | None:
    if not timestamp or timestamp not in df.columns:
        return None
    from toolkit.io import parse_times

    times = parse_times(df[timestamp])
    return times if times.notna().mean() > 0.5 else None


def _span(times: pd.Series) -> pd.Timedelta:
    """How long a window is: first to last time, plus one typical step between rows
    (seven daily rows make a week)."""
    ordered = np.sort(times.dropna().to_numpy())
    steps = np.diff(ordered)
    step = np.median(steps[steps > np.timedelta64(0)]) if (steps > np.timedelta64(0)).any() \
        else np.timedelta64(0)
    return pd.Timedelta(ordered[-1] - ordered[0] + step)


def _days(delta: pd.Timedelta) -> str:
    days = delta / pd.Timedelta(days=1)
    if days >= 1:
        return f"{days:.3g} days"
    return f"{delta / pd.Timedelta(hours=1):.3g} hours"


def _cap(df: pd.DataFrame, random_state: int) -> pd.DataFrame:
    if len(df) <= MAX_ROWS:
        return df
    rng = np.random.default_rng(random_state)
    return df.iloc[np.sort(rng.choice(len(df), MAX_ROWS, replace=False))]


def _consecutive(windows: list[pd.DataFrame], random_state: int, least: int
                 ) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    windows = [_cap(w, random_state) for w in windows]
    return [(a, b) for a, b in itertools.pairwise(windows)
            if len(a) >= least and len(b) >= least]


def _by_length(pool: pd.DataFrame, times: pd.Series, length: pd.Timedelta,
               random_state: int, least: int) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Consecutive windows of ``length`` ending at the pool's end, each with at least
    ``least`` rows, the most recent :data:`MAX_PAIRS` pairs."""
    end = times.max()
    edges = [end - length * k for k in range(MAX_PAIRS + 2)]
    windows = []
    for hi, lo in itertools.pairwise(edges):
        inside = (times > lo) & (times <= hi)
        if not inside.any() and lo < times.min():
            break
        windows.append(pool[inside.to_numpy()])
    windows.reverse()
    # The earliest window may be cut short by the start of the history: a pair of
    # unequal windows is no like-for-like pair.
    typical = float(np.median([len(w) for w in windows])) if windows else 0.0
    windows = [w for w in windows if len(w) >= typical / 2]
    return _consecutive(windows, random_state, least)[-MAX_PAIRS:]


def _every_pair(windows: list[pd.DataFrame], random_state: int
                ) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Each earlier slice with each later one: slices one apart show what a short gap
    does, slices far apart what a gap as long as the reference's to the current does
    (a season warming up)."""
    windows = [_cap(w, random_state) for w in windows]
    return [(a, b) for i, a in enumerate(windows) for b in windows[i + 1:]
            if len(a) >= MIN_SLICE_ROWS and len(b) >= MIN_SLICE_ROWS]


def _slices(pool: pd.DataFrame, times: pd.Series | None, random_state: int
            ) -> tuple[list[tuple[pd.DataFrame, pd.DataFrame]], str]:
    """Slices of the pool, as many as its rows allow up to :data:`SLICES`, paired each
    with every later one."""
    n = min(SLICES, max(len(pool) // MIN_ROWS, min(4, len(pool) // MIN_SLICE_ROWS)))
    if n < 2:
        return [], ""
    if times is None:
        bounds = np.linspace(0, len(pool), n + 1).astype(int)
        windows = [pool.iloc[a:b] for a, b in itertools.pairwise(bounds)]
        return _every_pair(windows, random_state), f"slices of {len(pool) // n} rows, in row order"
    lo, hi = times.min(), times.max()
    step = (hi - lo) / n
    cuts = [lo + step * k for k in range(n + 1)]
    cuts[-1] = hi + pd.Timedelta(1, "ns")
    windows = [pool[((times >= a) & (times < b)).to_numpy()] for a, b in itertools.pairwise(cuts)]
    return _every_pair(windows, random_state), f"slices of {_days(step)}"


def normal_pairs(reference: pd.DataFrame, *, timestamp: str | None = None,
                 current: pd.DataFrame | None = None, history: pd.DataFrame | None = None,
                 random_state: int = 0) -> NormalPairs:
    """Pairs of consecutive windows of the past, to learn what normal pairs produce.

    Parameters
    ----------
    reference : DataFrame
        The reference window.
    timestamp : str, optional
        The event-time column. Without it, windows are slices in row order.
    current : DataFrame, optional
        The current window: its time span sets the length of history windows, and the
        gap between it and the reference is what drift is extrapolated to.
    history : DataFrame, optional
        Older rows of the same table (the same columns). Windows as long as the current
        one are cut from history and reference together, when they give at least
        :data:`MIN_PAIRS` pairs; otherwise slices of the reference are used.
    random_state : int, default=0
        Seed of the sample a window larger than :data:`MAX_ROWS` is cut to.

    Returns
    -------
    NormalPairs
    """
    ref_times = _times(reference, timestamp)  # parsed once for all that follows
    cur_times = None if current is None else _times(current, timestamp)
    found = _normal_pairs(reference, ref_times, cur_times, timestamp, history, random_state)
    return _with_gaps(found, timestamp, ref_times, cur_times, len(reference),
                      None if current is None else len(current))


def _normal_pairs(reference: pd.DataFrame, ref_times: pd.Series | None,
                  cur_times: pd.Series | None, timestamp: str | None,
                  history: pd.DataFrame | None, random_state: int) -> NormalPairs:
    if history is not None and len(history):
        pool = pd.concat([history, reference], ignore_index=True)
        times = _times(pool, timestamp)
        if times is not None and cur_times is not None and cur_times.notna().any():
            span = _span(cur_times)
            before = (times < cur_times.min()).to_numpy()
            if span > pd.Timedelta(0):
                order = np.argsort(times[before].to_numpy(), kind="stable")
                kept, kept_times = pool[before].iloc[order], times[before].iloc[order]
                # Like with like: a window as small as the current one is as noisy.
                least = max(10, min(MIN_ROWS, len(cur_times) // 2))
                pairs = _by_length(kept, kept_times, span, random_state, least)
                if len(pairs) >= MIN_PAIRS:
                    return NormalPairs(pairs, f"consecutive {_days(span)} windows of the "
                                              f"history and reference")
    pool, times = reference, ref_times
    if times is not None:
        order = np.argsort(times.to_numpy(), kind="stable")
        pool, times = reference.iloc[order], times.iloc[order]
    pairs, unit = _slices(pool, times, random_state)
    if len(pairs) < MIN_PAIRS:
        return NormalPairs(pairs, unit or "slices of the reference",
                           reason=f"the reference has {len(reference)} rows, too few for "
                                  f"{MIN_PAIRS} pairs of slices of {MIN_SLICE_ROWS} rows or more; "
                                  f"pass a longer reference or a history")
    return NormalPairs(pairs, f"{unit} of the reference")


def _middle(times: pd.Series | None) -> float | None:
    """A window's middle time in days since the epoch (None without parsable times)."""
    if times is None or not times.notna().any():
        return None
    return float(times.dropna().median().value / 86_400e9)


def _with_gaps(found: NormalPairs, timestamp: str | None, ref_times: pd.Series | None,
               cur_times: pd.Series | None, n_ref: int, n_cur: int | None) -> NormalPairs:
    """The pairs with how far apart their windows are, and the real pair's gap."""
    if ref_times is None:  # slices in row order: rows apart
        gaps = [float(len(a) + len(b)) / 2 for a, b in found.pairs]
        gap = None if n_cur is None else float(n_ref + n_cur) / 2
        return dataclasses.replace(found, gaps=gaps, gap=gap)
    middles: dict[int, float | None] = {}  # a slice stands in several pairs: once each

    def middle(window: pd.DataFrame) -> float | None:
        if id(window) not in middles:
            middles[id(window)] = _middle(_times(window, timestamp))
        return middles[id(window)]

    gaps = [float(b - a) if a is not None and b is not None else float("nan")
            for a, b in ((middle(x), middle(y)) for x, y in found.pairs)]
    ref, cur = _middle(ref_times), _middle(cur_times)
    gap = None if ref is None or cur is None else cur - ref
    return dataclasses.replace(found, gaps=gaps, gap=gap)


def _key(f: Finding) -> tuple[str, tuple[str, ...]]:
    return f.check, tuple(sorted(f.features))


@dataclasses.dataclass(frozen=True)
class Baseline:
    """What the normal pairs produced.

    Attributes
    ----------
    n_pairs : int
    unit : str
        What a window of a pair is, in words.
    scores : dict
        (check, columns) -> the strongest score of that finding in each pair (0 where
        it did not appear).
    reason : str or None
        Why there are too few pairs, when there are.
    measures : dict
        (check, columns) -> a statistic measured in every pair whether or not the check
        fired (the drift effect of each column), NaN where it could not be measured.
    gaps : list of float
        How far apart the windows of each pair are.
    gap : float or None
        How far apart the reference and the current window are.
    covers : tuple of str
        Prefixes of the checks the replay ran.
    """

    n_pairs: int
    unit: str
    scores: dict[tuple[str, tuple[str, ...]], list[float]]
    reason: str | None = None
    measures: dict[tuple[str, tuple[str, ...]], list[float]] = dataclasses.field(
        default_factory=dict)
    gaps: list[float] = dataclasses.field(default_factory=list)
    gap: float | None = None
    covers: tuple[str, ...] = ()

    def judges(self, check: str) -> bool:
        """Whether the replay ran the check: only its findings can be judged by it."""
        return check.startswith(self.covers)

    def of(self, f: Finding) -> np.ndarray:
        return np.asarray(self.scores.get(_key(f), [0.0] * self.n_pairs), dtype=float)

    def expected(self, f: Finding) -> float | None:
        """The largest value of the finding's measure that windows as far apart as
        the reference and the current one produce by nature: a power law of the gap
        fitted to the normal pairs (flat, linear or quadratic in the gap, as a level,
        a random walk or a trend would give), plus two standard deviations of its
        residuals. None when there is no measure or no gap to extrapolate to."""
        values = self.measures.get(_key(f))
        if values is None or self.gap is None or not self.gap > 0:
            return None
        gaps, vals = np.asarray(self.gaps, dtype=float), np.asarray(values, dtype=float)
        ok = np.isfinite(gaps) & (gaps > 0) & np.isfinite(vals)
        if ok.sum() < MIN_PAIRS:
            return None
        x, y = np.log(gaps[ok]), np.log(np.maximum(vals[ok], FLOOR))
        slope = 0.0
        if np.ptp(x) > 0:
            slope = float(np.clip(np.polyfit(x, y, 1)[0], 0.0, 2.0))
        level = float(np.mean(y - slope * x))
        spread = float(np.std(y - level - slope * x, ddof=1))
        return float(np.exp(level + slope * np.log(self.gap) + 2 * spread))


#: Smallest value a measure is taken at on the log scale (a bias-corrected PSI of a
#: steady column is about zero, or below).
FLOOR = 1e-3

#: Per check, the evidence key that holds the statistic :attr:`Baseline.measures`
#: records for it in every pair.
MEASURED = {"drift.feature": "effect", "quality.residual_shift": "change"}


def replay(pairs: NormalPairs,
           run: Callable[[pd.DataFrame, pd.DataFrame],
                         tuple[Iterable[Finding], dict[tuple[str, tuple[str, ...]], float]]],
           *, covers: tuple[str, ...] = ("",)) -> Baseline:
    """Run ``run`` (the same stages as the current window gets) on every normal pair.

    ``run`` returns the pair's findings and its measures (see :attr:`Baseline.measures`).
    ``covers`` names the prefixes of the checks ``run`` runs (every check by default).
    A pair on which ``run`` fails counts as a pair that produced nothing.
    """
    n = len(pairs.pairs)
    scores: dict[tuple[str, tuple[str, ...]], list[float]] = {}
    measures: dict[tuple[str, tuple[str, ...]], list[float]] = {}
    for k, (earlier, later) in enumerate(pairs.pairs):
        try:
            found, measured = run(earlier, later)
        except Exception:  # a slice too odd for one check says nothing about normal
            found, measured = [], {}
        for f in found:
            if f.severity == "info":
                continue
            row = scores.setdefault(_key(f), [0.0] * n)
            row[k] = max(row[k], f.score)
        for key, value in measured.items():
            measures.setdefault(key, [float("nan")] * n)[k] = float(value)
    return Baseline(n, pairs.unit, scores, pairs.reason, measures, list(pairs.gaps), pairs.gap,
                    covers)


def _judged(f: Finding, severity: str, note: dict[str, Any]) -> Finding:
    level = min(f.severity_level, SEVERITIES.index(severity))
    lower = SEVERITIES[level]
    summary = f.summary if lower == f.severity else f"{f.summary} ({note['said']})"
    return f.replace(severity=lower, summary=summary, evidence={**f.evidence, "normal": note})


def calibrate(findings: Iterable[Finding], baseline: Baseline | None) -> list[Finding]:
    """Each finding's severity, judged against what normal pairs produced.

    Findings already at ``info`` and those of checks that do not compare windows
    (stage failures) pass unchanged.
    """
    out = []
    for f in findings:
        if f.severity == "info" or baseline is None or "normal" in f.evidence:
            out.append(f)
            continue
        k = baseline.n_pairs
        if k < MIN_PAIRS:
            why = baseline.reason or f"only {k} normal pairs"
            note = {"pairs": k, "unit": baseline.unit,
                    "said": f"too few normal pairs to learn from ({why}); the check's own "
                            f"threshold decided"}
            out.append(_judged(f, f.severity, note))
            continue
        expected = baseline.expected(f)
        value = f.evidence.get(MEASURED.get(f.check, ""))
        if expected is not None and value is not None and abs(float(value)) <= expected:
            note = {"pairs": k, "unit": baseline.unit, "expected": round(expected, 6),
                    "value": round(abs(float(value)), 6),
                    "said": (f"ordinary for windows this far apart: normal pairs "
                             f"({baseline.unit}) extrapolated to this gap reach "
                             f"{MEASURED[f.check]} {expected:.3g}")}
            out.append(_judged(f, "info", note))
            continue
        normal = baseline.of(f)
        seen = int(np.count_nonzero(normal >= f.score))
        fired = int(np.count_nonzero(normal > 0))
        note = {"pairs": k, "unit": baseline.unit, "seen": seen, "fired": fired,
                "largest": round(float(normal.max()), 6), "score": round(f.score, 6)}
        if seen >= ORDINARY * k:
            note["said"] = (f"ordinary: normal pairs produce this as strongly, in {seen} of "
                            f"{k} ({baseline.unit})")
            out.append(_judged(f, "info", note))
        elif seen:
            note["said"] = f"seen as strongly in {seen} of {k} normal pairs ({baseline.unit})"
            out.append(_judged(f, "warning", note))
        elif fired >= MOVES_BY_NATURE * k:
            note["said"] = (f"moves by nature: {fired} of {k} normal pairs ({baseline.unit}) "
                            f"produce it, though weaker")
            out.append(_judged(f, "warning", note))
        else:
            note["said"] = (f"beyond every normal pair: none of {k} ({baseline.unit}) produced "
                            f"it this strongly" + ("" if not fired else
                                                   f"; {fired} produced it weaker"))
            out.append(_judged(f, f.severity, note))
    return out
