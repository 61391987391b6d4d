"""Figures for the drift stage, drawn from results of :mod:`toolkit.drift`.

Each function takes a result and an optional matplotlib ``ax`` and returns the
Figure; nothing is recomputed. matplotlib is imported inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit._exceptions import InputError
from toolkit.plots._base import SEVERITY_COLORS as _COLORS
from toolkit.plots._base import axes as _axes
from toolkit.plots._base import plain

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "plot_bin_shares",
    "plot_domain_classifier",
    "plot_feature_drift",
    "plot_prediction_drift",
]





def plot_feature_drift(result: Any, *, top: int = 20, ax: Axes | None = None) -> Figure:
    """Effect size and interval per column, with the practical thresholds.

    Parameters
    ----------
    result : DriftResult
        From :func:`toolkit.drift.feature_drift`.
    top : int, default=20
        Columns shown, largest effect first.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.lines import Line2D

    table = result.table.head(top).iloc[::-1]
    own = ax is None
    height = 0.35 * max(len(table), 3) + 1.0
    fig, ax = _axes(ax, (7, height + 0.6))  # room for the legend under the axes
    y = np.arange(len(table))
    settings = result.settings
    colors = np.array([_COLORS.get(s, "#7f8c8d") for s in table["severity"]], dtype=object)
    # Columns whose shares moved only through their missing values: the missing-values
    # check reports those, so they are not drift (hollow markers say so).
    by_missing = ((table["low"] > settings["threshold"]) & ~table["drifted"].astype(bool)
                  & (table["low_present"].fillna(np.inf) <= settings["threshold"])).to_numpy()
    ax.hlines(list(y), table["low"], table["high"], colors=list(colors), linewidth=2)
    ax.scatter(table["effect"][~by_missing], y[~by_missing], color=list(colors[~by_missing]),
               zorder=3)
    ax.scatter(table["effect"][by_missing], y[by_missing], facecolors="white",
               edgecolors=list(colors[by_missing]), zorder=3)
    ax.set_yticks(list(y), [plain(f) for f in table["feature"]])
    ax.axvline(settings["threshold"], color=_COLORS["warning"], linestyle="--", linewidth=1)
    ax.axvline(settings["critical"], color=_COLORS["critical"], linestyle="--", linewidth=1)
    shown = [s for s in ("critical", "warning", "info") if s in set(table["severity"])]
    labels = {"critical": "critical drift", "warning": "drift",
              "info": "not drift (below the threshold, or not significant)"}
    handles = [Line2D([], [], marker="o", linestyle="", color=_COLORS.get(s, "#7f8c8d"),
                      label=labels[s]) for s in shown]
    if by_missing.any():
        handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="white",
                              color="#7f8c8d", label="moved by its missing values only "
                              "(see the missing-values check)"))
    if handles and own:  # under the figure, clear of the points and the axis label
        fig.legend(handles=handles, loc="lower center", fontsize=8, frameon=False,
                   ncol=1 if len(handles) > 2 else len(handles))
    elif handles:
        ax.legend(handles=handles, loc="best", fontsize=8)
    if len(table) and float(table["high"].max()) > 1:
        ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlabel(f"PSI, bias-corrected, {settings['confidence']:.0%} interval")
    ax.set_title("Feature drift (dashed: practical and critical thresholds)")
    if own:
        legend_inches = 0.2 + 0.17 * (len(handles) if len(handles) > 2 else 1)
        fig.tight_layout(rect=(0, legend_inches / (height + 0.6), 1, 1))
    else:
        fig.tight_layout()
    return fig


def plot_bin_shares(
    result: Any, feature: str, *, max_bins: int = 25, ax: Axes | None = None
) -> Figure:
    """Reference and current share of each bin of one column.

    Parameters
    ----------
    result : DriftResult or PredictionDrift
        A drift result; for :class:`~toolkit.drift.PredictionDrift` pass the score
        name (any value is accepted, there is one histogram).
    feature : str
        The column.
    max_bins : int, default=25
        Bins shown, those that moved most first when there are more.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy as np

    bins = result.bins if not isinstance(result.bins, dict) else result.bins.get(feature)
    if bins is None:
        raise InputError(
            f"No bins for {feature!r} in this result; tested columns are "
            f"{sorted(result.bins)[:20]}."
        )
    if len(bins) > max_bins:
        keep = bins["contribution"].abs().nlargest(max_bins).index
        bins = bins.loc[sorted(keep)]
    fig, ax = _axes(ax, (7, 0.3 * len(bins) + 1.2))
    y = np.arange(len(bins))[::-1]
    ax.barh(y + 0.2, bins["reference_share"], height=0.4, label="reference", color="#95a5a6")
    ax.barh(y - 0.2, bins["current_share"], height=0.4, label="current", color="#2980b9")
    ax.set_yticks(y, [plain(b) for b in bins["bin"]])
    ax.set_xlabel("share of rows")
    ax.set_title(f"{plain(feature)}: where the rows moved")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_prediction_drift(result: Any, *, ax: Axes | None = None) -> Figure:
    """Score quantiles of the current window against the reference's.

    Points above the diagonal are quantiles that rose.

    Parameters
    ----------
    result : PredictionDrift
        From :func:`toolkit.drift.prediction_drift`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    q = result.quantiles
    fig, ax = _axes(ax, (5, 5))
    ax.plot(q["reference"], q["current"], marker="o", color="#2980b9")
    lo = float(min(q["reference"].min(), q["current"].min()))
    hi = float(max(q["reference"].max(), q["current"].max()))
    ax.plot([lo, hi], [lo, hi], color="#7f8c8d", linestyle="--", linewidth=1)
    for _, row in q.iterrows():
        ax.annotate(f"{row['level']:.0%}", (row["reference"], row["current"]), fontsize=7)
    s = result.stats
    ax.set_xlabel("reference quantile")
    ax.set_ylabel("current quantile")
    ax.set_title(
        f"Scores {s['direction']}: mean {s['mean_reference']:.3g} -> {s['mean_current']:.3g}"
    )
    fig.tight_layout()
    return fig


def plot_domain_classifier(result: Any, *, top: int = 15, ax: Axes | None = None) -> Figure:
    """Columns that let a classifier tell the windows apart.

    Parameters
    ----------
    result : DomainResult
        From :func:`toolkit.drift.domain_classifier`.
    top : int, default=15
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    imp = result.importance.head(top).iloc[::-1]
    fig, ax = _axes(ax, (6, 0.3 * max(len(imp), 3) + 1.2))
    ax.barh([str(f) for f in imp["feature"]], imp["importance"], color="#2980b9")
    ax.set_xlabel("AUC lost when the column is shuffled")
    ax.set_title(f"Domain classifier AUC {result.auc:.3f} ({result.low:.3f}-{result.high:.3f})")
    if imp.empty:
        ax.text(0.5, 0.5, "windows not separable: no driver", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    return fig
