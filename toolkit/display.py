"""Notebook rendering: turns results into HTML, and only renders.

Every data value goes through :func:`html.escape` (or pandas' escaping), never into
Markdown, so a category named ``<script>`` shows as text in reports.

Templates also *emit* machine-readable payloads (:func:`emit`): JSON under a
``application/vnd.steward.<name>+json`` mime type, which HTML exports ignore and the
runner reads back from the executed notebook (``findings.json``, objectives, ...).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from toolkit.findings import Finding, jsonable, rank_findings

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MIME_PREFIX",
    "emit",
    "emit_findings",
    "findings_html",
    "show_figure",
    "show_findings",
    "show_html",
    "show_note",
    "show_table",
    "table_html",
]

MIME_PREFIX = "application/vnd.steward."

_SEVERITY_COLOURS = {"critical": "#b42318", "warning": "#b54708", "info": "#475467"}

_STYLE = """<style>
.steward-findings{border-collapse:collapse;font-size:13px;margin:6px 0;width:100%}
.steward-findings th,.steward-findings td{border-bottom:1px solid #e4e7ec;padding:4px 8px;
text-align:left !important;vertical-align:top}
.steward-badge{border-radius:8px;color:#fff;font-size:11px;padding:1px 7px;white-space:nowrap}
.steward-note{background:#f2f4f7;border-left:4px solid #98a2b3;padding:8px 12px;margin:6px 0}
.steward-verdict{border:2px solid #b42318;border-radius:6px;padding:10px 14px;margin:6px 0}
.steward-verdict.ok{border-color:#067647}
.steward-muted{color:#667085;font-size:12px}
</style>"""


def _display(obj: Any, **kwargs: Any) -> None:
    from IPython.display import display

    display(obj, **kwargs)


def show_html(markup: str) -> None:
    """Display already-escaped HTML (with the house style)."""
    from IPython.display import HTML

    _display(HTML(_STYLE + markup))


def emit(name: str, payload: Any) -> None:
    """Embed a JSON payload in the notebook output for the runner to read back.

    It is invisible in the HTML report. Read it with
    :func:`toolkit.runner.read_emitted`.
    """
    _display({f"{MIME_PREFIX}{name}+json": jsonable(payload)}, raw=True)


def emit_findings(findings: Iterable[Finding]) -> None:
    """Emit ranked findings; ``steward run`` writes them to ``findings.json``."""
    items = list(findings)
    if any(f.rank is None for f in items):
        items = rank_findings(items)
    emit("findings", {"findings": [f.to_dict() for f in items]})


def badge(severity: str) -> str:
    """A coloured severity label."""
    colour = _SEVERITY_COLOURS.get(severity, "#475467")
    return f'<span class="steward-badge" style="background:{colour}">{html.escape(severity)}</span>'


def findings_html(findings: Iterable[Finding], *, limit: int | None = None) -> str:
    """An HTML table of findings, every value escaped.

    The rank and "explains" columns appear only when some finding has one: a table of
    one stage's findings (not ranked yet, no repair measured) does not show empty ones.
    """
    items = list(findings)
    if not items:
        return '<div class="steward-note">No findings.</div>'
    shown = items[:limit] if limit else items
    ranked = any(f.rank is not None for f in shown)
    explains = any(f.explained is not None for f in shown)
    rows = []
    for f in shown:
        cells = [f"<td>{'' if f.rank is None else f.rank}</td>"] if ranked else []
        cells += [
            f"<td>{badge(f.severity)}</td>",
            f"<td>{html.escape(f.summary)}<div class='steward-muted'>"
            f"{html.escape(f.check)} · {html.escape(f.layer)}"
            f"{' · ' + html.escape(f.segment) if f.segment else ''}</div></td>",
            f"<td>{f.score:.2f}</td>",
        ]
        if explains:
            cells.append(f"<td>{'' if f.explained is None else f'{f.explained:.0%}'}</td>")
        cells.append(f"<td>{html.escape(f.next_step)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    heads = (["#"] if ranked else []) + ["severity", "finding", "score"] + (
        ["explains"] if explains else []) + ["next step"]
    more = len(items) - len(shown)
    tail = f'<div class="steward-muted">{more} more not shown.</div>' if more > 0 else ""
    return (
        '<table class="steward-findings"><thead><tr>'
        + "".join(f"<th>{h}</th>" for h in heads)
        + f"</tr></thead><tbody>{''.join(rows)}</tbody></table>{tail}"
    )


def show_findings(findings: Iterable[Finding], *, limit: int | None = None) -> None:
    """Display findings as a table."""
    show_html(findings_html(findings, limit=limit))


def table_html(df: pd.DataFrame, *, max_rows: int = 30, float_format: str = "{:.4g}") -> str:
    """A DataFrame as escaped HTML, cut to ``max_rows`` rows."""
    shown = df.head(max_rows)
    out = shown.to_html(
        escape=True,
        index=False,
        border=0,
        classes="steward-findings",
        float_format=float_format.format,
        na_rep="",
    )
    if len(df) > max_rows:
        out += f'<div class="steward-muted">{len(df) - max_rows} more rows not shown.</div>'
    return out


def show_table(df: pd.DataFrame | Mapping[str, Any], *, max_rows: int = 30) -> None:
    """Display a table (a DataFrame or a mapping of name to value), escaped."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        df = pd.DataFrame({"measure": list(df), "value": [str(v) for v in df.values()]})
    show_html(table_html(df, max_rows=max_rows))


def show_note(text: str) -> None:
    """A plain note, such as a section whose capability is not built yet."""
    show_html(f'<div class="steward-note">{html.escape(text)}</div>')


def show_figure(fig: Any) -> None:
    """Display a matplotlib figure once and release it."""
    import matplotlib.pyplot as plt

    _display(fig)
    plt.close(fig)


def verdict_html(investigation: Any) -> str:
    """The verdict block: headline, evidence, share explained, owner, next step."""
    v = investigation.verdict
    if v.ok:
        extra = ""
        if investigation.symptom is not None:
            extra = f"<p class='steward-muted'>{html.escape(investigation.symptom.describe())}</p>"
        return f"<div class='steward-verdict ok'><b>{html.escape(v.headline)}</b>{extra}</div>"
    top = v.top
    rows = [f"<p><b>{html.escape(v.headline)}</b></p>"]
    if investigation.symptom is not None:
        rows.append(f"<p>Symptom: {html.escape(investigation.symptom.describe())}</p>")
    if v.explained is not None:
        how = str(top.evidence.get("repair", {}).get("how", ""))
        rows.append(f"<p>Counterfactual repair: {html.escape(how)} "
                    f"This removes <b>{v.explained:.0%}</b> of the symptom.</p>")
    if v.owner:
        rows.append(f"<p>Owner: {html.escape(v.owner)}</p>")
    if v.next_step:
        rows.append(f"<p>Next step: {html.escape(v.next_step)}</p>")
    runners = [f for f in investigation.findings[1:6]
               if f.severity != "info" and "consequence_of" not in f.evidence][:3]
    if runners:
        rows.append("<p class='steward-muted'>Other hypotheses: " + "; ".join(
            html.escape(f"#{f.rank} {f.summary}") for f in runners) + "</p>")
    return f"<div class='steward-verdict'>{''.join(rows)}</div>"


def show_verdict(investigation: Any) -> None:
    """Display the verdict of an :class:`toolkit.triage.Investigation`."""
    show_html(verdict_html(investigation))


def show_intake(investigation: Any, *, windows: Mapping[str, Any] | None = None) -> None:
    """How the complaint was read, and what the windows hold."""
    frame = investigation.frame
    items = [f"<li>{html.escape(s)}</li>" for s in frame.describe()]
    if frame.complaint:
        items.insert(0, f"<li>Complaint: “{html.escape(frame.complaint)}”</li>")
    for name, value in (windows or {}).items():
        items.append(f"<li>{html.escape(str(name))}: {html.escape(str(value))}</li>")
    if investigation.symptom is not None:
        items.append(f"<li>Symptom measured: {html.escape(investigation.symptom.describe())}</li>")
    for stage, note in investigation.notes.items():
        items.append(f"<li>{html.escape(stage)}: {html.escape(note)}</li>")
    show_html(f"<ul>{''.join(items)}</ul>")


def show_stage(investigation: Any, stage: str, *, limit: int = 15) -> None:
    """Findings of one stage, ranked, or why the stage did not run."""
    if stage not in investigation.stages:
        show_note(investigation.notes.get(stage, f"The {stage} stage did not run."))
        return
    chosen = investigation.stage_findings(stage)
    if not chosen:
        show_note(f"The {stage} stage ran and found nothing worth reporting.")
        return
    show_findings(chosen, limit=limit)
