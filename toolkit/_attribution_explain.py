"""SHAP explainers for the models users have, with attributions on raw input columns.

Output space: binary classifiers are explained in the probability of the positive
class, regressors in their prediction, so every attribution is in the score units a
user complains about. Attributions are interventional SHAP values against one
background sample drawn from the reference window, so for every explained row::

    sum(values[row]) + base_value == model score of row

and, because both windows share the background, the change in mean score between
windows splits exactly into per-feature changes of the mean attribution.

Routes, tried in order:

1. tree models (scikit-learn GradientBoosting, RandomForest, ExtraTrees, DecisionTree;
   LightGBM; XGBoost), alone or as the last step of a Pipeline whose preprocessing
   can be folded back onto raw columns: ``shap.TreeExplainer`` (interventional,
   ``model_output="probability"`` for classifiers);
2. anything else with ``predict_proba``/``predict`` (including HistGradientBoosting,
   whose TreeExplainer output fails additivity in shap 0.51): interventional SHAP by
   antithetic permutations on raw columns (:mod:`toolkit._attribution_agnostic`), on
   at most 50 background rows because its cost grows with them.

Additivity is verified on every batch; a tree route that fails it falls back to
route 2 (and says so in ``method``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit._attribution_fold import fold_matrix
from toolkit._exceptions import ModelError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Tree models TreeExplainer explains exactly: module -> class names (checked with
#: isinstance on already-imported modules, so nothing is imported here).
TREE_MODELS: dict[str, tuple[str, ...]] = {
    "sklearn.ensemble": (
        "GradientBoostingClassifier", "GradientBoostingRegressor",
        "RandomForestClassifier", "RandomForestRegressor",
        "ExtraTreesClassifier", "ExtraTreesRegressor",
    ),
    "sklearn.tree": (
        "DecisionTreeClassifier", "DecisionTreeRegressor",
        "ExtraTreeClassifier", "ExtraTreeRegressor",
    ),
    "lightgbm": ("LGBMClassifier", "LGBMRegressor", "Booster"),
    "xgboost": ("XGBClassifier", "XGBRegressor", "Booster"),
}


def import_shap() -> Any:
    """Import shap, silencing the matplotlib deprecation its import triggers (shap 0.51)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The set_(bad|over|under) function",
                                category=PendingDeprecationWarning)
        import shap
    return shap


def is_tree_model(model: Any) -> bool:
    """True when ``model`` is one of :data:`TREE_MODELS`."""
    for module, names in TREE_MODELS.items():
        mod = sys.modules.get(module)
        if mod is None:
            continue
        if any(isinstance(model, getattr(mod, n, ())) for n in names):
            return True
    return False


@dataclass
class Attributions:
    """SHAP values of some rows on raw input columns.

    ``values[i, j]`` is the attribution of ``features[j]`` to row ``i``;
    ``values.sum(1) + base_value == output`` (up to float error).
    """

    values: np.ndarray
    base_value: float
    output: np.ndarray
    features: list[str]
    method: str = ""


def model_is_classifier(model: Any, X: pd.DataFrame) -> bool:
    """True for binary classifiers; raise ModelError for multiclass models."""
    if not hasattr(model, "predict_proba"):
        return _booster_output(model) == "probability"
    classes = getattr(model, "classes_", None)
    n = len(classes) if classes is not None else None
    if n is None:
        import numpy as np

        n = np.asarray(model.predict_proba(X.head(2))).shape[-1]
    if n != 2:
        raise ModelError(
            f"The model predicts {n} classes; attribution drift supports binary "
            f"classifiers and regressors. Wrap the model so that predict returns the score "
            f"of the one class you monitor, then pass the wrapper."
        )
    return True


def _booster_output(model: Any) -> str:
    """'probability' for native LightGBM/XGBoost boosters with a binary objective."""
    if not (is_tree_model(model) and type(model).__name__ == "Booster"):
        return "raw"
    objective = ""
    params = getattr(model, "params", None)
    if isinstance(params, dict):  # LightGBM
        objective = str(params.get("objective", ""))
    else:  # XGBoost keeps its objective in the JSON config
        import json

        cfg = json.loads(model.save_config())
        objective = str(cfg["learner"]["objective"]["name"])
    if objective.startswith(("multiclass", "multi:", "softmax", "multiclassova")):
        raise ModelError(
            f"The booster's objective is {objective!r} (multiclass); attribution drift "
            f"supports binary classifiers and regressors."
        )
    return "probability" if objective.startswith(("binary", "cross_entropy")) else "raw"


class Explainer:
    """Explain rows of one model against one background; see the module docstring.

    Parameters
    ----------
    model : estimator
    background : DataFrame
        Reference rows (raw columns) the attributions are measured against.
    features : list of str
        Raw input columns, in the order the model takes them.
    random_state : int
    probe : DataFrame, optional
        Reference rows used to trace Pipeline outputs to raw columns (default: the
        background).
    random_state : int
    permutations : int
        Permutations per row of the model-agnostic route.
    """

    def __init__(self, model: Any, background: pd.DataFrame, *, features: list[str],
                 probe: pd.DataFrame | None = None, random_state: int = 0,
                 permutations: int = 4) -> None:
        self.model = model
        self.features = list(features)
        self.background = background[self.features]
        self.probe = self.background if probe is None else probe[self.features]
        self.random_state = random_state
        self.permutations = permutations
        self.classifier = model_is_classifier(model, self.background)
        self._tree: Any = None
        self._agnostic: Any = None
        self._verified = False
        self.method = ""
        self._build()

    def _build(self) -> None:
        route = _tree_route(self.model, self.background, self.features, self.probe)
        if route is None:
            self._use_agnostic("")
            return
        self._tree = route
        self.method = route.method
        # Decide the route once, on a few background rows, so that every explained
        # row of a run is attributed the same way and onto the same groups.
        self.explain(self.background.head(16))

    def _use_agnostic(self, why: str) -> None:
        from toolkit._attribution_agnostic import PermutationRoute

        self._tree = None
        self._agnostic = PermutationRoute(
            self.model, self.background.head(50), features=self.features,
            classifier=self.classifier,
            random_state=self.random_state, permutations=self.permutations,
        )
        self.method = ("Permutation SHAP (interventional, antithetic) on raw columns"
                       + (f" ({why})" if why else ""))

    def explain(self, X: pd.DataFrame) -> Attributions:
        """SHAP values of the rows of ``X`` on :attr:`groups`; additivity is checked."""
        from toolkit.scoring import predict_scores

        X = X[self.features]
        output = predict_scores(self.model, X)
        first = self._verified is False
        self._verified = True
        if self._tree is not None:
            values, base = self._tree.explain(X, classifier=self.classifier)
            if _additive(values, base, output):
                return Attributions(values, base, output, self._tree.groups, self.method)
            if not first:
                raise ModelError(_NOT_ADDITIVE)
            self._use_agnostic("TreeExplainer failed the additivity check on this model")
            return self.explain(X)
        values, base = self._agnostic.explain(X)
        if not _additive(values, base, output):
            raise ModelError(_NOT_ADDITIVE)
        return Attributions(values, base, output, list(self.features), self.method)

    @property
    def groups(self) -> list[str]:
        """Names of the attributed columns (raw columns, or ``a+b`` groups)."""
        return list(self._tree.groups) if self._tree is not None else list(self.features)


_NOT_ADDITIVE = (
    "SHAP values of the model do not add up to its scores (additivity failed). The model "
    "may be non-deterministic (fix its random seed) or change its output between calls."
)


#: Share of rows allowed to miss additivity. Trees compare float32 copies of the
#: inputs, so a value that ties a split threshold after rounding can take another
#: branch in shap than in the model (seen on one row in 2,000 of the demo). A handful
#: of such rows moves a mean by nothing measurable; a broken explainer fails on most.
_ADDITIVITY_SLACK = 0.01
#: Largest miss on any row that still counts as float32 rounding, per unit of the
#: scores' scale.
_ROUNDING = 0.02


def _additive(values: np.ndarray, base: float, output: np.ndarray) -> bool:
    import numpy as np

    err = np.abs(values.sum(axis=1) + base - output)
    tol = 1e-4 * max(1.0, float(np.mean(np.abs(output)))) + 1e-6
    allowed = max(1, int(_ADDITIVITY_SLACK * len(err))) if len(err) >= 8 else 0
    if np.sum(err > tol) <= allowed:
        return True
    # Forests tie float32 thresholds on many rows, each by one leaf's share of the
    # forest: held-out random forests missed by up to 0.007 and 0.0125 of probability,
    # on up to every row of a small batch. Misses under 2% of the scores' scale (a
    # probability, or the mean size of a regression's predictions) are rounding for
    # comparing attributions between windows; a broken explainer misses by as much as
    # the scores vary.
    scale = max(1.0, float(np.mean(np.abs(output)))) if len(output) else 1.0
    return bool(float(err.max(initial=0.0)) <= _ROUNDING * scale + tol)


@dataclass
class _TreeRoute:
    explainer: Any
    pre: Any  # fitted preprocessing (or None)
    matrix: Any  # (n_transformed, n_groups) 0/1 folding matrix, or None
    groups: list[str]
    method: str

    def explain(self, X: pd.DataFrame, *, classifier: bool) -> tuple[np.ndarray, float]:
        import numpy as np

        Z = X if self.pre is None else _dense(self.pre.transform(X))
        sv = self.explainer(Z, check_additivity=False)
        values = np.asarray(sv.values, dtype=float)
        base = np.asarray(sv.base_values, dtype=float)
        if values.ndim == 3:  # (rows, features, classes): keep the positive class
            values, base = values[..., 1], base.reshape(len(X), -1)[:, -1]
        base_value = float(np.ravel(base)[0])
        if self.matrix is not None:
            values = values @ self.matrix
        return values, base_value


def _dense(Z: Any) -> Any:
    import numpy as np

    return Z.toarray() if hasattr(Z, "toarray") else np.asarray(Z, dtype=float)


def _tree_route(model: Any, background: pd.DataFrame, features: list[str],
                probe: pd.DataFrame) -> _TreeRoute | None:
    """A TreeExplainer route for ``model``, or None when only route 2 applies."""
    from pandas.api.types import is_numeric_dtype

    pre, final = _split_pipeline(model)
    if not is_tree_model(final):
        return None
    if pre is None:
        if not all(is_numeric_dtype(background[c]) for c in features):
            return None
        Z, matrix, groups = background, None, list(features)
    else:
        folded = fold_matrix(pre, features, probe)
        if folded is None:
            return None
        matrix, groups = folded
        Z = _dense(pre.transform(background))
    shap = import_shap()
    output = "probability" if (hasattr(final, "predict_proba") or _booster_output(final) ==
                                "probability") else "raw"
    try:
        explainer = shap.TreeExplainer(final, data=Z, feature_perturbation="interventional",
                                       model_output=output)
    except Exception:  # shap cannot read this tree model: use the model-agnostic route
        return None
    name = type(final).__name__
    where = f" on {len(groups)} raw columns folded from the Pipeline" if pre is not None else ""
    return _TreeRoute(explainer, pre, matrix, groups,
                      f"TreeExplainer (interventional, {output}) for {name}{where}")


def _split_pipeline(model: Any) -> tuple[Any, Any]:
    """(preprocessing, final estimator) of a scikit-learn Pipeline, else (None, model)."""
    steps = getattr(model, "steps", None)
    if not isinstance(steps, list) or not steps:
        return None, model
    if len(steps) == 1:
        return None, steps[0][1]
    return model[:-1], steps[-1][1]
