"""Steward: investigate machine-learning models in production.

Stage modules are imported on demand (``from toolkit import checks, drift``) so that
``import toolkit`` stays fast; this module only names the common currency.
"""

from __future__ import annotations

from toolkit._exceptions import (
    ConfigError,
    InputError,
    ModelError,
    ParameterError,
    RunError,
    RunInterrupted,
    StewardError,
    StorageError,
)
from toolkit.findings import Finding, from_json, rank_findings, to_json

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Finding",
    "InputError",
    "ModelError",
    "ParameterError",
    "RunError",
    "RunInterrupted",
    "StewardError",
    "StorageError",
    "__version__",
    "from_json",
    "rank_findings",
    "to_json",
]
