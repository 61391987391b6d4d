"""Drill-down figures for one feature, drawn from a
:class:`toolkit.widgets.FeatureDrilldown` (a plot never recomputes).

Four panels: reference vs current distribution (on reference bin edges, with the
out-of-range and missing bins), values over time, per segment, and attribution.
"""

from __future__ import annotations

from typing import Any

from toolkit.plots._base import axes, plain

__all__ = ["plot_attribution", "plot_by_segment", "plot_distribution", "plot_feature",
           "plot_over_time"]

_REF, _CUR = "#667085", "#d92d20"


def _axes(ax: Any, size: tuple[float, float] = (5.0, 3.0)) -> tuple[Any, Any]:
    return axes(ax, size)


def _empty(ax: Any, title: str, text: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=9, color="#667085",
            wrap=True, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_distribution(drill: Any, *, ax: Any = None) -> Any:
    """Share of rows per bin (reference bin edges), reference vs current."""
    import numpy as np

    fig, ax = _axes(ax)
    table = drill.distribution
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["reference"], width=0.4, color=_REF, label="reference")
    ax.bar(x + 0.2, table["current"], width=0.4, color=_CUR, label="current")
    ax.set_xticks(x)
    ax.set_xticklabels([plain(b) for b in table["bin"]], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("share of rows", fontsize=8)
    ax.set_title("Distribution (reference bins)", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    return fig


def plot_over_time(drill: Any, *, ax: Any = None) -> Any:
    """The feature per time bucket (median and quartiles, or a category's share)."""
    fig, ax = _axes(ax)
    table = drill.over_time
    if table is None or table.empty:
        _empty(ax, "Over time", "No timestamp column was given.")
        return fig
    for window, colour in (("reference", _REF), ("current", _CUR)):
        part = table[table["window"] == window]
        if part.empty:
            continue
        ax.plot(part["period"], part["value"], color=colour, lw=1.5, label=window)
        ax.fill_between(part["period"], part["low"], part["high"], color=colour, alpha=0.15, lw=0)
    ax.set_ylabel(drill.over_time_label, fontsize=8)
    if drill.log_scale:
        ax.set_yscale("symlog")
    ax.set_title("Over time", fontsize=10)
    ax.tick_params(axis="x", labelsize=7, rotation=30)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7, frameon=False)
    return fig


def plot_by_segment(drill: Any, *, ax: Any = None) -> Any:
    """The feature's typical value per segment, reference vs current."""
    import numpy as np

    fig, ax = _axes(ax)
    table = drill.by_segment
    if table is None or table.empty:
        _empty(ax, "Per segment", "No segment column with a few values was found.")
        return fig
    y = np.arange(len(table))
    ax.barh(y + 0.2, table["reference"], height=0.4, color=_REF, label="reference")
    ax.barh(y - 0.2, table["current"], height=0.4, color=_CUR, label="current")
    ax.set_yticks(y)
    ax.set_yticklabels([plain(s) for s in table["segment"]], fontsize=7)
    if drill.log_scale:
        ax.set_xscale("symlog")
    ax.set_xlabel(drill.segment_label, fontsize=8)
    ax.set_title(f"Per {plain(drill.segment_by)}", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    return fig


def plot_attribution(drill: Any, *, ax: Any = None) -> Any:
    """The feature's share of the model's attributions, reference vs current."""
    fig, ax = _axes(ax)
    att = drill.attribution
    if not att:
        _empty(ax, "Attribution", "Attribution was not computed for this feature.")
        return fig
    ax.bar([0, 1], [att["reference"], att["current"]], color=[_REF, _CUR], width=0.6)
    ax.set_xticks([0, 1])
    ax.set_xticklabels(["reference", "current"], fontsize=8)
    ax.set_ylabel("share of mean |SHAP|", fontsize=8)
    ax.set_title("Attribution", fontsize=10)
    return fig


def plot_feature(drill: Any) -> Any:
    """All four panels of one feature in one figure, titled with its name."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(9.0, 5.6))
    plot_distribution(drill, ax=axes[0, 0])
    plot_over_time(drill, ax=axes[0, 1])
    plot_by_segment(drill, ax=axes[1, 0])
    plot_attribution(drill, ax=axes[1, 1])
    fig.suptitle(f"Feature: {plain(drill.feature)}", fontsize=12)
    fig.tight_layout()
    return fig
