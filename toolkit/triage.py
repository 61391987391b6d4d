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

import importlib
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from toolkit._exceptions import InputError, ModelError
from toolkit.findings import SEVERITIES, Finding, rank_findings
from toolkit.intake import Frame, read_complaint

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Investigation", "Symptom", "Verdict", "investigate"]

#: Who usually owns a layer, when no column owner is configured.
LAYER_OWNERS = {
    "data": "the owner of the source system",
    "pipeline": "data engineering (the feed or ETL that delivers the column)",
    "population": "the model owner with the business (the world changed)",
    "concept": "the model owner (retraining or relabelling)",
    "model": "the model owner (the release that changed the model)",
}
#: Seconds the attribution stage may spend explaining samples of both windows: a model
#: whose smallest sample would take five times this is skipped, with a note.
ATTRIBUTION_SECONDS = 8.0
#: Rows per window the attribution stage explains, by the CPU cost of a row: fixed
#: levels, so that the same inputs give the same findings on a busy machine and an idle
#: one. Boosted trees cost well under a millisecond a row; permutation SHAP and large
#: forests tens of milliseconds; the lines sit far from both.
ATTRIBUTION_ROWS = ((0.002, 2000), (0.04, 500), (0.1, 200))


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


def _optional(module: str) -> Any:
    """A stage module, or None when this installation does not have it yet."""
    try:
        return importlib.import_module(f"toolkit.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"toolkit.{module}":
            raise
        return None


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
    ctx: dict[str, Any] = {"timestamp": timestamp, "target": target, "prediction": prediction,
           "random_state": random_state, "features": features, "positive": positive,
           "shared": {}}  # what one stage computes for the next (the window profiles)
    stages: dict[str, Any] = {}
    findings: list[Finding] = []
    seconds: dict[str, float] = {}
    stage_checks: dict[str, set[str]] = {}
    failed: dict[str, str] = {}
    for name, runner in _STAGES:
        started = time.perf_counter()
        try:
            result, found = runner(ref, cur, model=model, previous_model=previous_model, **ctx)
        except _Missing as exc:
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
        ctx["shared"].setdefault("moved", set()).update(  # columns a stage found changed
            c for f in found if f.severity != "info" for c in f.features)
    from toolkit._explain import explain_findings

    started = time.perf_counter()
    symptom, findings = explain_findings(findings, ref, cur, frame_, model=model,
                                         previous_model=previous_model, ctx=ctx, notes=notes)
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


class _Missing(Exception):
    """A stage that cannot run with what was given (said plainly in the report)."""


def _stage_module(name: str, needs: str) -> Any:
    module = _optional(name)
    if module is None:
        raise _Missing(f"Not built yet in this version of Steward ({needs}).")
    return module


def _run_checks(ref: pd.DataFrame, cur: pd.DataFrame, **kw: Any) -> tuple[Any, list[Finding]]:
    checks = _stage_module("checks", "data checks")
    from toolkit.checks._common import nested_pair
    from toolkit.checks._run import nested_note
    from toolkit.profile import profile_pair

    ref, cur, nested = nested_pair(ref, cur)  # lists and dicts are counted as text
    # One pass over the rows of each window serves the checks and the drift stage.
    pair = profile_pair(ref, cur, exclude=[kw["timestamp"]])
    kw["shared"]["profiles"] = pair
    found = checks.run_checks(ref, cur, timestamp=kw["timestamp"], target=kw["target"],
                              prediction=kw["prediction"], profiles=pair,
                              random_state=kw["random_state"])
    found = [*found, *(nested_note(c) for c in nested)]
    return found, list(found)


def _run_drift(ref: pd.DataFrame, cur: pd.DataFrame, **kw: Any) -> tuple[Any, list[Finding]]:
    drift = _stage_module("drift", "per-feature drift with intervals")
    cols = [c for c in kw["features"] if c in ref.columns and c in cur.columns]
    ref_in, cur_in = kw["shared"].get("profiles", (ref, cur))
    result = drift.feature_drift(ref_in, cur_in, columns=cols, random_state=kw["random_state"])
    found = list(result.findings)
    pred = kw["prediction"]
    out: dict[str, Any] = {"features": result}
    if pred and pred in ref.columns and pred in cur.columns:
        pdrift = drift.prediction_drift(ref[pred], cur[pred], random_state=kw["random_state"])
        out["prediction"] = pdrift
        found.extend(pdrift.findings)
        if kw["model"] is not None:  # are the logged scores the model's own?
            import contextlib

            from toolkit._versions_served import served_scores

            # A model that cannot score these rows: the symptom's stage says so.
            with contextlib.suppress(InputError, ModelError):
                found.extend(served_scores(ref, cur, model=kw["model"], prediction=pred,
                                           timestamp=kw["timestamp"],
                                           reference_model=kw["previous_model"],
                                           target=kw["target"], positive=kw["positive"],
                                           random_state=kw["random_state"]))
    return out, found


def _run_attribution(ref: pd.DataFrame, cur: pd.DataFrame, **kw: Any) -> tuple[Any, list[Finding]]:
    if kw["model"] is None:
        raise _Missing("Needs a model: pass --model to see how the model's reasoning changed.")
    attribution = _stage_module("attribution", "SHAP attribution drift")
    rows = _attribution_rows(attribution, ref, kw["model"], kw["target"])
    result = attribution.attribution_drift(ref, cur, model=kw["model"], target=kw["target"],
                                           sample_size=rows, random_state=kw["random_state"])
    return result, list(result.findings)


def _attribution_rows(attribution: Any, ref: pd.DataFrame, model: Any,
                      target: str | None = None) -> int:
    """Rows per window to explain; skip attribution, saying so, when it would take long.

    A pilot explains 16 reference rows with the explainer attribution drift builds,
    timed in CPU (which other processes barely move); the cost a row picks one of the
    fixed sizes of :data:`ATTRIBUTION_ROWS`. A model past the last is skipped, since
    its smallest sample would take five times the triage budget; the attribution_drift
    template has no such cap."""
    method, per_row = attribution.explanation_cost(ref, model=model, target=target)
    for cost, rows in ATTRIBUTION_ROWS:
        if per_row <= cost:
            return rows
    smallest = ATTRIBUTION_ROWS[-1][1]
    raise _Missing(
        f"Skipped: explaining this model ({method}) takes about {per_row:.2f} s of CPU a "
        f"row, so the smallest sample ({smallest} rows a window) would take "
        f"{2 * smallest * per_row:.0f} s, over the triage budget of "
        f"{ATTRIBUTION_SECONDS:.0f} s. Run the attribution_drift template with a "
        f"time_budget to see attribution drift for it."
    )


def _run_versions(ref: pd.DataFrame, cur: pd.DataFrame, **kw: Any) -> tuple[Any, list[Finding]]:
    if kw["model"] is None or kw["previous_model"] is None:
        raise _Missing("Needs two model versions: pass --model and --previous-model.")
    versions = _stage_module("versions", "model version comparison")
    result = versions.compare_versions(cur, model_a=kw["previous_model"], model_b=kw["model"],
                                       target=kw["target"], random_state=kw["random_state"])
    return result, list(result.findings)


def _scores(df: pd.DataFrame, model: Any, prediction: str | None, reference: pd.DataFrame) -> Any:
    """Served scores: the logged column when there is one, else the model's."""
    import pandas as pd

    if prediction and prediction in df.columns:
        return pd.to_numeric(df[prediction], errors="coerce").to_numpy(dtype=float)
    from toolkit.scoring import as_served, model_features, predict_scores

    return predict_scores(model, as_served(df, reference, model_features(model) or []))


def _run_quality(ref: pd.DataFrame, cur: pd.DataFrame, **kw: Any) -> tuple[Any, list[Finding]]:
    target, pred, model = kw["target"], kw["prediction"], kw["model"]
    if not target or target not in ref.columns or target not in cur.columns:
        raise _Missing("Needs labels in both windows: pass --target to check quality.")
    if model is None and not (pred and pred in ref.columns and pred in cur.columns):
        raise _Missing("Needs scores: pass --model or --prediction to check quality.")
    from toolkit import quality
    from toolkit.checks._common import is_number_column, with_columns
    from toolkit.scoring import label_values, model_task

    labelled = [int(df[target].notna().sum()) for df in (ref, cur)]
    if min(labelled) < 30:
        side = "current" if labelled[1] < 30 else "reference"
        raise _Missing(f"The {side} window has {min(labelled)} labelled rows: quality needs "
                       f"labels in both windows (at least 30), as when they have arrived.")

    regression = (model_task(model) == "regression" if model is not None
                  else looks_like_regression(ref[pred]))
    exclude = {target, pred, kw["timestamp"]}
    if not regression:
        ref = with_columns(ref, {target: label_values(ref[target], kw["positive"])})
        cur = with_columns(cur, {target: label_values(cur[target], kw["positive"])})
    result = quality.quality_drift(
        ref, cur, reference_scores=_scores(ref, model, pred, ref),
        current_scores=_scores(cur, model, pred, ref), target=target,
        columns=quality.segment_columns(ref, exclude=exclude),
        # Numeric ranges of a column that moved hold other rows in each window (a unit
        # change fills the top quartile): only steady columns make comparable segments.
        numeric_columns=[c for c in kw["features"] if c not in exclude and c in ref.columns
                         and is_number_column(ref[c])
                         and c not in kw["shared"].get("moved", set())],
        current_times=_times_of(cur, kw["timestamp"]),
        task="regression" if regression else "classification")
    return result, list(result.findings)


def _times_of(df: pd.DataFrame, timestamp: str | None) -> pd.Series | None:
    """Event times of ``df``'s rows (UTC, no zone), or None without a time column."""
    if not timestamp or timestamp not in df.columns:
        return None
    from toolkit.io import parse_times

    return parse_times(df[timestamp])


def looks_like_regression(scores: pd.Series) -> bool:
    """Logged scores outside [0, 1] are predictions of a quantity, not probabilities."""
    import numpy as np
    import pandas as pd

    values = pd.to_numeric(scores, errors="coerce").to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    return bool(values.size) and bool((values.min() < 0) or (values.max() > 1))


_STAGES = [("checks", _run_checks), ("drift", _run_drift), ("attribution", _run_attribution),
           ("versions", _run_versions), ("quality", _run_quality)]


def priority(f: Finding, symptom: Symptom | None) -> float:
    """How likely a finding is the root cause: the share of the symptom it explains
    first, then its severity and score. Untested findings count as explaining a little."""
    sev = f.severity_level / 2
    if symptom is None or (f.explained is None and not _has_symptom(symptom)):
        return 0.8 * sev + 0.2 * f.score
    explained = 0.1 if f.explained is None else f.explained
    return 0.5 * explained + 0.4 * sev + 0.1 * f.score


def _has_symptom(symptom: Symptom) -> bool:
    return symptom.significant or symptom.quality_significant


#: Layers whose faults, on a column, cause the population-level changes seen on it.
_CAUSAL_LAYERS = ("pipeline", "data")
#: Checks that report consequences (a distribution moved, attributions moved) rather
#: than a fault of their own.
_CONSEQUENCE_CHECKS = ("drift.", "attribution.", "ranges.out_of_range")


#: Checks that restate the symptom (the scores moved) rather than propose a cause.
_SYMPTOM_CHECKS = ("drift.prediction",)


def _as_symptom(f: Finding) -> Finding:
    if not f.check.startswith(_SYMPTOM_CHECKS) or f.severity == "info":
        return f
    return f.replace(severity="info", summary=f"{f.summary} (This is the symptom, not a cause.)",
                     evidence={**f.evidence, "symptom": True})


def _columns_of(f: Finding) -> set[str]:
    """The columns a finding is about: its features and those its segment names (a
    fan-out in ``device == 'ios'`` moves the distribution of ``device``)."""
    import re

    cols = set(f.features)
    if f.segment:
        cols |= {a or b for a, b in re.findall(
            r"`([^`]+)`|\b([A-Za-z_]\w*)\s*(?:==|!=|<=|>=|<|>|\.isin|\.isna|\.notna)", f.segment)}
    return cols


def explain_away(findings: list[Finding]) -> list[Finding]:
    """Demote findings that are consequences of a data or pipeline fault on the same
    columns: a unit change also shows as drift and as out-of-range values, but it is
    one incident with one cause. The consequence keeps its evidence, one severity level
    below the lower of its own and its cause's, with ``consequence_of`` naming the fault."""
    findings = [_as_symptom(f) for f in findings]
    causes = [(f, _columns_of(f)) for f in findings if f.layer in _CAUSAL_LAYERS
              and f.severity != "info" and not f.check.startswith(_CONSEQUENCE_CHECKS)]
    out: list[Finding] = []
    inherited: dict[int, float] = {}  # cause -> the largest share a consequence explains
    for f in findings:
        cause = next((c for c, cols in causes if f.check.startswith(_CONSEQUENCE_CHECKS)
                      and f.features and set(f.features) <= cols), None)
        if cause is None:
            out.append(f)
            continue
        if f.explained is not None:
            inherited[id(cause)] = max(inherited.get(id(cause), 0.0), f.explained)
        # Below its cause, whatever its own size: a consequence never outranks its cause.
        lower = SEVERITIES[max(min(f.severity_level, cause.severity_level) - 1, 0)]
        out.append(f.replace(severity=lower, summary=f"{f.summary} (A consequence of {cause.check}.)",
                             evidence={**f.evidence, "consequence_of": cause.check}))
    # What undoing a consequence removes, undoing its cause removes too: the cause
    # inherits that share, so a repair that is blunter on the consequence (the whole
    # column restored) cannot rank it above the fault.
    return [f.replace(explained=max(f.explained or 0.0, inherited[id(f)])) if id(f) in inherited else f
            for f in out]


def rank_hypotheses(findings: list[Finding], symptom: Symptom | None) -> list[Finding]:
    """Rank findings as root-cause hypotheses (see :func:`priority`), after
    :func:`explain_away` has demoted consequences of the same fault."""
    return rank_findings(explain_away(findings), key=lambda f: priority(f, symptom))


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
    return Verdict(
        headline=f"Most likely root cause ({top.layer}): {top.summary}{share}{missing}",
        ok=False, top=top, owner=_owner(top, owners), next_step=top.next_step,
        explained=top.explained,
    )


def investigate_files(
    reference: str,
    current: str,
    *,
    model: str | None = None,
    previous_model: str | None = None,
    owners: str | None = None,
    **options: Any,
) -> Investigation:
    """:func:`investigate` on files: CSV/Parquet windows, model files or URIs, owners YAML.

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
    deployed = load_model(model, name="model")[0] if model else None
    previous = load_model(previous_model, name="previous model")[0] if previous_model else None
    clean: dict[str, Any] = {k: (None if v == "" else v) for k, v in options.items()}
    return investigate(ref, cur, model=deployed, previous_model=previous,
                       owners=read_owners(owners) if owners else None, **clean)


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
