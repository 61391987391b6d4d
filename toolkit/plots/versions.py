"""Figures of a version comparison, drawn from a :class:`toolkit.versions.VersionComparison`.

Each function takes the result and an optional ``ax`` and returns the Figure; none
recomputes anything. matplotlib is imported inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.plots._base import axes, plain

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from toolkit.versions import VersionComparison

__all__ = [
    "plot_attribution_deltas",
    "plot_calibration",
    "plot_flip_matrix",
    "plot_metric_deltas",
    "plot_score_deltas",
]


def _axes(ax: Any, size: tuple[float, float] = (6.0, 3.6)) -> tuple[Figure, Any]:
    return axes(ax, size, constrained=True)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#667085")
    ax.set_axis_off()


def plot_score_deltas(result: VersionComparison, *, ax: Any = None) -> Figure:
    """Histogram of ``score_b - score_a`` on the same rows."""
    fig, ax = _axes(ax)
    h = result.delta_hist
    if h.empty:
        _empty(ax, "no scores")
        return fig
    ax.bar(h["left"], h["count"], width=h["right"] - h["left"], align="edge", color="#2e90fa")
    ax.axvline(0, color="#344054", lw=1)
    s = result.delta_summary
    ax.set_title(
        f"Score change, version B − A (mean {s['mean']:+.3g}, Spearman {s['spearman']:.3f})",
        fontsize=10,
    )
    ax.set_xlabel("score B − score A (0.1%–99.9% range)")
    ax.set_ylabel("rows")
    return fig


def plot_flip_matrix(result: VersionComparison, *, ax: Any = None) -> Figure:
    """2 x 2 decisions of version A (rows) against version B (columns)."""
    import numpy as np

    fig, ax = _axes(ax, (4.0, 3.6))
    if result.flips.empty:
        _empty(ax, "no threshold: decisions not compared")
        return fig
    m = np.zeros((2, 2), dtype=int)
    for r in result.flips.itertuples():
        m[r.a_decision, r.b_decision] = r.rows
    ax.imshow(m, cmap="Blues")
    total = max(int(m.sum()), 1)
    for i in range(2):
        for j in range(2):
            colour = "white" if m[i, j] > m.max() / 2 else "black"
            text = f"{m[i, j]:,}\n{m[i, j] / total:.1%}"
            ax.text(j, i, text, ha="center", va="center", color=colour)
    ax.set_xticks([0, 1], ["B: no", "B: yes"])
    ax.set_yticks([0, 1], ["A: no", "A: yes"])
    ax.set_title(f"Decisions at threshold {result.threshold:.4g}", fontsize=10)
    return fig


def plot_metric_deltas(
    result: VersionComparison, *, metric: str | None = None, ax: Any = None
) -> Figure:
    """Change of one metric per segment (B − A) with its paired 95% interval."""
    fig, ax = _axes(ax, (6.5, 4.0))
    t = result.metrics
    if t.empty:
        _empty(ax, "no labels: metrics not compared")
        return fig
    metric = metric or ("auc" if (t["metric"] == "auc").any() else t["metric"].iloc[0])
    t = t[t["metric"] == metric].iloc[::-1]
    colours = {"worse": "#d92d20", "better": "#067647", "same": "#667085"}
    y = range(len(t))
    ax.errorbar(
        t["delta"],
        list(y),
        xerr=[t["delta"] - t["ci_low"], t["ci_high"] - t["delta"]],
        fmt="none",
        ecolor="#98a2b3",
    )
    ax.scatter(t["delta"], list(y), c=[colours[s] for s in t["status"]], zorder=3)
    ax.axvline(0, color="#344054", lw=1)
    ax.set_yticks(list(y), [plain(f"{s} (n={n:,})") for s, n in zip(t["segment"], t["n"])],
                  fontsize=8)
    ax.set_xlabel(f"{plain(metric)}: version B − version A (95% paired interval)")
    title = f"{plain(metric)} change per segment (red: worse beyond the practical threshold)"
    ax.set_title(title, fontsize=10)
    return fig


def plot_calibration(result: VersionComparison, *, ax: Any = None) -> Figure:
    """Reliability curves of both versions."""
    fig, ax = _axes(ax, (4.5, 4.0))
    c = result.calibration
    if c.empty:
        _empty(ax, "no labels: calibration not measured")
        return fig
    ax.plot([0, 1], [0, 1], color="#98a2b3", lw=1, ls="--")
    for version, colour in (("A", "#667085"), ("B", "#2e90fa")):
        part = c[c["version"] == version]
        label = f"version {version} (ECE {result.ece.get(version, float('nan')):.3f})"
        ax.plot(part["mean_score"], part["observed"], marker="o", color=colour, label=label)
    ax.set_xlabel("mean score")
    ax.set_ylabel("observed positive rate")
    ax.legend(fontsize=8)
    ax.set_title("Calibration", fontsize=10)
    return fig


def plot_attribution_deltas(result: VersionComparison, *, top: int = 15, ax: Any = None) -> Figure:
    """Share of attribution per feature in both versions."""
    import numpy as np

    a = result.attribution.head(top).iloc[::-1]
    fig, ax = _axes(ax, (6.0, 0.3 * len(a) + 1.5))
    if a.empty:
        _empty(ax, "no attribution")
        return fig
    y = np.arange(len(a))
    ax.barh(y + 0.2, a["share_a"], height=0.4, color="#98a2b3", label="version A")
    ax.barh(y - 0.2, a["share_b"], height=0.4, color="#2e90fa", label="version B")
    ax.set_yticks(y, [plain(f) for f in a["feature"]], fontsize=8)
    ax.set_xlabel(f"share of attribution ({a['method'].iloc[0]})")
    ax.legend(fontsize=8)
    ax.set_title("What each version relies on", fontsize=10)
    return fig
