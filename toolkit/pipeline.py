"""The one investigation pipeline: stages on a typed context, judged by one policy.

Every entry point (:func:`toolkit.drift.check_windows`, :func:`toolkit.triage.investigate`,
the audit and the templates through them) runs its stages from :data:`STAGES` on a
:class:`StageContext`, and judges what they found with :func:`judge`: columns that
follow the clock, severities learned from normal pairs of windows
(:mod:`toolkit.normal`), consequences explained away, then one ranking
(:mod:`toolkit.policy`). The same windows therefore give the same findings and
severities whichever entry point runs them.

A stage is a function of the context that returns its result and its findings, or
raises :class:`StageSkipped` with the reason in words when its inputs are missing.
Stages share what one computes for the next through the context's typed fields
(``profiles``, ``moved``), in the order of :data:`STAGES`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from toolkit import _pipeline_model as _model
from toolkit import normal, policy
from toolkit._exceptions import InputError, ModelError
from toolkit._stage import StageContext, StageSkipped
from toolkit.checks._run import NOT_REPLAYED
from toolkit.findings import Finding

__all__ = ["STAGES", "STAGE_ORDER", "StageContext", "StageSkipped", "baseline", "judge",
           "run_stage"]


def _checks(ctx: StageContext) -> tuple[Any, list[Finding]]:
    from toolkit.checks import run_checks
    from toolkit.checks._common import nested_pair
    from toolkit.checks._run import nested_note
    from toolkit.profile import profile_pair

    ref, cur, nested = nested_pair(ctx.reference, ctx.current)  # lists and dicts as text
    # One pass over the rows of each window serves the checks and the drift stage.
    ctx.profiles = profile_pair(ref, cur, exclude=[ctx.timestamp], n_jobs=ctx.n_jobs)
    found = run_checks(ref, cur, timestamp=ctx.timestamp, target=ctx.target,
                       prediction=ctx.prediction, key=ctx.key,
                       segment_columns=ctx.segment_columns, profiles=ctx.profiles,
                       clock=ctx.clock, replay=ctx.replay, n_jobs=ctx.n_jobs,
                       random_state=ctx.random_state)
    found = [*found, *(nested_note(c) for c in nested)]
    return found, list(found)


def _drift(ctx: StageContext) -> tuple[Any, list[Finding]]:
    from toolkit import drift

    ref, cur = ctx.reference, ctx.current
    cols = [c for c in ctx.features if c in ref.columns and c in cur.columns]
    ref_in, cur_in = ctx.profiles if ctx.profiles is not None else (ref, cur)
    result = drift.feature_drift(ref_in, cur_in, columns=cols, random_state=ctx.random_state)
    found = list(result.findings)
    pred = ctx.prediction
    out: dict[str, Any] = {"features": result, "prediction": None}
    if pred and pred in ref.columns and pred in cur.columns:
        try:
            pdrift = drift.prediction_drift(ref[pred], cur[pred], name=pred,
                                            random_state=ctx.random_state)
        except InputError:
            if not ctx.replay:
                raise
            return out, found  # a normal pair too small for its scores still has columns
        out["prediction"] = pdrift
        found.extend(pdrift.findings)
        if ctx.model is not None:  # are the logged scores the model's own?
            from toolkit._versions_served import served_scores

            # A model that cannot score these rows: the symptom's stage says so.
            with contextlib.suppress(InputError, ModelError):
                found.extend(served_scores(ref, cur, model=ctx.model, prediction=pred,
                                           timestamp=ctx.timestamp,
                                           reference_model=ctx.previous_model,
                                           target=ctx.target, positive=ctx.positive,
                                           random_state=ctx.random_state))
    return out, found


def run_stage(name: str, ctx: StageContext) -> tuple[Any, list[Finding]]:
    """Run one stage of :data:`STAGES` and note the columns it found changed."""
    result, found = STAGES[name](ctx)
    ctx.moved.update(c for f in found if f.severity != "info" for c in f.features)
    return result, found


#: The stages, in the order they run: each may read what those before it left.
STAGE_ORDER = ("checks", "drift", "attribution", "versions", "quality")
STAGES: dict[str, Callable[[StageContext], tuple[Any, list[Finding]]]] = {
    "checks": _checks,
    "drift": _drift,
    "attribution": _model.attribution,
    "versions": _model.versions,
    "quality": _model.quality,
}


def _covered(ctx: StageContext) -> tuple[str, ...]:
    """Prefixes of the checks the replay runs: the data checks and drift, and quality
    when logged scores and labels let it run without a model. Attribution, versions and
    the domain classifier are not replayed; their findings are judged through the
    columns they summarise (:func:`toolkit.policy.drivers_calm`)."""
    from toolkit.checks import FAMILIES

    covers = (*(f"{name}." for name in FAMILIES), "drift.feature", "drift.prediction")
    return (*covers, "quality.") if _quality_replayable(ctx) else covers


def _quality_replayable(ctx: StageContext) -> bool:
    cols = ctx.reference.columns
    return bool(ctx.target and ctx.prediction and ctx.target in cols and ctx.prediction in cols)


def baseline(ctx: StageContext, *, history: pd.DataFrame | None = None) -> normal.Baseline:
    """What normal pairs of the past produce under the data checks and drift.

    The pairs are slices of the reference, or windows of ``history`` and reference as
    long as the current window (:func:`toolkit.normal.normal_pairs`).
    """
    pairs = normal.normal_pairs(ctx.reference, timestamp=ctx.timestamp, current=ctx.current,
                                history=history, random_state=ctx.random_state)
    return normal.replay(pairs, lambda a, b: _measured_screen(ctx.on(a, b)),
                         covers=_covered(ctx))


def _measured_screen(ctx: StageContext) -> tuple[list[Finding], dict[Any, float]]:
    """The data checks and drift (and quality, when it needs no model) on a normal pair,
    with the statistics every pair records whether or not its check fired: the drift
    effect of every column, and the change of the quality residual."""
    found = run_stage("checks", ctx)[1]
    result, drifted = run_stage("drift", ctx)
    table = result["features"].table
    measures: dict[tuple[str, tuple[str, ...]], float] = {
        ("drift.feature", (str(name),)): float(effect)
        for name, effect in zip(table["feature"], table["effect"])}
    found = [*found, *drifted]
    if _quality_replayable(ctx):
        with contextlib.suppress(StageSkipped):  # too few labels in a slice: no lesson
            quality, judged = run_stage("quality", ctx)
            found.extend(judged)
            overall = quality.overall
            measures[("quality.residual_shift", ())] = abs(
                overall["residual_current"] - overall["residual_reference"])
    return found, measures


def judge(findings: Iterable[Finding], ctx: StageContext,
          learned: normal.Baseline | None) -> list[Finding]:
    """The one policy on a run's findings, before any ranking: clock columns calm,
    severities against normal pairs, consequences explained away."""
    calm = policy.clock_columns_calm(findings, ctx.clock)
    replayed = [f for f in calm if learned is not None and learned.judges(f.check)
                and f.check not in NOT_REPLAYED]
    judged = {id(f): g for f, g in zip(replayed, normal.calibrate(replayed, learned))}
    return policy.explain_away(policy.drivers_calm([judged.get(id(f), f) for f in calm],
                                                   measured=ctx.features))
