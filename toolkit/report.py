"""The investigate template's figures: which plot each stage shows.

Each stage's plot module says what it can draw (for the checks, the registry
``toolkit.plots.checks.CHECK_PLOTS``); every figure is drawn from results already
computed (a plot never recomputes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toolkit import display

__all__ = ["show_attribution_plots", "show_check_plots", "show_drift_plots",
           "show_symptom", "show_version_plots"]

def show_symptom(inv: Any) -> None:
    """The symptom and what the repairs of the top hypotheses leave of it."""
    if inv.symptom is not None:
        from toolkit.plots.triage import plot_symptom

        display.show_figure(plot_symptom(inv))


def show_check_plots(inv: Any) -> None:
    """Plots of the most serious data-check findings (the checks' own plot registry)."""
    from toolkit.plots.checks import figures_for

    for fig in figures_for(inv.stage_findings("checks"), limit=3):
        display.show_figure(fig)


def _stage_plot(inv: Any, stage: str, fn: Callable[[Any], Any], pick: str | None = None) -> None:
    result = inv.stages.get(stage)
    if result is None:
        return
    if pick is not None:
        result = result.get(pick) if isinstance(result, dict) else getattr(result, pick, None)
        if result is None:
            return
    display.show_figure(fn(result))


def show_drift_plots(inv: Any) -> None:
    """Per-feature drift effect sizes with intervals."""
    from toolkit.plots.drift import plot_feature_drift

    _stage_plot(inv, "drift", plot_feature_drift, pick="features")


def show_attribution_plots(inv: Any) -> None:
    """Attribution bars (reference vs current) and the prediction-shift waterfall."""
    from toolkit.plots.attribution import plot_attribution_bars, plot_shift_waterfall

    _stage_plot(inv, "attribution", plot_attribution_bars)
    _stage_plot(inv, "attribution", plot_shift_waterfall)


def show_version_plots(inv: Any) -> None:
    """Score deltas between the two versions on the same rows."""
    from toolkit.plots.versions import plot_score_deltas

    _stage_plot(inv, "versions", plot_score_deltas)
