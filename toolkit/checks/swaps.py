"""Swapped columns: two columns whose values arrive in each other's place.

A loader that maps fields by position, or a join that renames by mistake, sends column
``a``'s values under ``b``'s name and back. Each column then looks drifted, but each one's
current values match the *other's* reference. Numbers are compared on the profiles'
percentiles (5th to 95th), as a mean absolute gap in units of the reference spread
(interquartile range, or standard deviation when that is zero): a column is a candidate
when it moved by at least half a spread, and a pair is a swap when each one's current
values sit within a tenth of a spread of the other's reference, and within a fifth of
their own move. Pairs are matched one to one, closest first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from toolkit.checks import _common as C
from toolkit.findings import Finding

__all__ = ["swapped_columns"]

#: Least move of a column (in reference spreads) for it to be a swap candidate.
MIN_MOVE = 0.5
#: Largest gap (in reference spreads) between a column and the other's reference.
MAX_GAP = 0.1
_BODY = slice(5, 96)  # the 5th to the 95th percentile


def _spread(cp: Any) -> float:
    q = np.asarray(cp.quantiles)
    iqr = float(q[75] - q[25])
    return iqr if iqr > 0 else float(cp.std)


def _gap(current: Any, reference: Any) -> float:
    spread = _spread(reference)
    if not spread > 0:
        return float("inf")
    body = np.asarray(current.quantiles)[_BODY] - np.asarray(reference.quantiles)[_BODY]
    return float(np.mean(np.abs(body)) / spread)


def swapped_columns(reference: pd.DataFrame, current: pd.DataFrame, *,
                    profiles: tuple[Any, Any] | None = None,
                    exclude: list[str | None] | tuple = ()) -> list[Finding]:
    """Pairs of numeric columns that arrive in each other's place.

    Parameters
    ----------
    reference, current : DataFrame
    profiles : (Profile, Profile), optional
        Profiles of both windows (:func:`toolkit.profile.profile_pair`); made when
        not given.
    exclude : list of str
        Columns never paired (the timestamp, the label, the logged scores).

    Returns
    -------
    list of Finding
        ``schema.swapped_columns`` (layer ``pipeline``; evidence ``columns``, each
        one's move and its gap to the other's reference, ``repair``).
    """
    skip = {c for c in exclude if c is not None}
    names = [c for c in C.numeric_columns(current) if c in reference.columns and c not in skip
             and C.is_number_column(reference[c])]
    pair = C.profiles_for(reference, current, profiles, names)
    cols: dict[str, tuple[Any, Any]] = {}
    for name in names:
        both = C.profiled(pair, name)
        if both is None:
            continue
        rp, cp = both
        if rp.kind == cp.kind == "numeric" and rp.quantiles is not None \
                and cp.quantiles is not None and min(rp.n_finite, cp.n_finite) >= 100:
            cols[name] = (rp, cp)
    moved = {c: _gap(cp, rp) for c, (rp, cp) in cols.items()}
    candidates = [c for c, m in moved.items() if m >= MIN_MOVE and np.isfinite(m)]
    pairs = []
    for i, a in enumerate(candidates):
        for b in candidates[i + 1:]:
            (ra, ca), (rb, cb) = cols[a], cols[b]
            ab, ba = _gap(ca, rb), _gap(cb, ra)
            nulls_match = (abs(ca.null_rate - rb.null_rate) <= 0.02
                           and abs(cb.null_rate - ra.null_rate) <= 0.02)
            if max(ab, ba) <= MAX_GAP and max(ab, ba) <= 0.2 * min(moved[a], moved[b]) \
                    and nulls_match:
                pairs.append((ab + ba, a, b, ab, ba))
    findings, used = [], set()
    for _, a, b, ab, ba in sorted(pairs):
        if a in used or b in used:
            continue
        used |= {a, b}
        findings.append(_finding(a, b, moved[a], moved[b], ab, ba))
    return findings


def _finding(a: str, b: str, move_a: float, move_b: float, ab: float, ba: float) -> Finding:
    severity = "critical" if min(move_a, move_b) >= 1.0 else "warning"
    return Finding(
        check="schema.swapped_columns", layer="pipeline", severity=severity,
        score=C.clip01(0.6 + 0.1 * min(move_a, move_b)),
        summary=f"{a} and {b} look swapped: each one's current values match the other's "
        f"reference (gaps of {ab:.2f} and {ba:.2f} reference spreads) while each moved "
        f"{move_a:.1f} and {move_b:.1f} spreads from its own.",
        features=(a, b),
        evidence={"columns": [a, b], "move": {a: round(move_a, 4), b: round(move_b, 4)},
                  "gap_to_other_reference": {a: round(ab, 4), b: round(ba, 4)},
                  "repair": "swap the two columns back"},
        next_step=f"Check how the feed maps {a} and {b} (by position, or a renaming join) "
        f"and swap them back before scoring.",
    )
