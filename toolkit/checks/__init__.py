"""Data reliability checks: is the model still fed what it was built for?

One module per family; each family returns :class:`toolkit.findings.Finding` objects
whose evidence carries what triage needs to undo the problem. :func:`run_checks` runs
them all. Drift (effect sizes, domain classifier) lives in :mod:`toolkit.drift`.

>>> from toolkit import checks
>>> findings = checks.run_checks(reference, current, timestamp="ts")  # doctest: +SKIP

Only numpy and pandas are imported here.
"""

from __future__ import annotations

from toolkit.checks._run import FAMILIES, explain_away, run_checks
from toolkit.checks.categories import category_changes
from toolkit.checks.clock import clock_shifts
from toolkit.checks.duplicates import duplicate_rows
from toolkit.checks.missing import null_changes
from toolkit.checks.ranges import future_timestamps, range_violations
from toolkit.checks.scale import unit_changes
from toolkit.checks.schema import schema_changes
from toolkit.checks.stuck import stuck_values
from toolkit.checks.types import type_changes
from toolkit.checks.volume import volume_changes

__all__ = [
    "FAMILIES",
    "category_changes",
    "clock_shifts",
    "duplicate_rows",
    "explain_away",
    "future_timestamps",
    "null_changes",
    "range_violations",
    "run_checks",
    "schema_changes",
    "stuck_values",
    "type_changes",
    "unit_changes",
    "volume_changes",
]
