"""Bin edges, bin labels and quantiles of sorted arrays, for :mod:`toolkit.profile`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["bin_labels", "numeric_edges", "quantiles_sorted"]


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _fmt_datetime(value: float) -> str:
    return str(pd.Timestamp(int(value)))


def bin_labels(kind: str, edges: Any) -> list[str]:
    """Readable labels for the histogram cells of ``edges``.

    Parameters
    ----------
    kind : {"numeric", "categorical", "datetime"}
    edges : ndarray or sequence
        Numeric edges or category values, as stored in :attr:`ColumnProfile.edges`.

    Returns
    -------
    list of str
        ``len(edges) + 2`` labels, ending with the out-of-range (or ``other``) and
        ``missing`` cells.
    """
    if kind == "categorical":
        return [str(v) for v in edges] + ["(other)", "(missing)"]
    e = np.asarray(edges, dtype=float)
    if e.size == 0:
        return ["(out of range)", "(missing)"]
    fmt: Callable[[float], str] = _fmt_datetime if kind == "datetime" else _fmt

    top = np.nextafter(e[-1], -np.inf)  # the reference maximum
    labels = [f"< {fmt(e[0])}"]
    for i in range(e.size - 1):
        lo, hi = e[i], e[i + 1]
        after_atom = i > 0 and np.nextafter(e[i - 1], np.inf) == lo
        left = f"({fmt(e[i - 1])}" if after_atom else f"[{fmt(lo)}"
        if np.nextafter(lo, np.inf) == hi:
            labels.append(f"= {fmt(lo)}")
        elif i == e.size - 2:
            labels.append(f"{left}, {fmt(top)}]")
        else:
            labels.append(f"{left}, {fmt(hi)})")
    labels.append(f"> {fmt(top)}")
    labels.append("(missing)")
    return labels


def quantiles_sorted(s: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``np.quantile(s, levels)`` (linear method) for an already sorted array.

    The same arithmetic as numpy's, bit for bit (its lerp switches sides at one
    half), without numpy's partition pass over the array.
    """
    levels = np.asarray(levels, dtype=np.float64)
    if s.size == 0:
        return np.full(levels.shape, np.nan)
    virtual = (s.size - 1) * levels
    lo = np.floor(virtual)
    gamma = virtual - lo
    lo = np.minimum(lo.astype(np.int64), s.size - 1)
    hi = np.minimum(lo + 1, s.size - 1)
    a, b = s[lo], s[hi]
    with np.errstate(invalid="ignore"):  # inf - inf where a tail is infinite, as numpy
        diff = b - a
        return np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)


def numeric_edges(finite_sorted: np.ndarray, *, bins: int) -> np.ndarray:
    """Reference bin edges: quantile edges, atoms isolated, top edge closed.

    Parameters
    ----------
    finite_sorted : ndarray
        The reference's finite values, sorted.
    bins : int
        Number of quantile bins before ties merge and atoms split them.

    Returns
    -------
    ndarray
        Strictly increasing edges; empty when there are no finite values.
    """
    if finite_sorted.size == 0:
        return np.zeros(0)
    q = quantiles_sorted(finite_sorted, np.linspace(0.0, 1.0, bins + 1))
    values, multiplicity = np.unique(q, return_counts=True)
    # A value repeated in the quantile grid holds >= 1/bins of the mass: give it
    # its own bin [v, nextafter(v)) so a change in that atom is not diluted.
    atoms = values[multiplicity >= 2]
    if values[-1] not in atoms:
        values = values.copy()
        values[-1] = np.nextafter(values[-1], np.inf)
    return np.unique(np.concatenate([values, np.nextafter(atoms, np.inf)]))
