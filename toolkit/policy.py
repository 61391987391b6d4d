"""The one judging policy every entry point applies to its findings.

``check_windows``, ``triage`` and the audit run different subsets of the stages, but
they judge what the stages found the same way, in this order:

1. :func:`clock_columns_calm`: a column that follows the clock (a month, a season, a
   working-day flag) moves with every window by nature; its drift, recodes, stuck
   values and out-of-range values are ``info``. It is checked against the clock
   instead (``calendar.disagrees``).
2. :func:`toolkit.normal.calibrate`: each severity against what normal pairs of
   windows produced; :func:`drivers_calm`: findings that summarise drift (the domain
   classifier, attribution shifts) are no more serious than their columns' drift.
3. :func:`explain_away`: a finding that another finding on the same columns causes
   (drift and out-of-range values of a rescaled column) ranks below its cause.
4. :func:`rank`: one ordering: warnings and criticals before ``info``; then faults
   (data, pipeline, model versions) before effects (drift, attribution, quality);
   then, with a measured symptom, the share of it a repair removes, severity and
   score; without one, severity and score.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from toolkit.findings import SEVERITIES, Finding, rank_findings

if TYPE_CHECKING:
    from toolkit.triage import Symptom

__all__ = ["clock_columns_calm", "drivers_calm", "explain_away", "priority", "rank"]

#: Check families that judge a column's values against the reference's, which a
#: column following the clock fails by nature; and quality within one of its values
#: (one weekday of a week's window is one day, and days differ).
_NATURAL_ON_CLOCK = ("drift.", "categories.", "stuck.", "ranges.out_of_range", "scale.",
                     "attribution.", "quality.segment_residual")


def clock_columns_calm(findings: Iterable[Finding], clock: Mapping[str, Any]) -> list[Finding]:
    """Findings on columns that follow the clock, kept as ``info`` with the reason."""
    out = []
    for f in findings:
        if (clock and f.features and f.severity != "info" and set(f.features) <= set(clock)
                and f.check.startswith(_NATURAL_ON_CLOCK)):
            rules = "; ".join(f"{c} is {clock[c].describe()}" for c in f.features)
            f = f.replace(severity="info",
                          summary=f"{f.summary} (Follows the clock: {rules}; checked "
                                  f"against the clock instead.)",
                          evidence={**f.evidence, "follows_clock": rules})
        out.append(f)
    return out


#: Findings that summarise the drift of their columns (which columns separate the
#: windows, whose attributions moved): as serious as that drift, at most.
_SUMMARIES_OF_DRIFT = ("drift.domain_classifier", "attribution.shift_contribution",
                       "attribution.drift_that_matters")


def drivers_calm(findings: Iterable[Finding], measured: Iterable[str] = ()) -> list[Finding]:
    """Cap a finding that summarises drift at the severity of its columns' own drift.

    A domain classifier driven by a column, or an attribution shift on it (the same
    model scores both windows, so its attributions move only with its inputs),
    restates that column's drift; when the drift itself was judged ordinary by normal
    pairs, so is its summary. A column in ``measured`` (the columns the drift stage
    measured) without a drift finding did not drift on its own.
    """
    findings = list(findings)
    level = {f.features[0]: f.severity_level for f in findings
             if f.check == "drift.feature" and len(f.features) == 1 and "normal" in f.evidence}
    judged = bool(level) or any("normal" in f.evidence for f in findings)
    steady = set(measured) if judged else set()
    out = []
    for f in findings:
        # A column drift measured without a finding did not drift on its own.
        known = {c: 0 for c in f.features if c in steady}
        known.update({c: level[c] for c in f.features if c in level})
        if f.check.startswith(_SUMMARIES_OF_DRIFT) and f.features and f.severity != "info" \
                and all(c in known for c in f.features):
            cap = max(known[c] for c in f.features)
            if cap < f.severity_level:
                f = f.replace(severity=SEVERITIES[cap], summary=(
                    f"{f.summary} (Its columns' drift is {SEVERITIES[cap]} against normal "
                    f"pairs of windows; see drift.feature.)"),
                    evidence={**f.evidence, "drivers_judged": SEVERITIES[cap]})
        out.append(f)
    return out


#: Layers whose faults, on a column, cause the population-level changes seen on it.
_CAUSAL_LAYERS = ("pipeline", "data")
#: Checks that report consequences (a distribution moved, attributions moved) rather
#: than a fault of their own.
_CONSEQUENCE_CHECKS = ("drift.", "attribution.", "ranges.out_of_range")
#: Checks that restate the symptom (the scores moved) rather than propose a cause.
_SYMPTOM_CHECKS = ("drift.prediction",)
#: Checks whose finding on a column is a mere consequence of a unit change on it, or
#: of a clock shift on a column computed from the clock.
_CONSEQUENCES_OF_SCALE = ("ranges.out_of_range", "stuck.distinct_collapse",
                          "stuck.spread_collapse", "drift.feature")


def _as_symptom(f: Finding) -> Finding:
    if not f.check.startswith(_SYMPTOM_CHECKS) or f.severity == "info" \
            or f.evidence.get("symptom"):
        return f
    return f.replace(severity="info", summary=f"{f.summary} (This is the symptom, not a cause.)",
                     evidence={**f.evidence, "symptom": True})


def _column_of(f: Finding) -> object:
    column = f.evidence.get("column")
    if column is None and len(f.features) == 1:
        column = f.features[0]
    return column


def columns_of(f: Finding) -> set[str]:
    """The columns a finding is about: its features and those its segment names (a
    fan-out in ``device == 'ios'`` moves the distribution of ``device``)."""
    cols = set(f.features)
    if f.segment:
        from toolkit._exceptions import InputError
        from toolkit.segment_expr import parse_segment

        # Segments are data: read by the grammar, never evaluated. One a check wrote
        # in prose names no column to match.
        with contextlib.suppress(InputError):
            cols |= set(parse_segment(f.segment).columns)
    return cols


def _specific(findings: list[Finding]) -> list[Finding]:
    """Consequences named by their cause's check: info, with ``explained_by``."""
    rescaled = {f.evidence.get("column") for f in findings
                if f.check == "scale.unit_change" and f.severity != "info"}
    # A column computed from a shifted clock (the hour of the event) moves with it.
    clocked = {c for f in findings if f.check == "clock.shift" and f.severity != "info"
               for c, _ in f.evidence.get("derived_columns", ())}
    # Duplicated rows inflate the row counts volume is judged on: its drops and rate
    # changes are not evidence while a share of the rows is copies.
    duplicated = any(f.check == "duplicates.exact_rows" and f.severity != "info"
                     and float(f.evidence.get("current_share", 0.0)) >= 0.05 for f in findings)
    out = []
    for f in findings:
        why = None
        if f.check in _CONSEQUENCES_OF_SCALE and _column_of(f) in rescaled:
            why = "scale.unit_change"
        elif f.check in _CONSEQUENCES_OF_SCALE and _column_of(f) in clocked:
            why = "clock.shift"
        elif duplicated and f.check in ("volume.drop", "volume.rate_change") \
                and f.severity != "info":
            why = "duplicates.exact_rows"
        if why is not None and "explained_by" not in f.evidence:
            f = f.replace(severity="info", evidence={**f.evidence, "explained_by": why})
        out.append(f)
    return out


def explain_away(findings: Iterable[Finding]) -> list[Finding]:
    """Demote findings that are consequences of another finding.

    A unit change also shows as drift and as out-of-range values, but it is one
    incident with one cause: a consequence its cause's check names (drift of a
    rescaled column, volume counted over duplicated rows) becomes ``info`` with
    ``explained_by``; any other drift, attribution or range finding on the columns of a
    data or pipeline fault goes one severity level below the lower of its own and its
    cause's, with ``consequence_of``. The cause inherits the largest share of the
    symptom its consequences explain. Applying it twice changes nothing more.
    """
    findings = _specific([_as_symptom(f) for f in findings])
    causes = [(f, columns_of(f)) for f in findings if f.layer in _CAUSAL_LAYERS
              and f.severity != "info" and not f.check.startswith(_CONSEQUENCE_CHECKS)]
    out: list[Finding] = []
    inherited: dict[int, float] = {}  # cause -> the largest share a consequence explains
    for f in findings:
        cause = next((c for c, cols in causes if f.check.startswith(_CONSEQUENCE_CHECKS)
                      and f.features and set(f.features) <= cols), None)
        if cause is None or "consequence_of" in f.evidence:
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


def has_symptom(symptom: Symptom | None) -> bool:
    """Whether the scores or the quality moved beyond noise."""
    return symptom is not None and (symptom.significant or symptom.quality_significant)


def priority(f: Finding, symptom: Symptom | None) -> float:
    """How likely a finding is the root cause: the share of the symptom it explains
    first, then its severity and score. Untested findings count as explaining a little."""
    sev = f.severity_level / 2
    if symptom is None or (f.explained is None and not has_symptom(symptom)):
        return 0.8 * sev + 0.2 * f.score
    explained = 0.1 if f.explained is None else f.explained
    return 0.5 * explained + 0.4 * sev + 0.1 * f.score


#: Checks that report effects (the population moved, values beyond the reference's
#: range with it, the model's attributions or quality moved, an audit objective
#: breached) rather than a fault that would cause them.
_EFFECT_CHECKS = ("drift.", "attribution.", "quality.", "audit.objective",
                  "ranges.out_of_range")


def is_cause(f: Finding) -> bool:
    """Whether a finding names a fault that causes effects (a data or pipeline fault,
    a model version), as opposed to an effect (drift, attribution, quality)."""
    return not f.check.startswith(_EFFECT_CHECKS)


def _key(f: Finding, symptom: Symptom | None) -> tuple[float, ...]:
    # Ordinary variation never outranks a warning: it is what normal windows do. A
    # fault beyond normal comes before the effects it may cause (drift, a quality
    # drop): data are ruled out before concept drift is claimed.
    return (int(f.severity != "info"), int(is_cause(f)), priority(f, symptom), f.score)


def rank(findings: Iterable[Finding], symptom: Symptom | None = None) -> list[Finding]:
    """Findings in the one order every entry point reports (ranks set, 1 = first)."""
    return rank_findings(findings, key=lambda f: _key(f, symptom))
