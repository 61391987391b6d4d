"""Data reliability checks: is the model still fed what it was built for?

One module per family; each family returns :class:`toolkit.findings.Finding` objects
whose evidence carries what triage needs to undo the problem. :func:`run_checks` runs
them all. Drift (effect sizes, domain classifier) lives in :mod:`toolkit.drift`.

>>> from toolkit import checks
>>> findings = checks.run_checks(reference, current, timestamp="ts")  # doctest: +SKIP
"""

from __future__ import annotations

from toolkit.checks._run import FAMILIES, run_checks
from toolkit.checks.scale import unit_changes

__all__ = ["FAMILIES", "run_checks", "unit_changes"]
