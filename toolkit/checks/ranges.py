"""Range and domain: values outside the reference range, and impossible values.

Under the same population, a new value falls outside the range of ``n`` reference
values with probability ``2 / (n + 1)`` (exchangeability), so the current share out of
range is tested against that, with a Bonferroni-corrected Wilson interval, and must
clear a practical threshold. A column never negative in the reference (rule of three:
its negative share is below ``3 / n``) that now has negative values, a rare negative
share that grew (Newcombe interval, at least 0.1 point and doubled), and timestamps
later than ``as_of`` (default: now), are impossible values.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from toolkit._exceptions import InputError
from toolkit.checks import _common as C
from toolkit.findings import Finding

__all__ = ["future_timestamps", "range_violations"]

#: Out-of-range share (interval lower bound) from which a finding is a warning.
WARN_SHARE = 0.01
MIN_REFERENCE = 100
#: A reference share of negative values below this counts as rare.
RARE_NEGATIVE = 0.01
#: Smallest rise of the negative share (interval lower bound) worth a finding.
PRACTICAL_NEGATIVE = 0.001


def range_violations(reference: pd.DataFrame, current: pd.DataFrame, *,
                     profiles: tuple[Any, Any] | None = None,
                     random_state: int = 0) -> list[Finding]:
    """Numeric columns with values outside the reference range, or negative when never.

    Everything is read from the window profiles (exact counts on the reference's
    bin edges, whose outer cells are the out-of-range values), so no row is
    touched again.

    Parameters
    ----------
    reference, current : DataFrame
    profiles : (Profile, Profile), optional
        Profiles of both windows from :func:`toolkit.profile.profile_pair`; made
        when not given.
    random_state : int, default=0
        Unused (the check is exact); kept for a uniform signature.

    Returns
    -------
    list of Finding
        ``ranges.out_of_range``, ``ranges.negative_values``, ``ranges.infinite_values``
        (layer ``data``) and ``ranges.clipped_values`` (``pipeline``: a new pile of
        current values at a cap or a floor that the reference spread beyond);
        evidence ``column``, the reference bounds, shares with intervals, examples.
    """
    common = [c for c in C.numeric_columns(current)
              if c in reference.columns and C.is_number_column(reference[c])]
    pair = C.profiles_for(reference, current, profiles, common)
    cols = []
    for col in common:
        both = C.profiled(pair, col)
        if both is None or both[1].counts is None or not np.array_equal(
                np.asarray(both[0].edges, dtype=float), np.asarray(both[1].edges, dtype=float)):
            # Absent from the profiles given, or not binned on the reference's edges:
            # the outer cells would not be the out-of-range values. Profile it here.
            from toolkit.profile import profile_pair

            try:
                fresh = profile_pair(reference[[col]], current[[col]], n_jobs=1)
            except InputError:
                continue
            both = fresh[0][col], fresh[1][col]
        if both[0].kind != "numeric" or both[1].counts is None:
            continue
        rp, _ = both
        if C.code_like(rp) or C.identifier_like(reference[col], rp):
            continue  # codes are judged by the categories check, and ids grow by design
        cols.append((col, *both))
    z = C.bonferroni_z(2 * max(1, len(cols)))
    findings = []
    for col, rp, cp in cols:
        n_ref, n = rp.count - rp.nulls, cp.count - cp.nulls  # infinities included
        if n_ref < MIN_REFERENCE or not n or not rp.n_finite:
            continue
        # Infinities the reference never had are their own finding, not negatives or
        # out-of-range values; those it had are ordinary.
        new_neginf = 0 if rp.n_neginf else cp.n_neginf
        new_posinf = 0 if rp.n_posinf else cp.n_posinf
        if new_neginf or new_posinf:
            findings.append(_infinite(col, new_neginf, new_posinf, n_ref, n, z))
        negatives = cp.n_negative - new_neginf
        never_negative = rp.n_negative == 0
        if never_negative and negatives:
            f = _negative(col, cp, negatives, n_ref, n, z)
            if f is not None:
                findings.append(f)
        elif rp.n_negative < RARE_NEGATIVE * n_ref:  # negatives were rare: did they grow?
            f = _more_negative(col, float(rp.n_negative), n_ref, cp, negatives, n, z)
            if f is not None:
                findings.append(f)
        # The outer cells of the reference's bins hold what falls below its minimum and
        # above its maximum, infinities included.
        below = int(cp.counts[0]) - cp.n_neginf
        if never_negative:
            below -= negatives  # reported as negative values
        above = int(cp.counts[-2]) - cp.n_posinf
        f = _out_of_range(col, cp, max(below, 0), max(above, 0), (rp.min, rp.max), n_ref, n,
                          z, never_negative, current[col])
        if f is not None:
            findings.append(f)
        # Continuous columns only: a column of a few levels (surcharges, codes) has piles
        # by nature, and a new level is the categories' and drift's to report.
        piles = _pile_candidates(cp) if (rp.n_distinct or 0) >= 50 else []
        if piles:
            r, c = C.finite(reference[col]), C.finite(current[col])
            f = next((f for side, bound in piles
                      if (f := _clipped(col, side, bound, r, c, z)) is not None), None)
            if f is not None:
                findings.append(f)
    return findings


def _pile_candidates(cp) -> list[tuple[str, float]]:
    """Values where current rows may pile up against a limit, read off the profile: a
    value that fills two or more consecutive percentiles (1% of rows or more), tested
    as a cap and as a floor. Rows are read only for those."""
    if cp.quantiles is None:
        return []
    q = np.asarray(cp.quantiles, dtype=float)
    repeated = q[:-1][(q[:-1] == q[1:]) & np.isfinite(q[:-1])]
    return [(side, v) for v in sorted({float(v) for v in repeated})[:3]
            for side in ("max", "min")]


def _clipped(col, side, bound, r: np.ndarray, c: np.ndarray, z) -> Finding | None:
    """A cap (or floor) applied upstream, which no range check sees: current values
    pile up at ``bound`` and the values beyond it, which the reference had, thinned
    out (all of them, or those after the date the cap started). ``r`` and ``c`` are
    the finite values of the column in each window."""
    if not len(r) or not len(c):
        return None
    k = float(np.count_nonzero(c == bound))
    at_ref = float(np.count_nonzero(r == bound)) / len(r)
    beyond_ref = float(np.count_nonzero(r > bound if side == "max" else r < bound)) / len(r)
    beyond_cur = float(np.count_nonzero(c > bound if side == "max" else c < bound)) / len(c)
    share = k / len(c)
    lo, hi = C.wilson_interval(k, len(c), z=z)
    # The pile at the bound is new, and it holds what went missing beyond it.
    moved = beyond_ref - beyond_cur
    if at_ref > 0.005 or lo <= 5 * at_ref + 0.005 or moved < 0.5 * share \
            or beyond_cur > 0.8 * beyond_ref:
        return None
    # A cap leaves the values on its near side alone, and there are some (a column
    # defaulted to its minimum is stuck, not capped); a value stuck for everything (the
    # stuck-values check) empties both sides.
    near_ref = float(np.count_nonzero(r < bound if side == "max" else r > bound)) / len(r)
    near_cur = float(np.count_nonzero(c < bound if side == "max" else c > bound)) / len(c)
    if near_ref < 0.2 or near_cur < 0.9 * near_ref:
        return None
    word = "capped at" if side == "max" else "floored at"
    where = "above" if side == "max" else "below"
    return Finding(
        check="ranges.clipped_values", layer="pipeline",
        severity="critical" if lo >= 0.05 else "warning",
        score=C.clip01(0.4 + 2 * share),
        summary=f"{col} looks {word} {bound:g}: {share:.1%} of current values sit exactly "
        f"at it (against {at_ref:.2%} in the reference), and {beyond_cur:.1%} are {where} it "
        f"(against {beyond_ref:.1%}).",
        features=(col,),
        evidence={"column": col, "bound": float(bound), "side": side, "count": int(k),
                  "share": round(share, 6), "share_interval": [round(lo, 6), round(hi, 6)],
                  "reference_share_at_bound": round(at_ref, 6),
                  f"reference_share_{where}": round(beyond_ref, 6),
                  f"current_share_{where}": round(beyond_cur, 6),
                  "repair": f"treat the values at {bound:g} as missing"},
        next_step=f"Find the step upstream that limits {col} to {bound:g} (a field width, "
        f"a validation rule, a sensor's range) and whether it changed.",
    )


def _out_of_range(col, cp, below, above, bounds, n_ref, n, z, never_negative,
                  values) -> Finding | None:
    k = float(below + above)
    expected = 2.0 / (n_ref + 1)
    lo, hi = C.wilson_interval(k, n, z=z)
    if lo <= 3 * expected or k / n < 0.001:
        return None
    low_floor = 0.0 if never_negative else -np.inf
    under = [v for v in cp.lowest if low_floor <= v < bounds[0]][:3]
    if below and not under:  # the profile's extremes are all negatives: read the column
        x = values.to_numpy(dtype="float64", na_value=np.nan)
        under = np.sort(x[(x >= low_floor) & (x < bounds[0])])[:3].tolist()
    outside = under + [v for v in cp.highest if v > bounds[1]][-3:]
    return Finding(
        check="ranges.out_of_range", layer="data",
        severity="warning" if lo >= WARN_SHARE else "info",
        score=C.clip01(0.2 + 2 * k / n),
        summary=f"{k / n:.2%} of current {col} values fall outside the reference range "
        f"[{bounds[0]:.6g}, {bounds[1]:.6g}].",
        features=(col,),
        evidence={"column": col, "reference_min": bounds[0], "reference_max": bounds[1],
                  "share": round(k / n, 6), "share_interval": [round(lo, 6), round(hi, 6)],
                  "share_below": round(below / n, 6),
                  "share_above": round(above / n, 6),
                  "expected_share_same_population": round(expected, 8),
                  "examples": sorted({float(v) for v in outside})},
        next_step=f"Look at the out-of-range {col} values: a new kind of record, an "
        f"upstream error, or a population the model never saw?",
    )


def _negative_examples(cp) -> list[float]:
    return sorted({float(v) for v in cp.lowest if -np.inf < v < 0})[:5]


def _infinite(col, neginf, posinf, n_ref, n, z) -> Finding:
    k = float(neginf + posinf)
    lo, hi = C.wilson_interval(k, n, z=z)
    kinds = " and ".join(f"{c:,} {s}inf" for c, s in ((neginf, "-"), (posinf, "+")) if c)
    return Finding(
        check="ranges.infinite_values", layer="data",
        severity="warning" if lo >= 0.001 else "info",
        score=C.clip01(0.35 + 5 * k / n),
        summary=f"{col} holds {kinds} in the current window ({k / n:.2%} of its values); "
        f"none of {n_ref:,} reference values was infinite.",
        features=(col,),
        evidence={"column": col, "count": int(k), "negative_infinite": int(neginf),
                  "positive_infinite": int(posinf), "share": round(k / n, 6),
                  "share_interval": [round(lo, 6), round(hi, 6)],
                  "repair": "treat the infinite values as missing"},
        next_step=f"Find what divides by zero or overflows upstream of {col} (a ratio with "
        f"a zero denominator, a log of 0); most models cannot score infinity.",
    )


def _negative(col, cp, k, n_ref, n, z) -> Finding | None:
    k = float(k)
    lo, hi = C.wilson_interval(k, n, z=z)
    if lo <= 3.0 / n_ref:
        return None
    return Finding(
        check="ranges.negative_values", layer="data",
        severity="warning" if lo >= 0.001 else "info",
        score=C.clip01(0.3 + 5 * k / n),
        summary=f"{col} was never negative in {n_ref:,} reference values; {int(k):,} current "
        f"values ({k / n:.2%}) are negative.",
        features=(col,),
        evidence={"column": col, "rule": f"{col} >= 0", "count": int(k),
                  "share": round(k / n, 6), "share_interval": [round(lo, 6), round(hi, 6)],
                  "examples": _negative_examples(cp),
                  "repair": "treat the negative values as missing"},
        next_step=f"Find which records carry negative {col} (refunds, corrections, sign "
        f"errors) and whether the model should see them.",
    )


def _more_negative(col, k_ref, n_ref, cp, k, n, z) -> Finding | None:
    k = float(k)
    lo, hi = C.diff_interval(k_ref, n_ref, k, n, z=z)
    p_ref, p = k_ref / n_ref, k / n
    if lo <= PRACTICAL_NEGATIVE or p <= 2 * p_ref:
        return None
    return Finding(
        check="ranges.negative_values", layer="data",
        severity="warning" if lo >= 10 * PRACTICAL_NEGATIVE else "info",
        score=C.clip01(0.2 + 5 * (p - p_ref)),
        summary=f"Negative {col} values rose from {p_ref:.2%} of the reference to {p:.2%} "
        f"of the current data.",
        features=(col,),
        evidence={"column": col, "rule": f"{col} >= 0", "count": int(k),
                  "share": round(p, 6), "reference_share": round(p_ref, 6),
                  "diff_interval": [round(lo, 6), round(hi, 6)],
                  "examples": _negative_examples(cp),
                  "repair": "treat the negative values as missing"},
        next_step=f"Find which records carry negative {col} (refunds, corrections, sign "
        f"errors) and why there are more of them now.",
    )


def future_timestamps(current: pd.DataFrame, *, timestamp: str | None = None,
                      as_of: object = None) -> list[Finding]:
    """Timestamps later than ``as_of`` in the timestamp column and datetime columns.

    Parameters
    ----------
    current : DataFrame
    timestamp : str, optional
        The event-time column (text dates are parsed).
    as_of : datetime-like, optional
        The moment the data was extracted; default now (UTC, naive).

    Returns
    -------
    list of Finding
        ``ranges.future_timestamp`` (layer ``data``; evidence ``column``, ``as_of``,
        ``count``, ``share``, ``latest``).
    """
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(
        _dt.datetime.now(_dt.UTC).replace(tzinfo=None))
    cols = [c for c in current.columns if pd.api.types.is_datetime64_any_dtype(current[c])]
    if timestamp is not None and timestamp not in cols and timestamp in current.columns:
        cols.append(timestamp)
    findings = []
    for col in cols:
        t = C.as_datetime(current[col], name="current", column=col)
        future = (t > now).to_numpy()
        k = int(future.sum())
        if k:
            findings.append(Finding(
                check="ranges.future_timestamp", layer="data",
                severity="warning" if k / len(t) >= 0.001 else "info",
                score=C.clip01(0.3 + 5 * k / len(t)),
                summary=f"{k:,} {col} values ({k / len(t):.2%}) are later than {now}.",
                features=(col,),
                evidence={"column": col, "as_of": C.iso(now), "count": k,
                          "share": round(k / len(t), 6), "latest": C.iso(t.max())},
                next_step=f"Check the clock and time zone of the system that writes {col}."))
    return findings
