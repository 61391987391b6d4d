"""Model-agnostic SHAP values: shap's PermutationExplainer on raw columns.

shap's maskers need a numeric matrix, so non-numeric columns travel as integer codes
(``-1`` for missing) and are decoded back to their original dtype before each call of
the model. The permutation explainer is exactly additive for every row whatever the
number of permutations; more permutations only lower the noise of single rows, and
the bootstrap intervals of the means already include that noise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class Codec:
    """Numeric encoding of a mixed-type frame that decodes back to the same dtypes."""

    def __init__(self, frames: list[pd.DataFrame], features: list[str]) -> None:
        import pandas as pd
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        self.features = list(features)
        self.dtypes = {c: frames[0][c].dtype for c in features}
        self.codes: dict[str, pd.Index] = {}
        for c in features:
            dtype = self.dtypes[c]
            if is_numeric_dtype(dtype) and not is_bool_dtype(dtype):
                continue
            values = pd.concat([f[c] for f in frames], ignore_index=True).dropna()
            self.codes[c] = pd.Index(values.unique())

    def add(self, frame: pd.DataFrame) -> None:
        """Learn categories of ``frame`` not seen yet (a current window's new codes)."""
        for c, index in self.codes.items():
            new = frame[c].dropna()
            new = new[~new.isin(index)]
            if len(new):
                self.codes[c] = index.append(type(index)(new.unique())).unique()

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        import numpy as np

        out = np.empty((len(frame), len(self.features)), dtype=float)
        for j, c in enumerate(self.features):
            if c in self.codes:
                out[:, j] = self.codes[c].get_indexer(frame[c])
            else:
                out[:, j] = frame[c].to_numpy(dtype=float, na_value=np.nan)
        return out

    def decode(self, A: np.ndarray) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        cols: dict[str, Any] = {}
        for j, c in enumerate(self.features):
            if c in self.codes:
                codes = A[:, j].astype(int)
                values = self.codes[c].to_numpy(dtype=object)[np.clip(codes, 0, None)]
                values[codes < 0] = None
                cols[c] = pd.array(values, dtype=self.dtypes[c])
            else:
                col = pd.Series(A[:, j])
                cols[c] = col if col.isna().any() else col.astype(self.dtypes[c])
        return pd.DataFrame(cols)


class PermutationRoute:
    """Explain any binary classifier or regressor on its raw input columns."""

    def __init__(self, model: Any, background: pd.DataFrame, *, features: list[str],
                 classifier: bool, random_state: int, permutations: int) -> None:
        self.model = model
        self.features = list(features)
        self.classifier = classifier
        self.random_state = random_state
        self.permutations = max(1, int(permutations))
        self.codec = Codec([background], self.features)
        self.background = self.codec.encode(background)

    def _score(self, A: np.ndarray) -> np.ndarray:
        import numpy as np

        X = self.codec.decode(A)
        if self.classifier:
            return np.asarray(self.model.predict_proba(X), dtype=float)[:, 1]
        return np.asarray(self.model.predict(X), dtype=float).ravel()

    def explain(self, X: pd.DataFrame) -> tuple[np.ndarray, float]:
        import numpy as np

        from toolkit._attribution_explain import import_shap

        shap = import_shap()
        self.codec.add(X)
        masker = shap.maskers.Independent(self.background, max_samples=len(self.background))
        explainer = shap.PermutationExplainer(self._score, masker, seed=self.random_state)
        p = len(self.features)
        sv = explainer(self.codec.encode(X), max_evals=self.permutations * (2 * p + 1) + 1,
                       silent=True)
        base = float(np.ravel(sv.base_values)[0])
        return np.asarray(sv.values, dtype=float), base
