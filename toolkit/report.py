"""The investigate template's figures: which plot each stage shows.

An explicit table maps a check to the function that draws its evidence; each figure
is drawn from results already computed (a plot never recomputes).
"""

from __future__ import annotations

import importlib
from typing import Any

from toolkit import display

__all__ = ["show_attribution_plots", "show_check_plots", "show_drift_plots",
           "show_symptom", "show_version_plots"]

#: check -> (plot module, function taking the finding and ``ax``).
FINDING_PLOTS: dict[str, tuple[str, str]] = {
    "scale.unit_change": ("toolkit.plots.checks", "plot_unit_change"),
    "missing.null_spike": ("toolkit.plots.checks", "plot_null_spike"),
    "volume.drop": ("toolkit.plots.checks", "plot_volume"),
}


def _plot_function(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ModuleNotFoundError:
        return None


def _show_finding_plots(inv: Any, prefixes: tuple[str, ...], limit: int = 3) -> None:
    shown = 0
    for f in inv.findings:
        if shown >= limit or f.severity == "info" or not f.check.startswith(prefixes):
            continue
        target = FINDING_PLOTS.get(f.check)
        fn = _plot_function(*target) if target else None
        if fn is not None:
            display.show_figure(fn(f))
            shown += 1


def show_symptom(inv: Any) -> None:
    """The symptom and what the repairs of the top hypotheses leave of it."""
    if inv.symptom is not None:
        from toolkit.plots.triage import plot_symptom

        display.show_figure(plot_symptom(inv))


def show_check_plots(inv: Any) -> None:
    """Plots of the most serious data-check findings."""
    _show_finding_plots(inv, ("scale.", "missing.", "volume.", "categories.", "stuck.", "duplicates."))


def _stage_plot(inv: Any, stage: str, module: str, name: str, pick: str | None = None) -> None:
    result = inv.stages.get(stage)
    fn = _plot_function(module, name)
    if result is None or fn is None:
        return
    if pick is not None:
        result = result.get(pick) if isinstance(result, dict) else getattr(result, pick, None)
        if result is None:
            return
    display.show_figure(fn(result))


def show_drift_plots(inv: Any) -> None:
    """Per-feature drift effect sizes with intervals."""
    _stage_plot(inv, "drift", "toolkit.plots.drift", "plot_feature_drift", pick="features")


def show_attribution_plots(inv: Any) -> None:
    """Attribution bars (reference vs current) and the prediction-shift waterfall."""
    _stage_plot(inv, "attribution", "toolkit.plots.attribution", "plot_attribution_bars")
    _stage_plot(inv, "attribution", "toolkit.plots.attribution", "plot_shift_waterfall")


def show_version_plots(inv: Any) -> None:
    """Score deltas between the two versions on the same rows."""
    _stage_plot(inv, "versions", "toolkit.plots.versions", "plot_score_deltas")
