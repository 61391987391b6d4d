"""Schema changes: removed, added and probably renamed columns.

A removed and an added column are paired as a probable rename when their names are
alike (case, separators and prefixes aside) and their values are alike: the
Kolmogorov-Smirnov distance for numbers, value overlap (or the overlap of value
*shapes*, ``2024-03-01`` -> ``9999-99-99``, for unique text such as dates) otherwise.
Pairs are matched one to one, best first.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

from toolkit.checks import _common as C
from toolkit.findings import Finding

__all__ = ["name_similarity", "schema_changes", "value_similarity"]

#: Combined similarity (0.6 name + 0.4 values) above which a pair is a rename.
RENAME_THRESHOLD = 0.7
_SAMPLE = 5_000


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def name_similarity(a: str, b: str) -> float:
    """Similarity in [0, 1] of two column names, ignoring case and separators.

    Equal normalised names score 1; one contained in the other scores at least 0.9.
    """
    x, y = _norm(a), _norm(b)
    if not x or not y:
        return 0.0
    if x == y:
        return 1.0
    ratio = difflib.SequenceMatcher(None, x, y).ratio()
    if x in y or y in x:
        return max(0.9, ratio)
    return ratio


def _ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def _shape(text: pd.Series) -> pd.Series:
    return text.str.replace(r"[0-9]", "9", regex=True).str.replace(r"[^\W\d_]", "a", regex=True)


def _overlap(a: pd.Series, b: pd.Series) -> float:
    pa, pb = a.value_counts(normalize=True), b.value_counts(normalize=True)
    joined = pd.concat([pa, pb], axis=1, join="inner")
    return float(joined.min(axis=1).sum()) if len(joined) else 0.0


def value_similarity(a: pd.Series, b: pd.Series, *, random_state: int = 0) -> float:
    """Similarity in [0, 1] of the values of two columns (1 = same distribution)."""
    ka, kb = C.kind(a), C.kind(b)
    if ka != kb or ka == "empty":
        return 0.0
    pa = C.sample_positions(len(a), _SAMPLE, random_state=random_state)
    pb = C.sample_positions(len(b), _SAMPLE, random_state=random_state + 1)
    if ka == "number":
        x, y = C.finite(C.take(a, pa)), C.finite(C.take(b, pb))
        return 1.0 - _ks_distance(x, y) if len(x) and len(y) else 0.0
    ta, tb = C.non_null_text(a, pa), C.non_null_text(b, pb)
    if not len(ta) or not len(tb):
        return 0.0
    return max(_overlap(ta, tb), 0.8 * _overlap(_shape(ta), _shape(tb)))


def _renames(reference, current, removed, added,
             random_state) -> list[tuple[str, str, float, float]]:
    scored = []
    for old in removed:
        for new in added:
            ns = name_similarity(old, new)
            vs = value_similarity(reference[old], current[new], random_state=random_state)
            score = 0.6 * ns + 0.4 * vs
            if score >= RENAME_THRESHOLD:
                scored.append((score, old, new, ns, vs))
    pairs, used_old, used_new = [], set(), set()
    for _, old, new, ns, vs in sorted(scored, key=lambda t: (-t[0], str(t[1]), str(t[2]))):
        if old not in used_old and new not in used_new:
            pairs.append((old, new, ns, vs))
            used_old.add(old)
            used_new.add(new)
    return pairs


def schema_changes(reference: pd.DataFrame, current: pd.DataFrame, *,
                   random_state: int = 0) -> list[Finding]:
    """Removed, added and probably renamed columns of ``current`` against ``reference``.

    Parameters
    ----------
    reference, current : DataFrame
    random_state : int, default=0
        Seed of the samples (5,000 rows a column) used to compare values.

    Returns
    -------
    list of Finding
        ``schema.renamed_column`` (evidence ``old``, ``new``), ``schema.removed_column``
        and ``schema.added_column`` (evidence ``column``), all layer ``pipeline``.
    """
    removed = [c for c in reference.columns if c not in current.columns]
    added = [c for c in current.columns if c not in reference.columns]
    pairs = _renames(reference, current, removed, added, random_state) if removed and added else []
    findings = [_rename_finding(*p) for p in pairs]
    paired_old = {p[0] for p in pairs}
    paired_new = {p[1] for p in pairs}
    for col in removed:
        if col not in paired_old:
            findings.append(Finding(
                check="schema.removed_column", layer="pipeline", severity="warning", score=0.8,
                summary=f"Column {col} is in the reference but missing from the current data.",
                features=(col,), evidence={"column": col, "status": "removed"},
                next_step=f"Find out why the feed stopped sending {col}; a model that uses "
                f"it now sees it as missing."))
    for col in added:
        if col not in paired_new:
            findings.append(Finding(
                check="schema.added_column", layer="pipeline", severity="info", score=0.2,
                summary=f"Column {col} is new in the current data.",
                features=(col,), evidence={"column": col, "status": "added"},
                next_step=f"Check whether {col} replaces a column the model uses."))
    return findings


def _rename_finding(old: str, new: str, ns: float, vs: float) -> Finding:
    return Finding(
        check="schema.renamed_column", layer="pipeline", severity="warning",
        score=C.clip01(0.6 + 0.4 * (0.6 * ns + 0.4 * vs - RENAME_THRESHOLD) / 0.3),
        summary=f"Column {old} seems renamed to {new} (name similarity {ns:.2f}, value "
        f"similarity {vs:.2f}).",
        features=(old, new),
        evidence={"old": old, "new": new, "name_similarity": round(ns, 4),
                  "value_similarity": round(vs, 4),
                  "repair": "rename the current column new back to old"},
        next_step=f"Confirm the rename with the feed's owner and map {new} back to {old} "
        f"before scoring.",
    )
