"""Figures of the symptom and of what a repair leaves of it."""

from __future__ import annotations

from typing import Any

from toolkit.plots._base import plain


def plot_symptom(investigation: Any, *, ax: Any = None) -> Any:
    """Mean score of the reference, the current window, and the current window after
    each tested repair of the top hypotheses (bars), from the investigation's numbers."""
    import matplotlib.pyplot as plt

    symptom = investigation.symptom
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 2.8))
    fig = ax.figure
    labels = ["reference", "current"]
    values = [symptom.reference_mean, symptom.current_mean]
    for f in investigation.findings[:4]:
        after = dict(f.evidence).get("repair", {})
        if isinstance(after, dict) and after.get("mean_score_after") is not None:
            labels.append(plain(f"#{f.rank} {f.check}\nrepaired"))
            values.append(after["mean_score_after"])
    colours = ["#98a2b3", "#b42318"] + ["#067647"] * (len(values) - 2)
    ax.barh(labels[::-1], values[::-1], color=colours[::-1])
    ax.set_xlabel(f"mean score ({symptom.scorer})")
    ax.set_title("The symptom, and what each repair leaves of it")
    fig.tight_layout()
    return fig
