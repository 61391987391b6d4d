"""Explaining two windows on a stratified sample sized by a row or time budget."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from toolkit._exceptions import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from toolkit._attribution_explain import Explainer

#: Rows per window explained when neither ``sample_size`` nor ``time_budget`` is given.
DEFAULT_SAMPLE_SIZE = 2000
#: Fewest rows per window a time budget may shrink the sample to (said in the notes).
MIN_SAMPLE_SIZE = 200
_FIRST_BATCH, _MAX_BATCH, _BATCH_SECONDS = 16, 4096, 2.0


@dataclass
class Explained:
    """SHAP values of the explained rows of both windows, and how they were drawn."""

    groups: list[str]
    base_value: float
    values_ref: np.ndarray
    values_cur: np.ndarray
    output_ref: np.ndarray
    output_cur: np.ndarray
    strata_ref: np.ndarray
    strata_cur: np.ndarray
    scores_ref: np.ndarray  # scores of every row of the window, not just the sample
    scores_cur: np.ndarray
    sample: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    rows_ref: pd.DataFrame | None = None  # raw values of the explained rows
    rows_cur: pd.DataFrame | None = None


def plan_size(n_rows: int, *, sample_size: int | None, time_budget: float | None,
              seconds_per_row: float | None, notes: list[str]) -> int:
    """Rows to explain per window, with a note whenever the plan is not the request."""
    size = DEFAULT_SAMPLE_SIZE if sample_size is None and time_budget is None else n_rows
    if sample_size is not None:
        size = int(sample_size)
    if time_budget is not None and seconds_per_row is not None:
        affordable = int(max(0.0, time_budget) / (2 * max(seconds_per_row, 1e-9)))
        if affordable < MIN_SAMPLE_SIZE:
            notes.append(
                f"The time budget of {time_budget:g} s affords only {affordable} rows per "
                f"window ({seconds_per_row * 1000:.2f} ms per row in a pilot); explained "
                f"{min(MIN_SAMPLE_SIZE, n_rows)} rows per window instead, so the run takes "
                f"longer than the budget."
            )
            affordable = MIN_SAMPLE_SIZE
        size = min(size, affordable)
    if size >= n_rows:
        notes.append(f"Explained all {n_rows} rows of the window (no sampling needed).")
    return min(size, n_rows)


def check_sizes(sample_size: int | None, time_budget: float | None, n_bootstrap: int,
                confidence: float = 0.95) -> None:
    """Validate the budget parameters at the public boundary."""
    if not (isinstance(confidence, float) and 0.5 <= confidence < 1):
        raise InputError(f"confidence must be a number in [0.5, 1), such as 0.95; got "
                         f"{confidence!r}.")
    if sample_size is not None and (not isinstance(sample_size, int) or sample_size < 10):
        raise InputError(
            f"sample_size must be an integer of at least 10 rows per window; got "
            f"{sample_size!r}. Pass None for the default of {DEFAULT_SAMPLE_SIZE}."
        )
    if time_budget is not None and not (isinstance(time_budget, int | float) and time_budget > 0):
        raise InputError(
            f"time_budget must be a positive number of seconds; got {time_budget!r}."
        )
    if not isinstance(n_bootstrap, int) or n_bootstrap < 20:
        raise InputError(f"n_bootstrap must be an integer of at least 20; got {n_bootstrap!r}.")


def explain_rows(explainer: Explainer, X: pd.DataFrame, *, bar: Any
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """(values, output, base value) of all rows of ``X``, in batches that advance ``bar``.

    Batches are sized to take about ``_BATCH_SECONDS`` each: shap's compiled tree code
    prints its own progress bar to the process's stderr (which Jupyter kernels capture
    into notebooks and reports) when one call runs longer than 10 seconds.
    """
    import numpy as np

    values, output, base = [], [], 0.0
    start, size = 0, _FIRST_BATCH
    while start < len(X):
        began = time.perf_counter()
        part = explainer.explain(X.iloc[start:start + size])
        per_row = (time.perf_counter() - began) / max(1, len(part.output))
        values.append(part.values)
        output.append(part.output)
        base = part.base_value
        bar.update(len(part.output))
        start += size
        size = int(min(_MAX_BATCH, max(_FIRST_BATCH, _BATCH_SECONDS / max(per_row, 1e-9))))
    return np.vstack(values), np.concatenate(output), base


def pilot_seconds_per_row(explainer: Explainer, X: pd.DataFrame) -> float:
    """Seconds per row to explain a small pilot batch (warm-up excluded)."""
    explainer.explain(X.head(4))  # first call pays for set-up, not for rows
    start = time.perf_counter()
    explainer.explain(X)
    return (time.perf_counter() - start) / max(1, len(X))
