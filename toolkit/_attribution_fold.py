"""Fold attributions of transformed columns back onto raw input columns.

SHAP values are additive, so the attribution of a raw column is the sum of the
attributions of the transformed columns computed from it (all one-hot columns of
``channel``, the scaled ``amount``, ...). Which transformed column comes from which
raw columns is found by probing the fitted preprocessing: shift one raw column at a
time across probe rows and see which outputs change. That works for any transformer
(ColumnTransformer, OneHotEncoder, scalers, imputers, nested Pipelines) without
reading their internals. Outputs computed from several raw columns (PCA, polynomial
features) fold onto one group named ``"a+b"``; the sums stay exact.

Outputs that never change in the probe (a category absent from the probe rows) are
matched by name (``get_feature_names_out``: ``channel_app`` belongs to ``channel``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def fold_matrix(pre: Any, features: list[str], probe: pd.DataFrame | None = None
                ) -> tuple[np.ndarray, list[str]] | None:
    """0/1 matrix mapping transformed columns to raw columns (or groups of them).

    Parameters
    ----------
    pre : fitted transformer
        The preprocessing part of a Pipeline.
    features : list of str
        The raw input columns, in model order.
    probe : DataFrame
        Raw rows used to probe dependencies (at least a few dozen, varied).

    Returns
    -------
    (matrix, groups) or None
        ``matrix`` has shape (n_transformed, n_groups); None when some transformed
        column cannot be traced to any raw column.
    """
    if probe is None:
        return None
    deps = _probe(pre, probe[features], features)
    if deps is None:
        return None
    _name_fallback(pre, features, deps)
    if any(not d for d in deps):
        return None
    return _to_matrix(deps, features)


def _transform(pre: Any, X: pd.DataFrame) -> np.ndarray:
    import numpy as np

    Z = pre.transform(X)
    Z = Z.toarray() if hasattr(Z, "toarray") else np.asarray(Z)
    return Z


def _probe(pre: Any, X: pd.DataFrame, features: list[str]) -> list[set[int]] | None:
    """For each transformed column, the raw column indices it changes with."""
    import numpy as np

    try:
        base = _transform(pre, X)
    except Exception:
        return None
    deps: list[set[int]] = [set() for _ in range(base.shape[1])]
    n = len(X)
    for i, col in enumerate(features):
        shifted = X.copy()
        # Roll by about half the rows so most rows get a different value.
        order = np.roll(np.arange(n), max(1, n // 2))
        shifted[col] = X[col].to_numpy()[order]
        try:
            other = _transform(pre, shifted)
        except Exception:
            return None
        changed = ~_same(base, other)
        for j in np.flatnonzero(changed.any(axis=0)):
            deps[j].add(i)
    return deps


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    import numpy as np

    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return (a == b) | (np.isnan(a) & np.isnan(b))
    return np.asarray(a == b)


def _name_fallback(pre: Any, features: list[str], deps: list[set[int]]) -> None:
    """Trace outputs the probe could not by their names (``channel_app``)."""
    if all(deps):
        return
    try:
        names = [str(n) for n in pre.get_feature_names_out(features)]
    except Exception:
        return
    if len(names) != len(deps):
        return
    for j, name in enumerate(names):
        if deps[j]:
            continue
        leaf = name.split("__", 1)[-1]  # drop ColumnTransformer prefixes
        hits = [i for i, f in enumerate(features)
                if leaf == f or leaf.startswith(f + "_") or leaf.endswith("_" + f)]
        if hits:
            longest = max(hits, key=lambda i: len(features[i]))
            deps[j].add(longest)


def _to_matrix(deps: list[set[int]], features: list[str]) -> tuple[np.ndarray, list[str]]:
    import numpy as np

    multi = sorted({tuple(sorted(d)) for d in deps if len(d) > 1})
    in_multi = {i for k in multi for i in k}
    # Every raw column gets a group (zero attribution when the model drops it),
    # unless it only acts together with others.
    keys = [(i,) for i in range(len(features)) if i not in in_multi] + multi
    groups = ["+".join(features[i] for i in k) for k in keys]
    index = {k: g for g, k in enumerate(keys)}
    matrix = np.zeros((len(deps), len(keys)))
    for j, d in enumerate(deps):
        matrix[j, index[tuple(sorted(d))]] = 1.0
    return matrix, groups
