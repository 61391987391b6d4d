"""Type changes, and numbers that arrive as text.

When a column that was numeric in the reference arrives as text, each parse rule is
tried on a sample of its values (plain, decimal comma, thousands separators, units or
currency stripped, and their combinations). The rule that parses most values wins;
among rules that parse equally well (``1,5`` is 1.5 or 15) the one whose parsed
median is nearest the reference median wins. The evidence names the rule, so triage
can apply it, and shows failing examples.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from toolkit.checks import _common as C
from toolkit.findings import Finding

__all__ = ["PARSE_RULES", "apply_parse_rule", "type_changes"]

_SAMPLE = 20_000
_UNITS = re.compile(r"[^0-9eE+\-.,]")


def _strip(s: pd.Series) -> pd.Series:
    return s.str.replace(_UNITS, "", regex=True)


def _decimal_comma(s: pd.Series) -> pd.Series:
    return s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)


def _thousands(s: pd.Series) -> pd.Series:
    return s.str.replace(",", "", regex=False)


#: Parse rule name -> string transform applied before ``pd.to_numeric``.
PARSE_RULES: dict[str, Callable[[pd.Series], pd.Series]] = {
    "plain": lambda s: s.str.strip(),
    "decimal_comma": lambda s: _decimal_comma(s.str.strip()),
    "thousands_separator": lambda s: _thousands(s.str.strip()),
    "strip_units": _strip,
    "strip_units+decimal_comma": lambda s: _decimal_comma(_strip(s)),
    "strip_units+thousands_separator": lambda s: _thousands(_strip(s)),
}


def apply_parse_rule(values: pd.Series, rule: str) -> pd.Series:
    """Parse text ``values`` into numbers with the named rule (failures become NaN).

    Parameters
    ----------
    values : Series of str
    rule : str
        A key of :data:`PARSE_RULES`, as found in a ``types.numbers_as_text`` finding.
    """
    text = values.astype("str")
    return pd.to_numeric(PARSE_RULES[rule](text), errors="coerce").astype("float64")


def _best_rule(text: pd.Series, ref_median: float) -> tuple[str, dict[str, float]]:
    rates, medians = {}, {}
    for name in PARSE_RULES:
        parsed = apply_parse_rule(text, name)
        rates[name] = float(parsed.isna().mean())
        ok = parsed.dropna()
        medians[name] = float(ok.median()) if len(ok) else math.nan
    best_rate = min(rates.values())
    tied = [n for n in PARSE_RULES if rates[n] <= best_rate + 0.005]

    def distance(n: str) -> float:
        m = medians[n]
        if not (m > 0 and ref_median > 0):
            return 0.0 if m == ref_median else math.inf
        return abs(math.log(m / ref_median))

    return min(tied, key=lambda n: (distance(n), list(PARSE_RULES).index(n))), rates


def _numbers_as_text(col, ref: pd.Series, cur: pd.Series, random_state) -> Finding | None:
    pos = C.sample_positions(len(cur), _SAMPLE, random_state=random_state)
    text = C.non_null_text(cur, pos)
    if not len(text):
        return None
    ref_vals = C.finite(ref)
    rule, rates = _best_rule(text, float(np.median(ref_vals)) if len(ref_vals) else math.nan)
    plain_fail = rates["plain"]
    if rates[rule] > 0.5:
        return None  # mostly not numbers: a plain type change
    failing = text[apply_parse_rule(text, "plain").isna()]
    examples = [str(v) for v in failing.drop_duplicates().head(5)]
    return Finding(
        check="types.numbers_as_text", layer="pipeline", severity="critical",
        score=C.clip01(0.6 + 0.4 * plain_fail),
        summary=f"{col} was numeric and now arrives as text; {plain_fail:.1%} of values do "
        f"not parse as plain numbers, rule {rule!r} parses all but {rates[rule]:.1%}.",
        features=(col,),
        evidence={"column": col, "reference_type": "number", "current_type": "text",
                  "parse_rule": rule, "parse_failure_rate": round(plain_fail, 6),
                  "failure_rate_with_rule": round(rates[rule], 6),
                  "failure_rates": {k: round(v, 6) for k, v in rates.items()},
                  "examples": examples, "sampled_rows": len(text),
                  "repair": "parse the current column with toolkit.checks.types.apply_parse_rule"},
        next_step=f"Ask the feed's owner why {col} became text (locale, units, export "
        f"format); parse it with rule {rule!r} before scoring.",
    )


def type_changes(reference: pd.DataFrame, current: pd.DataFrame, *,
                 random_state: int = 0) -> list[Finding]:
    """Columns whose coarse type (number, bool, datetime, text) changed.

    Parameters
    ----------
    reference, current : DataFrame
    random_state : int, default=0
        Seed of the sample (20,000 values) on which parse rules are tried.

    Returns
    -------
    list of Finding
        ``types.numbers_as_text`` (evidence ``column``, ``parse_rule``,
        ``parse_failure_rate``, ``examples``) or ``types.type_change`` (evidence
        ``column``, ``reference_type``, ``current_type``); layer ``pipeline``.
        Integer versus float is not a change; an all-null side is left to the
        missing-values check.
    """
    findings = []
    for col in (c for c in reference.columns if c in current.columns):
        kr, kc = C.kind(reference[col]), C.kind(current[col])
        if kr == kc or "empty" in (kr, kc):
            continue
        if kr == "number" and kc == "text":
            f = _numbers_as_text(col, reference[col], current[col], random_state)
            if f is not None:
                findings.append(f)
                continue
        findings.append(Finding(
            check="types.type_change", layer="pipeline", severity="warning", score=0.7,
            summary=f"{col} changed type from {kr} to {kc}.", features=(col,),
            evidence={"column": col, "reference_type": kr, "current_type": kc,
                      "reference_dtype": str(reference[col].dtype),
                      "current_dtype": str(current[col].dtype)},
            next_step=f"Find out why {col} changed type upstream and convert it back "
            f"before scoring."))
    return findings
