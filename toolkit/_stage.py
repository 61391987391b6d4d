"""The typed context every stage of :mod:`toolkit.pipeline` reads and fills."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from toolkit.checks.calendar import ClockColumn, clock_columns

__all__ = ["StageContext", "StageSkipped"]


class StageSkipped(Exception):
    """A stage that cannot run with what was given (said plainly in the report)."""


@dataclasses.dataclass
class StageContext:
    """What every stage reads, and what one stage leaves for the next.

    Attributes
    ----------
    reference, current : DataFrame
        The two windows (restricted to the segment in focus, when there is one).
    timestamp, target, prediction : str or None
        Column names of the event time, the label and the logged score.
    features : list of str
        The model's input columns (or every other column without a model).
    model, previous_model : object or None
        The deployed model and the version before it.
    positive : object or None
        The label value counted as positive, for classifiers.
    random_state : int
    key, segment_columns, n_jobs, replay
        As in :func:`toolkit.checks.run_checks` (``replay``: a normal pair's replay).
    clock : dict
        Columns that follow the clock (:func:`toolkit.checks.calendar.clock_columns`).
    profiles : (Profile, Profile) or None
        Window profiles, made by the checks stage for the drift stage.
    moved : set of str
        Columns a stage found changed (warning or critical), for later stages.
    """

    reference: pd.DataFrame
    current: pd.DataFrame
    timestamp: str | None = None
    target: str | None = None
    prediction: str | None = None
    features: list[str] = dataclasses.field(default_factory=list)
    model: Any = None
    previous_model: Any = None
    positive: Any = None
    random_state: int = 0
    key: str | list[str] | None = None
    segment_columns: list[str] | None = None
    n_jobs: int = 2
    replay: bool = False
    clock: dict[str, ClockColumn] = dataclasses.field(default_factory=dict)
    profiles: tuple[Any, Any] | None = None
    moved: set[str] = dataclasses.field(default_factory=set)

    def find_clock(self) -> StageContext:
        """Fill :attr:`clock` from the reference (and current) windows."""
        self.clock = clock_columns(self.reference, self.timestamp, current=self.current,
                                   exclude=(self.target, self.prediction))
        return self

    def roles(self) -> dict[str, Any]:
        """The column roles and seed, as the repairs (:mod:`toolkit.repair`) read them."""
        return {"timestamp": self.timestamp, "target": self.target,
                "prediction": self.prediction, "features": self.features,
                "positive": self.positive, "random_state": self.random_state}

    def on(self, reference: pd.DataFrame, current: pd.DataFrame) -> StageContext:
        """The same columns and clock on a normal pair of windows: a replay, without
        models."""
        return dataclasses.replace(self, reference=reference, current=current, model=None,
                                   previous_model=None, profiles=None, moved=set(),
                                   replay=True)
