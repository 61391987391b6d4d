"""Steward's exceptions.

Every error Steward raises on purpose derives from :class:`StewardError`, so a
caller can catch them all with one clause. The tree::

    StewardError
    ├── InputError         a table, column or file cannot be used as given
    ├── ParameterError     a template or command parameter is unknown or mistyped
    ├── ModelError         a model cannot be loaded, scored or explained
    ├── ConfigError        an audit configuration is invalid
    └── RunError           a template run failed part-way (its run folder is kept)

Messages say what was given, what was expected and how to fix it; the command line
prints them as one paragraph, without a traceback.
"""

from __future__ import annotations


class StewardError(Exception):
    """Base class of every error Steward raises on purpose."""


class InputError(StewardError, ValueError):
    """A table, column or file cannot be used as given."""


class ParameterError(StewardError, ValueError):
    """A template or command parameter is unknown or has the wrong type."""


class ModelError(StewardError):
    """A model cannot be loaded, scored or explained."""


class ConfigError(StewardError, ValueError):
    """An audit configuration is invalid."""


class RunError(StewardError):
    """A template run failed part-way; ``run_dir`` still holds its partial report."""

    def __init__(self, message: str, *, run_dir: object = None, bad_input: bool = False) -> None:
        super().__init__(message)
        self.run_dir = run_dir
        #: True when the failing cell rejected an input (InputError and its kind): the
        #: command exits 2, as for bad input caught before the kernel started.
        self.bad_input = bad_input
