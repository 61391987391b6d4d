"""Figures of attribution drift, drawn from results of :mod:`toolkit.attribution`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.plots._base import axes as _axes
from toolkit.plots._base import plain

if TYPE_CHECKING:
    from toolkit.attribution import AttributionDriftResult, PredictionShift

__all__ = ["plot_attribution_bars", "plot_shift_waterfall"]




def plot_attribution_bars(result: AttributionDriftResult, *, top: int = 15,
                          ax: Any = None) -> Any:
    """Mean |SHAP| per feature, reference vs current, with simultaneous intervals.

    Parameters
    ----------
    result : AttributionDriftResult
    top : int, default=15
        Features shown: the largest by attribution in either window.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy as np

    t = result.table.assign(_size=np.maximum(result.table["mean_abs_ref"],
                                             result.table["mean_abs_cur"]))
    t = t.nlargest(top, "_size").iloc[::-1]
    fig, ax = _axes(ax, (7, 0.35 * len(t) + 1.5))
    y = np.arange(len(t))
    for offset, window, color in ((0.2, "ref", "#7f7f7f"), (-0.2, "cur", "#1f77b4")):
        value = t[f"mean_abs_{window}"].to_numpy()
        err = np.vstack([value - t[f"mean_abs_{window}_low"], t[f"mean_abs_{window}_high"] - value])
        ax.barh(y + offset, value, height=0.4, color=color, xerr=np.clip(err, 0, None),
                capsize=2, label="reference" if window == "ref" else "current")
    ax.set_yticks(y, [plain(f) for f in t["feature"]])
    ax.set_xlabel("mean |SHAP| (score units)")
    title = f"Attribution by feature (NDCG {result.ndcg:.2f})"
    ax.set_title(title + (f" in {plain(result.segment)}" if result.segment else ""))
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_shift_waterfall(shift: PredictionShift | AttributionDriftResult, *, top: int = 10,
                         ax: Any = None) -> Any:
    """Waterfall from the reference mean score to the current one, feature by feature.

    Parameters
    ----------
    shift : PredictionShift or AttributionDriftResult
    top : int, default=10
        Features shown; the rest are summed into one "other features" step.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy as np

    from toolkit.attribution import AttributionDriftResult

    split = shift.shift if isinstance(shift, AttributionDriftResult) else shift
    t = split.table
    steps = list(zip(t["feature"].astype(str), t["contribution"], t["ci_low"], t["ci_high"]))
    shown, rest = steps[:top], steps[top:]
    if rest:
        shown.append((f"{len(rest)} other features", sum(s[1] for s in rest), np.nan, np.nan))
    fig, ax = _axes(ax, (7, 0.4 * len(shown) + 2))
    level = split.mean_ref
    path = [level]
    labels = ["reference mean"]
    ax.barh(0, split.mean_ref, color="#7f7f7f")
    for i, (name, value, lo, hi) in enumerate(shown, start=1):
        color = "#d62728" if value > 0 else "#2ca02c"
        ax.barh(i, value, left=level, color=color)
        if np.isfinite(lo):
            ax.errorbar(level + value, i, xerr=[[value - lo], [hi - value]], color="black",
                        capsize=2, linewidth=1)
        level += value
        path += [level] + ([lo + level - value, hi + level - value] if np.isfinite(lo) else [])
        labels.append(name)
    ax.barh(len(shown) + 1, split.mean_cur, color="#1f77b4")
    labels.append("current mean")
    ax.set_yticks(np.arange(len(labels)), [plain(label) for label in labels])
    ax.invert_yaxis()
    path.append(split.mean_cur)
    low, high = min(path), max(path)
    pad = 0.15 * (high - low) or 0.05 * (abs(high) or 1.0)
    ax.set_xlim(low - pad, high + pad)  # zoom on the steps; the mean bars run off the left
    ax.set_xlabel("mean score")
    ax.set_title(f"Mean score {split.mean_ref:.4g} → {split.mean_cur:.4g}: contributions")
    fig.tight_layout()
    return fig
