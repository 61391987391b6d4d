"""Model-agnostic SHAP values on raw columns, for any ``predict_proba``/``predict``.

A small vectorised permutation estimator rather than shap's PermutationExplainer:
shap's masked-model path compiles numba code on first use, which costs tens of
seconds in every new process (each CLI run, each report). Rows are masked on a
numeric matrix: non-numeric columns travel as integer codes (``-1`` for missing) and
are decoded back to their original dtype before each call of the model.
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
    """Explain any binary classifier or regressor on its raw input columns.

    Interventional SHAP values estimated with antithetic permutations: for each row and
    permutation, the row's values replace the background's column by column, and each
    column is credited with the change of the mean score over the background. The
    credits of one permutation telescope to ``f(x) - mean f(background)``, so every
    row is exactly additive whatever the number of permutations. Permutations are
    drawn independently per row, so their noise averages out over rows and the
    bootstrap over rows accounts for it.
    """

    #: Model rows scored per call; bounds memory (rows times columns times 8 bytes).
    BLOCK = 200_000

    def __init__(self, model: Any, background: pd.DataFrame, *, features: list[str],
                 classifier: bool, random_state: int, permutations: int) -> None:
        import numpy as np

        self.model = model
        self.features = list(features)
        self.classifier = classifier
        self.pairs = max(1, int(permutations) // 2)
        self.rng = np.random.default_rng(random_state)
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

        self.codec.add(X)
        A = self.codec.encode(X)
        m, p = self.background.shape
        per_row = 2 * self.pairs * (p + 1) * m
        step = max(1, self.BLOCK // per_row)
        parts = [self._explain_block(A[i:i + step]) for i in range(0, len(A), step)]
        base = float(np.mean(self._score(self.background)))
        return np.vstack(parts), base

    def _explain_block(self, A: np.ndarray) -> np.ndarray:
        import numpy as np

        r, p = A.shape
        m = self.background.shape[0]
        half = self.rng.permuted(np.tile(np.arange(p), (r, self.pairs, 1)), axis=2)
        perms = np.concatenate([half, half[..., ::-1]], axis=1)  # (r, P, p), antithetic
        rank = np.argsort(perms, axis=2)
        # mask[r, P, k, c]: column c comes from the row after k steps of the permutation
        mask = rank[:, :, None, :] < np.arange(p + 1)[None, None, :, None]
        rows = np.where(mask[:, :, :, None, :], A[:, None, None, None, :],
                        self.background[None, None, None, :, :])
        scores = self._score(rows.reshape(-1, p)).reshape(r, perms.shape[1], p + 1, m)
        gains = np.diff(scores.mean(axis=3), axis=2)  # (r, P, p): gain of step k
        credit = np.zeros_like(gains)
        np.put_along_axis(credit, perms, gains, axis=2)
        return credit.mean(axis=1)
