"""Figures of scheduled audits: objective trends with their thresholds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit._exceptions import InputError
from toolkit.plots._base import plain

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["plot_objective_trend", "plot_trends"]

_COLOURS = {"met": "#1d4ed8", "breached": "#b42318", "threshold": "#667085"}


def plot_objective_trend(trends: pd.DataFrame, objective: str, *, ax: Any = None) -> Any:
    """One objective's values across runs, its threshold(s) and its breaches.

    Parameters
    ----------
    trends : DataFrame
        The output of :func:`toolkit.audit.trend_table`.
    objective : str
        The objective to draw.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made otherwise.

    Returns
    -------
    matplotlib.figure.Figure
        The line is labelled ``"value"``, breached runs are a scatter labelled
        ``"breached"`` and thresholds are step lines labelled ``"min"``/``"max"``.
    """
    import matplotlib.pyplot as plt

    rows = trends.loc[trends["objective"] == objective].sort_values("window_start")
    if len(rows) == 0:
        raise InputError(f"No trend rows for objective {objective!r}; objectives in the table: "
                         f"{sorted(set(trends['objective']))}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 2.6))
    x = rows["window_start"].dt.tz_localize(None)
    ax.plot(x, rows["value"], marker="o", ms=3, color=_COLOURS["met"], label="value")
    for bound in ("min", "max"):
        if rows[bound].notna().any():
            ax.step(x, rows[bound], where="mid", ls="--", color=_COLOURS["threshold"],
                    label=bound)
    bad = rows["status"] == "breached"
    if bad.any():
        ax.scatter(x[bad], rows.loc[bad, "value"], color=_COLOURS["breached"], zorder=3,
                   label="breached")
    missing = rows["status"] == "unavailable"
    for when in x[missing]:
        ax.axvline(when, color=_COLOURS["breached"], alpha=0.3, lw=6)
    measure = rows["measure"].iloc[-1]
    ax.set_title(plain(f"{objective}: {measure}"), fontsize=10, loc="left")
    ax.legend(loc="best", fontsize=8, frameon=False)
    ax.figure.autofmt_xdate()
    return ax.figure


def plot_trends(trends: pd.DataFrame, *, ax: Any = None) -> Any:
    """A panel per objective (see :func:`plot_objective_trend`), stacked.

    Parameters
    ----------
    trends : DataFrame
        The output of :func:`toolkit.audit.trend_table`.
    ax : matplotlib Axes, optional
        Only when the table holds a single objective.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    objectives = list(dict.fromkeys(trends["objective"]))
    if not objectives:
        fig, ax = plt.subplots(figsize=(7, 1.5)) if ax is None else (ax.figure, ax)
        ax.text(0.5, 0.5, "no objectives", ha="center", va="center")
        ax.set_axis_off()
        return fig
    if ax is not None:
        if len(objectives) > 1:
            raise InputError(f"plot_trends draws {len(objectives)} objectives; pass ax only "
                             f"for one, or call plot_objective_trend per objective.")
        return plot_objective_trend(trends, objectives[0], ax=ax)
    fig, axes = plt.subplots(len(objectives), 1, figsize=(7, 2.4 * len(objectives)),
                             squeeze=False, sharex=True)
    for name, axis in zip(objectives, axes[:, 0]):
        plot_objective_trend(trends, name, ax=axis)
    fig.tight_layout()
    return fig
