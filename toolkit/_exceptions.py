"""Steward's exceptions.

Every error Steward raises on purpose derives from :class:`StewardError`, so a
caller can catch them all with one clause. The tree::

    StewardError
    ├── InputError         a table, column or file cannot be used as given
    ├── ParameterError     a template or command parameter is unknown or mistyped
    ├── ModelError         a model cannot be loaded, scored or explained
    ├── ConfigError        an audit configuration is invalid
    ├── RunError           a template run failed part-way (its run folder is kept)
    ├── RunInterrupted     a run stopped by SIGINT or SIGTERM (its partial report is kept)
    └── StorageError       the environment failed us: a full disk, a read-only, missing or
                           unwritable folder, an audit history that is locked or damaged

Messages say what was given, what was expected and how to fix it; the command line
prints them as one paragraph, without a traceback, and exits 2 for the first five
(1 for a RunError whose cell did not reject an input), 130 or 143 for RunInterrupted
(128 + the signal's number, as a shell reports it) and 3 for StorageError.
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


class RunInterrupted(StewardError):
    """A run stopped by SIGINT or SIGTERM; ``run_dir`` holds what it wrote before it stopped."""

    def __init__(self, message: str, *, signum: int, run_dir: object = None) -> None:
        super().__init__(message)
        self.signum = signum
        self.run_dir = run_dir

    @property
    def exit_code(self) -> int:
        """128 + the signal's number: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum


class StorageError(StewardError):
    """The disk, a folder or the audit history cannot be used: full, read-only, missing,
    unwritable, locked or damaged. Not the input's fault, and not a bug: exit 3."""
