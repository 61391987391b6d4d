"""``steward run TEMPLATE -p NAME VALUE ...``: any template, into a new run folder."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toolkit.runner import RunResult

HELP = "run any template with papermill into a new run folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("template", help="a template name (investigate, data_checks, ...) or a notebook path")
    parser.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="a template parameter; repeat for more",
    )
    add_report_arguments(parser)


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that writes a run folder."""
    parser.add_argument("--reports-dir", default="reports", help="where run folders go (default: ./reports)")
    parser.add_argument("--show-inputs", action="store_true", help="keep code cells in the HTML report")


def check_output_file(path: str, *, option: str, inputs: Iterable[str | None]) -> Path:
    """The output path of ``option``, after refusing what would fail late or lose data:
    a folder or one of the command's own inputs (bad input, exit 2), a missing or
    unwritable folder (the environment, exit 3)."""
    import os

    from toolkit._exceptions import InputError, StorageError

    out = Path(path)
    if out.is_dir():
        raise InputError(f"{option} {path!r} is a folder; give a file path such as "
                         f"{str(out / 'findings.json')!r}.")
    if not out.parent.is_dir():
        raise StorageError(f"{option} {path!r} cannot be written: the folder "
                           f"{str(out.parent)!r} does not exist. Create it or choose a path in "
                           f"an existing folder.")
    for given in inputs:
        if given and Path(given).exists() and out.exists() and out.samefile(given):
            raise InputError(f"{option} {path!r} is also an input of this command; writing "
                             f"the findings there would overwrite it. Choose another path.")
    if not os.access(out if out.exists() else out.parent, os.W_OK):
        raise StorageError(f"{option} {path!r} cannot be written: it or its folder is "
                           f"read-only or not writable by this user. Choose a path in a folder "
                           f"you can write to.")
    return out


def write_output(out: Path, text: str, *, option: str) -> None:
    """Write a command's output file whole or not at all (a full disk leaves no half file)."""
    from toolkit._run_trace import write_atomic

    write_atomic(out, text, what=f"{option}", option=option)


def print_run(result: RunResult) -> None:
    """The run's outputs, with the run folder's path as the last line."""
    import sys

    for earlier in result.reaped:
        print(f"steward: note: an earlier run, {earlier}, stopped without finishing (its "
              f"process is gone); its manifest now says 'interrupted'.", file=sys.stderr)
    if result.html is not None:
        print(f"report:   {result.html}")
    print(f"notebook: {result.notebook}")
    n = len(result.findings)
    count = f"{n} findings" if result.ok else (
        f"{n} findings written before the run failed" if n else "the run failed before any finding")
    print(f"findings: {result.run_dir / 'findings.json'} ({count})")
    print(result.run_dir)


def run(args: argparse.Namespace) -> int:
    from toolkit.runner import raise_for_status, run_template

    names = [name for name, _ in args.parameter]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        from toolkit._exceptions import ParameterError

        raise ParameterError(f"Parameter(s) {twice} given more than once; pass each -p NAME "
                             f"VALUE once (the last one would silently win).")
    params = dict(args.parameter)
    result = run_template(args.template, params, reports_dir=args.reports_dir, show_inputs=args.show_inputs)
    print_run(result)
    raise_for_status(result)
    return 0
