"""Figures for the data checks, drawn from their findings' evidence.

Each function takes a :class:`~toolkit.findings.Finding` (or a list of them) and an
optional matplotlib ``ax`` and returns the Figure; nothing is recomputed, everything
comes from the evidence. matplotlib is imported inside the functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from toolkit._exceptions import InputError
from toolkit.plots._base import SEVERITY_COLORS as _COLORS
from toolkit.plots._base import axes as _axes
from toolkit.plots._base import plain

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from toolkit.findings import Finding

__all__ = [
    "CHECK_PLOTS",
    "figures_for",
    "plot_check_overview",
    "plot_clock_shift",
    "plot_null_spike",
    "plot_rate_timeline",
    "plot_unit_change",
    "plot_volume",
]





def _need(finding: Any, prefix: str) -> dict[str, Any]:
    check = getattr(finding, "check", "")
    if not str(check).startswith(prefix):
        raise InputError(
            f"This plot needs a {prefix}* finding; got {check or type(finding).__name__!r}. "
            f"Pass one of the findings returned by toolkit.checks."
        )
    return dict(finding.evidence)


def _times(records: Sequence[dict[str, Any]]) -> list[Any]:
    import pandas as pd

    return [pd.Timestamp(r["start"]) for r in records]


def plot_unit_change(finding: Finding, *, ax: Axes | None = None) -> Figure:
    """A unit change: log10 ratio to the reference over time, or per quantile.

    With a ``timeline`` in the evidence (a change from a date on), the ratio of each
    time bucket's median to the reference median is drawn against time, with the
    conversion factor and the change date marked; otherwise the reference and
    current quantiles are drawn side by side on a log scale.
    """
    ev = _need(finding, "scale.")
    fig, ax = _axes(ax, (7, 3.2))
    factor = float(ev["factor"])
    if ev.get("timeline"):
        import pandas as pd

        tl = ev["timeline"]
        ax.step(_times(tl), [r["log10_ratio"] for r in tl], where="post", color="#2c3e50")
        ax.axhline(0, color="#7f8c8d", lw=0.8, label="reference scale")
        ax.axhline(math.log10(factor), color=_COLORS["critical"], ls="--", lw=1,
                   label=f"×{factor:g}")
        if ev.get("since"):
            ax.axvline(pd.Timestamp(ev["since"]), color=_COLORS["warning"], lw=1,
                       label="since")
        ax.set_ylabel("log10(median / reference median)")
        fig.autofmt_xdate()
    else:
        qs = ev["quantiles"]
        x = [q["q"] for q in qs]
        ax.plot(x, [q["reference"] for q in qs], "o-", color="#7f8c8d", label="reference")
        ax.plot(x, [q["current"] for q in qs], "o-", color=_COLORS["critical"], label="current")
        ax.set_yscale("log")
        ax.set_xlabel("quantile of |value|")
        ax.set_ylabel(plain(ev["column"]))
    where = f" where {ev['segment']}" if ev.get("segment") else ""
    ax.set_title(plain(f"{ev['column']}: ×{ev['measured_factor']:.4g} ({ev['conversion']}){where}"),
                 fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return fig


def plot_clock_shift(finding: Finding, *, ax: Axes | None = None) -> Figure:
    """A clock shift: the share of rows per half hour of the day, in the reference, in
    the current rows after the date, and the reference moved by the shift on top."""
    import numpy as np

    ev = _need(finding, "clock.")
    fig, ax = _axes(ax, (7, 3.2))
    ref, cur = np.asarray(ev["reference_rhythm"]), np.asarray(ev["current_rhythm"])
    hours = np.arange(len(ref)) * 24.0 / len(ref)
    steps = round(float(ev["shift_hours"]) * len(ref) / 24.0)
    ax.step(hours, ref, where="post", color="#7f8c8d", label="reference")
    ax.step(hours, cur, where="post", color=_COLORS["critical"], label="current, in scope")
    ax.step(hours, np.roll(ref, steps), where="post", color="#2c3e50", ls="--", lw=1,
            label=f"reference moved {float(ev['shift_hours']):+g} h")
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel(f"hour of day of {plain(ev['column'])}")
    ax.set_ylabel("share of rows")
    since = f" from {ev['since']}" if ev.get("since") else ""
    ax.set_title(plain(f"{ev['column']}: the day's rhythm moved {float(ev['shift_hours']):+g} h"
                       f"{since}"), fontsize=10)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def plot_rate_timeline(finding: Finding, *, ax: Axes | None = None) -> Figure:
    """The share of affected rows over time (nulls, duplicates, a stuck value)."""
    ev = dict(finding.evidence)
    tl = ev.get("timeline") or []
    if not tl:
        raise InputError(
            f"The {finding.check} finding has no timeline in its evidence; run the checks "
            f"with a timestamp column to get one."
        )
    fig, ax = _axes(ax, (7, 3.2))
    ax.step(_times(tl), [r["rate"] for r in tl], where="post", color="#2c3e50",
            label="current")
    base = ev.get("reference_rate", ev.get("reference_share"))
    if base is not None:
        ax.axhline(float(base), color="#7f8c8d", ls="--", lw=1, label="reference")
    if ev.get("since"):
        import pandas as pd

        ax.axvline(pd.Timestamp(ev["since"]), color=_COLORS["warning"], lw=1, label="since")
    ax.set_ylabel("share of rows")
    ax.set_ylim(bottom=0)
    ax.set_title(plain(finding.summary if len(finding.summary) < 90 else finding.check), fontsize=10)
    ax.legend(fontsize=8, loc="best")
    fig.autofmt_xdate()
    return fig


def plot_null_spike(finding: Finding, *, ax: Axes | None = None) -> Figure:
    """Null rate of a column: over time when known, else reference against current."""
    ev = _need(finding, "missing.")
    if ev.get("timeline"):
        return plot_rate_timeline(finding, ax=ax)
    fig, ax = _axes(ax, (4.5, 3.2))
    cur, ref = float(ev["current_rate"]), float(ev["reference_rate"])
    lo, hi = ev["diff_interval"]
    ax.bar(["reference", "current"], [ref, cur], color=["#7f8c8d", _COLORS[finding.severity]])
    ax.errorbar([1], [cur], yerr=[[cur - (ref + lo)], [(ref + hi) - cur]], color="black",
                capsize=4)
    ax.set_ylabel("share missing")
    ax.set_title(f"{plain(ev['column'])}: missing values", fontsize=10)
    return fig


def plot_volume(finding: Finding, *, ax: Axes | None = None) -> Figure:
    """Rows per time bucket against the expected count, with the short run shaded."""
    ev = _need(finding, "volume.")
    series = ev.get("series") or []
    if not series:
        raise InputError(f"The {finding.check} finding has no per-bucket series to plot.")
    import pandas as pd

    fig, ax = _axes(ax, (7, 3.2))
    t = _times(series)
    ax.step(t, [r["rows"] for r in series], where="post", color="#2c3e50", label="rows")
    ax.step(t, [r["expected"] for r in series], where="post", color="#7f8c8d", ls="--",
            label="expected")
    if ev.get("since") and ev.get("until"):
        ax.axvspan(pd.Timestamp(ev["since"]), pd.Timestamp(ev["until"]),
                   color=_COLORS[finding.severity], alpha=0.2,
                   label="late" if ev.get("late") else "drop")
    ax.set_ylabel(f"rows per {ev.get('bucket', 'bucket')}")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="best")
    fig.autofmt_xdate()
    return fig


def plot_check_overview(findings: Sequence[Finding], *, top: int = 15,
                        ax: Axes | None = None) -> Figure:
    """The most serious findings as bars of their score, coloured by severity."""
    items = list(findings)[:top]
    fig, ax = _axes(ax, (7, 0.35 * max(len(items), 2) + 1))
    labels = [plain(f"{f.check} [{', '.join(map(str, f.features))[:40]}]") for f in items][::-1]
    ax.barh(labels, [f.score for f in items][::-1],
            color=[_COLORS[f.severity] for f in items][::-1])
    ax.set_xlim(0, 1)
    ax.set_xlabel("score")
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title("Data-check findings, most serious first", fontsize=10)
    fig.tight_layout()
    return fig


#: check -> the plot of its evidence. Explicit, filled by hand.
CHECK_PLOTS: dict[str, Any] = {
    "scale.unit_change": plot_unit_change,
    "clock.shift": plot_clock_shift,
    "missing.null_spike": plot_null_spike,
    "volume.drop": plot_volume,
    "volume.late_records": plot_volume,
    "duplicates.exact_rows": plot_rate_timeline,
    "duplicates.duplicate_keys": plot_rate_timeline,
    "stuck.repeated_value": plot_rate_timeline,
    "scale.sign_flip": plot_rate_timeline,  # rows the mirrored reference explains better
    "categories.swapped_codes": plot_rate_timeline,  # rows that look like the other code
}


def _plottable(f: Finding) -> bool:
    if f.check not in CHECK_PLOTS:
        return False
    if CHECK_PLOTS[f.check] is plot_rate_timeline:
        return bool(f.evidence.get("timeline"))
    return True


def figures_for(findings: Sequence[Finding], *, limit: int = 4) -> list[Figure]:
    """Figures of the most serious warning or critical findings that have a plot."""
    chosen = [f for f in findings if f.severity != "info" and _plottable(f)][:limit]
    return [CHECK_PLOTS[f.check](f) for f in chosen]
