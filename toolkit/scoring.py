"""One way to score any supported model.

Binary classifiers score as the probability of the positive class, regressors as
their prediction. Multiclass models are not supported yet and raise
:class:`~toolkit.ModelError` instead of failing somewhere deeper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from toolkit._exceptions import ModelError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["as_served", "label_values", "model_features", "model_task", "positive_label",
           "predict_scores"]

Task = Literal["classification", "regression"]


def model_task(model: Any) -> Task:
    """``"classification"`` for models with ``predict_proba``, else ``"regression"``."""
    return "classification" if hasattr(model, "predict_proba") else "regression"


def model_features(model: Any) -> list[str] | None:
    """The input column names the model was fitted on, when it recorded them.

    LightGBM names the columns of an array ``Column_0``, ``Column_1``, ...: those are
    not names, and count as none."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(model, "feature_name_", None)  # LightGBM sklearn API
        names = names() if callable(names) else names
        if names is not None and [str(n) for n in names] == [f"Column_{i}" for i in range(len(names))]:
            names = None
    return None if names is None else [str(n) for n in names]


def predict_scores(model: Any, X: pd.DataFrame, *, name: str = "model",
                   window: str | None = None) -> np.ndarray:
    """Score ``X`` with ``model``.

    Parameters
    ----------
    model : estimator
        Anything with ``predict_proba`` (binary) or ``predict``.
    X : DataFrame
        Inputs, with at least the model's feature columns. A model fitted on an
        array (no column names) takes exactly its number of columns, in order.
    name : str, default="model"
        What the model is, for error messages.
    window : str, optional
        Which window ``X`` is (``"reference"``, ``"current"``), for error messages.

    Returns
    -------
    ndarray of float, shape (n_rows,)

    Raises
    ------
    ModelError
        The model lacks input columns, expects another number of unnamed columns,
        fails, is not binary, or returns no finite score for any row.
    """
    features = model_features(model)
    if features is not None:
        missing = [c for c in features if c not in X.columns]
        if missing:
            raise ModelError(
                f"The {name} needs columns {missing} that the data does not have. "
                f"Rename the columns back (see the schema findings) or pass data with them."
            )
        inputs: Any = X[features]
    else:
        inputs = _unnamed_inputs(model, X, name=name)
    return _usable(_score(model, inputs, name=name), name=name, window=window)


def _unnamed_inputs(model: Any, X: pd.DataFrame, *, name: str) -> Any:
    """``X`` for a model fitted on an array: as an array (as it was fitted, so scikit-learn
    does not warn about names), of exactly the model's number of columns."""
    import numbers

    expected = getattr(model, "n_features_in_", None)
    if not isinstance(expected, numbers.Integral) or isinstance(expected, bool):
        return X  # no record of its inputs: let the model judge them
    if X.shape[1] != expected:
        given = [str(c) for c in X.columns]
        shown = given[:30] + ([f"... {len(given) - 30} more"] if len(given) > 30 else [])
        raise ModelError(
            f"The {name} was fitted without column names (on an array, so it records no "
            f"feature_names_in_) and expects {int(expected)} features, in the order it was "
            f"fitted on; the data has {len(given)} candidate columns: {shown}. Refit the "
            f"model on a DataFrame so it records its column names, or pass data with "
            f"exactly its {int(expected)} input columns, in that order."
        )
    return X.to_numpy()


def _score(model: Any, X: Any, *, name: str) -> np.ndarray:
    import numpy as np

    try:
        if hasattr(model, "predict_proba"):
            proba = np.asarray(model.predict_proba(X), dtype=float)
            if proba.ndim != 2 or proba.shape[1] != 2:
                raise ModelError(
                    f"The {name} returns {proba.shape[-1]} class probabilities; Steward "
                    f"supports binary classifiers and regressors. Wrap the model so it "
                    f"returns the score of the class you monitor."
                )
            return proba[:, 1]
        return np.asarray(model.predict(X), dtype=float).ravel()
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(
            f"The {name} failed to score the data: {type(exc).__name__}: {str(exc).rstrip('.')}. Check "
            f"that the columns have the types the model was trained on (see the type "
            f"findings)."
        ) from exc


def _usable(scores: np.ndarray, *, name: str, window: str | None) -> np.ndarray:
    """``scores``, unless not one of them is a number: a mean or a ranking of them
    would print as "nan", so say what happened instead."""
    import numpy as np

    if len(scores) and not np.isfinite(scores).any():
        rows = f"all {len(scores):,} rows" + (f" of the {window} window" if window else "")
        raise ModelError(
            f"The {name} returned no usable scores: {rows} scored NaN or infinity. Check "
            f"that the model file is the fitted model you deploy and that these rows give "
            f"it the inputs it was fitted on (see the missing-value and type findings)."
        )
    return scores


def positive_label(values: pd.Series, model: Any = None) -> Any:
    """The label value that counts as 1: the model's second class when it has two,
    else the larger of two distinct values; None for numeric labels."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return None
    distinct = sorted(values.dropna().astype(str).unique())
    classes = getattr(model, "classes_", None)
    if classes is not None and len(classes) == 2 and set(distinct) <= {str(c) for c in classes}:
        return classes[1]
    return distinct[1] if len(distinct) == 2 else None


def label_values(values: pd.Series, positive: Any = None) -> np.ndarray:
    """Labels as floats: numbers as they are, text as 1.0 where it equals ``positive``
    (see :func:`positive_label`), missing values as NaN."""
    import numpy as np
    import pandas as pd

    if positive is None:
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    out = (values.astype(str) == str(positive)).to_numpy(dtype=float)
    out[values.isna().to_numpy()] = np.nan
    return out


def as_served(df: pd.DataFrame, reference: pd.DataFrame, needed: list[str]) -> pd.DataFrame:
    """The frame as a serving layer would hand it to the model: numbers that arrive as
    text are parsed (failures become missing) and absent columns take the reference's
    most common value. Triage's symptom and the served-score check use this; checks see raw data."""
    import pandas as pd

    from toolkit.checks._common import with_columns

    out = df
    for col in needed:
        if col not in reference.columns:
            continue
        ref_numeric = pd.api.types.is_numeric_dtype(reference[col])
        if col not in out.columns:
            mode = reference[col].mode(dropna=True)
            out = with_columns(out, {col: mode.iloc[0] if len(mode) else None})
        elif ref_numeric and not pd.api.types.is_numeric_dtype(out[col]):
            out = with_columns(out, {col: pd.to_numeric(out[col], errors="coerce")})
    return out
