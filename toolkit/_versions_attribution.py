"""What each version relies on: attribution of both versions on the same rows.

Used by :mod:`toolkit.versions` (split from it to keep modules small). Methods live in
the explicit registry :data:`ATTRIBUTION_METHODS`; ``"auto"`` means SHAP, and
permutation importance for a model SHAP cannot explain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit._exceptions import InputError, ModelError

if TYPE_CHECKING:
    import pandas as pd


def permutation_importance(
    data: pd.DataFrame,
    models: dict[str, Any],
    *,
    features: list[str],
    sample_size: int = 2000,
    n_repeats: int = 3,
    random_state: int = 0,
) -> pd.DataFrame:
    """Label-free permutation importance of each version on the same sample.

    The importance of a feature is the mean absolute change of a version's score when
    that column is shuffled: it needs no labels, and it is zero for a feature a
    version does not read, which is how "B lost feature f" shows.

    Parameters
    ----------
    data : DataFrame
    models : dict of str to model
        Version name (``"a"``, ``"b"``) to model.
    features : list of str
        Columns to permute.
    sample_size, n_repeats, random_state : int
        Rows explained (a uniform sample), shuffles per feature, and the seed.

    Returns
    -------
    DataFrame
        ``feature`` and ``importance_<name>`` per version.
    """
    import numpy as np
    import pandas as pd

    from toolkit.scoring import predict_scores

    rng = np.random.default_rng(random_state)
    idx = rng.choice(len(data), min(sample_size, len(data)), replace=False)
    X = data.iloc[np.sort(idx)].reset_index(drop=True)
    n = len(X)
    copies = [X]  # one frame with every shuffled copy: one predict call per version
    for f in features:
        for _ in range(n_repeats):
            Xp = X.copy()
            Xp[f] = X[f].iloc[rng.permutation(n)].reset_index(drop=True)  # keeps the dtype
            copies.append(Xp)
    stacked = pd.concat(copies, ignore_index=True)
    out: dict[str, list[float]] = {}
    for k, m in models.items():
        s = predict_scores(m, stacked, name=f"version {k.upper()}").reshape(-1, n)
        moved = np.abs(s[1:] - s[0]).mean(axis=1).reshape(len(features), n_repeats)
        out[f"importance_{k}"] = moved.mean(axis=1).tolist()
    return pd.DataFrame({"feature": features, **out})


def shap_importance(
    data: pd.DataFrame,
    models: dict[str, Any],
    *,
    features: list[str],
    sample_size: int = 200,
    background_size: int = 50,
    random_state: int = 0,
) -> pd.DataFrame:
    """Mean absolute SHAP value per raw column of each version, on the same rows.

    Uses :func:`toolkit.attribution.shap_values` (TreeExplainer for tree models,
    Pipelines folded back onto raw columns) with one background sample shared by both
    versions. A column a version does not read gets 0.

    Parameters
    ----------
    data : DataFrame
    models : dict of str to model
    features : list of str
        Columns to report.
    sample_size : int, default=200
        Rows explained (a uniform sample). Explaining is the slow part: interventional
        TreeExplainer costs rows x background x trees.
    background_size : int, default=50
        Background rows, drawn apart from the explained ones.
    random_state : int, default=0

    Returns
    -------
    DataFrame
        ``feature`` and ``importance_<name>`` per version.
    """
    import numpy as np
    import pandas as pd

    from toolkit.attribution import shap_values

    rng = np.random.default_rng(random_state)
    n = min(len(data), sample_size + background_size)
    idx = rng.choice(len(data), n, replace=False)
    bg = data.iloc[np.sort(idx[:background_size])]
    X = data.iloc[np.sort(idx[background_size:])] if n > background_size else bg
    out: dict[str, list[float]] = {}
    for k, m in models.items():
        att = shap_values(X, model=m, background=bg, random_state=random_state)
        mean_abs = dict(zip(att.features, np.abs(att.values).mean(axis=0)))
        out[f"importance_{k}"] = [float(mean_abs.get(f, 0.0)) for f in features]
    return pd.DataFrame({"feature": features, **out})


#: Attribution method name -> function(data, models, *, features, sample_size, random_state).
#: ``"auto"`` in :func:`compare_versions` means SHAP, falling back to permutation
#: importance for a model SHAP cannot explain.
ATTRIBUTION_METHODS: dict[str, Any] = {
    "shap": shap_importance,
    "permutation": permutation_importance,
}


def attribution_table(
    data: pd.DataFrame,
    model_a: Any,
    model_b: Any,
    features: list[str],
    method: str,
    sample_size: int | None,
    random_state: int,
) -> pd.DataFrame:
    import numpy as np

    if method != "auto" and method not in ATTRIBUTION_METHODS:
        raise InputError(
            f"Unknown attribution method {method!r}; expected 'auto' or one of "
            f"{list(ATTRIBUTION_METHODS)}."
        )
    models = {"a": model_a, "b": model_b}
    kw: dict[str, Any] = {"features": features, "random_state": random_state}
    if sample_size is not None:
        kw["sample_size"] = sample_size
    if method == "auto":
        try:
            method, table = "shap", shap_importance(data, models, **kw)
        except (ModelError, InputError, ImportError, ValueError, TypeError):
            method, table = "permutation", permutation_importance(data, models, **kw)
    else:
        table = ATTRIBUTION_METHODS[method](data, models, **kw)
    for k in ("a", "b"):
        total = table[f"importance_{k}"].sum()
        table[f"share_{k}"] = table[f"importance_{k}"] / total if total > 0 else np.nan
    table["delta_share"] = table["share_b"] - table["share_a"]
    table["method"] = method
    return table.sort_values("share_a", ascending=False, kind="stable").reset_index(drop=True)
