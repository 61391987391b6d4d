"""Widgets for working by hand in JupyterLab, each with a static equivalent for reports.

Every function returns an :class:`Interactive`: displaying it yields ONE output whose
mime bundle holds both the ipywidgets view and a static ``text/html`` rendering. A live
JupyterLab shows the widget (its renderer ranks first); nbconvert's HTML export skips
a widget view whose state is not saved (the runner strips widget state to stay offline)
and shows the static HTML instead, so a papermill report stays complete. Every data
value in the HTML is escaped.

- :func:`intake_form`: the complaint, a segment and a start date; reading it fills
  ``form.frame`` (a :class:`toolkit.intake.Frame`).
- :func:`feature_drilldown`: pick a feature: its distribution, values over time,
  per segment and attribution (:mod:`toolkit.plots.feature`).
- :func:`findings_browser`: pick a finding: its evidence, plot and next step.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from toolkit._drilldown import FeatureDrilldown, feature_drilldown_data, pick_segment_column
from toolkit._exceptions import InputError
from toolkit.findings import Finding

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FeatureDrilldown", "Interactive", "feature_drilldown", "features_to_drill",
           "figure_html", "findings_browser", "intake_form"]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


class Interactive:
    """A widget with a static HTML equivalent, shown as one output carrying both.

    Attributes
    ----------
    widget : ipywidgets.Widget
        The live view.
    state : dict
        What the user picked (``feature``, ``finding``, ``frame``...), kept current.
    """

    def __init__(self, widget: Any, static: Callable[[], str], state: dict[str, Any] | None = None):
        self.widget = widget
        self._static = static
        self.state = state if state is not None else {}

    def static_html(self) -> str:
        """The static equivalent (escaped HTML, images inline as data: URIs)."""
        return self._static()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_() or {})
        bundle["text/html"] = self.static_html()
        return bundle

    def __getattr__(self, name: str) -> Any:
        state = self.__dict__.get("state", {})
        if name in state:
            return state[name]
        raise AttributeError(name)


def figure_html(fig: Any, *, alt: str = "", dpi: int = 72) -> str:
    """A matplotlib figure as an ``<img>`` with a PNG data: URI; the figure is closed."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<img alt="{html.escape(alt)}" style="max-width:100%" '
            f'src="data:image/png;base64,{data}"/>')


# --- feature drill-down ----------------------------------------------------------------

def features_to_drill(findings: Iterable[Finding], columns: Iterable[str]) -> list[str]:
    """Columns in the order findings name them (most likely cause first), then the rest."""
    cols = [str(c) for c in columns]
    named = [c for f in findings for c in f.features if c in cols]
    return list(dict.fromkeys([*named, *cols]))


def _drill_html(drill: FeatureDrilldown) -> str:
    from toolkit.plots.feature import plot_feature

    notes = "".join(f"<div class='steward-muted'>{html.escape(n)}</div>" for n in drill.notes)
    return (f"<div class='steward-drill'><div class='steward-drill-title'><b>Feature: "
            f"{html.escape(drill.feature)}</b> <span class='steward-muted'>({drill.kind})"
            f"</span></div>{figure_html(plot_feature(drill), alt=f'drill-down of {drill.feature}')}"
            f"{notes}</div>")


def feature_drilldown(reference: pd.DataFrame, current: pd.DataFrame, *,
                      features: Sequence[str] | None = None, timestamp: str | None = None,
                      segment_by: str | None = None, attribution: Any = None,
                      static_features: int = 2) -> Interactive:
    """Pick a feature and see reference vs current: distribution, over time, per segment,
    attribution.

    Parameters
    ----------
    reference, current : DataFrame
        The two windows (not modified).
    features : sequence of str, optional
        Features offered, first shown first; by default the shared columns.
    timestamp : str, optional
        Event-time column (over-time panel; never offered as a feature).
    segment_by : str, optional
        Column to compare segments by; by default a text column with a few values.
    attribution : AttributionDriftResult, optional
        Gives each feature's share of attributions.
    static_features : int, default=2
        How many features the static (report) equivalent draws.

    Returns
    -------
    Interactive
        ``state["feature"]`` is the feature shown.
    """
    shared = [c for c in reference.columns if c in current.columns and c != timestamp]
    offered = [f for f in (features or shared) if f in shared]
    if not offered:
        raise InputError("feature_drilldown needs at least one column present in both "
                         "windows; pass features=[...] naming columns of both.")
    cache: dict[str, str] = {}

    def render(feature: str) -> str:
        if feature not in cache:
            seg = segment_by or pick_segment_column(reference, exclude=(timestamp or "", feature))
            cache[feature] = _drill_html(feature_drilldown_data(
                reference, current, feature, timestamp=timestamp,
                segment_by=seg if seg != feature else None, attribution=attribution))
        return cache[feature]

    import ipywidgets as w

    picker = w.Dropdown(options=offered, value=offered[0], description="Feature")
    view = w.HTML(value=render(offered[0]))
    state = {"feature": offered[0]}

    def on_change(change: dict[str, Any]) -> None:
        state["feature"] = change["new"]
        view.value = render(change["new"])

    picker.observe(on_change, names="value")
    box = w.VBox([picker, view], layout=w.Layout(width="100%"))
    box.add_class("steward-drilldown")

    def static() -> str:
        shown = offered[:max(1, static_features)]
        rest = offered[len(shown):]
        tail = (f"<div class='steward-muted'>Other features (pick them in the live notebook): "
                f"{html.escape(', '.join(rest))}</div>") if rest else ""
        return "".join(render(f) for f in shown) + tail

    return Interactive(box, static, state)


# --- findings browser ------------------------------------------------------------------

def _label(f: Finding) -> str:
    text = f"#{f.rank} " if f.rank is not None else ""
    text += f"[{f.severity}] {f.summary}"
    return text if len(text) <= 90 else text[:87] + "..."


def _evidence_html(evidence: dict[str, Any]) -> str:
    rows = []
    for key, value in evidence.items():
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(shown) > 300:
            shown = shown[:297] + "..."
        rows.append(f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(shown)}</td></tr>")
    return f"<table class='steward-findings'><tbody>{''.join(rows)}</tbody></table>"


def _finding_plot(f: Finding) -> str:
    from toolkit.plots.checks import CHECK_PLOTS

    fn = CHECK_PLOTS.get(f.check)
    if fn is None:
        return ""
    try:
        return figure_html(fn(f), alt=f"evidence of {f.check}")
    except Exception as exc:  # a plot must never hide the finding itself
        reason = html.escape(type(exc).__name__)
        return f"<div class='steward-muted'>(plot unavailable: {reason})</div>"


def _finding_html(f: Finding, *, plot: bool) -> str:
    from toolkit.display import badge

    explained = "" if f.explained is None else f" · explains {f.explained:.0%} of the symptom"
    where = f" · segment {html.escape(f.segment)}" if f.segment else ""
    return (f"<div class='steward-finding'><p>{badge(f.severity)} <b>{html.escape(f.summary)}"
            f"</b></p><p class='steward-muted'>{html.escape(f.check)} · {html.escape(f.layer)}"
            f" · features {html.escape(', '.join(f.features) or '-')}{where} · score "
            f"{f.score:.2f}{explained}</p>{_evidence_html(dict(f.evidence))}"
            f"{_finding_plot(f) if plot else ''}<p>Next step: {html.escape(f.next_step)}</p></div>")


def findings_browser(findings: Sequence[Finding], *, static_findings: int = 5,
                     plots: bool = True) -> Interactive:
    """Pick a finding: its evidence, plot and next step.

    Parameters
    ----------
    findings : sequence of Finding
        Ranked findings (most likely cause first).
    static_findings : int, default=5
        How many findings the static equivalent details (the first one open).
    plots : bool, default=True
        Draw each finding's evidence plot when one is registered for its check.

    Returns
    -------
    Interactive
        ``state["finding"]`` is the finding shown.
    """
    import ipywidgets as w

    items = list(findings)
    if not items:
        empty = "<div class='steward-note'>No findings to browse.</div>"
        return Interactive(w.HTML(value=empty), lambda: empty, {"finding": None})
    cache: dict[int, str] = {}

    def render(i: int) -> str:
        if i not in cache:
            cache[i] = _finding_html(items[i], plot=plots)
        return cache[i]

    picker = w.Dropdown(options=[(_label(f), i) for i, f in enumerate(items)], value=0,
                        description="Finding", layout=w.Layout(width="90%"))
    view = w.HTML(value=render(0))
    state: dict[str, Any] = {"finding": items[0]}

    def on_change(change: dict[str, Any]) -> None:
        state["finding"] = items[change["new"]]
        view.value = render(change["new"])

    picker.observe(on_change, names="value")

    def static() -> str:
        parts = []
        for i, f in enumerate(items[:static_findings]):
            opened = " open" if i == 0 else ""
            parts.append(f"<details{opened}><summary>{html.escape(_label(f))}</summary>"
                         f"{render(i)}</details>")
        more = len(items) - static_findings
        if more > 0:
            parts.append(f"<div class='steward-muted'>{more} more findings in the table "
                         f"below.</div>")
        return "".join(parts)

    return Interactive(w.VBox([picker, view]), static, state)


# --- complaint intake ------------------------------------------------------------------

def _frame_html(frame: Any) -> str:
    items = [f"<li>{html.escape(s)}</li>" for s in frame.describe()]
    if frame.complaint:
        items.insert(0, f"<li>Complaint: “{html.escape(frame.complaint)}”</li>")
    if frame.since is not None:
        items.append(f"<li>Current window from: {html.escape(str(frame.since))}</li>")
    if frame.segment:
        items.append(f"<li>Segment: {html.escape(frame.segment)}</li>")
    return f"<ul class='steward-frame'>{''.join(items)}</ul>"


def _read(text: str, segment: str, since: str, current: Any, timestamp: str | None) -> Any:
    import pandas as pd

    from toolkit.intake import read_complaint

    frame = read_complaint(text, current, timestamp=timestamp)
    if segment.strip():
        frame.segment = segment.strip()
        frame.notes.append(f"Segment: {frame.segment}, as given.")
    if since.strip():
        try:
            frame.since = pd.Timestamp(since.strip()).to_pydatetime()
        except ValueError as exc:
            raise InputError(f"The start date {since!r} is not a date; write it as "
                             f"2026-11-16.") from exc
        frame.notes.append(f"Current window from {since.strip()}, as given.")
    return frame


def intake_form(current: pd.DataFrame | None = None, *, complaint: str = "", segment: str = "",
                since: str = "", timestamp: str | None = None) -> Interactive:
    """A complaint form (text, segment, start of the current window) that fills the frame.

    Parameters
    ----------
    current : DataFrame, optional
        The current window: its values are matched against the text, and its latest
        timestamp anchors relative dates ("since last Monday").
    complaint, segment, since : str
        Initial values (the template's parameters).
    timestamp : str, optional
        The time column of ``current``.

    Returns
    -------
    Interactive
        ``state["frame"]`` is the :class:`toolkit.intake.Frame` read from the form,
        refreshed each time the user clicks *Read the complaint*.
    """
    import ipywidgets as w

    state: dict[str, Any] = {"frame": _read(complaint, segment, since, current, timestamp)}
    text = w.Textarea(value=complaint, description="Complaint", layout=w.Layout(width="90%"))
    seg = w.Text(value=segment, description="Segment", placeholder="channel == 'app'")
    start = w.Text(value=since, description="Since", placeholder="2026-11-16")
    button = w.Button(description="Read the complaint", button_style="primary")
    view = w.HTML(value=_frame_html(state["frame"]))

    def on_click(_: Any) -> None:
        try:
            state["frame"] = _read(text.value, seg.value, start.value, current, timestamp)
            view.value = _frame_html(state["frame"])
        except InputError as exc:
            view.value = f"<div class='steward-note'>{html.escape(str(exc))}</div>"

    button.on_click(on_click)
    box = w.VBox([text, w.HBox([seg, start]), button, view])
    # In a saved report the form is a list like the intake's above it: say what it is.
    return Interactive(box, lambda: _FORM_NOTE + _frame_html(state["frame"]), state)


_FORM_NOTE = ("<p class='steward-note'>The intake form, as run (in JupyterLab, edit the "
              "complaint to see how another wording is read):</p>")
