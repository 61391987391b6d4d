"""Categories: unseen and vanished values, and remapped codes.

Unseen values are judged against the Good-Turing estimate of the probability mass the
reference had not seen yet (its share of values seen once), so a high-cardinality
column whose new values are expected raises nothing. A value vanishes when its
expected current count was at least 10 (a chance of ``exp(-10)`` to see none). Vanished
and new values are paired one to one, first by equal names up to case and separators,
then by frequency rank when their shares agree, into a remapping triage can undo.
At most ``max_values`` values a column are tracked, the most frequent. With a time
column, values that stopped at a date and two codes swapped from a date
(:func:`swapped_codes`) are looked for too; the module runs past the house limit of
about 500 lines because every kind of recoding shares the counting and labelling here.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from toolkit.checks import _common as C
from toolkit.findings import Finding

__all__ = ["categorical_columns", "category_changes", "is_code", "swapped_codes"]

MIN_EXPECTED = 10.0
MIN_ROWS = 30
#: Unseen share above the Good-Turing estimate (interval lower bound) worth a warning.
PRACTICAL_UNSEEN = 0.01


def categorical_columns(reference: pd.DataFrame, current: pd.DataFrame,
                        exclude: list[str | None] | tuple = (), *,
                        profiles: tuple[Any, Any] | None = None) -> list[str]:
    """Text, boolean and category columns, and integer codes with at most 30 values.

    Text columns whose values are mostly distinct (identifiers, timestamps) are left
    out. With ``profiles`` (see :func:`toolkit.profile.profile_pair`) codes are told
    on every row instead of the first 50,000.
    """
    out = []
    for col in reference.columns:
        if col in exclude or col not in current.columns:
            continue
        kr, kc = C.kind(reference[col]), C.kind(current[col])
        both = C.profiled(profiles, col) if profiles is not None else None
        if kr == kc == "number":
            code = C.code_like(both[0]) if both is not None else is_code(reference[col])
        else:
            code = False
        if (kr in ("text", "bool") and kc == kr and not _near_unique(reference[col])) or code:
            out.append(col)
    return out


def _near_unique(s: pd.Series) -> bool:
    """Identifiers and timestamps: most values distinct (categories make no sense)."""
    head = s.iloc[:20_000].dropna()
    return len(head) >= 100 and head.nunique() > 0.5 * len(head)


def is_code(s: pd.Series) -> bool:
    """Whole numbers with at most 30 distinct values: codes rather than quantities."""
    head = s.iloc[:50_000].dropna()
    if not len(head) or head.nunique() > C.MAX_SEGMENT_VALUES:
        return False
    values = head.to_numpy(dtype="float64")
    return bool(np.all(values == np.round(values)))


def _label(v: object) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))  # 1.0 in one file and 1 in the other are the same code
    return str(v)


def _counts(s: pd.Series, cp: Any = None) -> pd.Series:
    """Value counts labelled as text, most frequent first: from the profile if it
    holds every value of the column, else counted on the rows."""
    complete = cp is not None and len(cp.top_values) == cp.n_distinct
    if complete:
        counts = pd.Series(cp.top_counts, index=pd.Index(list(cp.top_values), dtype=object))
    else:
        counts = s.value_counts(dropna=True)  # count first, then label the few values
    counts.index = pd.Index([_label(v) for v in counts.index], dtype="str")
    return counts.groupby(level=0, sort=False).sum().sort_values(ascending=False, kind="stable")


def category_changes(reference: pd.DataFrame, current: pd.DataFrame, *,
                     columns: list[str] | None = None, max_values: int = 1000,
                     profiles: tuple[Any, Any] | None = None, timestamp: str | None = None,
                     swaps: bool = True, random_state: int = 0) -> list[Finding]:
    """Unseen, vanished and remapped category values.

    Parameters
    ----------
    reference, current : DataFrame
    columns : list of str, optional
        Default :func:`categorical_columns`.
    max_values : int, default=1000
        Values tracked a column (the most frequent); the rest count as "other".
    profiles : (Profile, Profile), optional
        Profiles of both windows from :func:`toolkit.profile.profile_pair`; their
        value counts are used when they hold every value of a column.
    timestamp : str, optional
        Time column of ``current``. New values that start at a date while old ones
        stop there are a recoding from that date (old and new coexist in the window,
        so nothing vanished over the whole of it).
    swaps : bool, default=True
        Whether to search for swapped codes (:func:`swapped_codes`), the costliest
        part; the replay of normal pairs skips it.
    random_state : int, default=0
        Seed of the samples the dated searches draw.

    Returns
    -------
    list of Finding
        ``categories.remapped_codes`` (layer ``pipeline``; evidence ``mapping``
        new -> old), ``categories.unseen_values`` (``population``),
        ``categories.vanished_values`` (``pipeline``) and, with ``timestamp``,
        ``categories.stopped_values`` and ``categories.swapped_codes`` (``pipeline``,
        see :func:`swapped_codes`). Values are compared as text.
    """
    if columns is None:
        columns = categorical_columns(reference, current, profiles=profiles)
    z = C.bonferroni_z(max(1, len(columns)))
    findings: list[Finding] = []
    for col in columns:
        both = C.profiled(profiles, col) if profiles is not None else None
        rp, cp = both if both is not None else (None, None)
        rc = _counts(reference[col], rp)
        found = _column(col, rc, _counts(current[col], cp), max_values, z)
        unseen = [f for f in found if f.check == "categories.unseen_values"
                  and f.severity != "info"]
        if timestamp is None:
            findings.extend(found)
            continue
        if unseen and not _follows_time(reference, col, timestamp):
            dated = _dated_remap(col, rc, current, timestamp, max_values)
            if dated is not None:  # the new values are the old ones, recoded from a date
                found = [dated, *(f for f in found if f.check != "categories.unseen_values")]
        if not any(f.check == "categories.remapped_codes" for f in found):
            stops = _stopped(col, rc, reference, current, timestamp, random_state)
            # A month or a weekday column changes value with time, by nature: no
            # recoding or stop can be dated on it (asked only when one was found).
            if stops and not _follows_time(reference, col, timestamp):
                found += stops
        if swaps and all(f.severity == "info" for f in found) \
                and not _follows_time(reference, col, timestamp):
            swap = swapped_codes(reference, current, col, timestamp=timestamp,
                                 n_tests=len(columns), random_state=random_state)
            found += [swap] if swap is not None else []
        findings.extend(found)
    return findings


def _follows_time(reference: pd.DataFrame, col: Any, timestamp: str) -> bool:
    """True when the column's value follows the clock: in time order its value changes
    on fewer than 1% of consecutive rows (a month, a weekday, a batch id), where a
    category mixed through time changes on most of them."""
    order = C.time_order(reference, timestamp, name="reference")
    if order is None or len(order[0]) < 100:
        return False
    codes = _codes_in_time(reference[col], order[0], random_state=0)[0]
    return bool(np.count_nonzero(codes[1:] != codes[:-1]) <= 0.01 * len(codes))


def _codes_in_time(values: pd.Series, rows: np.ndarray, *, random_state: int
                   ) -> tuple[np.ndarray, Any]:
    """Codes and uniques of at most 10,000 seeded rows of ``values``, in time order
    (``rows`` is the time order). Rows are gathered in storage order, which arrow
    takes far faster, then put back in time order."""
    pos = C.sample_positions(len(rows), _TIME_SAMPLE, random_state=random_state)
    chosen = rows if pos is None else rows[pos]
    by_place = np.argsort(chosen, kind="stable")
    codes, uniques = pd.factorize(C.take(values, chosen[by_place]), use_na_sentinel=True)
    in_time = np.empty_like(codes)
    in_time[by_place] = codes
    return in_time, uniques


def _longest_pause(reference: pd.DataFrame, col: Any, value: str,
                   timestamp: str) -> np.timedelta64:
    """The longest time the reference went without ``value``: between two of its rows,
    or from the window's edges to its first and last."""
    order = C.time_order(reference, timestamp, name="reference")
    if order is None or len(order[0]) == 0:
        return np.timedelta64(0, "ns")
    rows, times = order
    codes, uniques = C.memoized_codes(reference, col)
    wanted = np.flatnonzero([_label(u) == value for u in uniques])
    at = times[np.isin(codes[rows], wanted)]
    if not len(at):
        return times[-1] - times[0]
    return np.max(np.diff(np.r_[times[:1], at, times[-1:]]))


#: Rows sampled in time order to screen for stops and for columns that follow time.
_TIME_SAMPLE = 10_000

#: Rows a value must have been expected on, after its last one, to have stopped.
STOPPED_EXPECTED = 30.0


def _stopped(col, rc: pd.Series, reference: pd.DataFrame, current: pd.DataFrame,
             timestamp: str, random_state: int) -> list[Finding]:
    """Values that stopped arriving at a date: after their last row, at least 30 of
    them were expected at their reference share (a chance gap of that length has
    probability e^-30), over at least 5% of the current rows, and for more than twice
    the longest time the reference went without them (a weekday or a month column
    pauses by nature). A join that drops a segment, a source that went quiet.
    Screened on 10,000 seeded rows in time order, then dated and counted on every row."""
    order = C.time_order(current, timestamp, name="current")
    n_ref = float(rc.sum())
    common = rc[rc / max(n_ref, 1.0) >= 0.01]
    if order is None or len(order[0]) < 100 or common.empty:
        return []
    rows, times = order
    codes, uniques = _codes_in_time(current[col], rows, random_state=random_state)
    names = [_label(u) for u in uniques]  # as the counts label them
    last_code = np.full(len(uniques), -1)
    np.maximum.at(last_code, codes[codes >= 0], np.flatnonzero(codes >= 0))
    last: dict[str, int] = {}
    for name, i in zip(names, last_code):
        last[name] = max(last.get(name, -1), int(i))
    out = []
    valued = np.cumsum((codes >= 0)[::-1])[::-1]  # rows with a value from each row on
    ordered, labels = None, np.zeros(0, dtype=object)  # every row, coded once if needed
    for value, count in common.items():
        if value not in last:
            continue  # absent from the whole window: categories.vanished_values says so
        # Only rows that carry a value count: labels not in yet are missing, not stopped.
        after = int(valued[last[value] + 1]) if last[value] + 1 < len(codes) else 0
        share = count / n_ref
        if share * after < STOPPED_EXPECTED / 3 or after < 0.05 * len(codes):  # a screen
            continue
        if ordered is None:
            full_codes, full_uniques = C.memoized_codes(current, col)
            ordered = full_codes[rows]
            labels = np.array([_label(u) for u in full_uniques], dtype=object)
        hits = np.flatnonzero(np.isin(ordered, np.flatnonzero(labels == value)))
        if not len(hits) or hits[-1] + 1 >= len(rows):
            continue
        gone = int(np.count_nonzero(ordered[hits[-1] + 1:] >= 0))
        expected = share * gone
        if expected < STOPPED_EXPECTED:
            continue
        quiet = times[-1] - times[hits[-1]]
        if quiet <= 2 * _longest_pause(reference, col, value, timestamp):
            continue
        since = C.iso(times[hits[-1] + 1])
        # New values that arrive from then on with about its share took its place.
        later = ordered[hits[-1] + 1:]
        counts = pd.Series(np.bincount(later[later >= 0], minlength=len(labels)),
                           index=labels)
        fresh = counts[(counts > 0) & ~counts.index.isin(rc.index)].sort_values(
            ascending=False)
        taken = float(fresh.sum()) / max(gone, 1)
        instead = list(fresh.index[:5]) if len(fresh) and 0.7 <= taken / share <= 1.3 else []
        told = (f" From then on, new value(s) {', '.join(map(repr, instead))} arrive with "
                f"{taken:.1%} of the rows: it was split or recoded." if instead else "")
        out.append(Finding(
            check="categories.stopped_values", layer="pipeline", severity="warning",
            score=C.clip01(0.3 + share),
            summary=f"{col} == {value!r} stopped arriving at {since}: no such row among the "
            f"{gone:,} since, where its reference share ({share:.1%}) expects "
            f"{expected:,.0f}.{told}",
            features=(col,), segment=C.segment_expr(col, value),
            evidence={"column": col, "value": value, "since": since,
                      "reference_share": round(share, 6), "rows_since": int(gone),
                      "expected_since": round(expected, 1), "replaced_by": instead,
                      "mapping": [{"new": v, "old": value} for v in instead],
                      "share_affected": round(share * gone / len(rows), 6)},
            next_step=f"Check the join or source that delivers {col} == {value!r} records "
            f"(a dropped partition, a filter, an expired key), or whether they are now "
            f"coded differently.",
        ))
    return out


def _dated_remap(col, rc: pd.Series, current: pd.DataFrame, timestamp: str,
                 max_values: int) -> Finding | None:
    """A recoding from a date on: the unseen values start at a date, and on the rows
    after it they pair one to one with reference values that no longer appear."""
    order = C.time_order(current, timestamp, name="current")
    if order is None:
        return None
    codes, uniques = pd.factorize(current[col], use_na_sentinel=True)
    labels = np.array([_label(u) for u in uniques], dtype=object)
    fresh = ~pd.Index(labels).isin(rc.index)
    mask = (codes >= 0) & fresh[np.maximum(codes, 0)]
    where = C.locate(mask, current, [], order, base=0.0)
    if where["since"] is None:
        return None
    rows, times = order
    after = np.zeros(len(current), dtype=bool)
    after[rows[np.searchsorted(times, np.datetime64(pd.Timestamp(where["since"])), "left"):]] = True
    counted = pd.Series(labels[codes[after & (codes >= 0)]]).value_counts()
    if float(counted.sum()) < MIN_ROWS:
        return None
    pairs = _pairs_of(rc, counted, max_values)[0]
    if not pairs:
        return None
    share = sum(float(counted[p[0]]) for p in pairs) / len(current)
    return _remap(col, pairs, since=where["since"], share_affected=share,
                  timeline=where.get("timeline", []))


def _column(col, rc: pd.Series, cc: pd.Series, max_values: int, z: float) -> list[Finding]:
    n_ref, n_cur = float(rc.sum()), float(cc.sum())
    if n_ref < MIN_ROWS or n_cur < MIN_ROWS:
        return []  # too few values to tell a new category from chance
    pairs, vanished, seen = _pairs_of(rc, cc, max_values)
    out = []
    if pairs:
        out.append(_remap(col, pairs))
    paired_new, paired_old = {p[0] for p in pairs}, {p[1] for p in pairs}
    good_turing = float((rc == 1).sum()) / n_ref
    rest = cc[~seen & ~cc.index.isin(paired_new)]
    k = float(rest.sum())
    lo, hi = C.wilson_interval(k, n_cur, z=z)
    if k and lo > good_turing + 0.001:
        out.append(_unseen(col, rest, k / n_cur, (lo, hi), good_turing))
    left = vanished[~vanished.index.isin(paired_old)]
    if len(left):
        out.append(_vanished(col, left, n_ref, n_cur))
    return out


def _pairs_of(rc: pd.Series, cc: pd.Series, max_values: int) -> tuple[list[tuple], pd.Series, Any]:
    """(pairs, vanished values, which current values the reference has) of the current
    counts ``cc`` against the reference counts ``rc`` (see :func:`_pair`)."""
    n_ref, n_cur = float(rc.sum()), float(cc.sum())
    seen = cc.index.isin(rc.index)
    new = cc[~seen].head(max_values)
    top_ref = rc.head(max_values)
    gone = top_ref[~top_ref.index.isin(cc.index)]
    vanished = gone[gone / n_ref * n_cur >= MIN_EXPECTED]
    return _pair(vanished, new[new >= MIN_EXPECTED], n_ref, n_cur), vanished, seen


def _norm(v: str) -> str:
    return re.sub(r"[^0-9a-z]", "", v.lower())


def _pair(vanished: pd.Series, new: pd.Series, n_ref: float, n_cur: float) -> list[tuple]:
    """(new, old, old share, new share) pairs: equal names first, then splits (one old
    value whose name starts two or more new ones, 'web' into 'web_mobile' and
    'web_desktop', with the same total share), then by frequency."""
    pairs, old_left, new_left = [], list(vanished.index), list(new.index)
    for nv in list(new_left):
        match = [ov for ov in old_left if _norm(ov) == _norm(nv) and _norm(nv)]
        if match:
            pairs.append((nv, match[0], vanished[match[0]] / n_ref, new[nv] / n_cur))
            old_left.remove(match[0])
            new_left.remove(nv)
    for ov in list(old_left):
        parts = [nv for nv in new_left if _norm(ov) and _norm(nv).startswith(_norm(ov))]
        if len(parts) < 2:
            continue
        po, pn = vanished[ov] / n_ref, float(new[parts].sum()) / n_cur
        se = math.sqrt(1 / vanished[ov] + 1 / float(new[parts].sum()))
        if abs(math.log(pn / po)) <= max(0.2, 3 * se):
            pairs += [(nv, ov, po, new[nv] / n_cur) for nv in parts]
            old_left.remove(ov)
            new_left = [nv for nv in new_left if nv not in parts]
    for ov, nv in zip(old_left, new_left):  # both sorted by frequency, descending
        po, pn = vanished[ov] / n_ref, new[nv] / n_cur
        se = math.sqrt(1 / vanished[ov] + 1 / new[nv])
        if abs(math.log(pn / po)) <= max(0.2, 3 * se):
            pairs.append((nv, ov, po, pn))
    return pairs


def _remap(col, pairs, *, since: str | None = None, share_affected: float | None = None,
           timeline: list | None = None) -> Finding:
    """The remapping finding; from ``since`` on, with the shares of the rows after it in
    ``pairs`` and ``share_affected`` the share of all current rows."""
    share = sum(p[3] for p in pairs)  # of the current rows compared (those after since)
    affected = share if share_affected is None else share_affected
    mapping = [{"new": p[0], "old": p[1], "reference_share": round(p[2], 6),
                "current_share": round(p[3], 6)} for p in pairs]
    n_old = len({p[1] for p in pairs})
    extra = {} if since is None else {"since": since, "timeline": timeline or []}
    return Finding(
        check="categories.remapped_codes", layer="pipeline",
        severity="critical" if affected >= 0.05 else "warning",
        score=C.clip01(0.5 + share),
        summary=f"{col}{f', from {since}' if since else ''}: {n_old} value(s) vanished and "
        f"{'as many' if len(pairs) == n_old else len(pairs)} new ones appeared with matching "
        f"frequencies ({share:.1%} of current rows{' since then' if since else ''}), e.g. "
        f"{pairs[0][1]!r} -> {pairs[0][0]!r}: looks like remapped codes.",
        features=(col,),
        evidence={"column": col, "mapping": mapping, "share_affected": round(affected, 6),
                  **extra, "repair": "replace each current value new by old"},
        next_step=f"Confirm the new coding of {col} with its owner and map the new values "
        f"back before scoring.",
    )


def _unseen(col, rest: pd.Series, share, ci, good_turing) -> Finding:
    top = [{"value": str(v), "count": int(c)} for v, c in rest.head(10).items()]
    return Finding(
        check="categories.unseen_values", layer="population",
        severity="warning" if ci[0] >= good_turing + PRACTICAL_UNSEEN else "info",
        score=C.clip01(0.2 + share),
        summary=f"{share:.1%} of current {col} values were never seen in the reference "
        f"({len(rest)} distinct, e.g. {top[0]['value']!r}).",
        features=(col,),
        evidence={"column": col, "share": round(share, 6),
                  "share_interval": [round(ci[0], 6), round(ci[1], 6)],
                  "expected_share_same_population": round(good_turing, 6),
                  "distinct_unseen": len(rest), "top_unseen": top},
        next_step=f"Find out where the new {col} values come from (a new product, market "
        f"or upstream code) and how the model encodes unknown values.",
    )


def _vanished(col, left: pd.Series, n_ref, n_cur) -> Finding:
    share = float(left.sum() / n_ref)
    top = [{"value": str(v), "reference_share": round(c / n_ref, 6),
            "expected_count": round(c / n_ref * n_cur, 1)} for v, c in left.head(10).items()]
    return Finding(
        check="categories.vanished_values", layer="pipeline",
        severity="warning" if share >= 0.01 else "info",
        score=C.clip01(0.2 + share),
        summary=f"{len(left)} {col} value(s) held {share:.1%} of the reference and are "
        f"absent from the current data (e.g. {top[0]['value']!r}).",
        features=(col,),
        evidence={"column": col, "reference_share": round(share, 6), "vanished": top},
        next_step=f"Check whether the records with these {col} values stopped arriving or "
        f"are now coded differently.",
    )


# --- two codes swapped from a date -------------------------------------------------------

#: The most frequent reference values whose pairs are tried for a swap (15 pairs: each
#: costs a pass over the sampled rows, for every column of every run and normal pair).
SWAP_VALUES = 6
#: Rows a side (seeded) on which swaps are looked for.
SWAP_SAMPLE = 20_000
#: Other columns (the most informative first) that tell two labels apart.
SWAP_WITNESSES = 3


def swapped_codes(reference: pd.DataFrame, current: pd.DataFrame, column: Any, *,
                  timestamp: str, n_tests: int = 1, random_state: int = 0) -> Finding | None:
    """Two values of ``column`` that exchanged their rows from a date on.

    A mapping bug that swaps two codes makes no value vanish or appear; what gives it
    away is the other columns: after the date, the rows labelled ``a`` look like the
    reference's rows labelled ``b`` (their destinations, distances, tips), and the
    rows labelled ``b`` like the reference's ``a``. For each pair of the
    :data:`SWAP_VALUES` most frequent values, each row carrying one of them is
    classified by the other columns (naive Bayes on reference histograms of the
    :data:`SWAP_WITNESSES` columns that best tell the two apart); a row "looks
    swapped" when the other label fits it better. In time order, a change point
    splits those rows into a before and an after run (:func:`best_binary_split`). A
    swap is claimed when, after the date, most rows of *each* label look swapped and,
    before it, most do not (Wilson intervals on either side of one half, Bonferroni
    over pairs and ``n_tests``), and the reference's own rows mostly look like
    themselves; and every witness that tells the two apart on its own sees most rows
    after the date swapped (when another column's labels were swapped, only that
    column would). Two labels no other column tells apart are never claimed, whatever
    their frequencies: a frequency exchange alone is what weekday and seasonal mixes
    do too. Seeded samples of at most :data:`SWAP_SAMPLE` rows a side.
    """
    order = C.time_order(current, timestamp, name="current")
    if order is None or len(order[0]) < 10 * MIN_ROWS:
        return None
    rows = order[0]
    pos = C.sample_positions(len(rows), SWAP_SAMPLE, random_state=random_state)
    cur_rows = rows if pos is None else rows[pos]  # time order kept: positions are sorted
    ref_rows = C.sample_positions(len(reference), SWAP_SAMPLE, random_state=random_state)
    ref_rows = np.arange(len(reference)) if ref_rows is None else ref_rows
    top = list(_counts(C.take(reference[column], ref_rows)).index[:SWAP_VALUES])
    if len(top) < 2:
        return None
    ref_lab = _top_codes(reference, column, ref_rows, top)
    cur_lab = _top_codes(current, column, cur_rows, top)
    # Every column binned once for all the columns a run asks about (memoized).
    witnesses = [w for w in C._memoized(
        current, ("swap witnesses", id(reference), timestamp, len(ref_rows), len(cur_rows)),
        lambda: _witness_bins(reference, current, None, timestamp, ref_rows, cur_rows))
        if w[0] != column]
    if not witnesses:
        return None
    n_pairs = len(top) * (len(top) - 1) // 2
    z = C.bonferroni_z(n_pairs * max(1, n_tests))
    best = None
    for i in range(len(top)):
        for k in range(i + 1, len(top)):
            found = _pair_swapped(i, k, ref_lab, cur_lab, witnesses, z)
            if found is not None and (best is None or found["rate_after"] > best["rate_after"]):
                best = {**found, "a": top[i], "b": top[k]}
    if best is None:
        return None
    times = order[1] if pos is None else order[1][pos]
    best["timeline"] = C.rate_timeline(best.pop("looks_swapped"), times[best.pop("rows")])
    return _swap_finding(column, best, times, len(cur_rows))


def _top_codes(frame: pd.DataFrame, column: Any, rows: np.ndarray, top: list[str]) -> np.ndarray:
    """Index of each row's value in ``top`` (labelled as the counts label), else -1."""
    codes, uniques = pd.factorize(C.take(frame[column], rows), use_na_sentinel=True)
    where = {v: i for i, v in enumerate(top)}
    lookup = np.array([where.get(_label(u), -1) for u in uniques] + [-1], dtype=np.int64)
    return lookup[codes]  # -1 (missing) reads the last entry: -1


def _witness_bins(reference, current, column, timestamp, ref_rows, cur_rows
                  ) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    """(name, reference bins, current bins, number of bins) of the other columns that
    can witness a swap: numbers in reference deciles, others by their 30 most frequent
    values (the rest one bin). Columns that follow the clock are left out: their
    values move between windows by nature."""
    out = []
    for other in current.columns:
        if other in (column, timestamp) or other not in reference.columns:
            continue
        r, c = C.take(reference[other], ref_rows), C.take(current[other], cur_rows)
        if C.kind(r) == "number" and C.kind(c) == "number":
            rv, cv = (s.to_numpy(dtype="float64", na_value=np.nan) for s in (r, c))
            edges = np.unique(np.nanquantile(rv, np.linspace(0.1, 0.9, 9))) \
                if np.isfinite(rv).any() else np.zeros(0)
            rb, cb = (np.where(np.isnan(v), len(edges) + 1, np.searchsorted(edges, v))
                      for v in (rv, cv))
            n_bins = len(edges) + 2
        elif C.kind(r) in ("text", "bool"):
            keep = list(r.value_counts().index[:30])
            index = pd.Index(keep)
            rb, cb = (index.get_indexer(s).astype(np.int64) for s in (r, c))
            rb, cb = np.where(rb < 0, len(keep), rb), np.where(cb < 0, len(keep), cb)
            n_bins = len(keep) + 1
        else:
            continue
        if _follows_time(reference, other, timestamp):
            continue
        out.append((other, rb, cb, n_bins))
    return out


def _pair_swapped(i, k, ref_lab, cur_lab, witnesses, z) -> dict[str, Any] | None:
    """The swap of labels ``i`` and ``k`` (see :func:`swapped_codes`), or None."""
    ref_in, cur_in = np.isin(ref_lab, (i, k)), np.isin(cur_lab, (i, k))
    if min(np.count_nonzero(ref_lab == i), np.count_nonzero(ref_lab == k)) < MIN_ROWS \
            or np.count_nonzero(cur_in) < 4 * MIN_ROWS:
        return None
    tables = []
    for name, rb, cb, n_bins in witnesses:
        ca = np.bincount(rb[ref_lab == i], minlength=n_bins).astype(float)
        cb_ = np.bincount(rb[ref_lab == k], minlength=n_bins).astype(float)
        llr = np.log((cb_ + 0.5) / (cb_.sum() + 0.5 * n_bins)) - \
            np.log((ca + 0.5) / (ca.sum() + 0.5 * n_bins))
        llr[ca + cb_ < 5] = 0.0  # too few reference rows to say which label a bin favours
        sep = 0.5 * float(np.abs(ca / ca.sum() - cb_ / cb_.sum()).sum())
        tables.append((sep, llr, rb, cb, name))
    tables.sort(key=lambda t: -t[0])
    used = tables[:SWAP_WITNESSES]

    llrs: list[np.ndarray] = [t[1] for t in used]

    def looks_swapped(lab: np.ndarray, bins: list[np.ndarray], inside: np.ndarray) -> np.ndarray:
        score = np.zeros(int(np.count_nonzero(inside)))
        for llr, b in zip(llrs, bins):
            score += llr[b[inside]]
        return np.where(lab[inside] == i, score > 0, score < 0)

    ref_z = looks_swapped(ref_lab, [t[2] for t in used], ref_in)
    cur_z = looks_swapped(cur_lab, [t[3] for t in used], cur_in).astype(float)
    if ref_z.mean() >= 0.5:
        return None
    j, before, after = C.best_binary_split(cur_z, min_size=MIN_ROWS)
    if j == 0:
        return None
    lab_after = cur_lab[cur_in][j:]
    ok_before = C.wilson_interval(before * j, j, z=z)[1] < 0.5
    ok_after = all(C.wilson_interval(float(cur_z[j:][lab_after == v].sum()),
                                     float(np.count_nonzero(lab_after == v)), z=z)[0] > 0.5
                   for v in (i, k))
    if not (ok_before and ok_after):
        return None
    # Every witness that tells the two apart on its own must see the swap too: when
    # labels of another column were swapped, only that column says so here.
    later = np.flatnonzero(cur_in)[j:]
    for llr, rb, cb in ((t[1], t[2], t[3]) for t in used):
        own = np.where(ref_lab[ref_in] == i, llr[rb[ref_in]] > 0, llr[rb[ref_in]] < 0)
        if own.mean() < 0.4:
            mine = np.where(cur_lab[later] == i, llr[cb[later]] > 0, llr[cb[later]] < 0)
            if mine.mean() <= 0.5:
                return None
    return {"position": int(np.flatnonzero(cur_in)[j]), "rate_before": before,
            "rate_after": after, "reference_rate": float(ref_z.mean()),
            "witnesses": [t[4] for t in used], "separation": used[0][0],
            "rows_after": len(lab_after), "looks_swapped": cur_z, "rows": cur_in}


def _swap_finding(column, best, times, n_rows) -> Finding:
    since = C.iso(times[best["position"]])
    a, b = best["a"], best["b"]
    affected = best["rows_after"] / n_rows  # rows carrying a or b after the date
    return Finding(
        check="categories.swapped_codes", layer="pipeline",
        severity="critical" if affected >= 0.05 else "warning",
        score=C.clip01(0.5 + 0.4 * affected),
        summary=f"{column}: from {since}, the rows labelled {a!r} look like the reference's "
        f"{b!r} rows and those labelled {b!r} like its {a!r} rows ({best['rate_after']:.0%} "
        f"of them, against {best['rate_before']:.0%} before): the two codes look swapped.",
        features=(column,),
        evidence={"column": column, "since": since, "values": [a, b],
                  "mapping": [{"new": a, "old": b}, {"new": b, "old": a}],
                  "share_affected": round(affected, 6),
                  "rate_looking_swapped_before": round(best["rate_before"], 4),
                  "rate_looking_swapped_after": round(best["rate_after"], 4),
                  "reference_rate": round(best["reference_rate"], 4),
                  "witnesses": best["witnesses"], "separation": round(best["separation"], 4),
                  "timeline": best["timeline"],
                  "sampled_rows": n_rows,
                  "repair": f"from {since}, map {a!r} to {b!r} and {b!r} to {a!r}"},
        next_step=f"Check the mapping table that codes {column} (a lookup or a join that "
        f"changed on {since}); to test it, swap {a!r} and {b!r} back on the rows since "
        f"then and re-score.",
    )
