"""What every plot module shares: a figure for an optional ``ax``, and severity colours."""

from __future__ import annotations

from typing import Any


def plain(value: Any) -> str:
    """Data (a column name, a value, a segment) as matplotlib text, shown as written.

    A ``$`` pair starts matplotlib's mathtext, so a column named ``$\\foo{x$`` would
    stop the figure from drawing (and the HTML report with it). Every ``$`` is escaped;
    outside math mode matplotlib shows backslashes as they are. Every title, label,
    tick label, legend entry and annotation that carries data goes through here."""
    return str(value).replace("$", r"\$")


SEVERITY_COLORS = {"critical": "#c0392b", "warning": "#e67e22", "info": "#7f8c8d"}


def axes(ax: Any, size: tuple[float, float], *, constrained: bool = False) -> tuple[Any, Any]:
    """``(figure, ax)``: a new figure of ``size`` inches when ``ax`` is None, else ``ax``'s."""
    import matplotlib.pyplot as plt

    if ax is None:
        return plt.subplots(figsize=size, layout="constrained" if constrained else None)
    return ax.figure, ax
