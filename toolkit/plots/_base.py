"""What every plot module shares: a figure for an optional ``ax``, and severity colours."""

from __future__ import annotations

from typing import Any

SEVERITY_COLORS = {"critical": "#c0392b", "warning": "#e67e22", "info": "#7f8c8d"}


def axes(ax: Any, size: tuple[float, float], *, constrained: bool = False) -> tuple[Any, Any]:
    """``(figure, ax)``: a new figure of ``size`` inches when ``ax`` is None, else ``ax``'s."""
    import matplotlib.pyplot as plt

    if ax is None:
        return plt.subplots(figsize=size, layout="constrained" if constrained else None)
    return ax.figure, ax
