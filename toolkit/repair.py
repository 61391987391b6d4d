"""Counterfactual repairs: undo a suspected fault and see what is left of the symptom.

A repair takes a finding and the two windows and returns a repaired copy of the
current window (inputs are never modified), or ``None`` when it does not apply. The
registry :data:`REPAIRS` maps a check (or a check family, the part before the dot) to
its repair; a finding about one feature that has no specific repair falls back to
:func:`restore_distribution`, which gives the feature back its reference distribution
while keeping each row's rank.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from toolkit.findings import Finding

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["REPAIRS", "repair", "restore_distribution"]

Repair = Callable[[Finding, "pd.DataFrame", "pd.DataFrame", dict[str, Any]], "pd.DataFrame | None"]


def event_times(values: pd.Series) -> pd.Series:
    """Times as naive UTC, whatever they arrive as (zoned, mixed offsets, text), the
    way the checks date their findings, so the two compare; unparseable values are NaT."""

    from toolkit.checks._common import as_datetime

    try:
        return as_datetime(values, name="current", column=str(values.name))
    except (ValueError, TypeError):  # mostly unparseable: what parses, the rest NaT
        from toolkit.io import parse_times

        return parse_times(values)


def _mask(current: pd.DataFrame, evidence: dict[str, Any], ctx: dict[str, Any]) -> Any:
    """Rows the fault touched: after ``since`` and inside ``segment`` when given."""
    import pandas as pd

    mask = pd.Series(True, index=current.index)
    since, ts = evidence.get("since"), ctx.get("timestamp")
    if since and ts and ts in current.columns:
        times = event_times(current[ts])
        mask &= (times >= pd.Timestamp(since).tz_localize(None)).fillna(False).astype(bool)
    segment = evidence.get("segment")
    if segment:
        from toolkit._exceptions import InputError
        from toolkit.segment_expr import segment_mask

        try:
            mask &= segment_mask(current, segment)
        except InputError:  # a segment the frame cannot evaluate: no segment repair
            return None
    return mask


def rescale(finding: Finding, reference: pd.DataFrame, current: pd.DataFrame,
            ctx: dict[str, Any]) -> pd.DataFrame | None:
    """Undo the unit change on the affected values (subtract the offset, divide by the factor)."""
    ev = dict(finding.evidence)
    col, factor = ev.get("column"), ev.get("factor")
    if col not in current.columns or not factor:
        return None
    mask = _mask(current, ev, ctx)
    if mask is None:
        return None
    out = current.copy()
    offset = float(ev.get("offset") or 0.0)  # affine conversions: temperatures
    out.loc[mask, col] = (out.loc[mask, col] - offset) / float(factor)
    return out


def shift_clock(finding: Finding, reference: pd.DataFrame, current: pd.DataFrame,
                ctx: dict[str, Any]) -> pd.DataFrame | None:
    """Move the shifted event times back, and recompute the columns derived from them."""
    import pandas as pd

    from toolkit.checks.clock import CLOCK_PARTS, zone

    ev = dict(finding.evidence)
    col, shift = ev.get("column"), ev.get("shift_hours")
    if col not in current.columns or not shift \
            or not pd.api.types.is_datetime64_any_dtype(current[col]):
        return None  # times as text or numbers: rewriting them would change their form
    mask = _mask(current, ev, {**ctx, "timestamp": col})
    if mask is None:
        return None
    fixed = event_times(current[col]) - pd.Timedelta(hours=float(shift))
    mask &= fixed.notna()  # a missing time stays missing, and so do its derived values
    tz = zone(current[col])
    if tz is not None:  # back to the column's zone, read on its wall clock
        fixed = fixed.dt.tz_localize("UTC").dt.tz_convert(tz)
    out = current.copy()
    out.loc[mask, col] = fixed[mask].astype(current[col].dtype)
    for name, which in ev.get("derived_columns") or ():
        if name in out.columns and which in CLOCK_PARTS:
            values = CLOCK_PARTS[which](fixed[mask])
            kind = out[name].dtype
            out.loc[mask, name] = values.astype(kind) if pd.api.types.is_integer_dtype(kind) \
                else values.astype("float64")
    return out


def rename_back(finding: Finding, reference: pd.DataFrame, current: pd.DataFrame,
                ctx: dict[str, Any]) -> pd.DataFrame | None:
    """Give a renamed column its reference name back."""
    ev = finding.evidence
    old, new = ev.get("old"), ev.get("new")
    if not old or new not in current.columns:
        return None
    return current.rename(columns={new: old})


def remap_back(finding: Finding, reference: pd.DataFrame, current: pd.DataFrame,
               ctx: dict[str, Any]) -> pd.DataFrame | None:
    """Map remapped category codes back to their reference values."""
    ev = finding.evidence
    col, pairs = ev.get("column"), ev.get("mapping")
    if col not in current.columns or not pairs:
        return None
    mapping = {str(p["new"]): str(p["old"]) for p in pairs}
    out = current.copy()
    out[col] = out[col].astype("string").replace(mapping)
    if col in reference.columns and not _is_text(reference[col]):
        out[col] = out[col].astype(reference[col].dtype)
    return out


def swap_codes_back(finding: Finding, reference: pd.DataFrame, current: pd.DataFrame,
                    ctx: dict[str, Any]) -> pd.DataFrame | None:
    """Swap the two exchanged category codes back on the rows since the swap."""
    ev = dict(finding.evidence)
    col, values = ev.get("column"), ev.get("values")
    if col not in current.columns or not values or len(values) != 2:
        return None
    mask = _mask(current, ev, ctx)
    if mask is None:
        return None
    import numpy as np
    import pandas as pd

    from toolkit.checks.categories import _label

    codes, uniques = pd.factorize(current[col], use_na_sentinel=True)
    labels = np.array([_label(u) for u in uniques] + [None], dtype=object)[codes]
    a, b = (str(v) for v in values)
    hit_a, hit_b = (mask & (labels == v) for v in (a, b))
    out = current.copy()
    first_a, first_b = current.loc[hit_a, col], current.loc[hit_b, col]
    if len(first_a) and len(first_b):  # each takes the other's stored form (1 or "1")
        out.loc[hit_a, col] = first_b.iloc[0]
        out.loc[hit_b, col] = first_a.iloc[0]
    elif len(first_a) or len(first_b):
        return None  # one label absent after the date: not a swap to undo
    return out


def negate(finding: Finding, reference: pd.DataFrame, current: pd.DataFrame,
           ctx: dict[str, Any]) -> pd.DataFrame | None:
    """Undo the sign flip: negate the affected values."""
    ev = dict(finding.evidence)
    col = ev.get("column")
    if col not in current.columns:
        return None
    mask = _mask(current, ev, ctx)
    if mask is None:
        return None
    out = current.copy()
    out.loc[mask, col] = -out.loc[mask, col]
    return out


def _is_text(series: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series))


def swap_back(finding: Finding, reference: pd.DataFrame, current: pd.DataFrame,
              ctx: dict[str, Any]) -> pd.DataFrame | None:
    """Swap the two columns back."""
    if len(finding.features) != 2 or any(c not in current.columns for c in finding.features):
        return None
    a, b = finding.features
    from toolkit.checks._common import with_columns

    return with_columns(current, {a: current[b].to_numpy(), b: current[a].to_numpy()})


def parse_numbers(finding: Finding, reference: pd.DataFrame, current: pd.DataFrame,
                  ctx: dict[str, Any]) -> pd.DataFrame | None:
    """Parse numbers that arrive as text with the rule the type check found."""
    from toolkit.checks.types import apply_parse_rule

    col, rule = finding.evidence.get("column"), finding.evidence.get("parse_rule")
    if col not in current.columns or not rule:
        return None
    out = current.copy()
    out[col] = apply_parse_rule(out[col].astype("string"), rule)
    return out


def drop_duplicates(finding: Finding, reference: pd.DataFrame, current: pd.DataFrame,
                    ctx: dict[str, Any]) -> pd.DataFrame | None:
    """Drop duplicate rows (or duplicate keys)."""
    keys = finding.evidence.get("key_columns") or None
    if keys and any(k not in current.columns for k in keys):
        return None
    return current.drop_duplicates(subset=keys, ignore_index=True)


def restore_distribution(finding: Finding, reference: pd.DataFrame, current: pd.DataFrame,
                         ctx: dict[str, Any]) -> pd.DataFrame | None:
    """Give the finding's features their reference distribution back, keeping each row's rank.

    Numbers are quantile-mapped (the k-th smallest current value gets the reference
    quantile of the same rank); other values are redrawn from the reference
    frequencies, seeded. Rows affected by a finding's ``since``/``segment`` only.
    Several features (columns that emptied together) are restored together.
    """
    import numpy as np

    cols = list(finding.features)
    if not cols or any(c not in current.columns or c not in reference.columns for c in cols):
        return None
    mask = _mask(current, dict(finding.evidence), ctx)
    if mask is None or not mask.any():
        return None
    rng = np.random.default_rng(ctx.get("random_state", 0))
    out = current.copy()
    for col in cols:
        if not _restore_column(out, reference, col, mask, rng):
            return None
    return out


def _restore_column(out: pd.DataFrame, reference: pd.DataFrame, col: str, mask: Any,
                    rng: Any) -> bool:
    import numpy as np
    import pandas as pd

    ref = reference[col].dropna()
    if ref.empty:
        return False
    target = out.loc[mask, col]
    if pd.api.types.is_numeric_dtype(ref) and not pd.api.types.is_bool_dtype(ref):
        ranks = pd.to_numeric(target, errors="coerce").rank(pct=True, method="average")
        ranks = ranks.fillna(pd.Series(rng.uniform(size=len(ranks)), index=ranks.index))
        mapped = np.quantile(ref.to_numpy(dtype=float), np.clip(ranks.to_numpy(), 0, 1))
        if pd.api.types.is_integer_dtype(ref):
            mapped = np.round(mapped)
        out[col] = out[col].astype(float) if not pd.api.types.is_float_dtype(out[col]) else out[col]
        out.loc[mask, col] = mapped
    else:
        drawn = rng.choice(ref.to_numpy(dtype=object), size=int(mask.sum()))
        out[col] = out[col].astype(object)
        out.loc[mask, col] = drawn
        out[col] = out[col].astype(reference[col].dtype)
    return True


#: check or family -> repair. Explicit, filled by hand.
REPAIRS: dict[str, Repair] = {
    "scale.unit_change": rescale,
    "scale.sign_flip": negate,
    "clock.shift": shift_clock,
    "schema.renamed_column": rename_back,
    "categories.remapped_codes": remap_back,
    "categories.stopped_values": remap_back,  # when new values took its place
    "categories.swapped_codes": swap_codes_back,
    "schema.swapped_columns": swap_back,
    "types.numbers_as_text": parse_numbers,
    "duplicates": drop_duplicates,
    "missing.null_spike": restore_distribution,  # columns that emptied together, together
}


def _rescaled(finding: Finding) -> str:
    """The rescale repair in words, with its numbers."""
    ev = finding.evidence
    factor, offset = float(ev["factor"]), float(ev.get("offset") or 0.0)
    if offset:
        return f"Undo the conversion on the affected values: (x - {offset:.6g}) / {factor:.6g}."
    return f"Divide the affected values by {factor:.6g}."


def repair(finding: Finding, reference: pd.DataFrame, current: pd.DataFrame,
           ctx: dict[str, Any]) -> tuple[str, pd.DataFrame] | None:
    """Apply the repair for ``finding``: ``(description, repaired current)`` or None.

    Labels are never repaired: imputing them would fabricate the quality they measure.
    """
    if ctx.get("target") is not None and ctx["target"] in finding.features:
        return None
    fn = REPAIRS.get(finding.check) or REPAIRS.get(finding.check.split(".")[0])
    if fn is not None:
        try:
            repaired = fn(finding, reference, current, ctx)
        except Exception:  # a repair is evidence, never a reason to fail the triage
            repaired = None
        if repaired is not None:
            if fn is restore_distribution:
                return _restored(finding), repaired
            if fn is rescale:
                return _rescaled(finding), repaired
            if fn is shift_clock:
                return _clock_moved(finding), repaired
            return (fn.__doc__ or fn.__name__).strip().splitlines()[0], repaired
    if len(finding.features) != 1:  # the fallback restores one column, never a guess at several
        return None
    try:
        repaired = restore_distribution(finding, reference, current, ctx)
    except Exception:
        repaired = None
    return None if repaired is None else (_restored(finding), repaired)


def _clock_moved(finding: Finding) -> str:
    """The clock repair in words, with its numbers."""
    ev = finding.evidence
    derived = [str(c) for c, _ in ev.get("derived_columns") or ()]
    also = f", and recompute {', '.join(derived)} from them" if derived else ""
    since = f" from {ev['since']} on" if ev.get("since") else ""
    return f"Move the {ev['column']} values{since} by {-float(ev['shift_hours']):+g} h{also}."


def _restored(finding: Finding) -> str:
    names = list(finding.features)
    if len(names) == 1:
        return f"Give {names[0]} its reference distribution back."
    return f"Give {', '.join(names[:-1])} and {names[-1]} their reference distribution back."
