"""Triage: from a complaint to ranked, evidenced root-cause hypotheses.

:func:`investigate` runs every stage it has inputs for (data checks, drift,
attribution, versions, quality), measures the *symptom* (the shift of the mean score,
and with labels the loss of quality), then tests each finding by a counterfactual
repair (:mod:`toolkit.repair`): undo the suspected fault, re-score, and measure how
much of the symptom disappears. Hypotheses are ranked by that share, with the
finding's severity and score breaking ties; findings that explain nothing sink.

Without a model, a surrogate (gradient boosting fitted on the reference window to the
logged scores) stands in for re-scoring, and the report says so.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit import pipeline, policy
from toolkit._exceptions import InputError
from toolkit._pipeline_model import (  # noqa: F401  (re-exported: their old home)
    ATTRIBUTION_ROWS,
    ATTRIBUTION_SECONDS,
    looks_like_regression,
)
from toolkit._stage import StageContext, StageSkipped
from toolkit.findings import Finding
from toolkit.intake import Frame, read_complaint
from toolkit.normal import MIN_PAIRS
from toolkit.pipeline import STAGE_ORDER

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Investigation", "Symptom", "Verdict", "investigate", "load_investigation",
           "save_investigation"]

#: Who usually owns a layer, when no column owner is configured.
LAYER_OWNERS = {
    "data": "the owner of the source system",
    "pipeline": "data engineering (the feed or ETL that delivers the column)",
    "population": "the model owner with the business (the world changed)",
    "concept": "the model owner (retraining or relabelling)",
    "model": "the model owner (the release that changed the model)",
}
@dataclass
class Symptom:
    """What the complaint is about, measured: mean score and, with labels, quality."""

    scorer: str  # "model", "surrogate" or "logged"
    reference_mean: float
    current_mean: float
    noise: float  # standard error of the mean difference
    quality_name: str | None = None
    reference_quality: float | None = None
    current_quality: float | None = None
    quality_noise: float = 0.0  # standard error of the loss difference
    focus: str | None = None  # which current rows, when not all of them
    spread: float = 0.0  # standard deviation of reference scores (regression), else 0

    @property
    def shift(self) -> float:
        return self.current_mean - self.reference_mean

    @property
    def significant(self) -> bool:
        """A shift beyond three standard errors and 5% of the scores' scale.

        The scale is the reference mean for probabilities; for regression scores it is
        the larger of the mean and the standard deviation, so that a target centred
        near zero does not make every shift look large.
        """
        scale = max(abs(self.reference_mean), self.spread, 1e-9)
        return abs(self.shift) > 3 * self.noise and abs(self.shift) / scale > 0.05

    @property
    def quality_drop(self) -> float | None:
        if self.reference_quality is None or self.current_quality is None:
            return None
        return self.current_quality - self.reference_quality  # losses: up is worse

    @property
    def quality_significant(self) -> bool:
        """The loss rose beyond three standard errors and 5% of its reference value."""
        drop = self.quality_drop
        if drop is None or self.reference_quality is None:
            return False
        return drop > 3 * self.quality_noise and drop > 0.05 * abs(self.reference_quality)

    def describe(self) -> str:
        where = f"the current window ({self.focus})" if self.focus else "the current window"
        text = (f"Mean score {self.reference_mean:.4g} in the reference window, "
                f"{self.current_mean:.4g} in {where} ({self.shift:+.4g}, "
                f"noise ±{2 * self.noise:.2g}; scored by the {self.scorer}).")
        if self.quality_drop is not None:
            text += (f" {self.quality_name} {self.reference_quality:.4g} → "
                     f"{self.current_quality:.4g}.")
        return text


@dataclass
class Verdict:
    """The report's first words."""

    headline: str
    ok: bool
    top: Finding | None = None
    owner: str | None = None
    next_step: str | None = None
    explained: float | None = None
    runner_up: Finding | None = None  # the best hypothesis about another incident


@dataclass
class Investigation:
    """Everything the investigate template shows."""

    frame: Frame
    findings: list[Finding]
    verdict: Verdict
    symptom: Symptom | None = None
    stages: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    stage_checks: dict[str, set[str]] = field(default_factory=dict)
    reference: Any = None  # the windows as given (not copied), for drill-downs
    current: Any = None

    def stage_findings(self, stage: str) -> list[Finding]:
        """The ranked findings one stage produced."""
        checks = self.stage_checks.get(stage, set())
        return [f for f in self.findings if f.check in checks]


def _check_columns(reference: pd.DataFrame, current: pd.DataFrame, **columns: str | None) -> None:
    if len(reference) == 0 or len(current) == 0:
        empty = "reference" if len(reference) == 0 else "current"
        raise InputError(
            f"The {empty} window has no rows. Pass a file with data, or widen the window."
        )
    from toolkit.drift import MIN_ROWS

    for label, df in (("reference", reference), ("current", current)):
        if len(df) < MIN_ROWS:
            raise InputError(
                f"The {label} window has {len(df)} row{'s' if len(df) > 1 else ''}; drift, "
                f"repairs and their intervals need at least {MIN_ROWS} in each window. "
                f"Widen the window."
            )
    from toolkit.checks._common import require_frame

    for label, df in (("reference", reference), ("current", current)):
        require_frame(df, name=label)  # a table, with rows, and one name per column
    for option, col in columns.items():
        if col and col not in current.columns and col not in reference.columns:
            raise InputError(
                f"The {option} column {col!r} is in neither window. Columns are: "
                f"{', '.join(map(str, current.columns[:30]))}. Fix the --{option} option."
            )
    ts = columns.get("timestamp")
    if ts and ts in current.columns:
        from toolkit.repair import event_times

        parsed = float(event_times(current[ts]).notna().mean())
        if parsed < 0.5:
            raise InputError(
                f"The timestamp column {ts!r} of the current window does not parse as dates "
                f"({1 - parsed:.0%} of values fail, e.g. {current[ts].iloc[0]!r}). Pass a "
                f"column of dates or ISO strings with --timestamp, or leave it out."
            )


def _focus(frame_: Frame, reference: pd.DataFrame, current: pd.DataFrame,
           notes: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both windows restricted to the segment, when there is one."""
    if not frame_.segment:
        return reference, current
    from toolkit.segment_expr import segment_mask

    # Read by our own grammar, never evaluated as code: the text may come from a column
    # name in a data file (through the complaint) or from the command line.
    ref = reference[segment_mask(reference, frame_.segment, name="the reference window")]
    cur = current[segment_mask(current, frame_.segment, name="the current window")]
    if len(ref) == 0 or len(cur) == 0:
        empty = "reference" if len(ref) == 0 else "current"
        raise InputError(f"The segment {frame_.segment!r} matches no row of the {empty} window. "
                         f"Check the column and the value (values are case-sensitive).")
    if len(ref) < 30 or len(cur) < 30:
        notes["segment"] = (f"The segment {frame_.segment} has {len(ref)} reference and "
                            f"{len(cur)} current rows, too few to focus on; the whole "
                            f"windows are investigated.")
        return reference, current
    return ref, cur


def _features(reference: pd.DataFrame, current: pd.DataFrame, model: Any,
              exclude: set[str | None]) -> list[str]:
    from toolkit.checks._common import nested_columns
    from toolkit.scoring import model_features

    named = model_features(model) if model is not None else None
    if named:
        return named
    # Columns of lists or dicts feed no model as they are (the checks compare them as text).
    nested = set(nested_columns(reference)) | set(nested_columns(current))
    return [c for c in dict.fromkeys([*reference.columns, *current.columns])
            if c not in exclude and c not in nested]


def investigate(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    model: Any = None,
    previous_model: Any = None,
    target: str | None = None,
    prediction: str | None = None,
    timestamp: str | None = None,
    segment: str | None = None,
    complaint: str | None = None,
    owners: dict[str, str] | None = None,
    history: pd.DataFrame | None = None,
    random_state: int = 0,
) -> Investigation:
    """Run the whole investigation path on two windows.

    Parameters
    ----------
    reference, current : DataFrame
        The window the model was known to work on, and the window complained about.
    model, previous_model : estimator, optional
        The deployed model and the version before it (loaded objects).
    target, prediction, timestamp : str, optional
        Column names of the label, the logged score and the event time.
    segment : str, optional
        A pandas expression (``"channel == 'app'"``) to focus on; the complaint may
        suggest one too.
    complaint : str, optional
        The complaint as written.
    owners : dict, optional
        Column -> owner, for the verdict.
    history : DataFrame, optional
        Older rows of the same table, before the reference. Severities are judged
        against what pairs of windows of the past produce (:mod:`toolkit.normal`):
        windows as long as the current one cut from the history and reference when
        they give enough pairs, else slices of the reference alone.
    random_state : int, default=0

    Returns
    -------
    Investigation
    """
    _check_columns(reference, current, target=target, prediction=prediction, timestamp=timestamp)
    frame_ = read_complaint(complaint, current, timestamp=timestamp)
    if segment:
        frame_.segment = segment
        frame_.notes.append(f"Segment: {segment}, as given.")
    notes: dict[str, str] = {}
    ref, cur = _focus(frame_, reference, current, notes)
    exclude = {target, prediction, timestamp}
    features = _features(ref, cur, model, exclude)
    from toolkit.scoring import positive_label

    positive = positive_label(ref[target], model) if target and target in ref.columns else None
    ctx = StageContext(ref, cur, timestamp=timestamp, target=target, prediction=prediction,
                       features=features, model=model, previous_model=previous_model,
                       positive=positive, random_state=random_state).find_clock()
    stages: dict[str, Any] = {}
    findings: list[Finding] = []
    seconds: dict[str, float] = {}
    stage_checks: dict[str, set[str]] = {}
    failed: dict[str, str] = {}
    for name in STAGE_ORDER:
        started = time.perf_counter()
        try:
            result, found = pipeline.run_stage(name, ctx)
        except StageSkipped as exc:
            notes[name] = str(exc)
            continue
        except Exception as exc:  # one stage failing must not hide what the others found
            notes[name] = f"This stage could not run on these inputs: {type(exc).__name__}: {exc}"
            failed[name] = f"{type(exc).__name__}: {exc}"
            continue
        finally:
            seconds[name] = time.perf_counter() - started
        stages[name] = result
        stage_checks[name] = {f.check for f in found}
        findings.extend(found)
    started = time.perf_counter()
    learned = pipeline.baseline(ctx, history=history)
    findings = pipeline.judge(findings, ctx, learned)
    seconds["normal"] = time.perf_counter() - started
    notes["normal"] = _normal_note(learned)
    from toolkit._explain import explain_findings

    started = time.perf_counter()
    symptom, findings = explain_findings(findings, ref, cur, frame_, model=model,
                                         previous_model=previous_model, ctx=ctx.roles(),
                                         notes=notes)
    seconds["repairs"] = time.perf_counter() - started
    ranked = rank_hypotheses([*findings, *(_stage_failed(n, e) for n, e in failed.items())],
                             symptom)
    scope = frame_.segment if frame_.segment and "segment" not in notes else None
    if scope:  # every share and count was measured inside it: say so wherever they go
        ranked = [f.replace(evidence={**f.evidence, "scope": scope}) for f in ranked]
    verdict = _verdict(ranked, symptom, owners or {})
    if scope:
        verdict = replace(verdict, headline=f"Within {scope}: {verdict.headline}")
    return Investigation(frame_, ranked, verdict, symptom,
                         stages, notes, seconds, stage_checks, reference, current)


def _normal_note(learned: Any) -> str:
    """What the severities were judged against, in words."""
    if learned.n_pairs < MIN_PAIRS:
        why = learned.reason or f"only {learned.n_pairs} pairs"
        return (f"Severities are the checks' own: too few normal pairs of windows to learn "
                f"what normal looks like ({why}).")
    return (f"Severities were judged against {learned.n_pairs} normal pairs of "
            f"{learned.unit}: a finding those pairs produce as strongly is ordinary "
            f"variation (info).")


#: The stages as a reader names them.
STAGE_TITLES = {"checks": "data checks", "drift": "drift", "attribution": "attribution drift",
                "versions": "version comparison", "quality": "quality per segment"}


def _stage_failed(name: str, error: str) -> Finding:
    """An info finding that says a stage could not run, so no output hides it."""
    title = STAGE_TITLES.get(name, name)
    return Finding(
        check="triage.stage_failed", layer="data", severity="info", score=0.0,
        summary=f"The {title} stage could not run on these inputs ({error}); its findings "
        f"are missing from this verdict.",
        evidence={"stage": name, "error": error},
        next_step=f"Fix the input the error names and run again, or run the {title} "
        f"template on its own to see where it fails.",
    )


def rank_hypotheses(findings: list[Finding], symptom: Symptom | None) -> list[Finding]:
    """Rank findings as root-cause hypotheses by the one policy
    (:func:`toolkit.policy.rank`), after consequences are explained away."""
    return policy.rank(policy.explain_away(findings), symptom)


def _owner(f: Finding, owners: dict[str, str]) -> str:
    for col in f.features:
        if col in owners:
            return owners[col]
    return LAYER_OWNERS.get(f.layer, "the model owner")


def _verdict(ranked: list[Finding], symptom: Symptom | None, owners: dict[str, str]) -> Verdict:
    top = ranked[0] if ranked else None
    failed = [STAGE_TITLES.get(f.evidence["stage"], f.evidence["stage"]) for f in ranked
              if f.check == "triage.stage_failed"]
    named = " and ".join(filter(None, [", ".join(failed[:-1]), failed[-1]])) if failed else ""
    missing = "" if not failed else (
        f" Not checked: the {named} stage{'s' if len(failed) > 1 else ''} could not run on "
        f"these inputs (see the triage.stage_failed finding{'s' if len(failed) > 1 else ''}).")
    if top is None or top.severity == "info":
        text = ("No fault found: the current window differs from the reference only by "
                "ordinary variation (no warning or critical finding).")
        if failed:
            text = ("No fault found in the stages that ran (no warning or critical "
                    "finding)." + missing)
        if symptom is not None and symptom.significant:
            text += " The scores did move, but no check explains why; see the drift section."
        if failed:
            return Verdict(text, ok=False, next_step="Fix the input the stage_failed finding "
                           "names and run again: a stage that did not run cannot clear it.")
        return Verdict(text, ok=True)
    share = "" if top.explained is None else f" It explains {top.explained:.0%} of the symptom."
    second = _runner_up(ranked, top)
    if second is not None and _too_close(top, second, symptom):
        return Verdict(
            headline=(f"Two candidates, too close to call: ({top.layer}) {top.summary}{share} "
                      f"Or ({second.layer}) {second.summary}"
                      + ("" if second.explained is None else
                         f" It explains {second.explained:.0%} of the symptom.") + missing),
            ok=False, top=top, owner=_owner(top, owners), next_step=_tell_apart(top, second),
            explained=top.explained, runner_up=second)
    return Verdict(
        headline=f"Most likely root cause ({top.layer}): {top.summary}{share}{missing}",
        ok=False, top=top, owner=_owner(top, owners), next_step=top.next_step,
        explained=top.explained, runner_up=second,
    )


#: How far the top hypothesis must lead the runner-up to be named alone: with a measured
#: symptom, 0.1 of :func:`toolkit.policy.priority` (a fifth of the symptom explained, at
#: equal severity); without one, a severity level, or a quarter of the score at equal
#: severity.
MARGIN = 0.1
SCORE_MARGIN = 0.25


def _runner_up(ranked: list[Finding], top: Finding) -> Finding | None:
    """The best hypothesis about another incident: not info, not a consequence of the
    top one, not on its columns."""
    taken = policy.columns_of(top)
    for f in ranked[1:]:
        if f.severity == "info" or f.check == "triage.stage_failed":
            continue
        if "consequence_of" in f.evidence or "explained_by" in f.evidence:
            continue
        if f.features and set(f.features) & taken:
            continue
        return f
    return None


def _too_close(top: Finding, second: Finding, symptom: Symptom | None) -> bool:
    if policy.has_symptom(symptom) and (top.explained is not None
                                        or second.explained is not None):
        return policy.priority(top, symptom) - policy.priority(second, symptom) < MARGIN
    if top.severity != second.severity:
        return False
    if policy.is_cause(top) != policy.is_cause(second):
        return False  # a fault is ranked before the effects it may cause
    return top.score - second.score < SCORE_MARGIN


def _tell_apart(a: Finding, b: Finding) -> str:
    """The evidence that would separate two candidates, in one step."""
    since_a, since_b = a.evidence.get("since"), b.evidence.get("since")
    if since_a and since_b and since_a != since_b:
        return (f"Compare the dates: {a.check} starts {since_a}, {b.check} {since_b}. The one "
                f"that starts when the complaint began is the likelier cause; then "
                f"{a.next_step[:1].lower()}{a.next_step[1:]}")
    if a.explained is not None and b.explained is not None:
        return (f"Repair one at a time: undoing {a.check} removes {a.explained:.0%} of the "
                f"symptom, {b.check} {b.explained:.0%}; fix the first, re-run triage on fresh "
                f"rows, and see whether the second remains.")
    what = ", ".join(a.features) or a.check
    return (f"Fix or rule out one first ({what}: {a.next_step}) and re-run triage: the "
            f"candidate that remains is the other.")


def investigate_files(
    reference: str,
    current: str,
    *,
    model: str | None = None,
    previous_model: str | None = None,
    owners: str | None = None,
    history: str | None = None,
    **options: Any,
) -> Investigation:
    """:func:`investigate` on files: CSV/Parquet windows, model files or URIs, owners YAML,
    and an optional history file (older rows of the same table).

    Empty strings count as not given, so templates can pass their defaults through.
    """
    from toolkit.io import load_model, read_table

    if not reference or not current:
        raise InputError(
            "Both windows are needed: pass reference and current as paths to CSV or "
            "Parquet files (e.g. -p reference ref.parquet -p current cur.parquet)."
        )
    ref = read_table(reference, name="reference")
    cur = read_table(current, name="current")
    past = read_table(history, name="history") if history else None
    if past is not None:
        _check_history(past, ref)
    deployed = load_model(model, name="model")[0] if model else None
    previous = load_model(previous_model, name="previous model")[0] if previous_model else None
    clean: dict[str, Any] = {k: (None if v == "" else v) for k, v in options.items()}
    return investigate(ref, cur, model=deployed, previous_model=previous,
                       owners=read_owners(owners) if owners else None, history=past, **clean)


def _check_history(history: pd.DataFrame, reference: pd.DataFrame) -> None:
    """The history must be rows of the same table: the reference's columns."""
    missing = [c for c in reference.columns if c not in history.columns]
    if missing:
        raise InputError(
            f"The history file lacks {len(missing)} of the reference's columns "
            f"({', '.join(map(repr, missing[:5]))}). Pass older rows of the same table, "
            f"with the same columns, or leave --history out.")


def save_investigation(inv: Investigation, path: str | os.PathLike[str]) -> Path:
    """Write an investigation for a report to render (see :func:`toolkit.io.save_result`)."""
    from toolkit.io import save_result

    return save_result(inv, path)


def load_investigation(path: str | os.PathLike[str]) -> Investigation:
    """Read an investigation written by :func:`save_investigation`. A pickle: pass only
    a file Steward wrote for you (:func:`toolkit.io.load_result`)."""
    from toolkit.io import load_result

    inv: Investigation = load_result(path, kind=Investigation, name="investigation")
    return inv


def read_owners(path: str) -> dict[str, str]:
    """Column -> owner mapping from a YAML file of ``column: owner`` lines."""
    from pathlib import Path

    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"Cannot read the owners file {path!r}: {exc}. It must be YAML "
                         f"lines of the form 'column: owner'.") from exc
    if not isinstance(data, dict):
        raise InputError(f"The owners file {path!r} must map column names to owners "
                         f"('amount: payments team'); got {type(data).__name__}.")
    return {str(k): str(v) for k, v in data.items()}
