"""The ``steward`` command line.

Each subcommand lives in its own module under :mod:`toolkit.commands`, listed in
:data:`COMMANDS` (an explicit registry, filled by hand, never at import time). A
command module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Modules are imported only when their command runs, so
``steward --help`` stays fast.

Exit codes (:data:`EXIT_CODES`): 0 done, 1 a run failed or an objective was breached,
2 bad input, 3 the environment failed (a full disk, a read-only, missing or unwritable
folder, an audit history that is locked or damaged), 130 interrupted by SIGINT (Ctrl-C),
143 interrupted by SIGTERM. Errors derived from :class:`toolkit.StewardError` print as
one paragraph on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import textwrap
import warnings
from collections.abc import Sequence

from toolkit._exceptions import RunError, RunInterrupted, StewardError, StorageError

#: What each exit code of ``steward`` means; the same for every command.
EXIT_CODES: dict[int, str] = {
    0: "done (an audit: every objective met)",
    1: "a run failed, or an audit objective was breached",
    2: "bad input: a file, column, option or config to fix",
    3: "the environment: a full disk, a read-only or missing folder, a locked or damaged history",
    130: "interrupted by SIGINT (Ctrl-C): the run folder keeps the partial report",
    143: "interrupted by SIGTERM (a scheduler's timeout): as 130",
}
_EPILOG = "exit codes:\n" + "\n".join(f"  {code:<4} {text}" for code, text in EXIT_CODES.items())
#: OSErrors that are the environment's doing wherever they come from.
_ENVIRONMENT_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)

#: Command name -> module path. Order is the order of ``steward --help``.
COMMANDS: dict[str, str] = {
    "demo": "toolkit.commands.demo",
    "run": "toolkit.commands.run",
    "triage": "toolkit.commands.triage",
    "compare": "toolkit.commands.compare",
    "audit": "toolkit.commands.audit",
    "history": "toolkit.commands.history",
}

#: One-line help per command, kept here so ``--help`` imports no command module.
HELPS: dict[str, str] = {
    "demo": "generate the demo incident and write its investigation report",
    "run": "run any template with papermill into a new run folder",
    "triage": "rank root-cause hypotheses for two windows of data",
    "compare": "compare two model versions on the same data",
    "audit": "run a scheduled audit from a YAML config and gate on its objectives",
    "history": "list past audit runs and their status",
}


def _available() -> dict[str, str]:
    """Commands whose module is present in this installation."""
    from importlib.util import find_spec

    return {name: mod for name, mod in COMMANDS.items() if find_spec(mod) is not None}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only ``command``'s module is imported, if given."""
    parser = argparse.ArgumentParser(
        prog="steward",
        description="Steward: from a vague complaint about a model to a root cause.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from toolkit import __version__

    parser.add_argument("--version", action="version", version=f"steward {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _available():
        p = sub.add_parser(name, help=HELPS.get(name, ""), description=HELPS.get(name),
                           epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == command:
            importlib.import_module(COMMANDS[name]).add_arguments(p)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _fail(message: str) -> None:
    text = " ".join(str(message).split())
    # Paths and option names are never broken across lines: they are copied from here.
    print(textwrap.fill(f"steward: error: {text}", width=100, break_long_words=False,
                        break_on_hyphens=False), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``steward`` and ``python -m toolkit``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(argv)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(COMMANDS[args.command])
    # numpy's RuntimeWarnings (an inf in a mean, a log of 0) are evidence the findings
    # already carry; on a command line they are noise around the one-paragraph output.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"numpy(\.|$)")
    try:
        return int(module.run(args))
    except RunInterrupted as exc:
        _fail(str(exc))
        return exc.exit_code
    except StorageError as exc:
        _fail(str(exc))
        return 3
    except RunError as exc:
        _fail(str(exc))
        return 2 if exc.bad_input else 1
    except StewardError as exc:
        _fail(str(exc))
        return 2
    except KeyboardInterrupt:  # before or after a run: nothing was left half-written
        _fail("interrupted by SIGINT.")
        return 130
    except Exception as exc:  # a bug of ours: still one paragraph, and the way to see more
        if os.environ.get("STEWARD_DEBUG"):
            raise
        if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:  # a write not wrapped
            _fail(f"{exc.strerror}: {exc.filename or 'a file Steward writes'}. Free space there "
                  f"or make the folder writable, or choose another folder, then run again.")
            return 3
        _fail(f"unexpected internal error ({type(exc).__name__}: {exc}). This is a bug in "
              f"Steward, not in your input; run again with STEWARD_DEBUG=1 for the traceback "
              f"and report it.")
        return 1
